"""The rule packs every stack must pass, and the only findings the library acknowledges."""

from .catalogue import (
    CDK_CUSTOM_RESOURCE_LAMBDA,
    CODEDEPLOY_SERVICE_ROLE,
    DEAD_LETTER_QUEUE,
    ECR_AUTH_TOKEN,
    ECS_AGENT,
    ECS_BLUE_GREEN_ROLE,
    EXEC_SSM_MESSAGES,
    FINAL_ACCESS_LOG_BUCKET,
    GRANT_DEFAULT_POLICY,
    HTTP_REDIRECT_LISTENER,
    LOG_BUCKET_ENCRYPTION,
    MIXED_INSTANCES_LAUNCH_TEMPLATE,
    PLAIN_ENVIRONMENT,
    PUBLIC_ALB_INGRESS,
    PUBLIC_SUBNET_ROUTE,
    REGULATORY_PACKS,
    TASK_TAGGING,
    Acknowledgement,
    acknowledge,
    catalogue,
)
from .control_tower import ControlTowerChecks, idle_control_tower_rules
from .control_tower import _control_tower_rule_types as _control_tower_rule_types
from .engine import enable_compliance_checks

__all__ = [
    "CDK_CUSTOM_RESOURCE_LAMBDA",
    "CODEDEPLOY_SERVICE_ROLE",
    "DEAD_LETTER_QUEUE",
    "ECR_AUTH_TOKEN",
    "ECS_AGENT",
    "ECS_BLUE_GREEN_ROLE",
    "EXEC_SSM_MESSAGES",
    "FINAL_ACCESS_LOG_BUCKET",
    "GRANT_DEFAULT_POLICY",
    "HTTP_REDIRECT_LISTENER",
    "LOG_BUCKET_ENCRYPTION",
    "MIXED_INSTANCES_LAUNCH_TEMPLATE",
    "PLAIN_ENVIRONMENT",
    "PUBLIC_ALB_INGRESS",
    "PUBLIC_SUBNET_ROUTE",
    "REGULATORY_PACKS",
    "TASK_TAGGING",
    "Acknowledgement",
    "ControlTowerChecks",
    "acknowledge",
    "catalogue",
    "enable_compliance_checks",
    "idle_control_tower_rules",
]
