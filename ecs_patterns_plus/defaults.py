"""Every hardened default of the library, named, with its reason and the rules it satisfies.

Precedence: a default here < an explicit argument < what a construct requires to work.
Rule ids: cdk-nag (``AwsSolutions-*``, ``NIST.800.53.R5-*``, ...), Control Tower (``CT.*``),
checkov (``CKV_*``).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs

# --- Data ------------------------------------------------------------------------------------

DATA_REMOVAL_POLICY = RemovalPolicy.RETAIN
"""Log groups, log buckets and KMS keys outlive the stack: deleting a stack must lose no
logs and leave nothing encrypted with a deleted key. (NIST.800.53.R5-CloudWatchLogGroupRetentionPeriod
needs retention; checkov CKV_AWS_338 wants >= 1 year.)"""

LOG_RETENTION = logs.RetentionDays.ONE_YEAR
"""One year of logs: audit trails (flow logs, ECS Exec, applications) for incident review.
Satisfies NIST/HIPAA/PCI CloudWatchLogGroupRetentionPeriod, checkov CKV_AWS_338."""

KMS_KEY_ROTATION = True
"""Yearly automatic rotation of customer managed keys. AwsSolutions-KMS5, CT.KMS.PR.1."""

# --- Network ---------------------------------------------------------------------------------

VPC_CIDR = "10.0.0.0/16"
"""Room for large awsvpc fleets: every task has its own ENI and private address."""

MAX_AZS = 2
"""Two AZs: the ALB minimum and the cheapest highly available layout. Use 3 for production."""

PUBLIC_SUBNET_MASK = 24
"""Public subnets hold only load balancers and NAT gateways: /24 each is plenty."""

PRIVATE_SUBNET_MASK = 20
"""Private (task) subnets: 4,091 usable addresses each, one per awsvpc task."""

FLOW_LOG_TRAFFIC = ec2.FlowLogTrafficType.ALL
"""Accepted and rejected traffic. AwsSolutions-VPC7, NIST/HIPAA/PCI VPCFlowLogsEnabled,
checkov CKV2_AWS_11."""

ENDPOINT_PORT = 443
"""Interface endpoints speak HTTPS only."""

INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "ecr_api": ec2.InterfaceVpcEndpointAwsService.ECR,
    "ecr_dkr": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "secretsmanager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "ssmmessages": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    "sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
    "ecs_agent": ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
    "ecs_telemetry": ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
}
"""Every interface endpoint ``VpcEndpoints`` knows, by the name its ``services`` argument takes."""

GATEWAY_ENDPOINTS: dict[str, ec2.GatewayVpcEndpointAwsService] = {
    "s3": ec2.GatewayVpcEndpointAwsService.S3,
    "dynamodb": ec2.GatewayVpcEndpointAwsService.DYNAMODB,
}
"""Gateway endpoints (route-table entries, free of charge)."""

FARGATE_ENDPOINTS = ("ecr_api", "ecr_dkr", "s3", "logs", "secretsmanager", "ssm", "kms")
"""What a Fargate task needs with no internet route: pull from ECR (api, dkr, S3 layers),
ship logs, read secrets and parameters, decrypt them."""

EXEC_ENDPOINTS = ("ssmmessages",)
"""Added when ECS Exec is used: the SSM agent's session channels."""

# --- Cluster ---------------------------------------------------------------------------------

CONTAINER_INSIGHTS = ecs.ContainerInsights.ENABLED
"""Task- and service-level metrics. checkov CKV_AWS_65 accepts only ``enabled``;
CT.ECS.PR.? / AwsSolutions-ECS4."""

EXEC_LOGGING = ecs.ExecuteCommandLogging.OVERRIDE
"""ECS Exec sessions are audited to an encrypted log group of the cluster's own."""

CAPACITY_PROVIDER_STRATEGY = (ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1),)
"""Cluster default: on-demand Fargate. Services opt into FARGATE_SPOT weights explicitly."""
