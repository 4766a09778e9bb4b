"""Scenarios for SecureVpc and VpcEndpoints."""

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

from ecs_patterns_plus import SecureVpc, VpcEndpoints

from . import scenario


@scenario("VpcDefaults")
def vpc_defaults(stack: cdk.Stack) -> None:
    SecureVpc(stack, "Network")


@scenario("VpcSingleNat")
def vpc_single_nat(stack: cdk.Stack) -> None:
    SecureVpc(stack, "Network", nat_gateways=1, endpoints=())


@scenario("VpcIsolated")
def vpc_isolated(stack: cdk.Stack) -> None:
    SecureVpc(stack, "Network", nat_gateways=0, public_subnets=False)


@scenario("VpcThreeAzs")
def vpc_three_azs(stack: cdk.Stack) -> None:
    SecureVpc(stack, "Network", max_azs=3, cidr="10.20.0.0/16")


@scenario("EndpointsForTasks")
def endpoints_for_tasks(stack: cdk.Stack) -> None:
    network = SecureVpc(stack, "Network", endpoints=())
    endpoints = VpcEndpoints(
        stack, "Endpoints", vpc=network.vpc, services=("ecr_api", "ecr_dkr", "s3", "logs", "sts")
    )
    tasks = ec2.SecurityGroup(
        stack,
        "TaskSecurityGroup",
        vpc=network.vpc,
        allow_all_outbound=False,
        description="Example task security group",
    )
    endpoints.allow_from(tasks)
