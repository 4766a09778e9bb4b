"""Scenarios for DaemonService: a log agent on every instance of a named EC2 capacity."""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import (
    DaemonService,
    Ec2CapacityOptions,
    HardenedCluster,
    HardenedTaskDefinition,
)

from . import scenario

FLUENT_BIT = (
    "public.ecr.aws/aws-observability/aws-for-fluent-bit@sha256:"
    "9d1b5e8f3c2a7b6d4e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"
)
"""An example digest: pin the digest of the release you run."""


@scenario("DaemonLogAgent")
def daemon_log_agent(stack: cdk.Stack) -> None:
    """Fluent Bit, pinned by digest, on every instance of the cluster's 'general' capacity,
    which keeps two instances or more: a deployment replaces half of the agents at a time,
    and rolls back when the agents' own alarm (defined elsewhere) fires."""
    platform = HardenedCluster(
        stack, "Platform", ec2_capacity=[Ec2CapacityOptions(name="general", min_capacity=2)]
    )
    DaemonService(
        stack,
        "LogAgent",
        cluster=platform,
        task_definition=HardenedTaskDefinition(
            stack,
            "LogAgentTask",
            image=ecs.ContainerImage.from_registry(FLUENT_BIT),
            compatibility=ecs.Compatibility.EC2,
        ),
        capacity="general",
        endpoints=platform.secure_vpc.endpoints,  # type: ignore[union-attr]
        deployment_alarms=[
            cloudwatch.Alarm.from_alarm_name(stack, "LogAgentErrors", "log-agent-errors")
        ],
    )
