"""DaemonService: what each guarantee looks like in the template, and the mistakes refused
before anything is built."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import (
    DaemonService,
    DeploymentStrategy,
    Ec2CapacityOptions,
    HardenedCluster,
    HardenedTaskDefinition,
    ScalingOptions,
    ValidationError,
)
from tests.scenarios.common import existing_vpc
from tests.scenarios.daemon import FLUENT_BIT
from tests.synth import Synthesized
from tests.util import logical_id, resources_of, stack_for_errors

STACK = "DaemonLogAgent"


def _service(synth: Synthesized) -> dict[str, Any]:
    (service,) = resources_of(synth, STACK, "AWS::ECS::Service").values()
    return service["Properties"]  # type: ignore[no-any-return]


@pytest.mark.scenarios(STACK)
def test_a_daemon_runs_one_task_on_every_instance_with_no_desired_count(
    scenarios: Synthesized,
) -> None:
    service = _service(scenarios)
    assert service["SchedulingStrategy"] == "DAEMON"
    assert "DesiredCount" not in service


@pytest.mark.scenarios(STACK)
def test_a_daemon_has_launch_type_ec2_and_no_capacity_strategy_or_placement_strategy(
    scenarios: Synthesized,
) -> None:
    service = _service(scenarios)
    assert service["LaunchType"] == "EC2"
    assert "CapacityProviderStrategy" not in service
    assert "PlacementStrategies" not in service
    assert resources_of(scenarios, STACK, "AWS::ApplicationAutoScaling::ScalableTarget") == {}


@pytest.mark.scenarios(STACK)
def test_a_daemon_is_placed_only_on_the_instance_types_its_capacity_launches(
    scenarios: Synthesized,
) -> None:
    (constraint,) = _service(scenarios)["PlacementConstraints"]
    assert constraint == {
        "Type": "memberOf",
        "Expression": "attribute:ecs.instance-type in [m6i.large, m6a.large, m7i.large]",
    }
    (group,) = resources_of(scenarios, STACK, "AWS::AutoScaling::AutoScalingGroup").values()
    policy = group["Properties"]["MixedInstancesPolicy"]["LaunchTemplate"]
    launched = [item["InstanceType"] for item in policy["Overrides"]]
    listed = constraint["Expression"].split("[", 1)[1].rstrip("]").split(", ")
    assert launched == listed


@pytest.mark.scenarios(STACK)
def test_a_daemon_deploys_in_place_and_rolls_back_on_failure_or_alarm(
    scenarios: Synthesized,
) -> None:
    service = _service(scenarios)
    # The ECS (rolling) controller, the default: circuit breaker and alarms need it.
    assert service.get("DeploymentController", {"Type": "ECS"}) == {"Type": "ECS"}
    configuration = service["DeploymentConfiguration"]
    assert configuration["MaximumPercent"] == 100
    assert configuration["MinimumHealthyPercent"] == 50  # min_capacity=2: half at a time
    assert configuration["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert configuration["Alarms"] == {
        "AlarmNames": ["log-agent-errors"],  # deployment_alarms
        "Enable": True,
        "Rollback": True,
    }


@pytest.mark.scenarios(STACK)
def test_a_daemon_task_is_hardened(scenarios: Synthesized) -> None:
    (definition,) = resources_of(scenarios, STACK, "AWS::ECS::TaskDefinition").values()
    properties = definition["Properties"]
    assert properties["NetworkMode"] == "awsvpc"
    assert properties["RequiresCompatibilities"] == ["EC2"]
    (container,) = properties["ContainerDefinitions"]
    assert container["User"] == "1000:1000"
    assert container["ReadonlyRootFilesystem"] is True
    assert container["Privileged"] is False
    assert container["LinuxParameters"]["Capabilities"] == {"Drop": ["ALL"]}
    assert container["DockerSecurityOptions"] == ["no-new-privileges"]
    assert "@sha256:" in container["Image"]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"


@pytest.mark.scenarios(STACK)
def test_a_daemon_admits_nobody_and_gets_no_public_ip(scenarios: Synthesized) -> None:
    group = logical_id(scenarios, STACK, "LogAgent/SecurityGroup")
    resources = scenarios.template_json(STACK)["Resources"]
    properties = resources[group]["Properties"]
    assert properties["GroupDescription"] == "Service tasks: nobody; HTTPS out"
    assert "SecurityGroupIngress" not in properties
    ingress = resources_of(scenarios, STACK, "AWS::EC2::SecurityGroupIngress").values()
    assert [
        rule
        for rule in ingress
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    ] == []
    assert [(rule["FromPort"], rule["ToPort"]) for rule in properties["SecurityGroupEgress"]] == [
        (443, 443)
    ]
    network = _service(scenarios)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert network["SecurityGroups"] == [{"Fn::GetAtt": [group, "GroupId"]}]


# --- Valid edge cases (no synthesis) ----------------------------------------------------------


def _platform(stack: cdk.Stack, *capacity: Ec2CapacityOptions) -> HardenedCluster:
    return HardenedCluster(
        stack,
        "Platform",
        vpc=existing_vpc(stack),
        ec2_capacity=capacity or (Ec2CapacityOptions(name="general"),),
    )


def _task(stack: cdk.Stack, **options: Any) -> HardenedTaskDefinition:
    options.setdefault("compatibility", ecs.Compatibility.EC2)
    return HardenedTaskDefinition(
        stack, "AgentTask", image=ecs.ContainerImage.from_registry(FLUENT_BIT), **options
    )


def _daemon(stack: cdk.Stack, **options: Any) -> DaemonService:
    cluster = options.pop("cluster", None) or _platform(stack)
    task = options.pop("task_definition", None) or _task(stack, **options.pop("task", {}))
    options.setdefault("capacity", "general")
    return DaemonService(stack, "Agent", cluster=cluster, task_definition=task, **options)


def _expression(daemon: DaemonService) -> str:
    resolved = cdk.Stack.of(daemon).resolve(daemon.placement_constraint.to_json())
    (constraint,) = resolved
    return constraint["expression"]  # type: ignore[no-any-return]


def test_a_capacity_that_may_run_one_instance_replaces_every_agent_at_once() -> None:
    """50 % of one instance, rounded up, is its only task: the deployment could never stop it."""
    daemon = _daemon(stack_for_errors())  # min_capacity 0 by default
    assert (daemon.deployment.min_healthy_percent, daemon.deployment.max_healthy_percent) == (
        0,
        100,
    )


def test_a_daemon_may_run_on_several_capacities_that_share_instance_types() -> None:
    stack = stack_for_errors()
    platform = _platform(
        stack,
        Ec2CapacityOptions(name="general", min_capacity=1),
        Ec2CapacityOptions(name="spot", spot=True, min_capacity=1),
        Ec2CapacityOptions(name="graviton", instance_types=("m7g.large", "c7g.large")),
    )
    daemon = _daemon(stack, cluster=platform, capacity=["general", "spot"])
    assert [item.name for item in daemon.capacity] == ["general", "spot"]
    assert _expression(daemon) == "attribute:ecs.instance-type in [m6i.large, m6a.large, m7i.large]"
    assert daemon.deployment.min_healthy_percent == 50  # two instances between them


def test_an_arm64_daemon_runs_on_graviton_capacity() -> None:
    stack = stack_for_errors()
    platform = _platform(
        stack, Ec2CapacityOptions(name="graviton", instance_types=("m7g.large", "c7g.large"))
    )
    daemon = _daemon(
        stack,
        cluster=platform,
        capacity="graviton",
        task={"architecture": ecs.CpuArchitecture.ARM64},
    )
    assert _expression(daemon) == "attribute:ecs.instance-type in [m7g.large, c7g.large]"


def test_tokens_are_accepted_where_a_value_may_be_one() -> None:
    stack = stack_for_errors()
    percent = cdk.CfnParameter(stack, "MinHealthy", type="Number").value_as_number
    name = cdk.CfnParameter(stack, "ServiceName").value_as_string
    daemon = _daemon(
        stack,
        service_name=name,
        deployment=DeploymentStrategy.rolling(min_healthy_percent=percent, max_healthy_percent=100),
        task={"memory_mib": cdk.CfnParameter(stack, "Memory", type="Number").value_as_number},
    )
    assert daemon.deployment.min_healthy_percent == percent


# --- Bad inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"task": {"compatibility": ecs.Compatibility.FARGATE}},
            "task_definition: is Fargate-only, and Fargate does not run daemons",
        ),
        (
            {"capacity": "gpu"},
            "capacity: the cluster has no EC2 capacity of that name; got 'gpu'; "
            "name one of general",
        ),
        ({"capacity": []}, "capacity: names no EC2 capacity"),
        ({"capacity": ["general", "general"]}, "capacity: names a capacity twice"),
        (
            {"desired_count": 3},
            "desired_count: does not apply to a daemon: ECS runs exactly one task on every "
            "instance of the capacity; got 3",
        ),
        ({"scaling": ScalingOptions()}, "scaling: does not apply to a daemon"),
        (
            {"deployment": DeploymentStrategy.rolling()},
            r"deployment.max_healthy_percent: must be 100 for a daemon: .*; got 200",
        ),
        (
            {"deployment": DeploymentStrategy.blue_green()},
            "deployment: shifts traffic, and this service takes none",
        ),
        (
            {"deployment": DeploymentStrategy.code_deploy_blue_green()},
            "deployment: shifts traffic, and this service takes none",
        ),
        (
            {"placement_strategies": [ecs.PlacementStrategy.spread_across_instances()]},
            "placement_strategies: do not apply to a daemon",
        ),
        (
            {
                "capacity_provider_strategy": [
                    ecs.CapacityProviderStrategy(capacity_provider="general", weight=1)
                ]
            },
            "capacity_provider_strategy: does not apply to a daemon: ECS refuses a capacity "
            "provider strategy with the DAEMON scheduling strategy",
        ),
    ],
)
def test_bad_input_is_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=f"Errors/Agent: {message}"):
        _daemon(stack_for_errors(), **options)


def test_every_problem_is_reported_at_once_before_anything_is_built() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as error:
        _daemon(stack, desired_count=2, scaling=ScalingOptions(), capacity="web")
    text = str(error.value)
    for argument in ("desired_count:", "scaling:", "capacity:"):
        assert argument in text
    assert stack.node.try_find_child("Agent") is None


def test_a_cluster_without_ec2_capacity_is_refused() -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    with pytest.raises(
        ValidationError,
        match=r"capacity: the cluster has no EC2 capacity, and a daemon runs only on EC2 "
        r"container instances .*; got 'general'; add EC2 capacity",
    ):
        _daemon(stack, cluster=platform)


def test_a_plain_ecs_cluster_is_refused() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match="cluster: expected a HardenedCluster"):
        _daemon(stack, cluster=_platform(stack).cluster)


def test_a_capacity_name_token_is_refused() -> None:
    stack = stack_for_errors()
    name = cdk.CfnParameter(stack, "Capacity").value_as_string
    with pytest.raises(ValidationError, match="capacity: must be known at synth time"):
        _daemon(stack, capacity=name)


def test_a_capacity_sharing_instance_types_with_an_unnamed_one_is_refused() -> None:
    """The constraint selects instances by type: the other capacity's would match too."""
    stack = stack_for_errors()
    platform = _platform(
        stack, Ec2CapacityOptions(name="general"), Ec2CapacityOptions(name="spot", spot=True)
    )
    with pytest.raises(
        ValidationError,
        match=r"capacity: selects its instances by instance type, and capacity 'spot' launches "
        r"m6a.large, m6i.large, m7i.large too: .*; name 'spot' as well",
    ):
        _daemon(stack, cluster=platform)


def test_a_capacity_added_later_with_shared_instance_types_fails_at_synth() -> None:
    stack = stack_for_errors()
    platform = _platform(stack)
    daemon = _daemon(stack, cluster=platform)
    assert daemon.node.validate() == []
    platform.add_ec2_capacity(Ec2CapacityOptions(name="spot", spot=True))
    (problem,) = daemon.node.validate()
    assert problem.startswith(
        "capacity: selects its instances by instance type, and capacity 'spot' (added to the "
        "cluster later) launches m6a.large, m6i.large, m7i.large too"
    )


def test_an_image_of_the_other_architecture_is_refused() -> None:
    stack = stack_for_errors()
    platform = _platform(
        stack, Ec2CapacityOptions(name="graviton", instance_types=("m7g.large", "c7g.large"))
    )
    with pytest.raises(
        ValidationError,
        match=r"task_definition: runs x86_64 images, and capacity 'graviton' launches arm64 "
        r"instances \(m7g.large, c7g.large\): the daemon would never start there",
    ):
        _daemon(stack, cluster=platform, capacity="graviton")
