"""Scenarios for HardenedCluster."""

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import HardenedCluster, SecureVpc

from . import scenario


@scenario("ClusterDefaults")
def cluster_defaults(stack: cdk.Stack) -> None:
    HardenedCluster(stack, "Platform")


@scenario("ClusterSpotDefault")
def cluster_spot_default(stack: cdk.Stack) -> None:
    network = SecureVpc(stack, "Network", nat_gateways=1)
    HardenedCluster(
        stack,
        "Platform",
        vpc=network.vpc,
        cluster_name="batch",
        default_capacity_provider_strategy=[
            ecs.CapacityProviderStrategy(capacity_provider="FARGATE", base=1, weight=1),
            ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=3),
        ],
    )
