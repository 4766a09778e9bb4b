"""Shared inputs for scenarios: an imported certificate and hosted zone (no lookups)."""

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
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
