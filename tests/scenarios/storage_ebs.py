"""Scenarios for managed EBS volumes attached to the tasks of services."""

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import BackendService, EbsVolume, HardenedCluster, HardenedTaskDefinition

from . import scenario
from .common import existing_vpc

SNAPSHOT = "snap-0123456789abcdef0"


def _task(stack: cdk.Stack, construct_id: str, volume: EbsVolume) -> HardenedTaskDefinition:
    repository = ecr.Repository.from_repository_name(
        stack, f"{construct_id}Repository", construct_id.lower()
    )
    return HardenedTaskDefinition(
        stack,
        construct_id,
        image=ecs.ContainerImage.from_ecr_repository(repository, "3.1.0"),
        cpu=1024,
        memory_mib=2048,
        container_port=8080,
        port_name=construct_id.lower(),
        ebs_volumes=[volume],
    )


@scenario("ServiceWithEbsVolume")
def service_with_ebs_volume(stack: cdk.Stack) -> None:
    """Two backend services with a managed EBS volume per task: a tuned gp3 volume (ext4)
    and an io2 volume made from a snapshot; one infrastructure role and the stack's key."""
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    BackendService(
        stack,
        "Ledger",
        cluster=platform.cluster,
        task_definition=_task(
            stack,
            "LedgerTask",
            EbsVolume(
                container_path="/var/lib/ledger",
                size_gib=100,
                iops=6000,
                throughput_mibps=250,
                file_system_type=ecs.FileSystemType.EXT4,
            ),
        ),
    )
    BackendService(
        stack,
        "Search",
        cluster=platform.cluster,
        task_definition=_task(
            stack,
            "SearchTask",
            EbsVolume(
                container_path="/var/lib/search",
                snapshot_id=SNAPSHOT,
                size_gib=200,
                volume_type=ec2.EbsDeviceVolumeType.IO2,
                iops=8000,
                name="index",
            ),
        ),
    )
