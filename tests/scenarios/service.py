"""Scenarios for AlbFargateService and its autoscaling."""

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import (
    AlbFargateService,
    DomainOptions,
    Ec2CapacityOptions,
    HardenedCluster,
    HardenedTaskDefinition,
    HealthCheckOptions,
    ListenerRouting,
    ScalingOptions,
    ScheduledScalingOptions,
    SecureLoadBalancer,
    SecureVpc,
    StepScalingOptions,
    TargetHealthCheck,
)

from . import scenario
from .common import certificate, existing_vpc, hosted_zone


def _platform(stack: cdk.Stack) -> tuple[ec2.IVpc, HardenedCluster]:
    """A cluster in an existing VPC (ServiceDefaults builds a SecureVpc with endpoints)."""
    vpc = existing_vpc(stack)
    return vpc, HardenedCluster(stack, "Platform", vpc=vpc)


def _internal_load_balancer(stack: cdk.Stack, vpc: ec2.IVpc) -> SecureLoadBalancer:
    return SecureLoadBalancer(stack, "LoadBalancer", vpc=vpc, certificate=certificate(stack))


def _task(
    stack: cdk.Stack, construct_id: str = "Task", *, name: str = "app"
) -> HardenedTaskDefinition:
    repository = ecr.Repository.from_repository_name(stack, f"{construct_id}Repository", name)
    return HardenedTaskDefinition(
        stack,
        construct_id,
        image=ecs.ContainerImage.from_ecr_repository(repository, "1.4.2"),
        container_port=8080,
        health_check=HealthCheckOptions(
            command=["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"],
            start_period=cdk.Duration.seconds(60),
        ),
    )


@scenario("ServiceDefaults")
def service_defaults(stack: cdk.Stack) -> None:
    network = SecureVpc(stack, "Network", nat_gateways=1)
    platform = HardenedCluster(stack, "Platform", vpc=network.vpc)
    load_balancer = _internal_load_balancer(stack, network.vpc)
    AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=_task(stack),
        load_balancer=load_balancer,
        endpoints=network.endpoints,
    )


@scenario("ServiceInternetFacing")
def service_internet_facing(stack: cdk.Stack) -> None:
    vpc, platform = _platform(stack)
    load_balancer = SecureLoadBalancer(
        stack,
        "LoadBalancer",
        vpc=vpc,
        internet_facing=True,
        http_redirect=True,
        domain=DomainOptions(domain_name="app.example.com", hosted_zone=hosted_zone(stack)),
    )
    AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=_task(stack),
        load_balancer=load_balancer,
        health_check=TargetHealthCheck(path="/actuator/health", success_codes="200"),
        capacity_provider_strategy=[
            ecs.CapacityProviderStrategy(capacity_provider="FARGATE", base=1, weight=1),
            ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=3),
        ],
        slow_start=cdk.Duration.seconds(30),
    )


@scenario("ServiceSharedLoadBalancer")
def service_shared_load_balancer(stack: cdk.Stack) -> None:
    vpc, platform = _platform(stack)
    load_balancer = _internal_load_balancer(stack, vpc)
    AlbFargateService(
        stack,
        "Api",
        cluster=platform.cluster,
        task_definition=_task(stack, "ApiTask", name="api"),
        load_balancer=load_balancer,
        routing=ListenerRouting(priority=10, path_patterns=["/api/*"]),
    )
    AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=_task(stack, "WebTask", name="web"),
        load_balancer=load_balancer,
        routing=ListenerRouting(priority=20, host_headers=["www.example.com"]),
    )


@scenario("ServiceScalingModes")
def service_scaling_modes(stack: cdk.Stack) -> None:
    vpc, platform = _platform(stack)
    load_balancer = _internal_load_balancer(stack, vpc)
    queue_depth = cloudwatch.Metric(
        namespace="MyApp", metric_name="QueueDepth", statistic="Average"
    )
    AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=_task(stack),
        load_balancer=load_balancer,
        desired_count=2,
        scaling=ScalingOptions(
            min_capacity=2,
            max_capacity=20,
            cpu_target_percent=60,
            memory_target_percent=70,
            requests_per_target=800,
            step_scaling=[
                StepScalingOptions(
                    name="QueueDepth",
                    metric=queue_depth,
                    steps=[
                        appscaling.ScalingInterval(upper=10, change=-1),
                        appscaling.ScalingInterval(lower=100, change=+2),
                        appscaling.ScalingInterval(lower=500, change=+5),
                    ],
                )
            ],
            schedules=[
                ScheduledScalingOptions(
                    name="BusinessHours",
                    schedule=appscaling.Schedule.cron(hour="8", minute="0", week_day="MON-FRI"),
                    min_capacity=6,
                    time_zone=cdk.TimeZone.ASIA_SEOUL,
                ),
                ScheduledScalingOptions(
                    name="Night",
                    schedule=appscaling.Schedule.cron(hour="20", minute="0"),
                    min_capacity=2,
                    time_zone=cdk.TimeZone.ASIA_SEOUL,
                ),
            ],
        ),
    )


@scenario("ServiceFixedCount")
def service_fixed_count(stack: cdk.Stack) -> None:
    vpc, platform = _platform(stack)
    load_balancer = _internal_load_balancer(stack, vpc)
    AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=_task(stack),
        load_balancer=load_balancer,
        desired_count=3,
        scaling=None,
    )


@scenario("ServiceOnEc2")
def service_on_ec2(stack: cdk.Stack) -> None:
    # EC2 capacity names its subnets' zones: a SecureVpc keeps them Fn::GetAZs.
    vpc = SecureVpc(stack, "Network", nat_gateways=1, endpoints=()).vpc
    platform = HardenedCluster(
        stack, "Platform", vpc=vpc, ec2_capacity=[Ec2CapacityOptions(name="web")]
    )
    load_balancer = _internal_load_balancer(stack, vpc)
    repository = ecr.Repository.from_repository_name(stack, "TaskRepository", "app")
    AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=HardenedTaskDefinition(
            stack,
            "Task",
            image=ecs.ContainerImage.from_ecr_repository(repository, "1.4.2"),
            container_port=8080,
            compatibility=ecs.Compatibility.EC2,
        ),
        load_balancer=load_balancer,
        capacity_provider_strategy=[platform.ec2_capacity["web"].strategy()],
        placement_strategies=[
            ecs.PlacementStrategy.spread_across(ecs.BuiltInAttributes.AVAILABILITY_ZONE)
        ],
    )


@scenario("ServiceGrpc")
def service_grpc(stack: cdk.Stack) -> None:
    """A gRPC service with end-to-end TLS: HTTPS targets, a gRPC health check of the
    standard health service (gRPC status 0), a route by gRPC service path."""
    vpc, platform = _platform(stack)
    orders = ecr.Repository.from_repository_name(stack, "TaskRepository", "orders")
    grpc_task = HardenedTaskDefinition(
        stack,
        "Task",
        image=ecs.ContainerImage.from_ecr_repository(orders, "2.0.1"),
        container_port=50051,
        health_check=HealthCheckOptions(
            command=["CMD", "/bin/grpc_health_probe", "-addr=:50051", "-tls", "-tls-no-verify"],
            start_period=cdk.Duration.seconds(30),
        ),
    )
    AlbFargateService(
        stack,
        "Orders",
        cluster=platform.cluster,
        task_definition=grpc_task,
        load_balancer=_internal_load_balancer(stack, vpc),
        routing=ListenerRouting(priority=10, path_patterns=["/orders.v1.Orders/*"]),
        target_protocol="HTTPS",
        protocol_version="GRPC",
        health_check=TargetHealthCheck(path="/grpc.health.v1.Health/Check"),
    )
