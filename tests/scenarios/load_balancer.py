"""Scenarios for SecureLoadBalancer."""

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

from ecs_patterns_plus import DomainOptions, SecureLoadBalancer

from . import scenario
from .common import certificate, existing_vpc, hosted_zone


@scenario("LoadBalancerInternal")
def internal(stack: cdk.Stack) -> None:
    vpc = existing_vpc(stack)
    SecureLoadBalancer(
        stack,
        "Web",
        vpc=vpc,
        certificate=certificate(stack),
        allowed_sources=[ec2.Peer.ipv4("10.0.0.0/16")],
    )


@scenario("LoadBalancerPublicWithRedirect")
def public_with_redirect(stack: cdk.Stack) -> None:
    vpc = existing_vpc(stack)
    SecureLoadBalancer(
        stack,
        "Web",
        vpc=vpc,
        internet_facing=True,
        http_redirect=True,
        domain=DomainOptions(domain_name="app.example.com", hosted_zone=hosted_zone(stack)),
    )


@scenario("LoadBalancerNoDeletionProtection", compliant=False)
def no_deletion_protection(stack: cdk.Stack) -> None:
    vpc = existing_vpc(stack)
    SecureLoadBalancer(
        stack, "Web", vpc=vpc, certificate=certificate(stack), deletion_protection=False
    )
