"""Managed EBS volumes: one volume per task, created by ECS when the task starts and deleted
when it stops, for stateful applications on a read-only root filesystem.

Relied on ("Use Amazon EBS volumes with Amazon ECS", "Defer volume configuration to launch
time", "Specify Amazon EBS volume configuration at Amazon ECS deployment", "Encrypt data stored
in Amazon EBS volumes attached to Amazon ECS tasks" and "Amazon ECS infrastructure IAM role",
ECS developer guide; the ``Volume``, ``ServiceManagedEBSVolumeConfiguration`` and
``UpdateService`` API references; "Amazon EBS volume types", EBS user guide; EC2
``CreateVolume``):

- The task definition names the volume with ``configuredAtLaunch: true`` and mounts it; the
  volume itself (size, type, IOPS, throughput, key, snapshot) is given when a service is
  created or updated (or to RunTask). A task definition may have only one volume configured at
  launch, so a task gets at most one EBS volume.
- Supported on Fargate (Linux, platform 1.4.0 or later; the library deploys ``LATEST``) and on
  EC2; not for ``DAEMON`` services ("volumeConfigurations is only supported for REPLICA
  service"); the magnetic ``standard`` type not on Fargate.
- A service's volumes are per task and ephemeral: ECS deletes each volume when its task stops.
  A replacement task starts with a new volume (empty, or from the snapshot).
- ECS creates, attaches, detaches and deletes the volumes with an infrastructure role that
  trusts ``ecs.amazonaws.com`` and has AWS's managed policy
  ``service-role/AmazonECSInfrastructureRolePolicyForVolumes``. ECS changes the volume's
  ownership to the container's non-root user (group-based permissions).
- Size, IOPS and throughput are those of EC2 ``CreateVolume``, which the ECS parameters map to
  1:1 (and aws-cdk-lib's ``ServiceManagedVolume`` checks): gp3 1-65,536 GiB, 3,000-80,000 IOPS
  at up to 500 IOPS per GiB (3,000 at any size), 125-2,000 MiB/s at up to 0.25 MiB/s per IOPS
  (125 at any IOPS); io1 4-16,384 GiB and 100-64,000 IOPS at up to 50 per GiB; io2 4-65,536 GiB
  and 100-256,000 IOPS at up to 1,000 per GiB; gp2 1-16,384; st1 and sc1 125-16,384;
  standard 1-1,024. IOPS are required for io1/io2 and refused for gp2, st1, sc1 and standard;
  throughput is gp3 only.
- Encryption with a customer managed key: the key policy lets the infrastructure role use the
  key through EC2 only (``kms:ViaService`` ``ec2.<region>``, ``kms:CallerAccount``, encryption
  context ``aws:ebs:id``): ``kms:DescribeKey``, ``kms:GenerateDataKey*``, ``kms:ReEncryptFrom``
  / ``kms:ReEncryptTo`` (only for volumes made from snapshots) and ``kms:CreateGrant`` with
  ``kms:GrantIsForAWSResource``. The shared key's ``DenyGrantsExceptForAwsServices`` statement
  denies grants that are neither for an AWS resource nor made by an AWS service: EBS creates
  the volume's grant on the role's behalf for the volume (``kms:GrantIsForAWSResource`` true),
  so the deny does not match it, and the role itself can create no other grant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct, IValidation

from .. import compliance, defaults
from ..encryption import shared_scope, stack_key
from ..errors import Problems, is_token

if TYPE_CHECKING:
    from .construct import HardenedTaskDefinition
    from .options import ContainerSpec

MAX_PER_TASK = 1
"""Volumes configured at launch that ECS allows in one task definition (``Volume`` API)."""

ROLE_ID = "EbsInfrastructureRole"
"""Construct id of the stack's infrastructure role for EBS volumes, under ``EcsPatternsPlus``."""

_SIZE_GIB = {
    "gp2": (1, 16_384),
    "gp3": (1, 65_536),
    "io1": (4, 16_384),
    "io2": (4, 65_536),
    "st1": (125, 16_384),
    "sc1": (125, 16_384),
    "standard": (1, 1_024),
}
_IOPS = {"gp3": (3_000, 80_000, 500), "io1": (100, 64_000, 50), "io2": (100, 256_000, 1_000)}
"""Lowest and highest IOPS, and the most IOPS per GiB of volume size."""
_GP3_BASELINE_IOPS = 3_000
_GP3_THROUGHPUT = (125, 2_000)
_GP3_MIBPS_PER_IOPS = 0.25
_SNAPSHOT = re.compile(r"^snap-[0-9a-f]{8}([0-9a-f]{9})?$")
_DIRECTORY = re.compile(r"^/[A-Za-z0-9_.\-/]*$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


@dataclass(frozen=True, kw_only=True)
class EbsVolume:
    """An EBS volume ECS creates for each task of a service, mounted writable in the
    application container, encrypted, and deleted when the task stops (per task, not shared:
    use EFS for data that outlives tasks or is shared between them).

    Args:
        container_path: where the application container sees it; absolute, not a
            ``writable_paths`` entry or an EFS volume's path.
        size_gib: the size in GiB (gp3: 1-65,536). Required unless ``snapshot_id`` is given
            (the snapshot's size then). Default: none.
        volume_type: ``ec2.EbsDeviceVolumeType``. Default: ``GP3``.
        iops: provisioned IOPS: gp3 3,000-80,000 (at most 500 per GiB), io1 100-64,000 (50 per
            GiB), io2 100-256,000 (1,000 per GiB); required for io1 and io2, refused for the
            other types. Default: the type's baseline (3,000 for gp3).
        throughput_mibps: gp3 only, 125-2,000 MiB/s and at most 0.25 MiB/s per IOPS.
            Default: 125 MiB/s.
        file_system_type: ``ecs.FileSystemType.XFS``, ``EXT4`` or ``EXT3``; a volume from a
            snapshot needs the snapshot's. Default: ``XFS``.
        snapshot_id: start each task's volume from this snapshot (``snap-...``). Default: an
            empty volume.
        encryption_key: the KMS key the volumes are encrypted with. Default: the stack's
            shared key. A key of this stack gets the key-policy statements ECS needs; the
            infrastructure role is allowed any other key in its own policy, which works when
            the key's policy lets IAM policies of this account grant its use (the default).
        name: the task volume's name (letters, digits, ``-`` and ``_``).
            Default: ``ebs``.
    """

    container_path: str
    size_gib: int | None = None
    volume_type: ec2.EbsDeviceVolumeType = defaults.EBS_VOLUME_TYPE
    iops: int | None = None
    throughput_mibps: int | None = None
    file_system_type: ecs.FileSystemType = defaults.EBS_FILE_SYSTEM_TYPE
    snapshot_id: str | None = None
    encryption_key: kms.IKey | None = None
    name: str = defaults.EBS_VOLUME_NAME

    @property
    def kind(self) -> str:
        """The EBS volume type as ECS and EC2 name it: ``gp3``, ``io2``, ..."""
        return str(self.volume_type.value).lower()

    def validate(self, problems: Problems, argument: str, *, fargate: bool) -> None:
        """Record problems with this volume under ``argument`` (``ebs_volumes[0]``)."""
        self._check_names(problems, argument)
        self._check_size(problems, argument, fargate=fargate)
        self._check_performance(problems, argument)
        problems.require(
            self.file_system_type != ecs.FileSystemType.NTFS,
            f"{argument}.file_system_type",
            "NTFS is for Windows tasks, and the library's tasks run Linux",
            self.file_system_type,
            "use ecs.FileSystemType.XFS or EXT4",
        )

    def _check_names(self, problems: Problems, argument: str) -> None:
        path = self.container_path
        if not is_token(path):
            problems.require(
                bool(_DIRECTORY.match(path)) and "/../" not in f"{path}/" and path != "/",
                f"{argument}.container_path",
                "must be an absolute directory path other than /",
                path,
                "e.g. '/var/lib/data'",
            )
        if not is_token(self.name):
            problems.require(
                bool(_NAME.match(self.name)),
                f"{argument}.name",
                "must be 1-255 letters, digits, hyphens and underscores",
                self.name,
                "e.g. 'data'",
            )
        snapshot = self.snapshot_id
        if snapshot is not None and not is_token(snapshot):
            problems.require(
                bool(_SNAPSHOT.match(snapshot)),
                f"{argument}.snapshot_id",
                "is not an EBS snapshot id",
                snapshot,
                "pass 'snap-' and 17 hexadecimal digits (or a token)",
            )

    def _check_size(self, problems: Problems, argument: str, *, fargate: bool) -> None:
        kind, size = self.kind, self.size_gib
        problems.require(
            size is not None or self.snapshot_id is not None,
            f"{argument}.size_gib",
            "is needed for an empty volume",
            None,
            "pass size_gib (e.g. 20), or snapshot_id to start from a snapshot of its size",
        )
        low, high = _SIZE_GIB[kind]
        if size is not None and not is_token(size):
            problems.require(
                low <= size <= high,
                f"{argument}.size_gib",
                f"must be {low}-{high:,} GiB for a {kind} volume",
                size,
                f"pass {low} to {high:,}, or choose another volume_type",
            )
        problems.require(
            not (fargate and kind == "standard"),
            f"{argument}.volume_type",
            "magnetic (standard) volumes are not supported on Fargate",
            self.volume_type,
            "use ec2.EbsDeviceVolumeType.GP3 (or a task definition for EC2 only)",
        )

    def _check_performance(self, problems: Problems, argument: str) -> None:
        kind, iops = self.kind, self.iops
        if kind not in _IOPS:
            problems.require(
                iops is None,
                f"{argument}.iops",
                f"cannot be provisioned for a {kind} volume",
                iops,
                "leave iops out, or use gp3, io1 or io2",
            )
        else:
            self._check_iops(problems, f"{argument}.iops")
        self._check_throughput(problems, f"{argument}.throughput_mibps")

    def _check_iops(self, problems: Problems, argument: str) -> None:
        kind, size, iops = self.kind, self.size_gib, self.iops
        low, high, per_gib = _IOPS[kind]
        problems.require(
            iops is not None or kind == "gp3",
            argument,
            f"is required for a {kind} volume",
            None,
            f"pass iops from {low} to {high:,}",
        )
        if iops is None or is_token(iops):
            return
        in_range = problems.require(
            low <= iops <= high,
            argument,
            f"must be {low:,}-{high:,} for a {kind} volume",
            iops,
            f"pass {low:,} to {high:,}",
        )
        if not in_range or size is None or is_token(size):
            return
        most = max(per_gib * size, _GP3_BASELINE_IOPS if kind == "gp3" else 0)
        problems.require(
            iops <= most,
            argument,
            f"exceeds {per_gib:,} IOPS per GiB of a {kind} volume: {size} GiB allow {most:,}",
            iops,
            f"provision at most {most:,} IOPS, or at least {-(-iops // per_gib):,} GiB",
        )

    def _check_throughput(self, problems: Problems, argument: str) -> None:
        kind, iops, throughput = self.kind, self.iops, self.throughput_mibps
        if kind != "gp3":
            problems.require(
                throughput is None,
                argument,
                f"can be provisioned for gp3 volumes only, not {kind}",
                throughput,
                "leave throughput_mibps out, or use gp3",
            )
            return
        if throughput is None or is_token(throughput):
            return
        low, high = _GP3_THROUGHPUT
        if not problems.require(
            low <= throughput <= high,
            argument,
            f"must be {low}-{high:,} MiB/s for a gp3 volume",
            throughput,
            f"pass {low} to {high:,}",
        ):
            return
        provisioned = _GP3_BASELINE_IOPS if iops is None else iops
        if is_token(provisioned):
            return
        most = max(low, int(provisioned * _GP3_MIBPS_PER_IOPS))
        problems.require(
            throughput <= most,
            argument,
            f"exceeds 0.25 MiB/s per IOPS of a gp3 volume: {provisioned:,} IOPS allow {most} MiB/s",
            throughput,
            f"provision at least {int(throughput / _GP3_MIBPS_PER_IOPS):,} IOPS, or at most "
            f"{most} MiB/s",
        )


def check_ebs_volumes(
    problems: Problems,
    volumes: Sequence[EbsVolume],
    *,
    containers: Sequence[ContainerSpec],
    exec_paths: Sequence[str],
    efs_paths: Sequence[str],
    fargate: bool,
) -> None:
    """Record problems with the ``ebs_volumes`` of a task definition with ``containers``
    (the application first), ECS Exec's writable paths and EFS volumes at ``efs_paths``."""
    problems.require(
        len(volumes) <= MAX_PER_TASK,
        "ebs_volumes",
        f"ECS attaches at most {MAX_PER_TASK} EBS volume to a task (a task definition has "
        "one volume configured at launch at most)",
        [v.container_path for v in volumes],
        "keep one volume, and use directories on it for the rest",
    )
    from .construct import _slug  # the names the task definition gives its other volumes

    app = next(c for c in containers if not c.sidecar)
    writable = [*app.writable_paths, *exec_paths]
    taken = {
        f"{c.name}-{_slug(p)}"[:255] for c in containers for p in (*c.writable_paths, *exec_paths)
    }
    taken |= {f"efs{index}" for index in range(len(efs_paths))}
    for index, volume in enumerate(volumes):
        argument = f"ebs_volumes[{index}]"
        volume.validate(problems, argument, fargate=fargate)
        path = volume.container_path
        problems.require(
            is_token(path) or path not in writable,
            f"{argument}.container_path",
            "is also a writable path (a task volume): the two mounts would hide each other",
            path,
            "mount it elsewhere, or drop the path from writable_paths",
        )
        problems.require(
            is_token(path) or path not in efs_paths,
            f"{argument}.container_path",
            "is also an EFS volume's container_path",
            path,
            "give each volume its own path",
        )
        problems.require(
            volume.name not in taken,
            f"{argument}.name",
            "is the name of another volume of the task definition",
            volume.name,
            f"leave name out (default {defaults.EBS_VOLUME_NAME!r}), or choose another",
        )


def mount_ebs_volumes(
    owner: Construct,
    task_definition: ecs.TaskDefinition,
    container: ecs.ContainerDefinition,
    volumes: Sequence[EbsVolume],
) -> tuple[EbsVolume, ...]:
    """Add each volume to ``task_definition`` as configured at launch, mount it writable in
    ``container``, and refuse (at synth) a job that runs ``task_definition``."""
    for volume in volumes:
        task_definition.add_volume(name=volume.name, configured_at_launch=True)
        container.add_mount_points(
            ecs.MountPoint(
                container_path=volume.container_path, source_volume=volume.name, read_only=False
            )
        )
    if volumes:
        owner.node.add_validation(_NotForJobs(owner, task_definition))
    return tuple(volumes)


def check_ebs_service(
    problems: Problems, task_definition: HardenedTaskDefinition, *, daemon: bool
) -> None:
    """Record that a daemon cannot attach ``task_definition``'s EBS volumes."""
    volumes = getattr(task_definition, "ebs_volumes", ())
    problems.require(
        not (daemon and volumes),
        "task_definition",
        "has ebs_volumes, and ECS attaches managed EBS volumes to tasks of REPLICA services "
        "only, not to a daemon's",
        [v.container_path for v in volumes],
        "use a task definition without ebs_volumes for the daemon",
    )


def attach_ebs_volumes(service: ecs.BaseService, volumes: Sequence[EbsVolume]) -> None:
    """Give ``service`` the configuration of ``volumes``: ECS creates each task's volume,
    encrypted, with the service's tags, and deletes it when the task stops."""
    if not volumes:
        return
    role = infrastructure_role(service)
    configurations: list[ecs.CfnService.ServiceVolumeConfigurationProperty | cdk.IResolvable] = []
    for volume in volumes:
        key = volume.encryption_key or stack_key(service)
        allow_ebs_volumes(key, role, from_snapshot=volume.snapshot_id is not None)
        configurations.append(
            ecs.CfnService.ServiceVolumeConfigurationProperty(
                name=volume.name,
                managed_ebs_volume=ecs.CfnService.ServiceManagedEBSVolumeConfigurationProperty(
                    role_arn=role.role_arn,
                    encrypted=True,
                    kms_key_id=key.key_arn,
                    volume_type=volume.kind,
                    size_in_gib=volume.size_gib,
                    iops=volume.iops,
                    throughput=volume.throughput_mibps,
                    filesystem_type=str(volume.file_system_type.value).lower(),
                    snapshot_id=volume.snapshot_id,
                    tag_specifications=[
                        ecs.CfnService.EBSTagSpecificationProperty(
                            resource_type="volume", propagate_tags=defaults.EBS_PROPAGATE_TAGS
                        )
                    ],
                ),
            )
        )
    resource = service.node.default_child
    assert isinstance(resource, ecs.CfnService)
    resource.volume_configurations = configurations


def infrastructure_role(scope: Construct) -> iam.Role:
    """The stack's ECS infrastructure role for EBS volumes (``EcsPatternsPlus/
    EbsInfrastructureRole``), created on first use: it trusts ECS and has only AWS's managed
    policy for volumes; it is retained when the stack is deleted."""
    shared = shared_scope(scope)
    found = shared.node.try_find_child(ROLE_ID)
    if isinstance(found, iam.Role):
        return found
    role = iam.Role(
        shared,
        ROLE_ID,
        assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
        description="ECS: create, attach and delete the tasks' managed EBS volumes",
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AmazonECSInfrastructureRolePolicyForVolumes"
            )
        ],
    )
    role.apply_removal_policy(defaults.EBS_INFRASTRUCTURE_ROLE_REMOVAL_POLICY)
    compliance.ECS_VOLUMES_ROLE.apply(role)
    return role


def allow_ebs_volumes(key: kms.IKey, role: iam.Role, *, from_snapshot: bool) -> None:
    """Let ECS (as ``role``) encrypt managed EBS volumes with ``key``, through EC2 only.

    A key of the role's stack gets key-policy statements naming the role; any other key is
    allowed in the role's own policy (its key policy must let this account's IAM policies
    grant its use, as CDK's and KMS's default key policies do). Identical statements added
    for several volumes appear once.
    """
    stack = cdk.Stack.of(role)
    conditions: dict[str, object] = {
        "StringEquals": {
            "kms:CallerAccount": stack.account,
            "kms:ViaService": f"ec2.{stack.region}.{stack.url_suffix}",
        },
        "ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "aws:ebs:id"},
    }
    grants: list[tuple[str, list[str], dict[str, object]]] = [
        ("EcsEbsVolumesDescribeKey", ["kms:DescribeKey"], {}),
        ("EcsEbsVolumesDataKeys", ["kms:GenerateDataKey*"], conditions),
        (
            "EcsEbsVolumesGrants",
            ["kms:CreateGrant"],
            {**conditions, "Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
    ]
    if from_snapshot:
        grants.append(
            ("EcsEbsVolumesFromSnapshots", ["kms:ReEncryptFrom", "kms:ReEncryptTo"], conditions)
        )
    in_key_policy = isinstance(key, kms.Key) and cdk.Stack.of(key) is stack
    had_policy = role.node.try_find_child("DefaultPolicy") is not None
    for sid, actions, condition in grants:
        if in_key_policy:
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[role],
                    actions=actions,
                    resources=["*"],
                    conditions=condition or None,
                )
            )
        else:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=actions, resources=[key.key_arn], conditions=condition or None
                )
            )
    if not in_key_policy and not had_policy:
        compliance.GRANT_DEFAULT_POLICY.apply(role)


@jsii.implements(IValidation)
class _NotForJobs:
    """At synth: no ScheduledTask or OneOffTask runs a task definition with EBS volumes.

    Only a service attaches them here: an EventBridge Scheduler ECS target has no volume
    configuration, and a task started without one has no volume to mount."""

    def __init__(self, owner: Construct, task_definition: ecs.TaskDefinition) -> None:
        self.owner = owner
        self.task_definition = task_definition

    def validate(self) -> list[str]:
        from ..jobs.base import RunTaskJob

        return [
            f"ebs_volumes: only a service attaches managed EBS volumes, and the job "
            f"{job.node.path} runs this task definition (its schedule or run-task command "
            f"configures no volume); got {self.owner.node.path}; give the job a task "
            "definition without ebs_volumes"
            for job in self.owner.node.root.node.find_all()
            if isinstance(job, RunTaskJob) and job.task_definition is self.task_definition
        ]
