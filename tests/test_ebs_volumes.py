"""Managed EBS volumes: what each guarantee looks like in the template, and the mistakes
refused before anything is built."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_kms as kms

from ecs_patterns_plus import (
    BackendService,
    DaemonService,
    EbsVolume,
    Ec2CapacityOptions,
    EfsVolume,
    HardenedCluster,
    HardenedTaskDefinition,
    OneOffTask,
    ValidationError,
)
from tests.scenarios.common import existing_vpc
from tests.scenarios.storage_ebs import SNAPSHOT
from tests.synth import Synthesized
from tests.util import logical_id, resources_of, stack_for_errors

STACK = "ServiceWithEbsVolume"
VOLUMES_POLICY = "service-role/AmazonECSInfrastructureRolePolicyForVolumes"


def _resource(synth: Synthesized, path: str) -> dict[str, Any]:
    return synth.template_json(STACK)["Resources"][logical_id(synth, STACK, path)]  # type: ignore[no-any-return]


def _service_properties(synth: Synthesized, service: str) -> dict[str, Any]:
    """The properties of ``service``'s ECS service (its path has no ``/Resource``)."""
    (found,) = [
        resource["Properties"]
        for resource in resources_of(synth, STACK, "AWS::ECS::Service").values()
        if resource["Metadata"]["aws:cdk:path"] == f"{STACK}/{service}/Service/Service"
    ]
    return found  # type: ignore[no-any-return]


def _volume(synth: Synthesized, service: str) -> dict[str, Any]:
    (configuration,) = _service_properties(synth, service)["VolumeConfigurations"]
    return configuration  # type: ignore[no-any-return]


def _arn(synth: Synthesized, path: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id(synth, STACK, path), "Arn"]}


def _key_statements(synth: Synthesized) -> dict[str, dict[str, Any]]:
    statements = _resource(synth, "EcsPatternsPlus/Key")["Properties"]["KeyPolicy"]["Statement"]
    return {s["Sid"]: s for s in statements if "Sid" in s}


# --- The template ----------------------------------------------------------------------------


@pytest.mark.scenarios(STACK)
def test_the_task_definition_configures_the_volume_at_launch_and_mounts_it_writable(
    scenarios: Synthesized,
) -> None:
    definition = _resource(scenarios, "LedgerTask/TaskDefinition")["Properties"]
    assert {"Name": "ebs", "ConfiguredAtLaunch": True} in definition["Volumes"]
    (app,) = [c for c in definition["ContainerDefinitions"] if c["Name"] == "app"]
    assert {
        "ContainerPath": "/var/lib/ledger",
        "SourceVolume": "ebs",
        "ReadOnly": False,
    } in app["MountPoints"]
    assert app["ReadonlyRootFilesystem"] is True
    search = _resource(scenarios, "SearchTask/TaskDefinition")["Properties"]
    assert {"Name": "index", "ConfiguredAtLaunch": True} in search["Volumes"]


@pytest.mark.scenarios(STACK)
def test_each_service_gives_every_task_a_volume_encrypted_with_the_stack_key(
    scenarios: Synthesized,
) -> None:
    for service in ("Ledger", "Search"):
        managed = _volume(scenarios, service)["ManagedEBSVolume"]
        assert managed["Encrypted"] is True
        assert managed["KmsKeyId"] == _arn(scenarios, "EcsPatternsPlus/Key")
        assert managed["TagSpecifications"] == [
            {"ResourceType": "volume", "PropagateTags": "SERVICE"}
        ]
    assert len(resources_of(scenarios, STACK, "AWS::KMS::Key")) == 1


@pytest.mark.scenarios(STACK)
def test_size_type_iops_throughput_and_file_system_are_as_given(scenarios: Synthesized) -> None:
    ledger = _volume(scenarios, "Ledger")
    assert ledger["Name"] == "ebs"
    managed = ledger["ManagedEBSVolume"]
    assert (managed["VolumeType"], managed["SizeInGiB"]) == ("gp3", 100)
    assert (managed["Iops"], managed["Throughput"]) == (6000, 250)
    assert managed["FilesystemType"] == "ext4"
    assert "SnapshotId" not in managed


@pytest.mark.scenarios(STACK)
def test_a_volume_from_a_snapshot_is_io2_with_its_iops_and_xfs_by_default(
    scenarios: Synthesized,
) -> None:
    search = _volume(scenarios, "Search")
    assert search["Name"] == "index"
    managed = search["ManagedEBSVolume"]
    assert (managed["VolumeType"], managed["SizeInGiB"], managed["Iops"]) == ("io2", 200, 8000)
    assert managed["SnapshotId"] == SNAPSHOT
    assert managed["FilesystemType"] == "xfs"
    assert "Throughput" not in managed


@pytest.mark.scenarios(STACK)
def test_one_infrastructure_role_trusts_ecs_and_has_only_the_managed_policy_for_volumes(
    scenarios: Synthesized,
) -> None:
    role = _resource(scenarios, "EcsPatternsPlus/EbsInfrastructureRole")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ecs.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    (policy,) = role["Properties"]["ManagedPolicyArns"]
    assert policy["Fn::Join"][1][-1] == f":iam::aws:policy/{VOLUMES_POLICY}"
    assert "Policies" not in role["Properties"]
    role_id = logical_id(scenarios, STACK, "EcsPatternsPlus/EbsInfrastructureRole")
    attached = [
        p
        for p in resources_of(scenarios, STACK, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert attached == []
    for service in ("Ledger", "Search"):
        managed = _volume(scenarios, service)["ManagedEBSVolume"]
        assert managed["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


@pytest.mark.scenarios(STACK)
def test_the_infrastructure_role_outlives_the_stack_so_ecs_can_delete_the_last_volumes(
    scenarios: Synthesized,
) -> None:
    role = _resource(scenarios, "EcsPatternsPlus/EbsInfrastructureRole")
    assert (role["DeletionPolicy"], role["UpdateReplacePolicy"]) == ("Retain", "Retain")


@pytest.mark.scenarios(STACK)
def test_the_key_policy_lets_the_role_use_the_key_only_through_ec2_for_ebs_volumes(
    scenarios: Synthesized,
) -> None:
    statements = _key_statements(scenarios)
    role = _arn(scenarios, "EcsPatternsPlus/EbsInfrastructureRole")
    via_ec2 = {
        "StringEquals": {
            "kms:CallerAccount": {"Ref": "AWS::AccountId"},
            "kms:ViaService": {
                "Fn::Join": ["", ["ec2.ap-northeast-2.", {"Ref": "AWS::URLSuffix"}]]
            },
        },
        "ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "aws:ebs:id"},
    }
    for sid in (
        "EcsEbsVolumesDescribeKey",
        "EcsEbsVolumesDataKeys",
        "EcsEbsVolumesGrants",
        "EcsEbsVolumesFromSnapshots",
    ):
        assert statements[sid]["Effect"] == "Allow"
        assert statements[sid]["Principal"] == {"AWS": role}
    assert statements["EcsEbsVolumesDescribeKey"]["Action"] == "kms:DescribeKey"
    assert statements["EcsEbsVolumesDataKeys"]["Action"] == "kms:GenerateDataKey*"
    assert statements["EcsEbsVolumesDataKeys"]["Condition"] == via_ec2
    assert statements["EcsEbsVolumesFromSnapshots"]["Action"] == [
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
    ]
    assert statements["EcsEbsVolumesFromSnapshots"]["Condition"] == via_ec2
    grants = statements["EcsEbsVolumesGrants"]
    assert grants["Action"] == "kms:CreateGrant"
    assert grants["Condition"] == {**via_ec2, "Bool": {"kms:GrantIsForAWSResource": "true"}}


@pytest.mark.scenarios(STACK)
def test_the_grant_for_ebs_is_outside_the_deny_on_grants_not_for_aws_resources(
    scenarios: Synthesized,
) -> None:
    statements = _key_statements(scenarios)
    deny = statements["DenyGrantsExceptForAwsServices"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"]["BoolIfExists"]["kms:GrantIsForAWSResource"] == "false"
    allowed = statements["EcsEbsVolumesGrants"]["Condition"]["Bool"]
    assert allowed == {"kms:GrantIsForAWSResource": "true"}


@pytest.mark.scenarios(STACK)
def test_the_services_run_on_the_latest_fargate_platform(scenarios: Synthesized) -> None:
    for service in ("Ledger", "Search"):
        properties = _service_properties(scenarios, service)
        assert properties["PlatformVersion"] == "LATEST"
        assert properties.get("SchedulingStrategy", "REPLICA") == "REPLICA"


# --- Built without synthesis -----------------------------------------------------------------


def _task(stack: cdk.Stack, *volumes: EbsVolume, **options: Any) -> HardenedTaskDefinition:
    repository = stack.node.try_find_child("Repository") or ecr.Repository.from_repository_name(
        stack, "Repository", "ledger"
    )
    return HardenedTaskDefinition(
        stack,
        "Task",
        image=ecs.ContainerImage.from_ecr_repository(repository, "1.0.0"),  # type: ignore[arg-type]
        container_port=8080,
        port_name="ledger",
        ebs_volumes=list(volumes),
        **options,
    )


def _service(stack: cdk.Stack, *volumes: EbsVolume) -> BackendService:
    cluster = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack)).cluster
    return BackendService(stack, "Ledger", cluster=cluster, task_definition=_task(stack, *volumes))


def _configuration(service: BackendService) -> dict[str, Any]:
    resource = service.service.node.default_child
    assert isinstance(resource, ecs.CfnService)
    (configuration,) = cdk.Stack.of(service).resolve(resource.volume_configurations)
    return configuration["managedEbsVolume"]  # type: ignore[no-any-return]


def test_tokens_are_accepted_for_size_iops_throughput_and_snapshot() -> None:
    stack = stack_for_errors()
    size = cdk.CfnParameter(stack, "Size", type="Number").value_as_number
    iops = cdk.CfnParameter(stack, "Iops", type="Number").value_as_number
    throughput = cdk.CfnParameter(stack, "Throughput", type="Number").value_as_number
    snapshot = cdk.CfnParameter(stack, "Snapshot").value_as_string
    service = _service(
        stack,
        EbsVolume(
            container_path="/data",
            size_gib=size,  # type: ignore[arg-type]
            iops=iops,  # type: ignore[arg-type]
            throughput_mibps=throughput,  # type: ignore[arg-type]
            snapshot_id=snapshot,
        ),
    )
    managed = _configuration(service)
    assert managed["sizeInGiB"] == {"Ref": "Size"}
    assert managed["iops"] == {"Ref": "Iops"}
    assert managed["throughput"] == {"Ref": "Throughput"}
    assert managed["snapshotId"] == {"Ref": "Snapshot"}


def test_a_key_of_another_stack_is_allowed_in_the_roles_own_policy_not_its_key_policy() -> None:
    stack = stack_for_errors()
    key = kms.Key.from_key_arn(
        stack, "Imported", "arn:aws:kms:ap-northeast-2:111122223333:key/abcd-1234"
    )
    service = _service(stack, EbsVolume(container_path="/data", size_gib=20, encryption_key=key))
    assert _configuration(service)["kmsKeyId"] == key.key_arn
    role = stack.node.find_child("EcsPatternsPlus").node.find_child("EbsInfrastructureRole")
    policy = role.node.find_child("DefaultPolicy")
    document = stack.resolve(policy.document.to_json())  # type: ignore[attr-defined]
    grants = [s for s in document["Statement"] if s["Action"] == "kms:CreateGrant"]
    assert [s["Resource"] for s in grants] == [key.key_arn]
    assert grants[0]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    stack_key = stack.node.find_child("EcsPatternsPlus").node.find_child("Key")
    key_policy = stack.resolve(stack_key.node.default_child.key_policy)  # type: ignore[attr-defined]
    assert not [s for s in key_policy["Statement"] if s.get("Sid", "").startswith("EcsEbs")]


@pytest.mark.parametrize(
    "volume",
    [
        EbsVolume(container_path="/data", size_gib=1),  # gp3 with its 3,000 baseline IOPS
        EbsVolume(container_path="/data", size_gib=1, throughput_mibps=125),
        EbsVolume(container_path="/data", size_gib=16, iops=8000, throughput_mibps=2000),
        EbsVolume(
            container_path="/data", size_gib=4, volume_type=ec2.EbsDeviceVolumeType.IO2, iops=4000
        ),
        EbsVolume(container_path="/data", size_gib=125, volume_type=ec2.EbsDeviceVolumeType.ST1),
        EbsVolume(container_path="/data", snapshot_id="snap-0123abcd"),
    ],
)
def test_valid_edge_cases_are_not_refused(volume: EbsVolume) -> None:
    assert _task(stack_for_errors(), volume).ebs_volumes == (volume,)


def test_magnetic_volumes_are_accepted_on_ec2_only_task_definitions() -> None:
    volume = EbsVolume(
        container_path="/data", size_gib=100, volume_type=ec2.EbsDeviceVolumeType.STANDARD
    )
    task = _task(stack_for_errors(), volume, compatibility=ecs.Compatibility.EC2)
    assert task.ebs_volumes == (volume,)


# --- Refused ---------------------------------------------------------------------------------

GP3 = ec2.EbsDeviceVolumeType.GP3
BAD: list[tuple[dict[str, Any], str]] = [
    ({"size_gib": 0}, r"ebs_volumes\[0\]\.size_gib: must be 1-65,536 GiB for a gp3 volume; got 0"),
    ({"size_gib": 70000}, r"size_gib: must be 1-65,536 GiB for a gp3 volume; got 70000"),
    (
        {"size_gib": 100, "volume_type": ec2.EbsDeviceVolumeType.ST1},
        r"size_gib: must be 125-16,384 GiB for a st1 volume; got 100",
    ),
    ({}, r"ebs_volumes\[0\]\.size_gib: is needed for an empty volume"),
    (
        {"size_gib": 20, "volume_type": ec2.EbsDeviceVolumeType.GP2, "iops": 3000},
        r"iops: cannot be provisioned for a gp2 volume; got 3000",
    ),
    (
        {"size_gib": 20, "volume_type": ec2.EbsDeviceVolumeType.IO2},
        r"ebs_volumes\[0\]\.iops: is required for a io2 volume",
    ),
    ({"size_gib": 20, "iops": 2000}, r"iops: must be 3,000-80,000 for a gp3 volume; got 2000"),
    ({"size_gib": 500, "iops": 90000}, r"iops: must be 3,000-80,000 for a gp3 volume"),
    (
        {"size_gib": 10, "iops": 6000},
        r"iops: exceeds 500 IOPS per GiB of a gp3 volume: 10 GiB allow 5,000; got 6000; "
        r"provision at most 5,000 IOPS, or at least 12 GiB",
    ),
    (
        {"size_gib": 10, "volume_type": ec2.EbsDeviceVolumeType.IO1, "iops": 1000},
        r"iops: exceeds 50 IOPS per GiB of a io1 volume: 10 GiB allow 500",
    ),
    (
        {"size_gib": 20, "volume_type": ec2.EbsDeviceVolumeType.IO2, "iops": 50},
        r"iops: must be 100-256,000 for a io2 volume; got 50",
    ),
    (
        {
            "size_gib": 20,
            "volume_type": ec2.EbsDeviceVolumeType.IO2,
            "iops": 1000,
            "throughput_mibps": 500,
        },
        r"throughput_mibps: can be provisioned for gp3 volumes only, not io2; got 500",
    ),
    ({"size_gib": 20, "throughput_mibps": 100}, r"throughput_mibps: must be 125-2,000 MiB/s"),
    ({"size_gib": 20, "throughput_mibps": 2500}, r"throughput_mibps: must be 125-2,000 MiB/s"),
    (
        {"size_gib": 20, "throughput_mibps": 1000},
        r"throughput_mibps: exceeds 0.25 MiB/s per IOPS of a gp3 volume: 3,000 IOPS allow "
        r"750 MiB/s; got 1000; provision at least 4,000 IOPS",
    ),
    (
        {"size_gib": 20, "volume_type": ec2.EbsDeviceVolumeType.STANDARD},
        r"volume_type: magnetic \(standard\) volumes are not supported on Fargate",
    ),
    (
        {"size_gib": 20, "file_system_type": ecs.FileSystemType.NTFS},
        r"file_system_type: NTFS is for Windows tasks",
    ),
    ({"snapshot_id": "snapshot-1"}, r"snapshot_id: is not an EBS snapshot id; got 'snapshot-1'"),
    ({"size_gib": 20, "name": "my volume"}, r"name: must be 1-255 letters, digits"),
    (
        {"size_gib": 20, "name": "app-tmp"},
        r"ebs_volumes\[0\]\.name: is the name of another volume of the task definition; got "
        r"'app-tmp'",
    ),
]


@pytest.mark.parametrize(("options", "message"), BAD)
def test_a_bad_volume_is_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _task(stack_for_errors(), EbsVolume(container_path="/data", **options))


@pytest.mark.parametrize(
    ("path", "options", "message"),
    [
        (
            "data",
            {},
            r"container_path: must be an absolute directory path other than /; got 'data'",
        ),
        ("/", {}, r"container_path: must be an absolute directory path other than /; got '/'"),
        ("/tmp", {}, r"container_path: is also a writable path \(a task volume\)"),
        ("/cache", {"writable_paths": ["/tmp", "/cache"]}, r"container_path: is also a writable"),
        ("/var/lib/amazon/ssm", {"enable_exec": True}, r"container_path: is also a writable"),
    ],
)
def test_a_mount_path_that_is_not_absolute_or_collides_is_refused(
    path: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _task(stack_for_errors(), EbsVolume(container_path=path, size_gib=20), **options)


def test_a_mount_path_of_an_efs_volume_is_refused() -> None:
    stack = stack_for_errors()
    file_system = efs.FileSystem.from_file_system_attributes(
        stack,
        "Files",
        file_system_id="fs-0123456789abcdef0",
        security_group=ec2.SecurityGroup.from_security_group_id(stack, "FilesGroup", "sg-0123"),
    )
    with pytest.raises(
        ValidationError,
        match=r"ebs_volumes\[0\]\.container_path: is also an EFS volume's container_path; "
        r"got '/data'",
    ):
        _task(
            stack,
            EbsVolume(container_path="/data", size_gib=20),
            efs_volumes=[EfsVolume(file_system=file_system, container_path="/data")],
        )


def test_more_volumes_than_ecs_attaches_to_a_task_are_refused() -> None:
    with pytest.raises(
        ValidationError,
        match=r"ebs_volumes: ECS attaches at most 1 EBS volume to a task .*; got "
        r"\['/data', '/logs'\]",
    ):
        _task(
            stack_for_errors(),
            EbsVolume(container_path="/data", size_gib=20),
            EbsVolume(container_path="/logs", size_gib=20, name="logs"),
        )


def test_a_volume_argument_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"ebs_volumes\[0\]\.size_gib: expected"):
        _task(stack_for_errors(), EbsVolume(container_path="/data", size_gib="20"))  # type: ignore[arg-type]


def test_a_daemon_is_refused_a_task_definition_with_ebs_volumes() -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(
        stack,
        "Platform",
        vpc=existing_vpc(stack),
        ec2_capacity=(Ec2CapacityOptions(name="general"),),
    )
    task = _task(
        stack, EbsVolume(container_path="/data", size_gib=20), compatibility=ecs.Compatibility.EC2
    )
    with pytest.raises(
        ValidationError,
        match=r"task_definition: has ebs_volumes, and ECS attaches managed EBS volumes to tasks "
        r"of REPLICA services only, not to a daemon's; got \['/data'\]",
    ):
        DaemonService(stack, "Agent", cluster=platform, task_definition=task, capacity="general")
    assert stack.node.try_find_child("Agent") is None


def test_a_job_that_runs_a_task_definition_with_ebs_volumes_fails_synthesis() -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    task = _task(stack, EbsVolume(container_path="/data", size_gib=20))
    assert task.node.validate() == []
    OneOffTask(stack, "Migrate", cluster=platform.cluster, task_definition=task)
    (error,) = task.node.validate()
    assert error.startswith(
        "ebs_volumes: only a service attaches managed EBS volumes, and the job Errors/Migrate "
        "runs this task definition"
    )


def test_every_volume_problem_is_reported_at_once_before_anything_is_built() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as raised:
        _task(
            stack,
            EbsVolume(
                container_path="/tmp", size_gib=0, volume_type=GP3, iops=100, snapshot_id="x"
            ),
        )
    message = str(raised.value)
    for argument in ("container_path", "size_gib", "iops", "snapshot_id"):
        assert f"ebs_volumes[0].{argument}:" in message
    assert stack.node.try_find_child("Task") is None
