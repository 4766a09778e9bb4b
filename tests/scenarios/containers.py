"""Scenarios for what real applications need in their containers: environment files and the
start order of sidecars."""

from pathlib import Path

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_s3 as s3

from ecs_patterns_plus import HardenedTaskDefinition, HealthCheckOptions, SidecarOptions

from . import scenario
from .task_definition import DIGEST, ecr_image

FILES = Path(__file__).parent / "files"
Condition = ecs.ContainerDependencyCondition


@scenario("TaskEnvironmentFilesAndStartOrder")
def task_environment_files_and_start_order(stack) -> None:  # type: ignore[no-untyped-def]
    """A local ``.env`` file (uploaded as an asset) and one in a configuration bucket; an init
    container the application waits for, an agent that starts after the init container, and
    a warm-up sidecar that starts once the application is healthy."""
    config = s3.Bucket.from_bucket_name(stack, "Config", "myapp-config-111122223333")
    init_image = ecs.ContainerImage.from_registry(f"public.ecr.aws/docker/library/busybox@{DIGEST}")
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack),
        container_port=8080,
        memory_mib=1024,
        environment={"SPRING_PROFILES_ACTIVE": "prod"},
        environment_files=[
            ecs.EnvironmentFile.from_asset(str(FILES / "app.env")),
            ecs.EnvironmentFile.from_bucket(config, "prod/orders.env"),
        ],
        health_check=HealthCheckOptions(
            command=["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"]
        ),
        sidecars=[
            SidecarOptions(
                name="config-init",
                image=init_image,
                command=["sh", "-c", "echo rendering configuration"],
                essential=False,
                app_waits_for=Condition.SUCCESS,
            ),
            SidecarOptions(
                name="agent",
                image=init_image,
                command=["sh", "-c", "exec sleep infinity"],
                app_waits_for=None,
                waits_for={"config-init": Condition.SUCCESS},
            ),
            SidecarOptions(
                name="warmup",
                image=init_image,
                command=["sh", "-c", "wget -qO- http://localhost:8080/warmup"],
                essential=False,
                app_waits_for=None,
                waits_for={"app": Condition.HEALTHY},
            ),
        ],
    )


@scenario("ServiceWithEfs")
def service_with_efs(stack) -> None:  # type: ignore[no-untyped-def]
    """A backend service that writes its uploads to an EFS directory and reads shared
    templates from another, and a nightly job that reads the uploads."""
    from aws_cdk import aws_scheduler as scheduler

    from ecs_patterns_plus import (
        BackendService,
        EfsVolume,
        HardenedCluster,
        ScheduledTask,
        SharedFileSystem,
    )

    from .common import existing_vpc

    vpc = existing_vpc(stack)
    cluster = HardenedCluster(stack, "Platform", vpc=vpc).cluster
    files = SharedFileSystem(stack, "Files", vpc=vpc)
    uploads = EfsVolume(file_system=files, container_path="/data/uploads", read_only=False)
    BackendService(
        stack,
        "Media",
        cluster=cluster,
        task_definition=HardenedTaskDefinition(
            stack,
            "MediaTask",
            image=ecr_image(stack),
            container_port=8080,
            port_name="media",
            efs_volumes=[
                uploads,
                EfsVolume(file_system=files, container_path="/templates", directory="/shared"),
            ],
        ),
    )
    ScheduledTask(
        stack,
        "Thumbnails",
        cluster=cluster,
        task_definition=HardenedTaskDefinition(
            stack,
            "ThumbnailsTask",
            image=ecr_image(stack, "thumbnails-1.0.0"),
            efs_volumes=[EfsVolume(file_system=files, container_path="/data/uploads")],
        ),
        schedule=scheduler.ScheduleExpression.cron(hour="3", minute="0"),
    )
