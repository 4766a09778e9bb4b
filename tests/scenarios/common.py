"""Shared inputs for scenarios: an imported certificate and hosted zone (no lookups)."""

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_route53 as route53

CERTIFICATE_ARN = (
    "arn:aws:acm:ap-northeast-2:111122223333:certificate/11111111-2222-3333-4444-555555555555"
)


def certificate(stack: cdk.Stack) -> acm.ICertificate:
    return acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN)


def hosted_zone(stack: cdk.Stack) -> route53.IHostedZone:
    return route53.HostedZone.from_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id="Z0123456789ABCDEFGHIJ", zone_name="example.com"
    )


def existing_vpc(stack: cdk.Stack) -> ec2.IVpc:
    """A VPC made elsewhere (for example by NetworkStack), imported: it adds no resources."""
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Network",
        vpc_id="vpc-0a1b2c3d4e5f67890",
        vpc_cidr_block="10.0.0.0/16",
        availability_zones=["ap-northeast-2a", "ap-northeast-2c"],
        private_subnet_ids=["subnet-0a0000000000000a1", "subnet-0a0000000000000a2"],
        private_subnet_route_table_ids=["rtb-0a0000000000000a1", "rtb-0a0000000000000a2"],
        public_subnet_ids=["subnet-0b0000000000000b1", "subnet-0b0000000000000b2"],
        public_subnet_route_table_ids=["rtb-0b0000000000000b1", "rtb-0b0000000000000b2"],
    )
