"""Hardened, reusable AWS CDK constructs for Amazon ECS on Fargate and EC2."""

from .authentication import RouteAuthentication
from .autoscaling import (
    BacklogScaling,
    ScalingOptions,
    ScheduledScalingOptions,
    StepScalingOptions,
)
from .boundary import apply_permissions_boundary
from .cluster import Ec2Ami, Ec2Capacity, Ec2CapacityOptions, HardenedCluster, NamespaceOptions
from .compliance import enable_compliance_checks
from .deployment import DeploymentStrategy, LifecycleHook, TestTraffic
from .egress import EgressFirewall, EgressOptions
from .errors import ValidationError
from .jobs import JobRetries, OneOffTask, ScheduledTask
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
from .pipeline import SecurePipeline
from .preflight import enable_preflight
from .secrets import SecretValue
from .services import (
    AlbFargateService,
    BackendService,
    DaemonService,
    NlbFargateService,
    NlbHealthCheck,
    PortRoute,
    ServiceConnectOptions,
    ServiceConnectTls,
    TargetHealthCheck,
    WorkerService,
)
from .shared_load_balancer import ImportedLoadBalancer
from .storage import EfsVolume, SharedFileSystem
from .task_definition import (
    HardenedTaskDefinition,
    HealthCheckOptions,
    LogOptions,
    SidecarOptions,
)
from .task_definition.ebs import EbsVolume
from .task_definition.observability import LogRouter, OpenTelemetryCollector

__all__ = [
    "AlbFargateService",
    "BackendService",
    "BacklogScaling",
    "DaemonService",
    "DeploymentStrategy",
    "DomainOptions",
    "EbsVolume",
    "Ec2Ami",
    "Ec2Capacity",
    "Ec2CapacityOptions",
    "EfsVolume",
    "EgressFirewall",
    "EgressOptions",
    "ExecCommandAudit",
    "HardenedCluster",
    "HardenedTaskDefinition",
    "HealthCheckOptions",
    "ImportedLoadBalancer",
    "JobRetries",
    "LifecycleHook",
    "ListenerRouting",
    "LogOptions",
    "LogRouter",
    "MonitoringThresholds",
    "NamespaceOptions",
    "NlbFargateService",
    "NlbHealthCheck",
    "NlbListener",
    "OneOffTask",
    "OpenTelemetryCollector",
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
    "SecurePipeline",
    "SecureVpc",
    "ServiceConnectOptions",
    "ServiceConnectTls",
    "ServiceMonitoring",
    "SharedFileSystem",
    "SidecarOptions",
    "StepScalingOptions",
    "TargetHealthCheck",
    "TestTraffic",
    "ValidationError",
    "VpcEndpoints",
    "WorkerService",
    "apply_permissions_boundary",
    "enable_compliance_checks",
    "enable_preflight",
    "golden_signal_alarms",
    "notification_topic",
    "publish",
]
