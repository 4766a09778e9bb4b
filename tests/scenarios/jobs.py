"""Scenarios for ScheduledTask and OneOffTask, on Fargate and on EC2 GPU capacity."""

import datetime

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler

from ecs_patterns_plus import (
    Ec2CapacityOptions,
    HardenedCluster,
    HardenedTaskDefinition,
    JobRetries,
    OneOffTask,
    ScheduledTask,
    SecureVpc,
)
from ecs_patterns_plus.monitoring import notification_topic

from . import scenario
from .task_definition import ecr_image


@scenario("JobNightly")
def job_nightly(stack: cdk.Stack) -> None:
    """The brief's cron work: every night at 03:00 Seoul time, on Fargate Spot, all defaults."""
    network = SecureVpc(stack, "Network", nat_gateways=1)
    platform = HardenedCluster(stack, "Platform", vpc=network.vpc)
    report = HardenedTaskDefinition(
        stack, "ReportTask", image=ecr_image(stack, "report-1.4.2"), command=["report", "--daily"]
    )
    nightly = ScheduledTask(
        stack,
        "Nightly",
        cluster=platform.cluster,
        task_definition=report,
        schedule=scheduler.ScheduleExpression.cron(
            minute="0", hour="3", time_zone=cdk.TimeZone.ASIA_SEOUL
        ),
    )
    network.endpoints.allow_from(nightly)  # type: ignore[union-attr]


@scenario("JobOneOff")
def job_one_off(stack: cdk.Stack) -> None:
    """A database migration run before a deploy, and a one-time backfill sharing a topic."""
    network = SecureVpc(stack, "Network", nat_gateways=1)
    platform = HardenedCluster(stack, "Platform", vpc=network.vpc)
    database = ec2.SecurityGroup(
        stack, "Database", vpc=network.vpc, description="Example database", allow_all_outbound=False
    )
    migrate_task = HardenedTaskDefinition(
        stack, "MigrateTask", image=ecr_image(stack, "migrate-2.0.0"), command=["migrate", "up"]
    )
    migrate = OneOffTask(stack, "Migrate", cluster=platform.cluster, task_definition=migrate_task)
    migrate.connections.allow_to(database, ec2.Port.tcp(5432), "Migrations to PostgreSQL")
    deployer = iam.Role(
        stack, "DeployerRole", assumed_by=iam.AccountRootPrincipal(), description="CI deployer"
    )
    migrate.grant_run(deployer)
    cdk.CfnOutput(stack, "MigrateCommand", value=migrate.run_task_command)

    topic = notification_topic(stack, "JobAlarms")
    backfill = ScheduledTask(
        stack,
        "Backfill",
        cluster=platform.cluster,
        task_definition=migrate_task,
        # at() reads the wall-clock time in UTC fields and labels it with the time zone.
        schedule=scheduler.ScheduleExpression.at(
            datetime.datetime(2030, 1, 15, 2, 30, tzinfo=datetime.UTC), cdk.TimeZone.ASIA_SEOUL
        ),
        capacity_provider_strategy=[
            ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1)
        ],
        security_groups=[migrate.security_group],  # type: ignore[list-item]
        alarm_topic=topic,
        retry_attempts=0,
        description="One-time backfill after the 2.0 migration",
    )
    network.endpoints.allow_from(migrate, backfill)  # type: ignore[union-attr]


@scenario("JobGpuOnEc2")
def job_gpu_on_ec2(stack: cdk.Stack) -> None:
    """A GPU job every 6 hours on EC2 Spot GPU capacity that scales from zero."""
    network = SecureVpc(stack, "Network", nat_gateways=1)
    platform = HardenedCluster(
        stack,
        "Platform",
        vpc=network.vpc,
        ec2_capacity=[Ec2CapacityOptions(name="gpu", gpu=True, spot=True, max_capacity=2)],
    )
    inference = HardenedTaskDefinition(
        stack,
        "InferenceTask",
        image=ecr_image(stack, "inference-0.9.1"),
        compatibility=ecs.Compatibility.EC2,
        gpu_count=1,
        cpu=4096,
        memory_mib=15360,
    )
    job = ScheduledTask(
        stack,
        "Inference",
        cluster=platform.cluster,
        task_definition=inference,
        schedule=scheduler.ScheduleExpression.rate(cdk.Duration.hours(6)),
        capacity_provider_strategy=[platform.ec2_capacity["gpu"].strategy()],
        placement_strategies=[ecs.PlacementStrategy.packed_by_memory()],
        placement_constraints=[
            ecs.PlacementConstraint.member_of("attribute:ecs.instance-type =~ g5.*")
        ],
        flexible_window=cdk.Duration.minutes(30),
    )
    network.endpoints.allow_from(job, platform.ec2_capacity["gpu"].security_group)  # type: ignore[union-attr]


@scenario("JobTimeoutAndRetries")
def job_timeout_and_retries(stack: cdk.Stack) -> None:
    """A nightly job stopped after 2 hours, re-run twice after a Spot interruption and once
    after a failure; a migration stopped after 15 minutes, started by its state machine."""
    network = SecureVpc(stack, "Network", nat_gateways=1)
    platform = HardenedCluster(stack, "Platform", vpc=network.vpc)
    report = HardenedTaskDefinition(
        stack, "ReportTask", image=ecr_image(stack, "report-1.4.2"), command=["report", "--daily"]
    )
    nightly = ScheduledTask(
        stack,
        "Nightly",
        cluster=platform.cluster,
        task_definition=report,
        schedule=scheduler.ScheduleExpression.cron(
            minute="0", hour="3", time_zone=cdk.TimeZone.ASIA_SEOUL
        ),
        max_run_time=cdk.Duration.hours(2),
        retries=JobRetries(spot_interruptions=2, failures=1),
    )
    migrate_task = HardenedTaskDefinition(
        stack, "MigrateTask", image=ecr_image(stack, "migrate-2.0.0"), command=["migrate", "up"]
    )
    migrate = OneOffTask(
        stack,
        "Migrate",
        cluster=platform.cluster,
        task_definition=migrate_task,
        max_run_time=cdk.Duration.minutes(15),
    )
    deployer = iam.Role(
        stack, "DeployerRole", assumed_by=iam.AccountRootPrincipal(), description="CI deployer"
    )
    migrate.grant_start(deployer)
    assert migrate.start_execution_command is not None
    cdk.CfnOutput(stack, "MigrateCommand", value=migrate.start_execution_command)
    network.endpoints.allow_from(nightly, migrate)  # type: ignore[union-attr]
