"""Scenarios for HardenedCluster's EC2 capacity (Auto Scaling group capacity providers)."""

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import Ec2Ami, Ec2CapacityOptions, HardenedCluster, SecureVpc

from . import scenario


@scenario("Ec2CapacityDefaults")
def ec2_capacity_defaults(stack: cdk.Stack) -> None:
    """On-Demand ECS-optimized Amazon Linux 2023 in the cluster's own SecureVpc."""
    HardenedCluster(stack, "Platform", ec2_capacity=[Ec2CapacityOptions(name="general")])


@scenario("Ec2CapacityGpuSpot")
def ec2_capacity_gpu_spot(stack: cdk.Stack) -> None:
    """GPU Spot capacity (ECS GPU AMI) scaled from zero, in a passed-in VPC."""
    network = SecureVpc(stack, "Network", nat_gateways=1)
    HardenedCluster(
        stack,
        "Platform",
        vpc=network.vpc,
        ec2_capacity=[
            Ec2CapacityOptions(
                name="gpu",
                gpu=True,
                spot=True,
                max_capacity=4,
                target_capacity_percent=90,
                instance_warmup=cdk.Duration.minutes(3),
                volume_size_gib=100,
            )
        ],
    )


@scenario("Ec2CapacityBottlerocketArm")
def ec2_capacity_bottlerocket_arm(stack: cdk.Stack) -> None:
    """Graviton Bottlerocket capacity added later and made the cluster's default strategy."""
    network = SecureVpc(stack, "Network", nat_gateways=1)
    platform = HardenedCluster(
        stack,
        "Platform",
        vpc=network.vpc,
        ec2_capacity=[
            Ec2CapacityOptions(
                name="graviton",
                ami=Ec2Ami.BOTTLEROCKET,
                instance_types=("m7g.large", "c7g.xlarge", "r7g.large"),
                min_capacity=1,
            )
        ],
        default_capacity_provider_strategy=[
            ecs.CapacityProviderStrategy(capacity_provider="graviton", base=1, weight=1),
        ],
    )
    platform.add_ec2_capacity(
        Ec2CapacityOptions(name="gpu-bottlerocket", gpu=True, ami=Ec2Ami.BOTTLEROCKET, spot=True)
    )
    network.endpoints.allow_from(*(c.security_group for c in platform.ec2_capacity.values()))  # type: ignore[union-attr]


@scenario("Ec2CapacityOptOuts", compliant=False)
def ec2_capacity_opt_outs(stack: cdk.Stack) -> None:
    """Every loud opt-out: one non-Nitro type, hop limit 2, no managed termination protection."""
    network = SecureVpc(stack, "Network", nat_gateways=1, endpoints=())
    HardenedCluster(
        stack,
        "Platform",
        vpc=network.vpc,
        ec2_capacity=[
            Ec2CapacityOptions(
                name="legacy",
                instance_types=("t3.large",),
                metadata_hop_limit=2,
                managed_termination_protection=False,
            )
        ],
    )
