"""Intent tests: the guarantees of AlbFargateService and its autoscaling, by name."""

from __future__ import annotations

import functools
import itertools
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template

from ecs_patterns_plus import (
    AlbFargateService,
    DeploymentStrategy,
    Ec2CapacityOptions,
    HardenedCluster,
    HardenedTaskDefinition,
    ListenerRouting,
    MonitoringThresholds,
    RouteAuthentication,
    ScalingOptions,
    ScheduledScalingOptions,
    SecureLoadBalancer,
    SecureVpc,
    StepScalingOptions,
    TargetHealthCheck,
    ValidationError,
)
from tests.scenarios.common import certificate, existing_vpc
from tests.synth import Synthesized, new_app
from tests.util import logical_id, resources_of, stack_for_errors

SERVICE = "AWS::ECS::Service"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"
TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"


def _one(synth: Synthesized, stack: str, resource_type: str) -> dict[str, Any]:
    (resource,) = resources_of(synth, stack, resource_type).values()
    return resource["Properties"]


def _group_rules(synth: Synthesized, stack: str, resource_type: str, group: str) -> list[dict]:
    return [
        rule["Properties"]
        for rule in resources_of(synth, stack, resource_type).values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    ]


@pytest.mark.scenarios("ServiceDefaults")
def test_tasks_run_in_private_subnets_without_public_ip(scenarios: Synthesized) -> None:
    config = _one(scenarios, "ServiceDefaults", SERVICE)["NetworkConfiguration"][
        "AwsvpcConfiguration"
    ]
    assert config["AssignPublicIp"] == "DISABLED"
    assert [subnet["Ref"][:27] for subnet in config["Subnets"]] == [
        "NetworkVpcPrivateSubnet1Sub",
        "NetworkVpcPrivateSubnet2Sub",
    ]


@pytest.mark.scenarios("ServiceDefaults")
def test_service_group_admits_only_the_load_balancer_on_the_container_port(
    scenarios: Synthesized,
) -> None:
    service_group = logical_id(scenarios, "ServiceDefaults", "Web/SecurityGroup")
    lb_group = logical_id(scenarios, "ServiceDefaults", "LoadBalancer/SecurityGroup")
    template = scenarios.template_json("ServiceDefaults")
    assert "SecurityGroupIngress" not in template["Resources"][service_group]["Properties"]
    ingress = _group_rules(
        scenarios, "ServiceDefaults", "AWS::EC2::SecurityGroupIngress", service_group
    )
    assert ingress == [
        {
            "Description": "Load balancer to the container port",
            "FromPort": 8080,
            "GroupId": {"Fn::GetAtt": [service_group, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [lb_group, "GroupId"]},
            "ToPort": 8080,
        }
    ]


@pytest.mark.scenarios("ServiceDefaults")
def test_service_egress_is_https_only_and_the_endpoints_admit_it(scenarios: Synthesized) -> None:
    service_group = logical_id(scenarios, "ServiceDefaults", "Web/SecurityGroup")
    endpoints_group = logical_id(scenarios, "ServiceDefaults", "Network/Endpoints/SecurityGroup")
    group = scenarios.template_json("ServiceDefaults")["Resources"][service_group]["Properties"]
    assert [(r["CidrIp"], r["FromPort"], r["ToPort"]) for r in group["SecurityGroupEgress"]] == [
        ("0.0.0.0/0", 443, 443)
    ]
    # HTTPS to anywhere reaches the endpoints already: no second egress rule for them.
    assert (
        _group_rules(scenarios, "ServiceDefaults", "AWS::EC2::SecurityGroupEgress", service_group)
        == []
    )
    admitted = _group_rules(
        scenarios, "ServiceDefaults", "AWS::EC2::SecurityGroupIngress", endpoints_group
    )
    assert [
        (r["SourceSecurityGroupId"]["Fn::GetAtt"][0], r["FromPort"], r["ToPort"]) for r in admitted
    ] == [(service_group, 443, 443)]


@pytest.mark.scenarios("ServiceDefaults")
def test_safe_rolling_deployment_defaults(scenarios: Synthesized) -> None:
    service = _one(scenarios, "ServiceDefaults", SERVICE)
    config = service["DeploymentConfiguration"]
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert (config["MinimumHealthyPercent"], config["MaximumPercent"]) == (100, 200)
    assert service["AvailabilityZoneRebalancing"] == "ENABLED"
    assert service["PropagateTags"] == "SERVICE"
    assert service["EnableECSManagedTags"] is True
    assert service["EnableExecuteCommand"] is False
    assert service["PlatformVersion"] == "LATEST"


@pytest.mark.scenarios("ServiceDefaults")
def test_grace_period_derived_from_the_container_start_period(scenarios: Synthesized) -> None:
    # 60 s start period + (2 healthy checks + 1) x 10 s interval
    assert _one(scenarios, "ServiceDefaults", SERVICE)["HealthCheckGracePeriodSeconds"] == 90


@pytest.mark.scenarios("ServiceDefaults")
def test_tuned_target_group_for_fast_safe_rollouts(scenarios: Synthesized) -> None:
    group = _one(scenarios, "ServiceDefaults", TARGET_GROUP)
    assert group["TargetType"] == "ip"
    assert group["HealthCheckIntervalSeconds"] == 10
    assert group["HealthCheckTimeoutSeconds"] == 5
    assert group["HealthyThresholdCount"] == 2
    assert group["UnhealthyThresholdCount"] == 3
    assert group["Matcher"] == {"HttpCode": "200-299"}
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == "30"


@pytest.mark.scenarios("ServiceInternetFacing")
def test_health_check_path_and_slow_start(scenarios: Synthesized) -> None:
    group = _one(scenarios, "ServiceInternetFacing", TARGET_GROUP)
    assert group["HealthCheckPath"] == "/actuator/health"
    assert group["Matcher"] == {"HttpCode": "200"}
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert attributes["slow_start.duration_seconds"] == "30"


@pytest.mark.scenarios("ServiceInternetFacing")
def test_capacity_provider_strategy_replaces_launch_type(scenarios: Synthesized) -> None:
    service = _one(scenarios, "ServiceInternetFacing", SERVICE)
    assert "LaunchType" not in service
    assert service["CapacityProviderStrategy"] == [
        {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]


@pytest.mark.scenarios("ServiceDefaults")
def test_catch_all_route_at_lowest_priority(scenarios: Synthesized) -> None:
    rule = _one(scenarios, "ServiceDefaults", RULE)
    assert rule["Priority"] == 50000
    assert rule["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}
    ]


@pytest.mark.scenarios("ServiceSharedLoadBalancer")
def test_two_services_share_one_load_balancer_by_path_and_host(scenarios: Synthesized) -> None:
    stack = "ServiceSharedLoadBalancer"
    scenarios.template(stack).resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 1)
    rules = sorted(
        (rule["Properties"] for rule in resources_of(scenarios, stack, RULE).values()),
        key=lambda rule: rule["Priority"],
    )
    assert [(rule["Priority"], rule["Conditions"]) for rule in rules] == [
        (10, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}]),
        (
            20,
            [
                {"Field": "host-header", "HostHeaderConfig": {"Values": ["www.example.com"]}},
                {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}},
            ],
        ),
    ]
    groups = {rule["Actions"][0]["TargetGroupArn"]["Ref"][:3] for rule in rules}
    assert groups == {"Api", "Web"}


@pytest.mark.scenarios("ServiceDefaults")
def test_autoscaled_service_leaves_desired_count_to_autoscaling(scenarios: Synthesized) -> None:
    assert "DesiredCount" not in _one(scenarios, "ServiceDefaults", SERVICE)
    target = _one(scenarios, "ServiceDefaults", TARGET)
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)


@pytest.mark.scenarios("ServiceFixedCount")
def test_fixed_count_service_pins_desired_count(scenarios: Synthesized) -> None:
    assert _one(scenarios, "ServiceFixedCount", SERVICE)["DesiredCount"] == 3
    scenarios.template("ServiceFixedCount").resource_count_is(TARGET, 0)


@pytest.mark.scenarios("ServiceDefaults")
def test_cpu_target_tracking_at_50_percent_by_default(scenarios: Synthesized) -> None:
    policy = _one(scenarios, "ServiceDefaults", POLICY)
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
        },
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
        "TargetValue": 50,
    }


@pytest.mark.scenarios("ServiceScalingModes")
def test_every_scaling_mode_combines(scenarios: Synthesized) -> None:
    stack = "ServiceScalingModes"
    target = _one(scenarios, stack, TARGET)
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 20)
    tracking = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]: p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "TargetValue"
        ]
        for p in resources_of(scenarios, stack, POLICY).values()
        if p["Properties"]["PolicyType"] == "TargetTrackingScaling"
    }
    assert tracking == {
        "ECSServiceAverageCPUUtilization": 60,
        "ECSServiceAverageMemoryUtilization": 70,
        "ALBRequestCountPerTarget": 800,
    }
    steps = [
        p["Properties"]["StepScalingPolicyConfiguration"]
        for p in resources_of(scenarios, stack, POLICY).values()
        if p["Properties"]["PolicyType"] == "StepScaling"
    ]
    assert len(steps) == 2  # one policy for scale-out bands, one for scale-in
    scheduled = target["ScheduledActions"]
    assert [(a["Schedule"], a["Timezone"], a["ScalableTargetAction"]) for a in scheduled] == [
        ("cron(0 8 ? * MON-FRI *)", "Asia/Seoul", {"MinCapacity": 6}),
        ("cron(0 20 * * ? *)", "Asia/Seoul", {"MinCapacity": 2}),
    ]
    step_alarms = [
        alarm
        for alarm in resources_of(scenarios, stack, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "QueueDepth"
    ]
    assert len(step_alarms) == 2  # the upper and lower bands


# --- Bad input ---------------------------------------------------------------------------------


@functools.cache
def _platform() -> tuple[cdk.Stack, HardenedCluster, SecureLoadBalancer, ecr.IRepository]:
    """One stack for every bad-input service: a refused service adds nothing to it."""
    stack = stack_for_errors()
    network = SecureVpc(stack, "Network", endpoints=())
    platform = HardenedCluster(stack, "Platform", vpc=network.vpc)
    load_balancer = SecureLoadBalancer(
        stack, "LoadBalancer", vpc=network.vpc, certificate=certificate(stack)
    )
    return stack, platform, load_balancer, ecr.Repository.from_repository_name(stack, "Repo", "app")


_ids = itertools.count()


def _service(**kwargs: Any) -> None:
    """Build an AlbFargateService with ``kwargs`` (``task_options`` go to its task definition)."""
    stack, platform, load_balancer, repository = _platform()
    index = next(_ids)
    task = HardenedTaskDefinition(
        stack,
        f"Task{index}",
        image=ecs.ContainerImage.from_ecr_repository(repository, "1.0.0"),
        **kwargs.pop("task_options", {"container_port": 8080}),
    )
    AlbFargateService(
        stack,
        f"Web{index}",
        cluster=platform.cluster,
        task_definition=task,
        load_balancer=load_balancer,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_options": {}}, r"task_definition: has no container port"),
        ({"enable_exec": True}, r"enable_exec: needs a task definition prepared for ECS Exec"),
        ({"desired_count": -1}, r"desired_count: must be between 0 and 5000"),
        (
            {"health_check": TargetHealthCheck(path="health")},
            r"health_check.path: must be an absolute",
        ),
        (
            {"health_check": TargetHealthCheck(timeout=Duration.seconds(10))},
            r"health_check.timeout: must be shorter than health_check.interval",
        ),
        (
            {"health_check": TargetHealthCheck(interval=Duration.seconds(1))},
            r"health_check.interval: must be between 5 and 300 seconds",
        ),
        (
            {"health_check": TargetHealthCheck(healthy_threshold=1)},
            r"health_check.healthy_threshold",
        ),
        (
            {"health_check": TargetHealthCheck(unhealthy_threshold=11)},
            r"health_check.unhealthy_threshold",
        ),
        ({"health_check": TargetHealthCheck(success_codes="ok")}, r"health_check.success_codes"),
        (
            {"health_check": TargetHealthCheck(success_codes="200-599")},
            r"health_check\.success_codes: must be HTTP codes or ranges from 200 to 499",
        ),
        (
            {"deregistration_delay": Duration.seconds(4000)},
            r"deregistration_delay: must be between 0",
        ),
        ({"slow_start": Duration.seconds(10)}, r"slow_start: must be between 30 and 900"),
        (
            {"deployment": DeploymentStrategy.rolling(min_healthy_percent=101)},
            r"deployment.min_healthy_percent: must be between 0 and 100",
        ),
        (
            {"deployment": DeploymentStrategy.rolling(max_healthy_percent=250)},
            r"deployment.max_healthy_percent: must be between 100 and 200",
        ),
        (
            {"deployment": DeploymentStrategy.rolling(max_healthy_percent=100)},
            r"deployment.max_healthy_percent: must exceed min_healthy_percent",
        ),
        (
            {
                "capacity_provider_strategy": [
                    ecs.CapacityProviderStrategy(capacity_provider="SPOT", weight=1)
                ]
            },
            r"capacity_provider_strategy: names EC2 capacity, but the task definition is Fargate-only",
        ),
        (
            {
                "capacity_provider_strategy": [
                    ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=-1)
                ]
            },
            r"capacity_provider_strategy: weights must be between 0 and 1000",
        ),
        (
            {"routing": ListenerRouting(priority=0)},
            r"routing.priority: must be between 1 and 50000",
        ),
        (
            {"desired_count": 12},
            r"scaling: needs min_capacity <= desired_count <= max_capacity; got 'min 12, desired 12, max 10'",
        ),
        (
            {"scaling": ScalingOptions(min_capacity=5)},
            r"scaling: needs min_capacity <= desired_count <= max_capacity",
        ),
        (
            {"desired_count": 3, "scaling": ScalingOptions(min_capacity=2)},
            r"scaling.min_capacity: is below desired_count \(3\): a new autoscaled service "
            r"settles at min_capacity",
        ),
        ({"scaling": ScalingOptions(max_capacity=0)}, r"scaling.max_capacity: must be between 1"),
        (
            {"scaling": ScalingOptions(cpu_target_percent=95)},
            r"scaling.cpu_target_percent: must be between 10 and 90",
        ),
        ({"scaling": ScalingOptions(cpu_target_percent=None)}, r"scaling: has no scaling policy"),
        ({"scaling": ScalingOptions(requests_per_target=0)}, r"scaling.requests_per_target"),
        (
            {"scaling": ScalingOptions(scale_in_cooldown=Duration.hours(2))},
            r"scaling.scale_in_cooldown: must be between 0 and 3600 seconds",
        ),
        (
            {
                "scaling": ScalingOptions(
                    schedules=[
                        ScheduledScalingOptions(
                            name="Peak", schedule=appscaling.Schedule.rate(Duration.hours(1))
                        )
                    ]
                )
            },
            r"scaling.schedules\[Peak\]: sets neither min_capacity nor max_capacity",
        ),
        (
            {
                "scaling": ScalingOptions(
                    schedules=[
                        ScheduledScalingOptions(
                            name="Peak",
                            schedule=appscaling.Schedule.rate(Duration.hours(1)),
                            min_capacity=5,
                            max_capacity=2,
                        )
                    ]
                )
            },
            r"scaling.schedules\[Peak\]: min_capacity exceeds max_capacity",
        ),
        (
            {
                "scaling": ScalingOptions(
                    step_scaling=[
                        StepScalingOptions(
                            name="queue-depth",
                            metric=cloudwatch.Metric(namespace="A", metric_name="B"),
                            steps=[appscaling.ScalingInterval(lower=10, change=1)],
                        )
                    ]
                )
            },
            r"must be unique and PascalCase; got 'queue-depth'",
        ),
    ],
)
def test_service_rejects_bad_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _service(**kwargs)


def test_step_scaling_needs_a_scale_in_band() -> None:
    scaling = ScalingOptions(
        step_scaling=[
            StepScalingOptions(
                name="QueueDepth",
                metric=cloudwatch.Metric(namespace="A", metric_name="B"),
                steps=[appscaling.ScalingInterval(lower=10, change=1)],
            )
        ]
    )
    with pytest.raises(
        ValidationError, match=r"scaling.step_scaling\[QueueDepth\].steps: needs at least two"
    ):
        _service(scaling=scaling)


@pytest.mark.scenarios("ServiceOnEc2")
def test_service_runs_on_ec2_capacity_with_placement(scenarios: Synthesized) -> None:
    service = _one(scenarios, "ServiceOnEc2", SERVICE)
    assert "PlatformVersion" not in service
    assert "LaunchType" not in service
    (strategy,) = service["CapacityProviderStrategy"]
    providers = resources_of(scenarios, "ServiceOnEc2", "AWS::ECS::CapacityProvider")
    assert strategy["CapacityProvider"] == {"Ref": next(iter(providers))}
    assert service["PlacementStrategies"] == [
        {"Field": "attribute:ecs.availability-zone", "Type": "spread"}
    ]
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"placement_strategies": [ecs.PlacementStrategy.spread_across_instances()]},
            r"placement_strategies: placement strategies and constraints apply to EC2 capacity only",
        ),
        (
            {"task_options": {"container_port": 8080, "compatibility": ecs.Compatibility.EC2}},
            r"capacity_provider_strategy: an EC2 task definition needs the EC2 capacity provider",
        ),
        (
            {
                "capacity_provider_strategy": [
                    ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1),
                    ecs.CapacityProviderStrategy(capacity_provider="MyEc2Capacity", weight=1),
                ]
            },
            r"capacity_provider_strategy: mixes Fargate and EC2 capacity providers",
        ),
        (
            {
                "capacity_provider_strategy": [
                    ecs.CapacityProviderStrategy(capacity_provider="MyEc2Capacity", weight=1)
                ]
            },
            r"capacity_provider_strategy: names EC2 capacity, but the task definition is Fargate-only",
        ),
    ],
)
def test_service_refuses_launch_combinations_that_cannot_run(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _service(**kwargs)


# --- Combinations AWS cannot run, and silent misconfigurations ------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"routing": ListenerRouting(priority=5, path_patterns=["api/*"])},
            r"routing.path_patterns: must be absolute paths",
        ),
        (
            {"routing": ListenerRouting(priority=5, path_patterns=[f"/p{i}" for i in range(6)])},
            r"routing: an ALB rule matches at most 5 path patterns and host headers together",
        ),
        (
            {"routing": ListenerRouting(priority=5, host_headers=["https://api.example.com"])},
            r"routing.host_headers: must be host names",
        ),
        ({"https_egress": ()}, r"https_egress: leaves the tasks no way to S3"),
        ({"https_egress": ()}, r"endpoints: are needed with a restricted https_egress"),
        (
            {"https_egress": [ec2.Peer.ipv4("10.0.0.0/8")]},
            r"https_egress: leaves the tasks no way to S3",
        ),
    ],
)
def test_service_refuses_what_cannot_work_on_aws(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _service(**kwargs)


def test_restricted_egress_that_reaches_s3_and_the_endpoints_is_accepted() -> None:
    stack = stack_for_errors()
    network = SecureVpc(stack, "Network", nat_gateways=0)
    platform = HardenedCluster(stack, "Platform", vpc=network.vpc)
    web = AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=HardenedTaskDefinition(
            stack, "Task", image=ecs.ContainerImage.from_registry(_IMAGE), container_port=8080
        ),
        load_balancer=SecureLoadBalancer(
            stack, "LoadBalancer", vpc=network.vpc, certificate=certificate(stack)
        ),
        https_egress=[ec2.Peer.prefix_list("pl-78a54011")],  # the region's S3 prefix list
        endpoints=network.endpoints,
    )
    group = stack.resolve(web.security_group.security_group_id)
    egress = [
        stack.resolve(rule.destination_security_group_id)
        for rule in stack.node.find_all()
        if isinstance(rule, ec2.CfnSecurityGroupEgress)
        and stack.resolve(rule.group_id) == group
        and rule.destination_security_group_id is not None
    ]
    # With a restricted list, the tasks get an explicit rule to the endpoints.
    assert egress == [stack.resolve(network.endpoints.security_group.security_group_id)]  # type: ignore[union-attr]


_IMAGE = "public.ecr.aws/nginx/nginx@sha256:" + "0" * 64


def _two(stack_kwargs: list[dict[str, Any]]) -> cdk.Stack:
    """Services with the given arguments, in order, on one new load balancer."""
    stack = stack_for_errors()
    vpc = existing_vpc(stack)
    platform = HardenedCluster(stack, "Platform", vpc=vpc)
    load_balancer = SecureLoadBalancer(
        stack, "LoadBalancer", vpc=vpc, certificate=certificate(stack)
    )
    for index, kwargs in enumerate(stack_kwargs):
        AlbFargateService(
            stack,
            f"Web{index}",
            cluster=platform.cluster,
            task_definition=HardenedTaskDefinition(
                stack,
                f"Task{index}",
                image=ecs.ContainerImage.from_registry(_IMAGE),
                container_port=8080,
            ),
            load_balancer=load_balancer,
            **kwargs,
        )
    return stack


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            {"routing": ListenerRouting(priority=11, path_patterns=["/api/*"])},
            r"Web1: routing.path_patterns: the same hosts and paths are already routed",
        ),
        (
            {"routing": ListenerRouting(priority=10, path_patterns=["/other/*"])},
            r"Web1: routing.priority: is already used by another route",
        ),
    ],
)
def test_routes_of_two_services_must_not_clash(second: dict[str, Any], message: str) -> None:
    first = {"routing": ListenerRouting(priority=10, path_patterns=["/api/*"])}
    with pytest.raises(ValidationError, match=message) as raised:
        _two([first, second])
    # Refused before the second service built anything.
    assert "Web1" not in raised.value.path.split("/")[:-1]


def test_a_refused_route_leaves_nothing_behind() -> None:
    stack = _two([{"routing": ListenerRouting(priority=10, path_patterns=["/api/*"])}])
    with pytest.raises(ValidationError):
        AlbFargateService(
            stack,
            "Late",
            cluster=stack.node.find_child("Platform").cluster,  # type: ignore[attr-defined]
            task_definition=stack.node.find_child("Task0"),  # type: ignore[arg-type]
            load_balancer=stack.node.find_child("LoadBalancer"),  # type: ignore[arg-type]
            routing=ListenerRouting(priority=10, path_patterns=["/late/*"]),
        )
    assert stack.node.try_find_child("Late") is None
    assert stack.node.find_child("LoadBalancer").node.try_find_child("LateRoute") is None


def test_code_deploy_owns_the_default_action_alone() -> None:
    code_deploy = {"deployment": DeploymentStrategy.code_deploy_blue_green()}
    with pytest.raises(ValidationError, match=r"Web1: load_balancer: its listeners' default"):
        _two([code_deploy, dict(code_deploy)])
    with pytest.raises(ValidationError, match=r"Web1: routing: a route for every path"):
        _two([code_deploy, {}])
    with pytest.raises(ValidationError, match=r"Web1: load_balancer: a route for every path"):
        _two([{}, code_deploy])
    # A routed service beside it leaves the default action to CodeDeploy: that works.
    _two([code_deploy, {"routing": ListenerRouting(priority=10, path_patterns=["/api/*"])}])


def test_traffic_shifting_services_share_the_test_listener() -> None:
    stack = _two(
        [
            {
                "routing": ListenerRouting(priority=10 + index, path_patterns=[f"/s{index}/*"]),
                "deployment": DeploymentStrategy.canary(),
            }
            for index in range(2)
        ]
    )
    template = Template.from_stack(stack)
    listeners = template.find_resources(
        "AWS::ElasticLoadBalancingV2::Listener", {"Properties": {"Port": 9443}}
    )
    assert len(listeners) == 1
    (listener,) = listeners
    test_rules = template.find_resources(RULE, {"Properties": {"ListenerArn": {"Ref": listener}}})
    assert sorted(r["Properties"]["Priority"] for r in test_rules.values()) == [10, 11]


def test_load_balancer_in_another_vpc_is_refused() -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    other = SecureVpc(stack, "Other")
    with pytest.raises(ValidationError, match=r"load_balancer: is in another VPC than the cluster"):
        AlbFargateService(
            stack,
            "Web",
            cluster=platform.cluster,
            task_definition=HardenedTaskDefinition(
                stack, "Task", image=ecs.ContainerImage.from_registry(_IMAGE), container_port=80
            ),
            load_balancer=SecureLoadBalancer(
                stack, "LoadBalancer", vpc=other.vpc, certificate=certificate(stack)
            ),
        )


def test_service_in_a_vpc_without_private_subnets_is_refused() -> None:
    stack = stack_for_errors()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Public",
        vpc_id="vpc-0a1b2c3d4e5f67891",
        availability_zones=["ap-northeast-2a", "ap-northeast-2c"],
        public_subnet_ids=["subnet-0b0000000000000b1", "subnet-0b0000000000000b2"],
    )
    platform = HardenedCluster(stack, "Platform", vpc=vpc)
    with pytest.raises(ValidationError, match=r"cluster: its VPC has no private subnets"):
        AlbFargateService(
            stack,
            "Web",
            cluster=platform.cluster,
            task_definition=HardenedTaskDefinition(
                stack, "Task", image=ecs.ContainerImage.from_registry(_IMAGE), container_port=80
            ),
            load_balancer=SecureLoadBalancer(
                stack,
                "LoadBalancer",
                vpc=vpc,
                certificate=certificate(stack),
                internet_facing=True,
            ),
        )


def test_placement_on_ec2_capacity_spreads_over_zones_first() -> None:
    """ECS AZ rebalancing needs AZ spread as the first strategy; the user's ones follow."""
    stack = stack_for_errors()
    vpc = existing_vpc(stack)
    platform = HardenedCluster(
        stack, "Platform", vpc=vpc, ec2_capacity=[Ec2CapacityOptions(name="web")]
    )
    AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=HardenedTaskDefinition(
            stack,
            "Task",
            image=ecs.ContainerImage.from_registry(_IMAGE),
            container_port=8080,
            compatibility=ecs.Compatibility.EC2,
        ),
        load_balancer=SecureLoadBalancer(
            stack, "LoadBalancer", vpc=vpc, certificate=certificate(stack)
        ),
        capacity_provider_strategy=[platform.ec2_capacity["web"].strategy()],
        placement_strategies=[ecs.PlacementStrategy.packed_by_memory()],
    )
    (service,) = Template.from_stack(stack).find_resources(SERVICE).values()
    assert service["Properties"]["AvailabilityZoneRebalancing"] == "ENABLED"
    assert service["Properties"]["PlacementStrategies"] == [
        {"Field": "attribute:ecs.availability-zone", "Type": "spread"},
        {"Field": "MEMORY", "Type": "binpack"},
    ]


def test_a_service_in_another_stack_keeps_its_routes_in_its_own_stack() -> None:
    """The fleet pattern: one platform stack, service stacks that reference it, no cycle."""
    app = new_app(validation=False)
    env = cdk.Environment(region="ap-northeast-2")
    platform_stack = cdk.Stack(app, "Platform", env=env)
    vpc = existing_vpc(platform_stack)
    platform = HardenedCluster(platform_stack, "Platform", vpc=vpc)
    load_balancer = SecureLoadBalancer(
        platform_stack, "LoadBalancer", vpc=vpc, certificate=certificate(platform_stack)
    )
    services = cdk.Stack(app, "Services", env=env)
    AlbFargateService(
        services,
        "Web",
        cluster=platform.cluster,
        task_definition=HardenedTaskDefinition(
            services, "Task", image=ecs.ContainerImage.from_registry(_IMAGE), container_port=80
        ),
        load_balancer=load_balancer,
        routing=ListenerRouting(priority=10, path_patterns=["/web/*"]),
        deployment=DeploymentStrategy.canary(),
    )
    assembly = app.synth()  # a dependency cycle between the stacks would raise here
    templates = {stack.stack_name: stack.template["Resources"] for stack in assembly.stacks}
    kinds = {
        name: {resource["Type"] for resource in resources.values()}
        for name, resources in templates.items()
    }
    assert RULE in kinds["Services"]
    assert RULE not in kinds["Platform"]
    assert services.dependencies == [platform_stack]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"deregistration_delay": 30},
            r"deregistration_delay: expected a Duration; got int 30; use Duration.seconds\(30\)",
        ),
        ({"desired_count": "2"}, r"desired_count: expected an int; got str '2'"),
        (
            {"routing": ListenerRouting(priority=10, path_patterns="/api/*")},  # type: ignore[arg-type]
            r"routing.path_patterns: expected a list of str; got str '/api/\*'",
        ),
        (
            {"health_check": TargetHealthCheck(interval=30)},  # type: ignore[arg-type]
            r"health_check.interval: expected a Duration; got int 30",
        ),
        ({"https_egress": ec2.Peer.any_ipv4()}, r"https_egress: expected a list of ec2.IPeer"),
    ],
)
def test_wrong_types_are_named_before_anything_is_built(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _service(**kwargs)


def test_a_hardened_cluster_stands_for_its_cluster() -> None:
    stack, platform, load_balancer, repository = _platform()
    service = AlbFargateService(
        stack,
        "WholeCluster",
        cluster=platform,  # type: ignore[arg-type]
        task_definition=HardenedTaskDefinition(
            stack,
            "WholeClusterTask",
            image=ecs.ContainerImage.from_ecr_repository(repository, "1.0.0"),
            container_port=8080,
        ),
        load_balancer=load_balancer,
        routing=ListenerRouting(priority=4000, path_patterns=["/whole/*"]),
    )
    assert service.service.cluster is platform.cluster


def test_a_grace_period_from_token_durations_must_be_given() -> None:
    stack = _platform()[0]
    seconds = cdk.CfnParameter(stack, "IntervalSeconds", type="Number").value_as_number
    with pytest.raises(ValidationError, match=r"health_check_grace_period: is derived from"):
        _service(health_check=TargetHealthCheck(interval=Duration.seconds(seconds)))
    _service(
        health_check=TargetHealthCheck(interval=Duration.seconds(seconds)),
        health_check_grace_period=Duration.seconds(seconds),
        routing=ListenerRouting(priority=4100, path_patterns=["/grace/*"]),
    )


def test_rollback_alarm_thresholds_are_checked_under_the_argument_name_first() -> None:
    stack = _platform()[0]
    before = len(stack.node.find_all())
    with pytest.raises(ValidationError) as raised:
        _service(alarm_thresholds=MonitoringThresholds(target_5xx_percent=500))
    assert raised.value.path.startswith("Errors/Web")
    assert raised.value.problems[0].startswith(
        "alarm_thresholds.target_5xx_percent: must be between 0.01 and 100"
    )
    # Refused while checking its arguments: neither the task definition's siblings nor any
    # part of the service exist.
    assert not [c for c in stack.node.find_all()[before:] if "RollbackAlarm" in c.node.path]


# --- Target protocol: end-to-end TLS, HTTP/2, gRPC ---------------------------------------------


@pytest.mark.scenarios("ServiceDefaults")
def test_targets_speak_http1_over_http_by_default(scenarios: Synthesized) -> None:
    group = _one(scenarios, "ServiceDefaults", TARGET_GROUP)
    assert group["Protocol"] == "HTTP"
    assert "ProtocolVersion" not in group  # the ELB default, HTTP1
    assert "HealthCheckProtocol" not in group  # the ELB default, HTTP
    assert group["HealthCheckPath"] == "/"


@pytest.mark.scenarios("ServiceGrpc")
def test_grpc_target_group_speaks_grpc_over_tls_to_the_tasks(scenarios: Synthesized) -> None:
    group = _one(scenarios, "ServiceGrpc", TARGET_GROUP)
    assert (group["Protocol"], group["ProtocolVersion"], group["Port"]) == ("HTTPS", "GRPC", 50051)


@pytest.mark.scenarios("ServiceGrpc")
def test_grpc_health_check_calls_a_method_and_counts_grpc_status_codes(
    scenarios: Synthesized,
) -> None:
    group = _one(scenarios, "ServiceGrpc", TARGET_GROUP)
    assert group["HealthCheckProtocol"] == "HTTPS"  # the ELB default would be HTTP
    assert group["HealthCheckPath"] == "/grpc.health.v1.Health/Check"
    assert group["Matcher"] == {"GrpcCode": "0"}  # OK from a method the service names


@pytest.mark.scenarios("ServiceGrpc")
def test_grpc_calls_are_routed_by_service_on_the_https_listener(scenarios: Synthesized) -> None:
    rule = _one(scenarios, "ServiceGrpc", RULE)
    listener = logical_id(scenarios, "ServiceGrpc", "LoadBalancer/LoadBalancer/Https")
    assert rule["ListenerArn"] == {"Ref": listener}
    assert [action["Type"] for action in rule["Actions"]] == ["forward"]
    assert rule["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/orders.v1.Orders/*"]}}
    ]
    props = scenarios.template_json("ServiceGrpc")["Resources"][listener]["Properties"]
    assert props["Protocol"] == "HTTPS"


def _target_group_of(**kwargs: Any) -> dict[str, Any]:
    """The target group of one service built with ``kwargs``."""
    groups = Template.from_stack(_two([kwargs])).find_resources(TARGET_GROUP)
    (group,) = groups.values()
    return dict(group["Properties"])


def test_a_grpc_health_check_defaults_to_the_aws_method_and_unimplemented() -> None:
    group = _target_group_of(protocol_version="GRPC")
    assert (group["Protocol"], group["ProtocolVersion"]) == ("HTTP", "GRPC")
    assert "HealthCheckProtocol" not in group
    assert group["HealthCheckPath"] == "/AWS.ALB/healthcheck"
    assert group["Matcher"] == {"GrpcCode": "12"}  # any live gRPC server answers UNIMPLEMENTED


def test_end_to_end_tls_with_http2_probes_over_https_with_http_codes() -> None:
    group = _target_group_of(target_protocol="HTTPS", protocol_version="HTTP2")
    assert (group["Protocol"], group["ProtocolVersion"]) == ("HTTPS", "HTTP2")
    assert group["HealthCheckProtocol"] == "HTTPS"
    assert (group["HealthCheckPath"], group["Matcher"]) == ("/", {"HttpCode": "200-299"})


@functools.cache
def _sign_in() -> RouteAuthentication:
    stack = _platform()[0]
    return RouteAuthentication.oidc(
        issuer="https://login.example.com",
        authorization_endpoint="https://login.example.com/oauth2/authorize",
        token_endpoint="https://login.example.com/oauth2/token",
        user_info_endpoint="https://login.example.com/oauth2/userinfo",
        client_id="portal",
        client_secret=secretsmanager.Secret.from_secret_name_v2(stack, "Oidc", "myapp/oidc"),
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {
                "protocol_version": "GRPC",
                "health_check": TargetHealthCheck(
                    path="/grpc.health.v1.Health/Check", success_codes="200-299"
                ),
            },
            r"health_check.success_codes: are HTTP codes, but a GRPC target group's health "
            r"check counts gRPC status codes; got '200-299'; e.g. '0' \(OK\)",
        ),
        (
            {"protocol_version": "GRPC", "health_check": TargetHealthCheck(success_codes="0-100")},
            r"health_check.success_codes: must be gRPC status codes or ranges, 0 to 99",
        ),
        (
            {"health_check": TargetHealthCheck(success_codes="0")},
            r"health_check.success_codes: are gRPC status codes, but an HTTP1 target group's "
            r"health check counts HTTP codes; got '0'; .*or protocol_version='GRPC'",
        ),
        (
            {"protocol_version": "HTTP2", "health_check": TargetHealthCheck(success_codes="12")},
            r"health_check.success_codes: are gRPC status codes, but an HTTP2 target group's",
        ),
        (
            {"protocol_version": "GRPC", "health_check": TargetHealthCheck(path="/health")},
            r"health_check.path: must be a gRPC method, /package.Service/Method, for a GRPC "
            r"target group; got '/health'",
        ),
        (
            {"target_protocol": "TLS"},
            r"target_protocol: must be one of HTTP, HTTPS; got 'TLS'; pass 'HTTP' or 'HTTPS'",
        ),
        (
            {"protocol_version": "HTTP3"},
            r"protocol_version: must be one of HTTP1, HTTP2, GRPC; got 'HTTP3'",
        ),
        (
            {"target_protocol": 443},
            r"target_protocol: expected a str; got int 443",
        ),
    ],
)
def test_target_protocols_aws_refuses_are_refused_before_the_service_exists(
    kwargs: dict[str, Any], message: str
) -> None:
    stack = _platform()[0]
    with pytest.raises(ValidationError, match=message) as raised:
        _service(**kwargs)
    assert stack.node.try_find_child(raised.value.path.rsplit("/", 1)[-1]) is None


@pytest.mark.parametrize("version", ["HTTP2", "GRPC"])
def test_an_authenticated_route_to_http2_or_grpc_targets_is_refused(version: str) -> None:
    """AWS runs only forward actions in rules to HTTP/2 and gRPC target groups."""
    stack = _platform()[0]
    with pytest.raises(
        ValidationError,
        match=rf"routing.authentication: cannot be combined with protocol_version='{version}'",
    ) as raised:
        _service(
            protocol_version=version,
            routing=ListenerRouting(
                priority=4900, path_patterns=["/a/*"], authentication=_sign_in()
            ),
        )
    assert stack.node.try_find_child(raised.value.path.rsplit("/", 1)[-1]) is None


def _with_envoy(sidecar: dict[str, Any], task: dict[str, Any], **service: Any) -> cdk.Stack:
    """A service on 8080 with an ``envoy`` sidecar (``sidecar`` options), more task
    definition arguments ``task`` and service arguments ``service``."""
    from ecs_patterns_plus import SidecarOptions

    stack = stack_for_errors()
    vpc = existing_vpc(stack)
    image = ecs.ContainerImage.from_registry(_IMAGE)
    AlbFargateService(
        stack,
        "Web",
        cluster=HardenedCluster(stack, "Platform", vpc=vpc).cluster,
        task_definition=HardenedTaskDefinition(
            stack,
            "Task",
            image=image,
            container_port=8080,
            memory_mib=1024,
            sidecars=[SidecarOptions(name="envoy", image=image, **sidecar)],
            **task,
        ),
        load_balancer=SecureLoadBalancer(
            stack, "LoadBalancer", vpc=vpc, certificate=certificate(stack)
        ),
        **service,
    )
    return stack


def _fronted(target_container: str, **sidecar: Any) -> cdk.Stack:
    """A service whose application sits behind the sidecar."""
    return _with_envoy(sidecar, {}, target_container=target_container, target_protocol="HTTPS")


def test_a_sidecar_in_front_of_the_application_takes_the_traffic() -> None:
    template = Template.from_stack(_fronted("envoy", port=8443)).to_json()["Resources"]
    (group,) = [r["Properties"] for r in template.values() if r["Type"] == TARGET_GROUP]
    assert (group["Port"], group["Protocol"]) == (8443, "HTTPS")
    (service,) = [r["Properties"] for r in template.values() if r["Type"] == SERVICE]
    assert [(b["ContainerName"], b["ContainerPort"]) for b in service["LoadBalancers"]] == [
        ("envoy", 8443)
    ]
    ingress = [
        r["Properties"]
        for r in template.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and r["Properties"]["GroupId"]["Fn::GetAtt"][0].startswith("WebSecurityGroup")
    ]
    assert [(rule["FromPort"], rule["ToPort"]) for rule in ingress] == [(8443, 8443)]


@pytest.mark.parametrize(
    ("target", "sidecar", "expected"),
    [
        (
            "proxy",
            {"port": 8443},
            "target_container: names no container of the task "
            "definition with a port (with ports: app, envoy); got 'proxy'",
        ),
        (
            "envoy",
            {},
            "target_container: names no container of the task definition with a "
            "port (with ports: app); got 'envoy'",
        ),
    ],
)
def test_a_target_container_without_a_port_is_refused(
    target: str, sidecar: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        _fronted(target, **sidecar)
    assert expected in str(raised.value)


def _ported(routes: list[Any], **options: Any) -> cdk.Stack:
    """A service on 8080 with an admin port 9090 and the sidecar on 9901."""
    return _with_envoy(
        {"port": 9901},
        {"additional_ports": [9090]},
        routing=ListenerRouting(priority=10, path_patterns=["/api/*"]),
        additional_routes=routes,
        **options,
    )


def _admin(**overrides: Any) -> Any:
    from ecs_patterns_plus import PortRoute

    options: dict[str, Any] = {
        "name": "Admin",
        "port": 9090,
        "routing": ListenerRouting(priority=11, path_patterns=["/admin/*"]),
        "health_check": TargetHealthCheck(path="/admin/health"),
        **overrides,
    }
    return PortRoute(**options)


def test_each_port_gets_its_own_target_group_route_and_rollback_alarm() -> None:
    stack = _ported(
        [
            _admin(),
            _admin(
                name="Proxy",
                port=9901,
                container_name="envoy",
                routing=ListenerRouting(priority=12, host_headers=["proxy.example.com"]),
                health_check=None,
            ),
        ]
    )
    resources = Template.from_stack(stack).to_json()["Resources"]

    def of(kind: str) -> dict[str, Any]:
        return {key: r["Properties"] for key, r in resources.items() if r["Type"] == kind}

    groups = of(TARGET_GROUP)
    by_port = {group["Port"]: key for key, group in groups.items()}
    assert sorted(by_port) == [8080, 9090, 9901]
    assert groups[by_port[9090]]["HealthCheckPath"] == "/admin/health"
    (service,) = of(SERVICE).values()
    assert sorted((b["ContainerName"], b["ContainerPort"]) for b in service["LoadBalancers"]) == [
        ("app", 8080),
        ("app", 9090),
        ("envoy", 9901),
    ]
    rules = {
        rule["Actions"][0]["TargetGroupArn"]["Ref"]: rule["Conditions"]
        for rule in of(RULE).values()
    }
    assert rules[by_port[9090]] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/admin/*"]}}
    ]
    assert rules[by_port[9901]] == [
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["proxy.example.com"]}},
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}},
    ]
    ingress = sorted(
        r["FromPort"]
        for r in of("AWS::EC2::SecurityGroupIngress").values()
        if r["GroupId"]["Fn::GetAtt"][0].startswith("WebSecurityGroup")
    )
    assert ingress == [8080, 9090, 9901]
    alarms = service["DeploymentConfiguration"]["Alarms"]["AlarmNames"]
    assert len(alarms) == 3  # the service's port, Admin's and Proxy's
    (definition,) = of("AWS::ECS::TaskDefinition").values()
    app = definition["ContainerDefinitions"][0]
    assert [m["ContainerPort"] for m in app["PortMappings"]] == [8080, 9090]


@pytest.mark.parametrize(
    ("routes", "options", "expected"),
    [
        ([{"port": 9999}], {}, "additional_routes[0].port: is not a port of container 'app'"),
        (
            [{"container_name": "envoy"}],
            {},
            "additional_routes[0].port: is not a port of container 'envoy' (its ports: [9901])",
        ),
        (
            [{"routing": ListenerRouting(priority=10, path_patterns=["/admin/*"])}],
            {},
            "additional_routes: repeat a name or a priority",
        ),
        (
            [{}, {"routing": ListenerRouting(priority=12, path_patterns=["/x/*"])}],
            {},
            "additional_routes: repeat a name or a priority",
        ),
        ([{"name": "admin"}], {}, "additional_routes[0].name: must be PascalCase"),
        (
            [{"routing": ListenerRouting(priority=11)}],
            {},
            "additional_routes[0].routing: routes every request",
        ),
        (
            [{}],
            {"deployment": DeploymentStrategy.canary()},
            "additional_routes: need a rolling deployment",
        ),
    ],
)
def test_additional_routes_that_cannot_work_are_refused(
    routes: list[dict[str, Any]], options: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        _ported([_admin(**route) for route in routes], **options)
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"additional_ports": [80]}, "additional_ports[0]: must be between 1024 and 65535"),
        ({"container_port": None, "additional_ports": [9090]}, "additional_ports: are more ports"),
        ({"additional_ports": [8080]}, "port(s) [8080] are used twice"),
    ],
)
def test_additional_ports_are_checked(arguments: dict[str, Any], expected: str) -> None:
    options: dict[str, Any] = {"container_port": 8080, **arguments}
    with pytest.raises(ValidationError) as raised:
        HardenedTaskDefinition(
            stack_for_errors(), "Task", image=ecs.ContainerImage.from_registry(_IMAGE), **options
        )
    assert expected in str(raised.value)
