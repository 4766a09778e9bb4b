"""Hardened, reusable AWS CDK constructs for Amazon ECS on Fargate and EC2."""

from .authentication import RouteAuthentication
from .autoscaling import (
    BacklogScaling,
    ScalingOptions,
    ScheduledScalingOptions,
    StepScalingOptions,
)
from .cluster import Ec2Ami, Ec2Capacity, Ec2CapacityOptions, HardenedCluster, NamespaceOptions
from .compliance import enable_compliance_checks
from .deployment import DeploymentStrategy, LifecycleHook, TestTraffic
from .errors import ValidationError
from .jobs import OneOffTask, ScheduledTask
from .load_balancer import DomainOptions, ListenerRouting, SecureLoadBalancer
from .messaging import QueueOptions, QueueSource, publish
from .monitoring import (
    ExecCommandAudit,
    MonitoringThresholds,
    ServiceMonitoring,
    golden_signal_alarms,
    notification_topic,
)
from .network import SecureVpc, VpcEndpoints
from .network_load_balancer import NlbListener, SecureNetworkLoadBalancer
from .secrets import SecretValue
from .services import (
    AlbFargateService,
    BackendService,
    NlbFargateService,
    NlbHealthCheck,
    PortRoute,
    ServiceConnectOptions,
    ServiceConnectTls,
    TargetHealthCheck,
    WorkerService,
)
from .shared_load_balancer import ImportedLoadBalancer
from .task_definition import (
    HardenedTaskDefinition,
    HealthCheckOptions,
    LogOptions,
    SidecarOptions,
)

__all__ = [
    "AlbFargateService",
    "BackendService",
    "BacklogScaling",
    "DeploymentStrategy",
    "DomainOptions",
    "Ec2Ami",
    "Ec2Capacity",
    "Ec2CapacityOptions",
    "ExecCommandAudit",
    "HardenedCluster",
    "HardenedTaskDefinition",
    "HealthCheckOptions",
    "ImportedLoadBalancer",
    "LifecycleHook",
    "ListenerRouting",
    "LogOptions",
    "MonitoringThresholds",
    "NamespaceOptions",
    "NlbFargateService",
    "NlbHealthCheck",
    "NlbListener",
    "OneOffTask",
    "PortRoute",
    "QueueOptions",
    "QueueSource",
    "RouteAuthentication",
    "ScalingOptions",
    "ScheduledScalingOptions",
    "ScheduledTask",
    "SecretValue",
    "SecureLoadBalancer",
    "SecureNetworkLoadBalancer",
    "SecureVpc",
    "ServiceConnectOptions",
    "ServiceConnectTls",
    "ServiceMonitoring",
    "SidecarOptions",
    "StepScalingOptions",
    "TargetHealthCheck",
    "TestTraffic",
    "ValidationError",
    "VpcEndpoints",
    "WorkerService",
    "enable_compliance_checks",
    "golden_signal_alarms",
    "notification_topic",
    "publish",
]
