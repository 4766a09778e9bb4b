"""Bad input by class, across the network, cluster, task, job, monitoring, deployment and
scaling entry points: wrong types, tokens and scheduled scaling that cannot work. The other
ranges, combinations and silent misconfigurations are tested next to each construct's intent
tests."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk.assertions import Template
from constructs import Construct

from ecs_patterns_plus import (
    AlbFargateService,
    DeploymentStrategy,
    Ec2Ami,
    Ec2Capacity,
    Ec2CapacityOptions,
    HardenedCluster,
    HardenedTaskDefinition,
    HealthCheckOptions,
    LogOptions,
    MonitoringThresholds,
    OneOffTask,
    ScalingOptions,
    ScheduledScalingOptions,
    ScheduledTask,
    SecretValue,
    SecureLoadBalancer,
    SecureVpc,
    ServiceMonitoring,
    SidecarOptions,
    ValidationError,
    VpcEndpoints,
)
from ecs_patterns_plus.errors import Problems
from ecs_patterns_plus.task_definition import looks_like_secret_name
from tests.scenarios.common import certificate, existing_vpc
from tests.util import stack_for_errors

HOURLY = scheduler.ScheduleExpression.rate(cdk.Duration.hours(1))


def _image(scope: Construct) -> ecs.ContainerImage:
    repository = scope.node.try_find_child("Repository") or ecr.Repository.from_repository_name(
        scope, "Repository", "myapp"
    )
    return ecs.ContainerImage.from_ecr_repository(repository, "v1.2.3")  # type: ignore[arg-type]


def _platform(stack: cdk.Stack) -> HardenedCluster:
    return HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))


def _task(stack: cdk.Stack, **kwargs: Any) -> HardenedTaskDefinition:
    return HardenedTaskDefinition(stack, "Task", image=_image(stack), **kwargs)


# --- Types: every entry point checks its arguments before it builds anything ----------------

# (what is called, the construct id it would create or None, the expected problem)
TYPE_CASES: list[tuple[str, Callable[[cdk.Stack], Any], str | None, str]] = [
    (
        "SecureVpc",
        lambda s: SecureVpc(s, "Built", max_azs="3"),
        "Built",
        "Errors/Built: max_azs: expected an int; got str '3'; use the number 3, not a string",
    ),
    (
        "VpcEndpoints",
        lambda s: VpcEndpoints(s, "Built", vpc="vpc-0a1b2c3d"),
        "Built",
        "Errors/Built: vpc: expected an ec2.IVpc; got str 'vpc-0a1b2c3d'; pass an ec2.IVpc",
    ),
    (
        "VpcEndpoints.allow_from",
        lambda s: VpcEndpoints(s, "Endpoints", vpc=existing_vpc(s)).allow_from("sg-0a1b2c3d"),
        None,
        "Errors/Endpoints.allow_from: peers[0]: expected an ec2.IConnectable; "
        "got str 'sg-0a1b2c3d'; pass an ec2.IConnectable",
    ),
    (
        "HardenedCluster",
        lambda s: HardenedCluster(s, "Built", ec2_capacity=[{"name": "gpu"}]),
        "Built",
        "Errors/Built: ec2_capacity[0]: expected an Ec2CapacityOptions; got dict; "
        "pass an Ec2CapacityOptions",
    ),
    (
        "HardenedCluster.add_ec2_capacity",
        lambda s: _platform(s).add_ec2_capacity(Ec2CapacityOptions(name="gpu", spot="yes")),
        None,
        "Errors/Platform.add_ec2_capacity: options.spot: expected a bool; got str 'yes'; "
        "pass a bool",
    ),
    (
        "Ec2Capacity",
        lambda s: Ec2Capacity(
            s,
            "Built",
            cluster=_platform(s).cluster,
            options=Ec2CapacityOptions(name="gpu"),
            notifications_topic="arn:aws:sns:ap-northeast-2:111122223333:capacity",
        ),
        "Built",
        "Errors/Built: notifications_topic: expected a sns.ITopic; "
        "got str 'arn:aws:sns:ap-northeast-2:111122223333:capacity'; pass a sns.ITopic",
    ),
    (
        "Ec2Capacity.strategy",
        lambda s: (
            HardenedCluster(
                s, "Platform", vpc=existing_vpc(s), ec2_capacity=[Ec2CapacityOptions(name="gpu")]
            )
            .ec2_capacity["gpu"]
            .strategy(weight="2")
        ),
        None,
        "Errors/Platform/CapacityGpu.strategy: weight: expected an int; got str '2'; "
        "use the number 2, not a string",
    ),
    (
        "HardenedTaskDefinition",
        lambda s: HardenedTaskDefinition(s, "Built", image="myapp:v1"),
        "Built",
        "Errors/Built: image: expected an ecs.ContainerImage; got str 'myapp:v1'; build one with "
        "ecs.ContainerImage.from_asset(...), .from_docker_image_asset(...), "
        ".from_ecr_repository(...), .from_registry(...) or .from_tarball(...)",
    ),
    (
        "SecretValue.from_secrets_manager",
        lambda s: SecretValue.from_secrets_manager("myapp/db-pass"),
        None,
        "SecretValue.from_secrets_manager: secret: expected a secretsmanager.ISecret; "
        "got str 'myapp/db-pass'; pass a secretsmanager.ISecret",
    ),
    (
        "SecretValue.from_ssm_parameter",
        lambda s: SecretValue.from_ssm_parameter("/myapp/license"),
        None,
        "SecretValue.from_ssm_parameter: parameter: expected a ssm.IParameter; "
        "got str '/myapp/license'; pass a ssm.IParameter",
    ),
    (
        "ScheduledTask",
        lambda s: ScheduledTask(
            s,
            "Built",
            cluster=_platform(s).cluster,
            task_definition=_task(s),
            schedule=HOURLY,
            retry_attempts="3",
        ),
        "Built",
        "Errors/Built: retry_attempts: expected an int; got str '3'; "
        "use the number 3, not a string",
    ),
    (
        "OneOffTask",
        lambda s: OneOffTask(s, "Built", cluster="platform", task_definition=_task(s)),
        "Built",
        "Errors/Built: cluster: expected an ecs.ICluster; got str 'platform'; pass an ecs.ICluster",
    ),
    (
        "OneOffTask.grant_run",
        lambda s: OneOffTask(
            s, "Migrate", cluster=_platform(s).cluster, task_definition=_task(s)
        ).grant_run("arn:aws:iam::111122223333:role/deployer"),
        None,
        "Errors/Migrate.grant_run: grantee: expected an iam.IGrantable; "
        "got str 'arn:aws:iam::111122223333:role/deployer'; pass an iam.IGrantable",
    ),
    (
        "DeploymentStrategy.canary",
        lambda s: DeploymentStrategy.canary(percent="10"),
        None,
        "DeploymentStrategy.canary: percent: expected a float; got str '10'; "
        "use the number 10, not a string",
    ),
    (
        "SecureLoadBalancer",
        lambda s: SecureLoadBalancer(s, "Built", vpc=existing_vpc(s), idle_timeout=60),
        "Built",
        "Errors/Built: idle_timeout: expected a Duration; got int 60; use Duration.seconds(60)",
    ),
]


@pytest.mark.parametrize(
    ("build", "child", "message"),
    [case[1:] for case in TYPE_CASES],
    ids=[case[0] for case in TYPE_CASES],
)
def test_a_wrong_type_is_named_before_anything_is_built(
    build: Callable[[cdk.Stack], Any], child: str | None, message: str
) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as raised:
        build(stack)
    assert str(raised.value) == message
    if child is not None:
        assert stack.node.try_find_child(child) is None


def test_a_library_construct_stands_for_what_it_holds() -> None:
    stack = stack_for_errors()
    network = SecureVpc(stack, "Network")
    platform = HardenedCluster(stack, "Platform", vpc=network)  # type: ignore[arg-type]
    assert platform.vpc is network.vpc
    task = _task(stack)
    job = OneOffTask(stack, "Migrate", cluster=platform, task_definition=task)  # type: ignore[arg-type]
    assert job.cluster is platform.cluster
    assert job.task_definition is task.task_definition
    role = iam.Role(stack, "Deployer", assumed_by=iam.AccountRootPrincipal())
    job.grant_run(role)
    network.endpoints.allow_from(job)  # type: ignore[union-attr]
    assert stack.node.try_find_child("Migrate") is job


def test_every_wrong_type_of_a_call_is_reported_at_once() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as raised:
        OneOffTask(
            stack,
            "Built",
            cluster=_platform(stack).cluster,
            task_definition=_task(stack),
            subnets=["subnet-0a1b2c3d"],
            security_groups=ec2.Peer.any_ipv4(),
        )
    assert [problem.split(":")[0] for problem in raised.value.problems] == [
        "subnets",
        "security_groups",
    ]


# --- Tokens: numbers and durations known only at deploy time pass, and reach the template ---


def _number(stack: cdk.Stack, name: str) -> float:
    return cdk.CfnParameter(stack, name, type="Number").value_as_number


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


@pytest.fixture(scope="module")
def tokens() -> dict[str, Any]:
    """The template of one stack whose numbers and durations are parameters (synthesized once)."""
    stack = stack_for_errors()
    number = functools.partial(_number, stack)
    network = SecureVpc(stack, "Network", flow_log_retention=number("FlowLogDays"))
    platform = HardenedCluster(
        stack,
        "Platform",
        vpc=network,
        exec_log_retention=number("ExecLogDays"),
        ec2_capacity=[
            Ec2CapacityOptions(
                name="gpu",
                gpu=True,
                max_capacity=number("MaxInstances"),
                instance_warmup=cdk.Duration.seconds(number("WarmupSeconds")),
                target_capacity_percent=number("TargetPercent"),
            )
        ],
        default_capacity_provider_strategy=[
            ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=number("Weight"))
        ],
    )
    task = HardenedTaskDefinition(
        stack,
        "Task",
        image=_image(stack),
        cpu=number("Cpu"),
        memory_mib=number("Memory"),
        container_port=8080,
        health_check=HealthCheckOptions(
            command=["CMD", "/healthcheck"],
            interval=cdk.Duration.seconds(number("IntervalSeconds")),
            timeout=cdk.Duration.seconds(number("TimeoutSeconds")),
            retries=number("Retries"),
        ),
        logging=LogOptions(retention=number("LogDays"), max_buffer_size_mib=number("BufferMiB")),
    )
    gpu_task = HardenedTaskDefinition(
        stack,
        "GpuTask",
        image=_image(stack),
        compatibility=ecs.Compatibility.EC2,
        cpu=4096,
        memory_mib=15000,
        gpu_count=number("Gpus"),
    )
    ScheduledTask(
        stack,
        "Nightly",
        cluster=platform,
        task_definition=task,
        schedule=scheduler.ScheduleExpression.rate(cdk.Duration.minutes(number("EveryMinutes"))),
        task_count=number("TaskCount"),
        retry_attempts=number("RetryAttempts"),
        max_event_age=cdk.Duration.seconds(number("MaxAgeSeconds")),
        flexible_window=cdk.Duration.minutes(number("WindowMinutes")),
    )
    migrate = OneOffTask(
        stack,
        "Migrate",
        cluster=platform,
        task_definition=gpu_task,
        capacity_provider_strategy=[
            platform.ec2_capacity["gpu"].strategy(weight=number("GpuWeight"))
        ],
    )
    cdk.CfnOutput(stack, "MigrateCommand", value=migrate.run_task_command)
    web = AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=task,
        load_balancer=SecureLoadBalancer(
            stack, "LoadBalancer", vpc=network.vpc, certificate=certificate(stack)
        ),
        deployment=DeploymentStrategy.canary(
            percent=number("CanaryPercent"),
            step_bake_time=cdk.Duration.minutes(number("CanaryMinutes")),
            bake_time=cdk.Duration.minutes(number("BakeMinutes")),
        ),
        scaling=ScalingOptions(max_capacity=number("MaxTasks")),
        alarm_thresholds=MonitoringThresholds(
            latency_p99=cdk.Duration.seconds(number("LatencySeconds"))
        ),
    )
    ServiceMonitoring.for_service(
        stack,
        "Monitoring",
        service=web,
        thresholds=MonitoringThresholds(
            cpu_percent=number("CpuPercent"),
            running_below_desired_minutes=number("BelowDesiredMinutes"),
        ),
    )
    return Template.from_stack(stack).to_json()


def _properties(template: dict[str, Any], resource_type: str, prefix: str) -> dict[str, Any]:
    (found,) = [
        value["Properties"]
        for key, value in template["Resources"].items()
        if key.startswith(prefix) and value["Type"] == resource_type
    ]
    return found


def test_tokens_reach_the_log_retention(tokens: dict[str, Any]) -> None:
    for prefix, parameter in (
        ("NetworkFlowLogGroup", "FlowLogDays"),
        ("PlatformExecLogGroup", "ExecLogDays"),
        ("TaskLogGroup", "LogDays"),
    ):
        group = _properties(tokens, "AWS::Logs::LogGroup", prefix)
        assert group["RetentionInDays"] == _ref(parameter)


def test_tokens_reach_the_task_size_health_check_and_log_buffer(tokens: dict[str, Any]) -> None:
    task = _properties(tokens, "AWS::ECS::TaskDefinition", "TaskTaskDefinition")
    assert (task["Cpu"], task["Memory"]) == (_ref("Cpu"), _ref("Memory"))
    (app,) = task["ContainerDefinitions"]
    assert app["Memory"] == _ref("Memory")  # no sidecar: the whole task
    assert app["HealthCheck"] == {
        "Command": ["CMD", "/healthcheck"],
        "Interval": _ref("IntervalSeconds"),
        "Retries": _ref("Retries"),
        "StartPeriod": 60,
        "Timeout": _ref("TimeoutSeconds"),
    }
    assert app["LogConfiguration"]["Options"]["max-buffer-size"] == {
        "Fn::Join": ["", [_ref("BufferMiB"), "m"]]
    }
    gpu = _properties(tokens, "AWS::ECS::TaskDefinition", "GpuTaskTaskDefinition")
    (gpu_app,) = gpu["ContainerDefinitions"]
    assert gpu_app["ResourceRequirements"] == [{"Type": "GPU", "Value": _ref("Gpus")}]


def test_tokens_reach_the_ec2_capacity_and_strategies(tokens: dict[str, Any]) -> None:
    group = _properties(tokens, "AWS::AutoScaling::AutoScalingGroup", "PlatformCapacityGpu")
    assert group["MaxSize"] == _ref("MaxInstances")
    provider = _properties(tokens, "AWS::ECS::CapacityProvider", "PlatformCapacityGpu")
    assert provider["AutoScalingGroupProvider"]["ManagedScaling"] == {
        "InstanceWarmupPeriod": _ref("WarmupSeconds"),
        "Status": "ENABLED",
        "TargetCapacity": _ref("TargetPercent"),
    }
    associations = _properties(
        tokens, "AWS::ECS::ClusterCapacityProviderAssociations", "PlatformCluster"
    )
    fargate = [
        item
        for item in associations["DefaultCapacityProviderStrategy"]
        if item["CapacityProvider"] == "FARGATE"
    ]
    assert fargate == [{"CapacityProvider": "FARGATE", "Weight": _ref("Weight")}]
    command = json.dumps(tokens["Outputs"]["MigrateCommand"]["Value"])
    assert '",weight=", {"Ref": "GpuWeight"}' in command


def test_tokens_reach_the_schedule(tokens: dict[str, Any]) -> None:
    schedule = _properties(tokens, "AWS::Scheduler::Schedule", "NightlySchedule")
    assert schedule["ScheduleExpression"] == {
        "Fn::Join": ["", ["rate(", _ref("EveryMinutes"), " minutes)"]]
    }
    assert schedule["FlexibleTimeWindow"] == {
        "Mode": "FLEXIBLE",
        "MaximumWindowInMinutes": _ref("WindowMinutes"),
    }
    assert schedule["Target"]["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": _ref("MaxAgeSeconds"),
        "MaximumRetryAttempts": _ref("RetryAttempts"),
    }
    assert schedule["Target"]["EcsParameters"]["TaskCount"] == _ref("TaskCount")


def test_tokens_reach_the_deployment_scaling_and_alarms(tokens: dict[str, Any]) -> None:
    service = _properties(tokens, "AWS::ECS::Service", "WebService")
    assert service["DeploymentConfiguration"]["BakeTimeInMinutes"] == _ref("BakeMinutes")
    assert service["DeploymentConfiguration"]["CanaryConfiguration"] == {
        "CanaryBakeTimeInMinutes": _ref("CanaryMinutes"),
        "CanaryPercent": _ref("CanaryPercent"),
    }
    target = _properties(
        tokens, "AWS::ApplicationAutoScaling::ScalableTarget", "WebServiceTaskCountTarget"
    )
    assert target["MaxCapacity"] == _ref("MaxTasks")
    cpu = _properties(tokens, "AWS::CloudWatch::Alarm", "MonitoringCpuHigh")
    assert cpu["Threshold"] == _ref("CpuPercent")
    below = _properties(tokens, "AWS::CloudWatch::Alarm", "MonitoringRunningBelowDesired")
    assert below["EvaluationPeriods"] == _ref("BelowDesiredMinutes")
    assert "e+289" not in json.dumps(below["AlarmDescription"])
    rollback = _properties(tokens, "AWS::CloudWatch::Alarm", "WebRollbackAlarm")
    (expression,) = [m["Expression"] for m in rollback["Metrics"] if m.get("ReturnData", True)]
    # The latency threshold reaches the rollback alarm's metric math as a parameter.
    assert _ref("LatencySeconds") in expression["Fn::Join"][1]
    assert "e+289" not in json.dumps(expression)


# (what is built as ``Built``, the problem: a token where the value must be known at synth time)
LITERAL_CASES: list[tuple[str, Callable[[cdk.Stack], Any], str]] = [
    (
        "SecureVpc cidr",
        lambda s: SecureVpc(s, "Built", cidr=cdk.CfnParameter(s, "Cidr").value_as_string),
        "cidr: must be known at synth time, where CDK creates the subnets' blocks from it; "
        "got a str token; pass a literal CIDR",
    ),
    (
        "SecureVpc max_azs",
        lambda s: SecureVpc(s, "Built", max_azs=_number(s, "Azs")),
        "max_azs: must be known at synth time, where CDK creates one subnet per AZ; "
        "got a float token; pass a literal number",
    ),
    (
        "SecureVpc nat_gateways",
        lambda s: SecureVpc(s, "Built", nat_gateways=_number(s, "Nats")),
        "nat_gateways: must be known at synth time, where CDK creates one NAT gateway each; "
        "got a float token; pass a literal number",
    ),
    (
        "Ec2CapacityOptions instance_types",
        lambda s: HardenedCluster(
            s,
            "Built",
            vpc=existing_vpc(s),
            ec2_capacity=[
                Ec2CapacityOptions(
                    name="gpu", instance_types=[cdk.CfnParameter(s, "Type").value_as_string]
                )
            ],
        ),
        "ec2_capacity[0].instance_types: must be known at synth time: the AMI and architecture "
        "are chosen from them; got a str token; pass literal names, e.g. "
        "('m6i.large', 'm6a.large')",
    ),
    (
        "HardenedTaskDefinition memory share",
        lambda s: HardenedTaskDefinition(
            s,
            "Built",
            image=_image(s),
            memory_mib=_number(s, "Memory"),
            sidecars=[SidecarOptions(name="proxy", image=_image(s))],
        ),
        "memory_limit_mib: is needed when memory_mib or a sidecar's memory_limit_mib is a "
        "token: the application's share is what the sidecars leave, which cannot be computed "
        "from a token; got None; pass memory_limit_mib for the application container "
        "(a number or a token)",
    ),
    (
        "HardenedTaskDefinition stop_timeout",
        lambda s: HardenedTaskDefinition(
            s, "Built", image=_image(s), stop_timeout=cdk.Duration.minutes(_number(s, "Stop"))
        ),
        "stop_timeout: a token in minutes cannot be converted to the seconds AWS takes here; "
        "got <token> minutes; pass cdk.Duration.seconds(token)",
    ),
    (
        "ScheduledTask flexible_window",
        lambda s: ScheduledTask(
            s,
            "Built",
            cluster=_platform(s).cluster,
            task_definition=_task(s),
            schedule=HOURLY,
            flexible_window=cdk.Duration.seconds(_number(s, "Window")),
        ),
        "flexible_window: a token in seconds cannot be converted to the minutes AWS takes here; "
        "got <token> seconds; pass cdk.Duration.minutes(token)",
    ),
    (
        "MonitoringThresholds task_failure_window",
        lambda s: ServiceMonitoring(
            s,
            "Built",
            service=ecs.FargateService.from_fargate_service_attributes(
                s, "Service", cluster=_platform(s).cluster, service_name="orders"
            ),
            thresholds=MonitoringThresholds(
                task_failure_window=cdk.Duration.minutes(_number(s, "Window"))
            ),
        ),
        "thresholds.task_failure_window: must be known at synth time, where CDK checks it as a "
        "CloudWatch period; got <token> minutes; pass a literal duration, e.g. "
        "cdk.Duration.minutes(15)",
    ),
]


@pytest.mark.parametrize(
    ("build", "problem"), [case[1:] for case in LITERAL_CASES], ids=[c[0] for c in LITERAL_CASES]
)
def test_a_token_that_cannot_work_is_refused_with_the_fix(
    build: Callable[[cdk.Stack], Any], problem: str
) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as raised:
        build(stack)
    assert raised.value.problems == (problem,)
    assert stack.node.try_find_child("Built") is None


# --- Scaling: scheduled actions that can never work --------------------------------------------


def _web(stack: cdk.Stack, **kwargs: Any) -> AlbFargateService:
    platform = _platform(stack)
    task = kwargs.pop("task_definition", None) or _task(stack, container_port=8080)
    return AlbFargateService(
        stack,
        "Built",
        cluster=platform.cluster,
        task_definition=task,
        load_balancer=SecureLoadBalancer(
            stack, "LoadBalancer", vpc=platform.vpc, certificate=certificate(stack)
        ),
        desired_count=2,
        **kwargs,
    )


def _schedule(name: str, **bounds: int) -> ScheduledScalingOptions:
    return ScheduledScalingOptions(
        name=name, schedule=appscaling.Schedule.cron(hour="8", minute="0"), **bounds
    )


@pytest.mark.parametrize(
    ("schedules", "problem"),
    [
        (
            [_schedule("Peak", min_capacity=12)],
            "scaling.schedules[Peak]: sets min_capacity above the highest max_capacity the "
            "service can have (10), so the action fails when it runs; got 12; also set "
            "max_capacity (at least 12) on this schedule, or raise scaling.max_capacity",
        ),
        (
            [_schedule("Night", max_capacity=1)],
            "scaling.schedules[Night]: sets max_capacity below the lowest min_capacity the "
            "service can have (2), so the action fails when it runs; got 1; also set "
            "min_capacity (at most 1) on this schedule, or lower scaling.min_capacity",
        ),
        (
            [_schedule("Peak", min_capacity=-1, max_capacity=5)],
            "scaling.schedules[Peak].min_capacity: must be between 0 and 5000; got -1; "
            "pass a value from 0 to 5000",
        ),
    ],
)
def test_a_scheduled_action_that_cannot_work_is_refused(
    schedules: list[ScheduledScalingOptions], problem: str
) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as raised:
        _web(stack, scaling=ScalingOptions(schedules=schedules))
    assert raised.value.problems == (problem,)
    assert stack.node.try_find_child("Built") is None


def test_scheduled_actions_that_work_together_are_accepted() -> None:
    stack = stack_for_errors()
    web = _web(
        stack,
        scaling=ScalingOptions(
            schedules=[
                _schedule("Morning", min_capacity=12, max_capacity=40),  # raises the ceiling
                _schedule("Noon", min_capacity=20),  # fits under the morning's maximum
                _schedule("Night", min_capacity=0, max_capacity=0),
                _schedule("Dawn", max_capacity=2),  # the night's minimum of 0 allows it
            ]
        ),
    )
    assert web.node.try_find_child("Service") is not None


def test_a_service_of_arm64_tasks_is_refused_on_fargate_spot() -> None:
    stack = stack_for_errors()
    graviton = _task(stack, container_port=8080, architecture=ecs.CpuArchitecture.ARM64)
    with pytest.raises(ValidationError) as raised:
        _web(
            stack,
            task_definition=graviton,
            capacity_provider_strategy=[
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE", base=2, weight=1),
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=3),
            ],
        )
    (problem,) = raised.value.problems
    assert problem.startswith(
        "capacity_provider_strategy: names FARGATE_SPOT, which does not run ARM64 (Graviton) tasks"
    )
    assert stack.node.try_find_child("Built") is None


def test_a_public_function_checks_its_argument_type() -> None:
    with pytest.raises(ValidationError) as raised:
        looks_like_secret_name(42)  # type: ignore[arg-type]
    assert str(raised.value) == (
        "looks_like_secret_name: name: expected a str; got int 42; use the string '42'"
    )


# --- Ranges: the limits themselves are accepted ---------------------------------------------


def test_values_at_the_limits_of_their_ranges_are_accepted() -> None:
    stack = stack_for_errors()
    SecureVpc(stack, "Wide", max_azs=6, nat_gateways=0, cidr="10.0.0.0/16")
    platform = HardenedCluster(
        stack,
        "Platform",
        vpc=existing_vpc(stack),
        ec2_capacity=[
            Ec2CapacityOptions(
                name="a" + "b" * 31,
                min_capacity=5000,
                max_capacity=5000,
                target_capacity_percent=1,
                instance_warmup=cdk.Duration.seconds(10000),
                volume_size_gib=30,
            ),
            Ec2CapacityOptions(
                name="rocket",
                ami=Ec2Ami.BOTTLEROCKET,
                min_capacity=0,
                max_capacity=1,
                target_capacity_percent=100,
                instance_warmup=cdk.Duration.seconds(0),
                volume_size_gib=20,
            ),
        ],
    )
    largest = _task(
        stack,
        cpu=16384,
        memory_mib=122880,
        ephemeral_storage_gib=200,
        stop_timeout=cdk.Duration.seconds(120),
        health_check=HealthCheckOptions(
            command=["CMD", "true"],
            interval=cdk.Duration.seconds(300),
            timeout=cdk.Duration.seconds(120),
            retries=10,
            start_period=cdk.Duration.seconds(300),
        ),
        logging=LogOptions(max_buffer_size_mib=1024, retention=3653),
    )
    HardenedTaskDefinition(
        stack,
        "Smallest",
        image=_image(stack),
        ephemeral_storage_gib=21,
        stop_timeout=cdk.Duration.seconds(2),
        health_check=HealthCheckOptions(
            command=["CMD", "true"],
            interval=cdk.Duration.seconds(5),
            timeout=cdk.Duration.seconds(2),
            retries=1,
            start_period=cdk.Duration.seconds(0),
        ),
        logging=LogOptions(max_buffer_size_mib=1, retention=1),
    )
    for construct_id, limits in (
        (
            "Most",
            {
                "task_count": 10,
                "retry_attempts": 185,
                "max_event_age": cdk.Duration.hours(24),
                "flexible_window": cdk.Duration.minutes(1440),
                "dead_letter_retention": cdk.Duration.days(14),
            },
        ),
        (
            "Least",
            {
                "task_count": 1,
                "retry_attempts": 0,
                "max_event_age": cdk.Duration.seconds(60),
                "flexible_window": cdk.Duration.minutes(1),
                "dead_letter_retention": cdk.Duration.minutes(1),
            },
        ),
    ):
        ScheduledTask(
            stack,
            construct_id,
            cluster=platform,
            task_definition=largest,
            schedule=HOURLY,
            capacity_provider_strategy=[
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1000, base=100000)
            ],
            **limits,
        )
    DeploymentStrategy.canary(
        percent=0.1, step_bake_time=cdk.Duration.minutes(0), bake_time=cdk.Duration.minutes(1440)
    ).check(Problems.named("Web"), shares_listener=False)
    for strategy in (
        DeploymentStrategy.canary(percent=100, bake_time=cdk.Duration.minutes(0)),
        DeploymentStrategy.linear(step_percent=3, step_bake_time=cdk.Duration.minutes(0)),
        DeploymentStrategy.linear(step_percent=100),
        DeploymentStrategy.rolling(min_healthy_percent=0, max_healthy_percent=100),
        DeploymentStrategy.code_deploy_blue_green(termination_wait=cdk.Duration.minutes(2880)),
    ):
        problems = Problems.named("Web")
        strategy.check(problems, shares_listener=False)
        assert not problems, strategy
    assert set(platform.ec2_capacity) == {"a" + "b" * 31, "rocket"}
