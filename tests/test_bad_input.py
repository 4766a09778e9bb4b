"""Bad input by class, across the network, cluster, task, job, monitoring and deployment entry
points: wrong types and tokens. Ranges, combinations and silent misconfigurations are tested
next to each construct's intent tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from ecs_patterns_plus import (
    DeploymentStrategy,
    Ec2Capacity,
    Ec2CapacityOptions,
    HardenedCluster,
    HardenedTaskDefinition,
    OneOffTask,
    ScheduledTask,
    SecretValue,
    SecureLoadBalancer,
    SecureVpc,
    ValidationError,
    VpcEndpoints,
)
from tests.scenarios.common import existing_vpc
from tests.util import stack_for_errors

HOURLY = scheduler.ScheduleExpression.rate(cdk.Duration.hours(1))


def _image(scope: Construct) -> ecs.ContainerImage:
    repository = ecr.Repository.from_repository_name(scope, "Repository", "myapp")
    return ecs.ContainerImage.from_ecr_repository(repository, "v1.2.3")


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
