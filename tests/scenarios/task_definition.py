"""Scenarios for HardenedTaskDefinition and SecretValue."""

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ecs_patterns_plus import (
    HardenedCluster,
    HardenedTaskDefinition,
    HealthCheckOptions,
    LogOptions,
    SecretValue,
    SidecarOptions,
)
from ecs_patterns_plus.encryption import create_key

from . import scenario
from .common import existing_vpc

DIGEST = "sha256:" + "0123456789abcdef" * 4
OTEL_COLLECTOR = f"public.ecr.aws/aws-observability/aws-otel-collector@{DIGEST}"


def repository(scope: Construct) -> ecr.IRepository:
    """The existing ECR repository ``myapp`` (imported once per scope)."""
    existing = scope.node.try_find_child("Repository")
    if existing is not None:
        return existing  # type: ignore[return-value]
    return ecr.Repository.from_repository_name(scope, "Repository", "myapp")


def ecr_image(scope: Construct, tag: str = "v1.0.0") -> ecs.ContainerImage:
    return ecs.ContainerImage.from_ecr_repository(repository(scope), tag)


def brief_task_definition(scope: Construct) -> HardenedTaskDefinition:
    """The brief's example task (``myapp-task``), in its hardened form."""
    db_password = secretsmanager.Secret.from_secret_name_v2(scope, "DbPassword", "myapp/db-pass")
    return HardenedTaskDefinition(
        scope,
        "Task",
        family="myapp-task",
        image=ecr_image(scope, "web-1.0.0"),
        cpu=256,
        memory_mib=512,
        container_name="web",
        container_port=80,
        environment={"SPRING_PROFILES_ACTIVE": "prod"},
        secrets={"DB_PASSWORD": SecretValue.from_secrets_manager(db_password)},
        logging=LogOptions(log_group_name="/ecs/myapp"),
        health_check=HealthCheckOptions(
            command=["CMD-SHELL", "curl -fsS http://localhost/actuator/health || exit 1"],
            start_period=cdk.Duration.seconds(60),
        ),
    )


@scenario("BriefTaskDefinition")
def brief(stack: cdk.Stack) -> None:
    brief_task_definition(stack)


@scenario("TaskDefDefaults")
def task_def_defaults(stack: cdk.Stack) -> None:
    HardenedTaskDefinition(stack, "Task", image=ecr_image(stack))


@scenario("TaskDefArm64")
def task_def_arm64(stack: cdk.Stack) -> None:
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack, DIGEST),
        architecture=ecs.CpuArchitecture.ARM64,
        cpu=1024,
        memory_mib=3072,
        ephemeral_storage_gib=50,
        container_port=8080,
        writable_paths=("/tmp", "/var/cache/app"),
        health_check=HealthCheckOptions(command=["CMD", "/app/healthcheck"]),
        logging=LogOptions(max_buffer_size_mib=64),
    )


@scenario("TaskDefSidecar")
def task_def_sidecar(stack: cdk.Stack) -> None:
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack),
        cpu=512,
        memory_mib=1024,
        container_port=8080,
        sidecars=[
            SidecarOptions(
                name="otel",
                image=ecs.ContainerImage.from_registry(OTEL_COLLECTOR),
                cpu=128,
                memory_limit_mib=256,
                port=4317,
                command=["--config=/etc/ecs/ecs-default-config.yaml"],
                health_check=HealthCheckOptions(command=["CMD", "/healthcheck"]),
                app_waits_for=ecs.ContainerDependencyCondition.HEALTHY,
            ),
            SidecarOptions(
                name="migrate",
                image=ecr_image(stack, "migrate-1.0.0"),
                command=["migrate", "up"],
                essential=False,
                app_waits_for=ecs.ContainerDependencyCondition.SUCCESS,
            ),
        ],
    )


@scenario("TaskDefSecrets")
def task_def_secrets(stack: cdk.Stack) -> None:
    key = create_key(stack, "SecretsKey", description="Application secrets")
    created = secretsmanager.Secret(
        stack,
        "DbSecret",
        encryption_key=key,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template='{"username": "app"}', generate_string_key="password"
        ),
    )
    # The application owns its secret, rotation included: the library acknowledges nothing on it.
    created.add_rotation_schedule(
        "Rotation", hosted_rotation=secretsmanager.HostedRotation.postgre_sql_single_user()
    )
    existing = secretsmanager.Secret.from_secret_attributes(
        stack,
        "ApiSecret",
        secret_partial_arn=stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name="myapp/api",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        ),
        encryption_key=key,
    )
    flags = ssm.StringParameter(stack, "FeatureFlags", string_value="checkout=on")
    license_key = ssm.StringParameter.from_secure_string_parameter_attributes(
        stack, "LicenseKey", parameter_name="/myapp/license", encryption_key=key
    )
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack),
        container_port=8080,
        secrets={
            "DB_CREDENTIALS": SecretValue.from_secrets_manager(created),
            "DB_PASSWORD": SecretValue.from_secrets_manager(created, field="password"),
            "API_KEY_PREVIOUS": SecretValue.from_secrets_manager(
                existing, version_stage="AWSPREVIOUS"
            ),
            "API_KEY": SecretValue.from_secrets_manager(
                existing, field="key", version_id="0123456789abcdef0123456789abcdef"
            ),
            "FEATURE_FLAGS": SecretValue.from_ssm_parameter(flags),
            "LICENSE_KEY": SecretValue.from_ssm_parameter(license_key),
        },
    )


@scenario("TaskDefExec")
def task_def_exec(stack: cdk.Stack) -> None:
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    task = HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack),
        container_port=80,
        enable_exec=True,
        sidecars=[
            SidecarOptions(name="otel", image=ecs.ContainerImage.from_registry(OTEL_COLLECTOR))
        ],
    )
    # A plain service with ECS Exec on a cluster that audits sessions: the task role stays clean.
    ecs.FargateService(
        stack,
        "Service",
        cluster=platform.cluster,
        task_definition=task.task_definition,
        enable_execute_command=True,
        assign_public_ip=False,
        platform_version=ecs.FargatePlatformVersion.LATEST,
        min_healthy_percent=100,
        circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
    )


@scenario("TaskDefEc2")
def task_def_ec2(stack: cdk.Stack) -> None:
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack, DIGEST),
        compatibility=ecs.Compatibility.EC2,
        cpu=4096,
        memory_mib=15000,
        gpu_count=1,
        container_port=8080,
    )


@scenario("TaskDefOptOuts", compliant=False)
def task_def_opt_outs(stack: cdk.Stack) -> None:
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack),
        container_port=80,
        user="root",
        readonly_root_filesystem=False,
        logging=LogOptions(mode=ecs.AwsLogDriverMode.BLOCKING),
    )
