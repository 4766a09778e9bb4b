"""Persistent storage for tasks: EFS file systems and the directories tasks mount from them.

Every mount goes through an EFS access point that fixes the directory and the POSIX user the
container sees, with TLS in transit and IAM authorization on ("Using Amazon EFS volumes with
Amazon ECS", ECS developer guide; "Working with Amazon EFS access points", EFS user guide):
the task role may mount exactly that access point (``elasticfilesystem:ClientMount``, plus
``ClientWrite`` for a writable mount, with the ``elasticfilesystem:AccessPointArn``
condition), and nobody reaches the file system's port without being admitted by name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from . import compliance, defaults
from .encryption import stack_key
from .errors import Problems, checked, is_token

_POSIX_USER = re.compile(r"^(\d+):(\d+)$")
_DIRECTORY = re.compile(r"^/[A-Za-z0-9_.\-/]*$")


class SharedFileSystem(Construct):
    """An EFS file system for tasks, hardened.

    Encrypted at rest with the stack's shared key, backed up daily twice over: EFS automatic
    backups (AWS's default plan; Control Tower's CT.ELASTICFILESYSYSTEM.PR.2 asks for them)
    and an AWS Backup plan of its own (35 days, into a vault encrypted with the same key,
    failed jobs notified on the stack's alarm topic; NIST 800-53 and HIPAA ask for a plan
    that names the file system), retained when the stack is deleted, elastic throughput, files unused for 30 days
    moved to Infrequent Access, mount targets in the VPC's private subnets, and a security
    group that admits nobody: a service or job that mounts it admits its own tasks on NFS
    (2049). Its file system policy refuses every request without TLS and, holding no Allow,
    every client that does not authenticate with IAM: each task role's grant (one access
    point, ``ClientMount`` and for writable mounts ``ClientWrite``) is the only way in.

    Args:
        vpc: where the mount targets go (the tasks' VPC).
        encryption_key: the file system's KMS key. Default: the stack's shared key.
        vpc_subnets: the mount targets' subnets, one per AZ. Default: the private subnets.
        removal_policy: Default: ``RETAIN`` (data outlives the stack).

    Attributes:
        file_system, security_group, vpc, backup_plan, backup_vault.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        removal_policy: cdk.RemovalPolicy = defaults.DATA_REMOVAL_POLICY,
    ) -> None:
        from .launch import check_subnets, private_subnets  # launch imports task definitions

        problems = Problems(scope, construct_id)
        if vpc_subnets is not None:
            check_subnets(problems, "vpc_subnets", vpc, vpc_subnets, what="mount targets")
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        self.vpc = vpc
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="EFS mount targets: NFS from the tasks that mount the file system only",
            allow_all_outbound=False,
        )
        self.file_system = efs.FileSystem(
            self,
            "FileSystem",
            vpc=vpc,
            vpc_subnets=vpc_subnets or private_subnets(vpc),
            security_group=self.security_group,
            encrypted=True,
            kms_key=encryption_key or stack_key(self),
            enable_automatic_backups=True,  # CT.ELASTICFILESYSTEM.PR.2; see _back_up
            throughput_mode=efs.ThroughputMode.ELASTIC,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            lifecycle_policy=defaults.EFS_LIFECYCLE_POLICY,
            removal_policy=removal_policy,
            # CDK's "no anonymous access" adds an Allow of ClientRootAccess and ClientWrite to
            # every principal reaching a mount target: that would undo read-only mounts. With
            # a file system policy of Deny statements only, anonymous clients are refused and
            # each task role's own grant (one access point) is what allows it.
            allow_anonymous_access=True,
            file_system_policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="DenyWithoutTls",
                        effect=iam.Effect.DENY,
                        principals=[iam.AnyPrincipal()],
                        actions=["*"],
                        conditions={"Bool": {"aws:SecureTransport": "false"}},
                    )
                ]
            ),
        )
        self.backup_plan = self._back_up(encryption_key or stack_key(self))

    def _back_up(self, key: kms.IKey) -> backup.BackupPlan:
        from .monitoring.notifications import Notifier, stack_alarm_topic, stack_notification_queue

        self.backup_vault = backup.BackupVault(
            self, "BackupVault", encryption_key=key, removal_policy=defaults.DATA_REMOVAL_POLICY
        )
        plan = backup.BackupPlan(
            self,
            "BackupPlan",
            backup_vault=self.backup_vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="Daily",
                    schedule_expression=events.Schedule.cron(hour="3", minute="0"),
                    delete_after=defaults.EFS_BACKUP_RETENTION,
                )
            ],
        )
        role = iam.Role(
            self,
            "BackupRole",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description="AWS Backup: back up this file system into its vault",
        )
        for statement in _backup_role_statements(self.file_system, self.backup_vault, key):
            role.add_to_principal_policy(statement)
        compliance.GRANT_DEFAULT_POLICY.apply(role)
        plan.add_selection(
            "Selection",
            resources=[backup.BackupResource.from_efs_file_system(self.file_system)],
            role=role,
            disable_default_backup_policy=True,
        )
        Notifier(self, stack_alarm_topic(self), stack_notification_queue(self)).rule(
            "backup_failed",
            "BackupFailed",
            "A backup job of this file system failed",
            events.EventPattern(
                source=["aws.backup"],
                detail_type=["Backup Job State Change"],
                detail={
                    "state": ["FAILED", "ABORTED", "EXPIRED"],
                    "resourceArn": [self.file_system.file_system_arn],
                },
            ),
            f"{self.node.path}: an AWS Backup job of the EFS file system failed. Open AWS "
            "Backup > Jobs for the reason; the previous recovery points are kept.",
        )
        return plan


@dataclass(frozen=True, kw_only=True)
class EfsVolume:
    """A directory of an EFS file system, mounted into the application container.

    Args:
        file_system: a ``SharedFileSystem`` (or its ``file_system``), or an existing
            ``efs.IFileSystem`` with a security group (``from_file_system_attributes``).
        container_path: where the container sees it; absolute.
        directory: the directory of the file system the access point exposes as its root,
            created on first use, owned by the container's user with ``permissions``.
            Default: the container path (``/data`` -> ``/data``).
        read_only: mount it read-only. Default: True (writes are opted into).
        permissions: POSIX permissions of a new ``directory``. Default: ``750``.
        uid / gid: the POSIX user EFS enforces for every request through the access point;
            must equal the container's ``user``. Default: taken from ``user`` (``1000:1000``).
    """

    file_system: efs.IFileSystem | SharedFileSystem
    container_path: str
    directory: str | None = None
    read_only: bool = True
    permissions: str = defaults.EFS_DIRECTORY_PERMISSIONS
    uid: str | None = None
    gid: str | None = None

    @property
    def fs(self) -> efs.IFileSystem:
        given = self.file_system
        return given.file_system if isinstance(given, SharedFileSystem) else given


def check_efs_volumes(
    problems: Problems, volumes: Sequence[EfsVolume], *, user: str, writable_paths: Sequence[str]
) -> None:
    """Record problems with ``volumes`` of a container that runs as ``user``."""
    numeric = _POSIX_USER.match(user)
    paths = [v.container_path for v in volumes]
    for index, volume in enumerate(volumes):
        argument = f"efs_volumes[{index}]"
        for name, value in (
            ("container_path", volume.container_path),
            ("directory", volume.directory),
        ):
            if value is None or is_token(value):
                continue
            problems.require(
                bool(_DIRECTORY.match(value)) and "/../" not in f"{value}/" and value != "/",
                f"{argument}.{name}",
                "must be an absolute directory path other than /",
                value,
                "e.g. '/data'",
            )
        problems.require(
            volume.container_path not in writable_paths,
            f"{argument}.container_path",
            "is also a writable path (a task volume): the two mounts would hide each other",
            volume.container_path,
            "mount it elsewhere, or drop the path from writable_paths",
        )
        problems.require(
            bool(re.fullmatch(r"[0-7]{3,4}", volume.permissions)),
            f"{argument}.permissions",
            "must be octal POSIX permissions",
            volume.permissions,
            "e.g. '750'",
        )
        given = (volume.uid, volume.gid)
        if numeric is None:
            problems.require(
                None not in given,
                argument,
                f"needs uid and gid: the container's user {user!r} is a name, and EFS enforces "
                "numeric ids",
                given,
                "run the container as 'uid:gid' (user='1000:1000'), or pass uid and gid",
            )
        else:
            expected = numeric.groups()
            problems.require(
                all(
                    g is None or is_token(g) or g == e for g, e in zip(given, expected, strict=True)
                ),
                argument,
                f"sets uid/gid {given[0]}:{given[1]}, and the container runs as {user}: it could "
                "not read or write the files the access point creates for it",
                f"{given[0]}:{given[1]}",
                f"leave uid and gid out (they follow user), or set user='{given[0]}:{given[1]}'",
            )
        if not isinstance(volume.file_system, SharedFileSystem):
            problems.require(
                _has_security_group(volume.fs),
                f"{argument}.file_system",
                "has no security group the tasks could be admitted to, so they could not "
                "reach its mount targets",
                volume.fs.node.path,
                "import it with efs.FileSystem.from_file_system_attributes(..., "
                "security_group=...), or use a SharedFileSystem",
            )
    problems.require(
        len(set(paths)) == len(paths),
        "efs_volumes",
        "mount two volumes at one path",
        paths,
        "give each volume its own container_path",
    )


def _backup_role_statements(
    file_system: efs.IFileSystem, vault: backup.IBackupVault, key: kms.IKey
) -> list[iam.PolicyStatement]:
    """What AWS Backup needs to back up one EFS file system into one vault: the EFS, vault
    and KMS statements of the AWS managed ``AWSBackupServiceRolePolicyForBackup``, narrowed
    to these resources (an AWS managed policy on a role of the library's is not acknowledged)."""
    return [
        iam.PolicyStatement(
            actions=["elasticfilesystem:Backup", "elasticfilesystem:DescribeTags"],
            resources=[file_system.file_system_arn],
        ),
        iam.PolicyStatement(
            actions=["backup:DescribeBackupVault", "backup:CopyIntoBackupVault"],
            resources=[vault.backup_vault_arn],
        ),
        iam.PolicyStatement(actions=["kms:DescribeKey"], resources=[key.key_arn]),
        iam.PolicyStatement(
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
    ]


def _has_security_group(file_system: efs.IFileSystem) -> bool:
    try:
        return bool(file_system.connections.security_groups)
    except RuntimeError:  # jsii: an imported file system without one
        return False


def check_same_vpc(problems: Problems, volumes: Sequence[EfsVolume], vpc: ec2.IVpc) -> None:
    """A library file system must be in the VPC where the tasks run."""
    from .network import same_vpc

    for index, volume in enumerate(volumes):
        if isinstance(volume.file_system, SharedFileSystem):
            problems.require(
                same_vpc(volume.file_system.vpc, vpc),
                f"task_definition.efs_volumes[{index}].file_system",
                "has its mount targets in another VPC than the cluster: the tasks could not "
                "reach it",
                volume.file_system.node.path,
                "create the SharedFileSystem in the cluster's VPC",
            )


def mount_efs_volumes(
    scope: Construct,
    task_definition: ecs.TaskDefinition,
    container: ecs.ContainerDefinition,
    volumes: Sequence[EfsVolume],
    user: str,
) -> list[efs.IFileSystem]:
    """Add an access point, a task volume and a mount point per volume; grant the task role
    exactly each access point. Returns the file systems, whose security groups the services
    and jobs open to their tasks."""
    numeric = _POSIX_USER.match(user)
    role = task_definition.task_role
    mounted: list[efs.IFileSystem] = []
    for index, volume in enumerate(volumes):
        uid = volume.uid or (numeric.group(1) if numeric else "")
        gid = volume.gid or (numeric.group(2) if numeric else "")
        file_system = volume.fs
        access_point = efs.AccessPoint(
            scope,
            f"AccessPoint{index}",
            file_system=file_system,
            path=volume.directory or volume.container_path,
            posix_user=efs.PosixUser(uid=uid, gid=gid),
            create_acl=efs.Acl(owner_uid=uid, owner_gid=gid, permissions=volume.permissions),
        )
        name = f"efs{index}"
        task_definition.add_volume(
            name=name,
            efs_volume_configuration=ecs.EfsVolumeConfiguration(
                file_system_id=file_system.file_system_id,
                transit_encryption="ENABLED",
                authorization_config=ecs.AuthorizationConfig(
                    access_point_id=access_point.access_point_id, iam="ENABLED"
                ),
            ),
        )
        container.add_mount_points(
            ecs.MountPoint(
                container_path=volume.container_path,
                source_volume=name,
                read_only=volume.read_only,
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["elasticfilesystem:ClientMount"]
                + ([] if volume.read_only else ["elasticfilesystem:ClientWrite"]),
                resources=[file_system.file_system_arn],
                conditions={
                    "StringEquals": {
                        "elasticfilesystem:AccessPointArn": access_point.access_point_arn
                    }
                },
            )
        )
        if file_system not in mounted:
            mounted.append(file_system)
    return mounted


def admit_to_file_systems(file_systems: Sequence[efs.IFileSystem], tasks: ec2.IConnectable) -> None:
    """Let ``tasks`` reach the mount targets of ``file_systems`` on NFS, and nobody else."""
    for file_system in file_systems:
        file_system.connections.allow_default_port_from(tasks, "NFS from the tasks that mount it")
