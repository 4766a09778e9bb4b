"""Scenarios for egress by domain: a SecureVpc that resolves only the names its services need,
and an existing VPC trying a list in ALERT mode first."""

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

from ecs_patterns_plus import EgressFirewall, EgressOptions, SecureVpc

from . import scenario
from .common import existing_vpc


@scenario("EgressBlock")
def egress_block(stack: cdk.Stack) -> None:
    """Services reach AWS, a payment API and GitHub; every other name gets an empty answer.
    Network audit logs are kept two years, DNS query logs with them."""
    SecureVpc(
        stack,
        "Network",
        nat_gateways=1,
        flow_log_retention=logs.RetentionDays.TWO_YEARS,
        egress=EgressOptions(allowed_domains=["api.stripe.com", "github.com", "*.github.com"]),
    )


@scenario("EgressAlert")
def egress_alert(stack: cdk.Stack) -> None:
    """A VPC made elsewhere logs the names its services would lose, before blocking them."""
    EgressFirewall(
        stack,
        "Egress",
        vpc=existing_vpc(stack),
        options=EgressOptions(
            allowed_domains=["api.stripe.com", "hooks.slack.com"], action="ALERT", priority=5000
        ),
    )
