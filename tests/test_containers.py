"""Containers real applications need: environment files and the start order of sidecars,
what each guarantee looks like in the template and the mistakes refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_s3 as s3

from ecs_patterns_plus import (
    HardenedTaskDefinition,
    HealthCheckOptions,
    SidecarOptions,
    ValidationError,
)
from tests.synth import Synthesized
from tests.util import hardened_task, resources_of, stack_for_errors

STACK = "TaskEnvironmentFilesAndStartOrder"
Condition = ecs.ContainerDependencyCondition
BUSYBOX = "public.ecr.aws/docker/library/busybox@sha256:" + "0123456789abcdef" * 4


def _containers(synth: Synthesized) -> dict[str, dict[str, Any]]:
    (definition,) = resources_of(synth, STACK, "AWS::ECS::TaskDefinition").values()
    return {c["Name"]: c for c in definition["Properties"]["ContainerDefinitions"]}


def _execution_policy(synth: Synthesized) -> list[dict[str, Any]]:
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of(synth, STACK, "AWS::IAM::Policy").values()
        if "ExecutionRole" in p["Metadata"]["aws:cdk:path"]
    ]
    return policy  # type: ignore[no-any-return]


@pytest.mark.scenarios(STACK)
def test_environment_files_reach_the_app_and_the_execution_role_reads_exactly_them(
    scenarios: Synthesized,
) -> None:
    app = _containers(scenarios)["app"]
    files = app["EnvironmentFiles"]
    assert [f["Type"] for f in files] == ["s3", "s3"]
    assert files[1]["Value"] == "arn:aws:s3:::myapp-config-111122223333/prod/orders.env"
    uploaded = files[0]["Value"]["Fn::Join"][1]
    assert uploaded[-1].endswith(".env")
    statements = {
        s["Action"] if isinstance(s["Action"], str) else "ecr": s
        for s in _execution_policy(scenarios)
    }
    assert statements["s3:GetObject"]["Resource"] == [files[1]["Value"], files[0]["Value"]]
    assert (
        statements["s3:GetBucketLocation"]["Resource"][0]
        == "arn:aws:s3:::myapp-config-111122223333"
    )
    # Only the application reads the files; the sidecars get none.
    assert all(
        "EnvironmentFiles" not in c for name, c in _containers(scenarios).items() if name != "app"
    )


@pytest.mark.scenarios(STACK)
def test_sidecars_start_in_the_order_they_name(scenarios: Synthesized) -> None:
    containers = _containers(scenarios)
    assert containers["app"]["DependsOn"] == [
        {"Condition": "SUCCESS", "ContainerName": "config-init"}
    ]
    assert containers["agent"]["DependsOn"] == [
        {"Condition": "SUCCESS", "ContainerName": "config-init"}
    ]
    assert containers["warmup"]["DependsOn"] == [{"Condition": "HEALTHY", "ContainerName": "app"}]
    assert "DependsOn" not in containers["config-init"]


def _sidecar(name: str, **options: Any) -> SidecarOptions:
    return SidecarOptions(name=name, image=ecs.ContainerImage.from_registry(BUSYBOX), **options)


def _env_file(tmp_path: Path, name: str, text: str) -> ecs.EnvironmentFile:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return ecs.EnvironmentFile.from_asset(str(path))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"sidecars": [_sidecar("agent", waits_for={"app": Condition.START})]},
            "sidecars: wait for each other in a cycle, so ECS could never start the task: "
            "agent -> app -> agent",
        ),
        (
            {
                "sidecars": [
                    _sidecar("a", app_waits_for=None, waits_for={"b": Condition.START}),
                    _sidecar("b", app_waits_for=None, waits_for={"a": Condition.START}),
                ]
            },
            "sidecars: wait for each other in a cycle, so ECS could never start the task: a -> b -> a",
        ),
        (
            {
                "sidecars": [
                    _sidecar("agent", app_waits_for=None, waits_for={"db": Condition.START})
                ]
            },
            "sidecars[0].waits_for['db']: must name another container of the task",
        ),
        (
            {
                "sidecars": [
                    _sidecar("agent", app_waits_for=None, waits_for={"agent": Condition.START})
                ]
            },
            "sidecars[0].waits_for['agent']: must name another container of the task",
        ),
        (
            {
                "sidecars": [
                    _sidecar("agent", app_waits_for=None, waits_for={"app": Condition.HEALTHY})
                ]
            },
            "sidecars[0].waits_for['app']: HEALTHY needs app to have a health check",
        ),
        (
            {
                "health_check": HealthCheckOptions(command=["CMD", "/bin/check"]),
                "sidecars": [
                    _sidecar("init"),
                    _sidecar("agent", app_waits_for=None, waits_for={"init": Condition.SUCCESS}),
                ],
            },
            "sidecars[1].waits_for['init']: SUCCESS waits for init to exit, and an essential "
            "container that exits stops the task",
        ),
    ],
    ids=["app and sidecar", "two sidecars", "unknown", "itself", "healthy", "essential init"],
)
def test_a_start_order_that_cannot_work_is_refused(options: dict[str, Any], message: str) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as raised:
        hardened_task(stack, **options)
    assert message in str(raised.value)
    assert stack.node.try_find_child("Task") is None


def test_environment_files_get_the_refusals_of_environment(tmp_path: Path) -> None:
    stack = stack_for_errors()
    secret = _env_file(tmp_path, "app.env", "LOG_LEVEL=info\nDB_PASSWORD=hunter2\n")
    twice = _env_file(tmp_path, "more.env", "# comment\n\nLOG_LEVEL=debug\n")
    with pytest.raises(ValidationError) as raised:
        hardened_task(stack, environment_files=[secret, twice], environment={"REGION_NAME": "x"})
    message = str(raised.value)
    assert "environment_files[0]: DB_PASSWORD looks like a secret" in message
    assert (
        "environment_files[1]: sets LOG_LEVEL that environment, secrets or another file sets"
        in message
    )


def test_environment_files_must_be_env_files_and_at_most_ten(tmp_path: Path) -> None:
    stack = stack_for_errors()
    bucket = s3.Bucket.from_bucket_name(stack, "Config", "config")
    with pytest.raises(ValidationError) as raised:
        hardened_task(
            stack,
            environment_files=[
                ecs.EnvironmentFile.from_bucket(bucket, "prod/app.properties"),
                *(ecs.EnvironmentFile.from_bucket(bucket, f"f{i}.env") for i in range(10)),
            ],
        )
    message = str(raised.value)
    assert "environment_files[0]: must be a .env file" in message
    assert "environment_files: lists more than the 10 files ECS reads per container" in message


EFS = "ServiceWithEfs"


def _of_type(synth: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    return resources_of(synth, EFS, kind)


def _path_id(synth: Synthesized, path: str) -> str:
    (key,) = [
        k
        for k, r in synth.template_json(EFS)["Resources"].items()
        if r["Metadata"]["aws:cdk:path"] == f"{EFS}/{path}"
    ]
    return key


@pytest.mark.scenarios(EFS)
def test_the_file_system_is_encrypted_backed_up_retained_and_tls_only(
    scenarios: Synthesized,
) -> None:
    (key_id,) = _of_type(scenarios, "AWS::KMS::Key")
    ((fs_id, fs),) = _of_type(scenarios, "AWS::EFS::FileSystem").items()
    props = fs["Properties"]
    assert props["Encrypted"] is True
    assert props["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert props["BackupPolicy"] == {"Status": "ENABLED"}
    assert props["ThroughputMode"] == "elastic"
    assert fs["DeletionPolicy"] == "Retain"
    (deny,) = props["FileSystemPolicy"]["Statement"]
    assert (deny["Effect"], deny["Condition"]) == (
        "Deny",
        {"Bool": {"aws:SecureTransport": "false"}},
    )
    (selection,) = _of_type(scenarios, "AWS::Backup::BackupSelection").values()
    assert selection["Properties"]["BackupSelection"]["Resources"][0]["Fn::Join"][1][-1] == {
        "Ref": fs_id
    }
    (plan,) = _of_type(scenarios, "AWS::Backup::BackupPlan").values()
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["Lifecycle"] == {"DeleteAfterDays": 35}
    (vault,) = _of_type(scenarios, "AWS::Backup::BackupVault").values()
    assert vault["Properties"]["EncryptionKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
    role = scenarios.template_json(EFS)["Resources"][
        _path_id(scenarios, "Files/BackupRole/Resource")
    ]
    assert "ManagedPolicyArns" not in role["Properties"]


@pytest.mark.scenarios(EFS)
def test_only_the_tasks_that_mount_it_reach_the_file_system(scenarios: Synthesized) -> None:
    group = _path_id(scenarios, "Files/SecurityGroup/Resource")
    rules = [
        r["Properties"]
        for r in _of_type(scenarios, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    ]
    sources = sorted(r["SourceSecurityGroupId"]["Fn::GetAtt"][0] for r in rules)
    assert sources == sorted(
        [
            _path_id(scenarios, "Media/SecurityGroup/Resource"),
            _path_id(scenarios, "Thumbnails/SecurityGroup/Resource"),
        ]
    )
    assert {(r["FromPort"], r["ToPort"]) for r in rules} == {(2049, 2049)}
    assert (
        "SecurityGroupIngress"
        not in _of_type(scenarios, "AWS::EC2::SecurityGroup")[group]["Properties"]
    )
    targets = _of_type(scenarios, "AWS::EFS::MountTarget").values()
    assert sorted(t["Properties"]["SubnetId"] for t in targets) == [
        "subnet-0a0000000000000a1",
        "subnet-0a0000000000000a2",
    ]


@pytest.mark.scenarios(EFS)
def test_each_mount_is_an_access_point_as_the_container_user_with_tls_and_iam(
    scenarios: Synthesized,
) -> None:
    points = [p["Properties"] for p in _of_type(scenarios, "AWS::EFS::AccessPoint").values()]
    # one per mount: the service's two and the job's one
    assert sorted(p["RootDirectory"]["Path"] for p in points) == [
        "/data/uploads",
        "/data/uploads",
        "/shared",
    ]
    uploads = points[0]
    assert uploads["PosixUser"] == {"Gid": "1000", "Uid": "1000"}
    assert uploads["RootDirectory"]["CreationInfo"] == {
        "OwnerGid": "1000",
        "OwnerUid": "1000",
        "Permissions": "750",
    }
    definitions = {
        d["Metadata"]["aws:cdk:path"].split("/")[1]: d["Properties"]
        for d in _of_type(scenarios, "AWS::ECS::TaskDefinition").values()
    }
    media = definitions["MediaTask"]
    efs_volumes = [v for v in media["Volumes"] if "EFSVolumeConfiguration" in v]
    assert len(efs_volumes) == 2
    for volume in efs_volumes:
        config = volume["EFSVolumeConfiguration"]
        assert config["TransitEncryption"] == "ENABLED"
        assert config["AuthorizationConfig"]["IAM"] == "ENABLED"
    (app,) = [c for c in media["ContainerDefinitions"] if c["Name"] == "app"]
    mounts = {m["ContainerPath"]: m["ReadOnly"] for m in app["MountPoints"]}
    assert mounts["/data/uploads"] is False
    assert mounts["/templates"] is True


@pytest.mark.scenarios(EFS)
def test_the_task_role_mounts_exactly_its_access_points(scenarios: Synthesized) -> None:
    policies = {
        p["Metadata"]["aws:cdk:path"].split("/")[1]: p["Properties"]["PolicyDocument"]["Statement"]
        for p in _of_type(scenarios, "AWS::IAM::Policy").values()
        if "/TaskRole/" in p["Metadata"]["aws:cdk:path"]
    }
    writable, read_only = policies["MediaTask"]
    assert writable["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert read_only["Action"] == "elasticfilesystem:ClientMount"
    for statement in (writable, read_only):
        assert list(statement["Condition"]["StringEquals"]) == ["elasticfilesystem:AccessPointArn"]
    (job,) = policies["ThumbnailsTask"]
    assert job["Action"] == "elasticfilesystem:ClientMount"


def _efshardened_task(stack: Any, volumes: list[Any], **options: Any) -> HardenedTaskDefinition:
    return hardened_task(stack, efs_volumes=volumes, **options)


def test_efs_mounts_that_cannot_work_are_refused() -> None:
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_efs as efs

    from ecs_patterns_plus import EfsVolume, SharedFileSystem
    from tests.scenarios.common import existing_vpc

    stack = stack_for_errors()
    files = SharedFileSystem(stack, "Files", vpc=existing_vpc(stack))
    imported = efs.FileSystem.from_file_system_attributes(
        stack,
        "Imported",
        file_system_id="fs-0123456789abcdef0",
        security_group=ec2.SecurityGroup.from_security_group_id(stack, "FsGroup", "sg-0f0f0f0f"),
    )
    with pytest.raises(ValidationError) as raised:
        _efshardened_task(
            stack,
            [
                EfsVolume(file_system=files, container_path="/data", uid="0", gid="0"),
                EfsVolume(file_system=files, container_path="data"),
                EfsVolume(file_system=imported, container_path="/tmp"),
                EfsVolume(file_system=imported, container_path="/data", permissions="rwx"),
            ],
        )
    message = str(raised.value)
    assert "efs_volumes[0]: sets uid/gid 0:0, and the container runs as 1000:1000" in message
    assert (
        "efs_volumes[1].container_path: must be an absolute directory path other than /" in message
    )
    assert "efs_volumes[2].container_path: is also a writable path (a task volume)" in message
    assert "efs_volumes[3].permissions: must be octal POSIX permissions" in message
    assert "efs_volumes: mount two volumes at one path" in message
    with pytest.raises(
        ValidationError,
        match=r"efs_volumes\[0\]: needs uid and gid: the container's user 'app' is a name",
    ):
        _efshardened_task(stack, [EfsVolume(file_system=files, container_path="/data")], user="app")


def test_a_file_system_in_another_vpc_is_refused_for_the_service() -> None:
    from aws_cdk import aws_ec2 as ec2

    from ecs_patterns_plus import BackendService, EfsVolume, HardenedCluster, SharedFileSystem
    from tests.scenarios.common import existing_vpc

    stack = stack_for_errors()
    other = ec2.Vpc.from_vpc_attributes(
        stack,
        "Other",
        vpc_id="vpc-0ffffffffffffffff",
        availability_zones=["ap-northeast-2a"],
        private_subnet_ids=["subnet-0f0000000000000f1"],
    )
    files = SharedFileSystem(stack, "Files", vpc=other)
    task = hardened_task(
        stack,
        container_port=8080,
        port_name="media",
        efs_volumes=[EfsVolume(file_system=files, container_path="/data")],
    )
    with pytest.raises(
        ValidationError,
        match=r"task_definition.efs_volumes\[0\].file_system: has its mount targets in another VPC",
    ):
        BackendService(
            stack,
            "Media",
            cluster=HardenedCluster(stack, "Platform", vpc=existing_vpc(stack)).cluster,
            task_definition=task,
        )
