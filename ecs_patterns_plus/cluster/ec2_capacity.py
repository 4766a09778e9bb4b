"""EC2 capacity of a cluster: Ec2Ami, Ec2CapacityOptions, their checks, and Ec2Capacity."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from .. import compliance, defaults
from ..errors import Problems, checked, is_token
from ..launch import check_subnets, private_subnets
from ..network import egress_only_security_group

_CAPACITY_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
_INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")


class Ec2Ami(enum.Enum):
    """The operating system of EC2 container instances (its GPU variant for GPU capacity)."""

    AMAZON_LINUX_2023 = "amazon-linux-2023"
    """ECS-optimized Amazon Linux 2023: standard, ARM64 or GPU (NVIDIA) AMI, from SSM."""

    BOTTLEROCKET = "bottlerocket"
    """Bottlerocket ``aws-ecs-2`` (``aws-ecs-2-nvidia`` for GPUs): minimal, immutable OS."""


@dataclass(frozen=True, kw_only=True)
class Ec2CapacityOptions:
    """One Auto Scaling group capacity provider of a ``HardenedCluster``.

    Args:
        name: short name (lower-case letters, digits, dashes; max 32), unique in the cluster:
            the key of ``HardenedCluster.ec2_capacity``, usable in its
            ``default_capacity_provider_strategy``, and the construct id ``Capacity<Name>``.
        instance_types: instance types to launch, in order of preference; use two or more
            Nitro types with encryption in transit (others work, with a warning).
            Default: ``defaults.EC2_INSTANCE_TYPES`` (m6i/m6a/m7i.large), or
            ``defaults.GPU_INSTANCE_TYPES`` (g5/g4dn.xlarge) when ``gpu``.
        gpu: GPU capacity: the GPU variant of the AMI and NVIDIA instance types only; tasks
            request GPUs through their containers' resource requirements. Default: False.
        spot: Spot instances only (capacity-optimized allocation, capacity rebalancing, Spot
            draining); On-Demand when False. Default: False.
        ami: the container instances' operating system. Default: ECS-optimized Amazon Linux 2023.
        min_capacity: fewest instances. Default: 0 (scale to zero between jobs).
        max_capacity: most instances, 1 to 5000. Default: 10.
        target_capacity_percent: managed scaling's target utilisation, 1 to 100. Default: 100.
        instance_warmup: time before a new instance counts in managed scaling, 0 to 10000 s.
            Default: 300 seconds (the ECS default).
        volume_size_gib: container storage, encrypted gp3: the root volume of Amazon Linux
            (30 GiB or more) or Bottlerocket's data volume (20 GiB or more; its OS volume
            keeps the AMI's size, also encrypted gp3). Default: 30.
        metadata_hop_limit: IMDSv2 token hop limit, 1 or 2; 2 lets bridge-mode containers reach
            the instance role, so it warns. Default: 1.
        managed_termination_protection: ECS protects instances running tasks from scale-in.
            Default: True (turning it off warns).
        subnets: where instances run. Default: the VPC's private subnets.

    Attributes:
        resolved_instance_types: ``instance_types`` or the default for ``gpu``.
    """

    name: str
    instance_types: Sequence[str] | None = None
    gpu: bool = False
    spot: bool = False
    ami: Ec2Ami = Ec2Ami.AMAZON_LINUX_2023
    min_capacity: int = defaults.EC2_MIN_CAPACITY
    max_capacity: int = defaults.EC2_MAX_CAPACITY
    target_capacity_percent: int = defaults.EC2_TARGET_CAPACITY_PERCENT
    instance_warmup: cdk.Duration | None = None
    volume_size_gib: int = defaults.EC2_ROOT_VOLUME_GIB
    metadata_hop_limit: int = defaults.EC2_METADATA_HOP_LIMIT
    managed_termination_protection: bool = defaults.EC2_MANAGED_TERMINATION_PROTECTION
    subnets: ec2.SubnetSelection | None = None

    @property
    def resolved_instance_types(self) -> tuple[str, ...]:
        if self.instance_types is not None:
            return tuple(self.instance_types)
        return defaults.GPU_INSTANCE_TYPES if self.gpu else defaults.EC2_INSTANCE_TYPES


def _family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def _architectures(instance_types: Iterable[str]) -> set[ec2.InstanceArchitecture]:
    return {ec2.InstanceType(name).architecture for name in instance_types}


def check_ec2_capacity(problems: Problems, argument: str, options: Ec2CapacityOptions) -> None:
    """Record problems with one ``Ec2CapacityOptions`` (``argument`` prefixes each field)."""
    if problems.require(
        not is_token(options.name),
        f"{argument}.name",
        "must be known at synth time: it names the capacity's constructs (Capacity<Name>)",
        options.name,
        "pass a literal name, e.g. 'gpu'",
    ):
        problems.require(
            bool(_CAPACITY_NAME.fullmatch(options.name)),
            f"{argument}.name",
            "must be 1-32 lower-case letters, digits or dashes, starting with a letter",
            options.name,
            "e.g. 'gpu' or 'spot-batch'",
        )
    types = options.resolved_instance_types
    if problems.require(
        not any(is_token(name) for name in types),
        f"{argument}.instance_types",
        "must be known at synth time: the AMI and architecture are chosen from them",
        next((name for name in types if is_token(name)), None),
        "pass literal names, e.g. ('m6i.large', 'm6a.large')",
    ):
        _check_instance_type_names(problems, f"{argument}.instance_types", options, types)
    if problems.in_range(f"{argument}.max_capacity", options.max_capacity, 1, 5000):
        problems.in_range(f"{argument}.min_capacity", options.min_capacity, 0, options.max_capacity)
    problems.in_range(
        f"{argument}.target_capacity_percent", options.target_capacity_percent, 1, 100, "percent"
    )
    problems.seconds_in_range(f"{argument}.instance_warmup", options.instance_warmup, 0, 10000)
    smallest = 30 if options.ami is Ec2Ami.AMAZON_LINUX_2023 else 20
    problems.in_range(
        f"{argument}.volume_size_gib", options.volume_size_gib, smallest, 16384, "GiB"
    )
    problems.in_range(f"{argument}.metadata_hop_limit", options.metadata_hop_limit, 1, 2)


def _check_instance_type_names(
    problems: Problems, argument: str, options: Ec2CapacityOptions, types: Sequence[str]
) -> None:
    malformed = [name for name in types if not _INSTANCE_TYPE.fullmatch(name)]
    types_ok = problems.require(
        bool(types) and not malformed,
        argument,
        "must be one or more instance type names like 'm6i.large'",
        list(types),
        "pass e.g. ('m6i.large', 'm6a.large')",
    )
    problems.require(
        len(set(types)) == len(types),
        argument,
        "names an instance type twice",
        list(types),
        "give each type once",
    )
    if types_ok:
        _check_instance_types(problems, argument, options, types)


def _check_instance_types(
    problems: Problems, argument: str, options: Ec2CapacityOptions, types: Sequence[str]
) -> None:
    if options.gpu:
        not_gpu = [name for name in types if _family(name) not in defaults.GPU_INSTANCE_FAMILIES]
        problems.require(
            not not_gpu,
            argument,
            f"GPU capacity needs NVIDIA GPU instance types; {', '.join(not_gpu)} have none",
            list(types),
            f"use families from {', '.join(defaults.GPU_INSTANCE_FAMILIES)}",
        )
    architectures = _architectures(types)
    if len(architectures) > 1:
        problems.add(
            argument,
            "mixes x86_64 and ARM64 types, which need different AMIs and images",
            list(types),
            "use one architecture per capacity (add a second capacity for the other)",
        )
    elif (
        options.gpu
        and options.ami is Ec2Ami.AMAZON_LINUX_2023
        and ec2.InstanceArchitecture.ARM_64 in architectures
    ):
        problems.add(
            argument,
            "the ECS GPU-optimized Amazon Linux AMI is x86_64 only",
            list(types),
            "use x86_64 GPU types (g5, g4dn, ...) or ami=Ec2Ami.BOTTLEROCKET for g5g",
        )


class Ec2Capacity(Construct):
    """EC2 container instances for a cluster: launch template, Auto Scaling group, capacity provider.

    Instances run in private subnets with no public IP, require IMDSv2 (hop limit 1), encrypt
    their gp3 volumes, block awsvpc tasks from instance metadata and refuse privileged
    containers. The Auto Scaling group mixes several instance types (Spot, capacity-optimized,
    or On-Demand), reports launches and terminations to an SNS topic, and is scaled by ECS
    managed scaling with managed termination protection and managed draining (no Lambda).
    The instance role holds only what the ECS agent needs for this cluster (no AWS managed
    policy): images and logs use each task's execution role.

    Usually created through ``HardenedCluster(ec2_capacity=...)`` or ``add_ec2_capacity``.

    Args:
        cluster: the cluster the instances join.
        options: the capacity's settings (see ``Ec2CapacityOptions``).
        notifications_topic: receives the Auto Scaling group's launch and terminate events.

    Attributes:
        name, options, capacity_provider (``ecs.AsgCapacityProvider``), capacity_provider_name,
        auto_scaling_group, launch_template, security_group, instance_role, agent_policy.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.Cluster,
        options: Ec2CapacityOptions,
        notifications_topic: sns.ITopic,
    ) -> None:
        problems = Problems(scope, construct_id)
        check_ec2_capacity(problems, "options", options)
        check_capacity_subnets(problems, "options", cluster.vpc, [options])
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        self.name = options.name
        self.options = options
        types = options.resolved_instance_types
        arm = ec2.InstanceArchitecture.ARM_64 in _architectures(types)
        bottlerocket = options.ami is Ec2Ami.BOTTLEROCKET
        vpc = cluster.vpc
        subnets = options.subnets or private_subnets(vpc)

        self.security_group = egress_only_security_group(
            self,
            vpc,
            description="ECS container instances: no inbound; HTTPS out to AWS APIs and registries",
            port=defaults.EC2_EGRESS_PORT,
            egress_description="HTTPS to the ECS, ECR, S3 and CloudWatch APIs and image registries",
        )
        self.instance_role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="ECS container instance: the ECS agent's rights for one cluster",
        )
        self.agent_policy = iam.ManagedPolicy(
            self.instance_role,
            "AgentPolicy",
            description="ECS agent on container instances of one cluster",
            roles=[self.instance_role],
            statements=_agent_statements(cluster, spot=options.spot),
        )
        compliance.ECS_AGENT.apply(self.agent_policy)

        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=_machine_image(options, arm=arm),
            user_data=ec2.UserData.custom("") if bottlerocket else ec2.UserData.for_linux(),
            # Policies are ours alone: CDK's AWS managed policies and wildcards never land here.
            role=self.instance_role.without_policy_updates(),
            security_group=self.security_group,
            associate_public_ip_address=False,
            block_devices=_block_devices(options),
            detailed_monitoring=True,
            http_endpoint=True,
            http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            http_put_response_hop_limit=options.metadata_hop_limit,
            instance_metadata_tags=False,
        )
        self.auto_scaling_group = autoscaling.AutoScalingGroup(
            self,
            "AutoScalingGroup",
            vpc=vpc,
            vpc_subnets=subnets,
            mixed_instances_policy=autoscaling.MixedInstancesPolicy(
                launch_template=self.launch_template,
                launch_template_overrides=[
                    autoscaling.LaunchTemplateOverrides(instance_type=ec2.InstanceType(name))
                    for name in types
                ],
                instances_distribution=autoscaling.InstancesDistribution(
                    on_demand_base_capacity=0,
                    on_demand_percentage_above_base_capacity=0 if options.spot else 100,
                    on_demand_allocation_strategy=defaults.EC2_ON_DEMAND_ALLOCATION,
                    spot_allocation_strategy=defaults.EC2_SPOT_ALLOCATION if options.spot else None,
                ),
            ),
            min_capacity=options.min_capacity,
            max_capacity=options.max_capacity,
            capacity_rebalance=True if options.spot else None,
            notifications=[autoscaling.NotificationConfiguration(topic=notifications_topic)],
            group_metrics=[autoscaling.GroupMetrics.all()],
        )
        self._spread_over_zones(vpc, subnets)
        # cdk-nag reads only AutoScalingGroup.LaunchTemplate, not the MixedInstancesPolicy's.
        compliance.MIXED_INSTANCES_LAUNCH_TEMPLATE.apply(self.auto_scaling_group)
        warmup = options.instance_warmup
        self.capacity_provider = ecs.AsgCapacityProvider(
            self,
            "CapacityProvider",
            auto_scaling_group=self.auto_scaling_group,
            machine_image_type=ecs.MachineImageType.BOTTLEROCKET
            if bottlerocket
            else ecs.MachineImageType.AMAZON_LINUX_2,
            enable_managed_scaling=True,
            enable_managed_termination_protection=options.managed_termination_protection,
            # ECS drains tasks itself before the group terminates an instance: no Lambda hook.
            enable_managed_draining=True,
            target_capacity_percent=options.target_capacity_percent,
            instance_warmup_period=warmup.to_seconds() if warmup else None,
        )
        cluster.add_asg_capacity_provider(self.capacity_provider)
        self.capacity_provider_name = self.capacity_provider.capacity_provider_name
        # After the cluster's own lines, so Bottlerocket's settings stay in [settings.ecs].
        self.auto_scaling_group.add_user_data(*_agent_settings(options))
        self._warn_about_opt_outs(options, types)

    def _spread_over_zones(self, vpc: ec2.IVpc, subnets: ec2.SubnetSelection) -> None:
        """Name the subnets' zones on the group too (CT.AUTOSCALING.PR.1 reads only those)."""
        try:
            zones = list(dict.fromkeys(vpc.select_subnets(**subnets._values).availability_zones))
        except RuntimeError:  # imported subnets without a known zone: the subnets decide
            return
        group = self.auto_scaling_group.node.default_child
        if len(zones) > 1 and isinstance(group, autoscaling.CfnAutoScalingGroup):
            group.availability_zones = zones

    @checked
    def strategy(self, *, weight: int = 1, base: int | None = None) -> ecs.CapacityProviderStrategy:
        """A capacity provider strategy item for this capacity (for services and jobs)."""
        return ecs.CapacityProviderStrategy(
            capacity_provider=self.capacity_provider_name, weight=weight, base=base
        )

    def _warn_about_opt_outs(self, options: Ec2CapacityOptions, types: Sequence[str]) -> None:
        annotations = cdk.Annotations.of(self)
        if len(types) < 2:
            annotations.add_warning_v2(
                "ecs-patterns-plus:single-instance-type",
                "One instance type: a shortage of it stops scaling, and Control Tower "
                "CT.AUTOSCALING.PR.6 fails; give two or more.",
            )
        plain = [
            name for name in types if _family(name) not in defaults.ENCRYPTION_IN_TRANSIT_FAMILIES
        ]
        if plain:
            annotations.add_warning_v2(
                "ecs-patterns-plus:instance-types",
                f"{', '.join(plain)} do not encrypt traffic between instances (Control Tower "
                "CT.AUTOSCALING.PR.10/.11); prefer types from "
                "defaults.ENCRYPTION_IN_TRANSIT_FAMILIES.",
            )
        if not is_token(options.metadata_hop_limit) and options.metadata_hop_limit > 1:
            annotations.add_warning_v2(
                "ecs-patterns-plus:metadata-hop-limit",
                "IMDSv2 hop limit 2 lets bridge-mode containers fetch the instance role's "
                "credentials (CT.EC2.PR.2, CKV_AWS_341); awsvpc tasks need 1.",
            )
        if not options.managed_termination_protection:
            annotations.add_warning_v2(
                "ecs-patterns-plus:managed-termination-protection",
                "Managed termination protection is off: scale-in may pick instances that run "
                "tasks (managed draining still stops them gracefully).",
            )


def _machine_image(options: Ec2CapacityOptions, *, arm: bool) -> ec2.IMachineImage:
    architecture = ec2.InstanceArchitecture.ARM_64 if arm else ec2.InstanceArchitecture.X86_64
    if options.ami is Ec2Ami.BOTTLEROCKET:
        variant = (
            ecs.BottlerocketEcsVariant.AWS_ECS_2_NVIDIA
            if options.gpu
            else ecs.BottlerocketEcsVariant.AWS_ECS_2
        )
        return ecs.BottleRocketImage(variant=variant, architecture=architecture)
    if options.gpu:
        hardware = ecs.AmiHardwareType.GPU
    else:
        hardware = ecs.AmiHardwareType.ARM if arm else ecs.AmiHardwareType.STANDARD
    return ecs.EcsOptimizedImage.amazon_linux2023(hardware)


def _block_devices(options: Ec2CapacityOptions) -> list[ec2.BlockDevice]:
    def volume(size: int | None) -> ec2.BlockDeviceVolume:
        return ec2.BlockDeviceVolume(
            ebs_device=ec2.EbsDeviceProps(
                volume_size=size,
                volume_type=defaults.EC2_VOLUME_TYPE,
                encrypted=True,
                delete_on_termination=True,
            )
        )

    if options.ami is Ec2Ami.BOTTLEROCKET:
        return [
            ec2.BlockDevice(device_name="/dev/xvda", volume=volume(None)),  # OS, AMI's size
            ec2.BlockDevice(device_name="/dev/xvdb", volume=volume(options.volume_size_gib)),
        ]
    return [ec2.BlockDevice(device_name="/dev/xvda", volume=volume(options.volume_size_gib))]


def _agent_settings(options: Ec2CapacityOptions) -> list[str]:
    if options.ami is Ec2Ami.BOTTLEROCKET:
        settings = dict(defaults.BOTTLEROCKET_ECS_SETTINGS)
        if options.spot:
            settings["enable-spot-instance-draining"] = "true"
        return [f"{key} = {value}" for key, value in settings.items()]
    config = dict(defaults.ECS_AGENT_CONFIG)
    if options.spot:
        config["ECS_ENABLE_SPOT_INSTANCE_DRAINING"] = "true"
    return [f"echo {key}={value} >> /etc/ecs/ecs.config" for key, value in config.items()]


def _agent_statements(cluster: ecs.ICluster, *, spot: bool) -> list[iam.PolicyStatement]:
    """What the ECS agent needs for one cluster (AmazonEC2ContainerServiceforEC2Role, narrowed)."""
    instance_actions = ["ecs:Poll", "ecs:StartTelemetrySession"]
    if spot:
        instance_actions.append("ecs:UpdateContainerInstancesState")  # Spot draining
    return [
        iam.PolicyStatement(
            sid="RegisterWithTheCluster",
            actions=[
                "ecs:RegisterContainerInstance",
                "ecs:DeregisterContainerInstance",
                "ecs:SubmitAttachmentStateChanges",
                "ecs:SubmitContainerStateChange",
                "ecs:SubmitTaskStateChange",
            ],
            resources=[cluster.cluster_arn],
        ),
        iam.PolicyStatement(
            sid="ContainerInstancesOfTheCluster",
            actions=instance_actions,
            resources=["*"],
            conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
        ),
        iam.PolicyStatement(
            sid="DiscoverPollEndpoint",  # no resource-level permissions
            actions=["ecs:DiscoverPollEndpoint"],
            resources=["*"],
        ),
    ]


def check_capacity_subnets(
    problems: Problems, argument: str, vpc: ec2.IVpc, capacity: Sequence[Ec2CapacityOptions]
) -> None:
    """Record a problem for capacity whose subnets (default: the private ones) select none.

    ``argument`` names the list (``ec2_capacity``), or the one options (``options``).
    """
    for index, options in enumerate(capacity):
        item = argument if argument == "options" else f"{argument}[{index}]"
        check_subnets(problems, f"{item}.subnets", vpc, options.subnets, what="instances")
