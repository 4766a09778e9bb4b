"""Scenarios for a permissions boundary on every role, and for roles the organisation made."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager

from ecs_patterns_plus import (
    HardenedCluster,
    HardenedTaskDefinition,
    OneOffTask,
    ScheduledTask,
    SecretValue,
    SecureVpc,
    WorkerService,
    apply_permissions_boundary,
    publish,
)

from . import scenario
from .common import existing_vpc
from .task_definition import ecr_image

ACCOUNT = "111122223333"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/boundaries/WorkloadBoundary"
ROLE_PATH = "/workloads/orders/"
EXECUTION_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/platform/ecs-task-execution"
TASK_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/apps/orders-worker"
REPORT_EXECUTION_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/platform/ecs-report-execution"
REPORT_TASK_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/apps/report"


@scenario("PermissionsBoundary")
def permissions_boundary(stack: cdk.Stack) -> None:
    """The organisation requires a boundary and a path on every role: one call on the stack
    covers the VPC's roles made before it, the worker's, the job's and the app's own roles
    made after it, an L1 role, and CDK's custom-resource role."""
    network = SecureVpc(stack, "Network", nat_gateways=1)
    platform = HardenedCluster(stack, "Platform", vpc=network.vpc)
    boundary = iam.ManagedPolicy.from_managed_policy_arn(stack, "Boundary", BOUNDARY_ARN)
    apply_permissions_boundary(stack, boundary, path=ROLE_PATH)

    WorkerService(
        stack,
        "Orders",
        cluster=platform.cluster,
        task_definition=HardenedTaskDefinition(
            stack, "OrdersTask", image=ecr_image(stack, "orders-2.3.0")
        ),
    )
    # The app's own task role (an L2 role of this app): grants go to the library's policy on it.
    report_role = iam.Role(
        stack,
        "ReportRole",
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        description="The nightly report's own permissions",
    )
    report = HardenedTaskDefinition(
        stack,
        "ReportTask",
        image=ecr_image(stack, "report-1.4.2"),
        command=["report", "--daily"],
        task_role=report_role,
    )
    nightly = ScheduledTask(
        stack,
        "Nightly",
        cluster=platform.cluster,
        task_definition=report,
        schedule=scheduler.ScheduleExpression.cron(minute="0", hour="3"),
    )
    network.endpoints.allow_from(nightly)  # type: ignore[union-attr]
    iam.CfnRole(
        stack,
        "AuditorRole",
        description="An L1 role the app defines itself",
        assume_role_policy_document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
    )


@scenario("OwnRoles")
def own_roles(stack: cdk.Stack) -> None:
    """Roles the security team made, imported by ARN; the library creates none. The worker's
    mutable roles get the exact grants (image, logs, secret, queue, ECS Exec) in policies the
    library attaches; the platform execution role serves two task definitions; the job's
    task role is immutable and needs nothing."""
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    execution_role = iam.Role.from_role_arn(stack, "PlatformExecutionRole", EXECUTION_ROLE_ARN)
    db_password = secretsmanager.Secret.from_secret_name_v2(stack, "DbPassword", "orders/db")
    WorkerService(
        stack,
        "Orders",
        cluster=platform.cluster,
        enable_exec=True,
        task_definition=HardenedTaskDefinition(
            stack,
            "OrdersTask",
            image=ecr_image(stack, "orders-2.3.0"),
            secrets={"DB_PASSWORD": SecretValue.from_secrets_manager(db_password)},
            enable_exec=True,
            execution_role=execution_role,
            task_role=iam.Role.from_role_arn(stack, "OrdersRole", TASK_ROLE_ARN),
        ),
    )
    report = HardenedTaskDefinition(
        stack,
        "ReportTask",
        image=ecr_image(stack, "report-1.4.2"),
        command=["report", "--daily"],
        execution_role=execution_role,
        task_role=iam.Role.from_role_arn(stack, "ReportRole", REPORT_TASK_ROLE_ARN, mutable=False),
    )
    OneOffTask(stack, "Report", cluster=platform.cluster, task_definition=report)


@scenario("OwnRolesImmutable", compliant=False)
def own_roles_immutable(stack: cdk.Stack) -> None:
    """Immutable roles (``mutable=False``): the library adds nothing to them, and its warnings
    (the point of this opt-out) list what each must already allow, the grant of a topic made
    after the task definition included."""
    task = HardenedTaskDefinition(
        stack,
        "ReportTask",
        image=ecr_image(stack, "report-1.4.2"),
        command=["report", "--daily"],
        execution_role=iam.Role.from_role_arn(
            stack, "ReportExecutionRole", REPORT_EXECUTION_ROLE_ARN, mutable=False
        ),
        task_role=iam.Role.from_role_arn(stack, "ReportRole", REPORT_TASK_ROLE_ARN, mutable=False),
    )
    publish(stack, "ReportsReady", publishers=[task], variable="REPORTS_TOPIC_ARN")
