"""Scenarios for ServiceMonitoring, golden_signal_alarms and ExecCommandAudit."""

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from ecs_patterns_plus import (
    BackendService,
    ExecCommandAudit,
    HardenedCluster,
    MonitoringThresholds,
    ServiceConnectOptions,
    ServiceMonitoring,
    compliance,
    golden_signal_alarms,
    notification_topic,
)
from ecs_patterns_plus.encryption import create_key, encrypted_log_group

from . import scenario
from .backend import _task as backend_task
from .common import existing_vpc

LOAD_BALANCER_ARN = (
    "arn:aws:elasticloadbalancing:ap-northeast-2:111122223333:loadbalancer/app/web/50dc6c495c0c9188"
)
TARGET_GROUP_ARN = (
    "arn:aws:elasticloadbalancing:ap-northeast-2:111122223333:targetgroup/orders/73e2d6bc24d8a067"
)
IMAGE_DIGEST = "sha256:" + "ab" * 32


def _load_balancing(
    stack: cdk.Stack,
) -> tuple[elbv2.IApplicationLoadBalancer, elbv2.IApplicationTargetGroup]:
    """A load balancer and target group owned by another stack, imported by ARN."""
    load_balancer = elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
        stack,
        "LoadBalancer",
        load_balancer_arn=LOAD_BALANCER_ARN,
        security_group_id="sg-0123456789abcdef0",
    )
    target_group = elbv2.ApplicationTargetGroup.from_target_group_attributes(
        stack,
        "TargetGroup",
        target_group_arn=TARGET_GROUP_ARN,
        load_balancer_arns=LOAD_BALANCER_ARN,
    )
    return load_balancer, target_group


def _imported_service(stack: cdk.Stack) -> ecs.IBaseService:
    """A service deployed by another stack: monitoring needs only its cluster and name."""
    cluster = ecs.Cluster.from_cluster_attributes(
        stack,
        "Cluster",
        cluster_name="platform",
        vpc=ec2.Vpc.from_vpc_attributes(
            stack, "Vpc", vpc_id="vpc-0123456789abcdef0", availability_zones=["ap-northeast-2a"]
        ),
    )
    return ecs.FargateService.from_fargate_service_attributes(
        stack, "Service", cluster=cluster, service_name="orders"
    )


@scenario("MonitoringFargateService")
def fargate_service(stack: cdk.Stack) -> None:
    """A Fargate service built in the stack, behind a load balancer of another stack."""
    vpc = existing_vpc(stack)
    platform = HardenedCluster(stack, "Platform", vpc=vpc)
    log_group = encrypted_log_group(
        stack, "Logs", key=create_key(stack, "LogKey", description="Application logs")
    )
    task = ecs.FargateTaskDefinition(stack, "Task", cpu=256, memory_limit_mib=512)
    task.add_container(
        "app",
        # A public image pinned by digest: no ECR pull grant (ecr:GetAuthorizationToken).
        image=ecs.ContainerImage.from_registry(f"public.ecr.aws/example/orders@{IMAGE_DIGEST}"),
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="app", log_group=log_group, mode=ecs.AwsLogDriverMode.NON_BLOCKING
        ),
        readonly_root_filesystem=True,
        user="1000:1000",
        memory_limit_mib=512,
        port_mappings=[ecs.PortMapping(container_port=8080)],
        health_check=ecs.HealthCheck(
            command=["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"],
            start_period=cdk.Duration.seconds(60),
        ),
    )
    execution_policy = task.obtain_execution_role().node.find_child("DefaultPolicy")
    compliance.acknowledge(execution_policy, compliance.GRANT_DEFAULT_POLICY)
    security_group = ec2.SecurityGroup(
        stack,
        "ServiceSecurityGroup",
        vpc=vpc,
        allow_all_outbound=False,
        description="Orders service",
    )
    service = ecs.FargateService(
        stack,
        "Service",
        cluster=platform.cluster,
        task_definition=task,
        desired_count=2,
        min_healthy_percent=100,
        security_groups=[security_group],
        circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
    )
    load_balancer, target_group = _load_balancing(stack)
    monitoring = ServiceMonitoring(
        stack,
        "Monitoring",
        service=service,
        load_balancer=load_balancer,
        target_group=target_group,
        log_group=log_group,
        service_name="orders",
        thresholds=MonitoringThresholds(log_errors=50),
        notify_deployments=True,
    )
    ExecCommandAudit(
        stack,
        "ExecAudit",
        cluster=platform.cluster,
        topic=monitoring.topic,
        dead_letter_queue=monitoring.dead_letter_queue,
    )


@scenario("MonitoringImportedService")
def imported_service(stack: cdk.Stack) -> None:
    """A service without a load balancer, from another stack, on a team's own topic."""
    ServiceMonitoring(
        stack,
        "Monitoring",
        service=_imported_service(stack),
        topic=notification_topic(stack, "Alerts"),
        thresholds=MonitoringThresholds(
            cpu_percent=70, evaluation_periods=3, datapoints_to_alarm=2
        ),
    )


@scenario("MonitoringGoldenSignals")
def golden_signals(stack: cdk.Stack) -> None:
    """Only the rollback alarms of a target group, as a deployment strategy builds them."""
    load_balancer, target_group = _load_balancing(stack)
    golden_signal_alarms(
        stack,
        load_balancer=load_balancer,
        target_group=target_group,
        topic=notification_topic(stack, "Alerts"),
        thresholds=MonitoringThresholds(latency_p99=cdk.Duration.millis(800)),
        service_name="orders",
    )


@scenario("MonitoringAlarmsOff", compliant=False)
def alarms_off(stack: cdk.Stack) -> None:
    """Opt-outs: alarms turned off (each with a warning) and no dashboard."""
    load_balancer, target_group = _load_balancing(stack)
    ServiceMonitoring(
        stack,
        "Monitoring",
        service=_imported_service(stack),
        load_balancer=load_balancer,
        target_group=target_group,
        thresholds=MonitoringThresholds(cpu_percent=None, target_5xx_percent=None),
        dashboard=False,
    )


@scenario("MonitoringBackendService")
def backend_service(stack: cdk.Stack) -> None:
    """A backend service with no load balancer: its golden signals come from Service Connect."""
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    orders = BackendService(
        stack,
        "Orders",
        cluster=platform.cluster,
        task_definition=backend_task(stack, "OrdersTask", port_name="orders"),
        service_connect=ServiceConnectOptions(discovery_name="orders-prod"),
        alarm_thresholds=MonitoringThresholds(latency_p99=cdk.Duration.millis(800)),
    )
    ServiceMonitoring.for_service(stack, "Monitoring", service=orders, service_name="orders")
