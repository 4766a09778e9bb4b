"""Intent tests: the guarantees of SecureLoadBalancer, by name."""

from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Match

from ecs_patterns_plus import (
    DomainOptions,
    ListenerRouting,
    SecureLoadBalancer,
    SecureVpc,
    ValidationError,
)
from tests.scenarios.common import CERTIFICATE_ARN, certificate, hosted_zone
from tests.synth import Synthesized
from tests.util import resources_of, stack_for_errors

ALB = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"


def _attributes(synth: Synthesized, stack: str) -> dict[str, str]:
    (alb,) = resources_of(synth, stack, ALB).values()
    return {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}


@pytest.mark.scenarios("LoadBalancerInternal", "LoadBalancerPublicWithRedirect")
def test_internal_unless_asked(scenarios: Synthesized) -> None:
    scenarios.template("LoadBalancerInternal").has_resource_properties(ALB, {"Scheme": "internal"})
    scenarios.template("LoadBalancerPublicWithRedirect").has_resource_properties(
        ALB, {"Scheme": "internet-facing"}
    )


@pytest.mark.scenarios("LoadBalancerInternal")
def test_hardened_attributes(scenarios: Synthesized) -> None:
    attributes = _attributes(scenarios, "LoadBalancerInternal")
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] == "strictest"
    assert attributes["deletion_protection.enabled"] == "true"
    assert attributes["idle_timeout.timeout_seconds"] == "60"
    assert attributes["access_logs.s3.enabled"] == "true"


@pytest.mark.scenarios("LoadBalancerInternal")
def test_https_only_with_tls13_policy_and_404_default(scenarios: Synthesized) -> None:
    listeners = resources_of(scenarios, "LoadBalancerInternal", LISTENER)
    assert [listener["Properties"] for listener in listeners.values()] == [
        {
            "Certificates": [{"CertificateArn": CERTIFICATE_ARN}],
            "DefaultActions": [
                {
                    "FixedResponseConfig": {
                        "ContentType": "text/plain",
                        "MessageBody": "Not found",
                        "StatusCode": "404",
                    },
                    "Type": "fixed-response",
                }
            ],
            "LoadBalancerArn": {
                "Ref": next(iter(resources_of(scenarios, "LoadBalancerInternal", ALB)))
            },
            "Port": 443,
            "Protocol": "HTTPS",
            "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        }
    ]


@pytest.mark.scenarios("LoadBalancerInternal", "LoadBalancerPublicWithRedirect")
def test_redirect_listener_only_redirects(scenarios: Synthesized) -> None:
    scenarios.template("LoadBalancerPublicWithRedirect").has_resource_properties(
        LISTENER,
        {
            "Port": 80,
            "Protocol": "HTTP",
            "DefaultActions": [
                {
                    "Type": "redirect",
                    "RedirectConfig": {
                        "Port": "443",
                        "Protocol": "HTTPS",
                        "StatusCode": "HTTP_301",
                    },
                }
            ],
        },
    )
    assert len(resources_of(scenarios, "LoadBalancerInternal", LISTENER)) == 1


def _load_balancer_group(synth: Synthesized, stack: str) -> dict:
    groups = resources_of(synth, stack, "AWS::EC2::SecurityGroup")
    return next(group for key, group in groups.items() if key.startswith("WebSecurityGroup"))


@pytest.mark.scenarios("LoadBalancerInternal", "LoadBalancerPublicWithRedirect")
def test_security_group_open_only_on_listener_ports_to_sources(scenarios: Synthesized) -> None:
    internal = _load_balancer_group(scenarios, "LoadBalancerInternal")
    assert internal["Properties"]["SecurityGroupIngress"] == [
        {
            "CidrIp": "10.0.0.0/16",
            "Description": "Clients to the load balancer on 443",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    public = _load_balancer_group(scenarios, "LoadBalancerPublicWithRedirect")
    ingress = public["Properties"]["SecurityGroupIngress"]
    assert sorted((rule["CidrIp"], rule["FromPort"]) for rule in ingress) == [
        ("0.0.0.0/0", 80),
        ("0.0.0.0/0", 443),
    ]


@pytest.mark.scenarios("LoadBalancerInternal")
def test_load_balancer_sends_nothing_by_default(scenarios: Synthesized) -> None:
    egress = _load_balancer_group(scenarios, "LoadBalancerInternal")["Properties"][
        "SecurityGroupEgress"
    ]
    assert [rule["CidrIp"] for rule in egress] == ["255.255.255.255/32"]  # CDK's "no egress" rule


@pytest.mark.scenarios("LoadBalancerInternal")
def test_access_log_buckets_are_private_encrypted_versioned_ssl_only_and_retained(
    scenarios: Synthesized,
) -> None:
    template = scenarios.template("LoadBalancerInternal")
    template.resource_count_is("AWS::S3::Bucket", 2)
    template.all_resources(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "ObjectLockEnabled": True,
                    "LifecycleConfiguration": {
                        "Rules": [Match.object_like({"ExpirationInDays": 365, "Status": "Enabled"})]
                    },
                }
            ),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.all_resources_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


@pytest.mark.scenarios("LoadBalancerInternal")
def test_access_log_bucket_logs_its_own_access(scenarios: Synthesized) -> None:
    scenarios.template("LoadBalancerInternal").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": {
                "DestinationBucketName": {
                    "Ref": Match.string_like_regexp("^WebServerAccessLogsBucket")
                },
                "LogFilePrefix": "s3/",
            }
        },
    )


@pytest.mark.scenarios("LoadBalancerInternal", "LoadBalancerPublicWithRedirect")
def test_waf_with_managed_rules_and_logging_on_every_load_balancer(scenarios: Synthesized) -> None:
    for stack in ("LoadBalancerInternal", "LoadBalancerPublicWithRedirect"):
        template = scenarios.template(stack)
        (acl,) = resources_of(scenarios, stack, "AWS::WAFv2::WebACL").values()
        names = [rule["Name"] for rule in acl["Properties"]["Rules"]]
        assert names == [
            "AWSManagedRulesCommonRuleSet",
            "AWSManagedRulesKnownBadInputsRuleSet",
            "AWSManagedRulesAmazonIpReputationList",
        ]
        template.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
        template.resource_count_is("AWS::WAFv2::LoggingConfiguration", 1)
        template.has_resource_properties(
            "AWS::Logs::LogGroup",
            {
                "LogGroupName": Match.string_like_regexp("^aws-waf-logs-"),
                "KmsKeyId": Match.any_value(),
            },
        )


@pytest.mark.scenarios("LoadBalancerPublicWithRedirect")
def test_domain_gets_dns_validated_certificate_and_alias(scenarios: Synthesized) -> None:
    template = scenarios.template("LoadBalancerPublicWithRedirect")
    template.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {"DomainName": "app.example.com", "ValidationMethod": "DNS"},
    )
    template.has_resource_properties(
        "AWS::Route53::RecordSet", {"Name": "app.example.com.", "Type": "A"}
    )


@pytest.mark.scenarios("LoadBalancerNoDeletionProtection")
def test_turning_off_deletion_protection_warns(scenarios: Synthesized) -> None:
    warnings = scenarios.metadata_entries("LoadBalancerNoDeletionProtection", "aws:cdk:warning")
    assert any("ecs-patterns-plus:deletion-protection-off" in str(data) for _, data in warnings)
    assert (
        _attributes(scenarios, "LoadBalancerNoDeletionProtection")["deletion_protection.enabled"]
        == "false"
    )


# --- Bad input ---------------------------------------------------------------------------------


def _lb(**kwargs: object) -> None:
    stack = stack_for_errors()
    vpc = SecureVpc(stack, "Network", endpoints=()).vpc
    SecureLoadBalancer(stack, "Web", vpc=vpc, **kwargs)  # type: ignore[arg-type]


def test_https_needs_a_certificate() -> None:
    with pytest.raises(ValidationError, match=r"certificate: HTTPS needs a certificate"):
        _lb(internet_facing=True)


def test_idle_timeout_range() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=r"idle_timeout: must be between 1 and 4000 seconds"):
        _lb(certificate=certificate(stack), idle_timeout=Duration.seconds(0))


def test_domain_name_must_be_qualified() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=r"domain.domain_name: must be a fully qualified"):
        _lb(domain=DomainOptions(domain_name="localhost", hosted_zone=hosted_zone(stack)))


def test_access_logs_need_a_region() -> None:
    import aws_cdk as cdk

    from tests.synth import new_app

    stack = cdk.Stack(new_app(validation=False), "Agnostic")
    vpc = SecureVpc(stack, "Network", endpoints=()).vpc
    with pytest.raises(
        ValidationError,
        match=r"access_logs_bucket: load balancer access logs need the stack's region",
    ):
        SecureLoadBalancer(stack, "Web", vpc=vpc, certificate=certificate(stack))


@pytest.mark.parametrize(
    ("priority", "fragment"), [(0, "between 1 and 50000"), (7, "already used")]
)
def test_route_priorities_are_valid_and_unique(priority: int, fragment: str) -> None:
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2

    stack = stack_for_errors()
    vpc = SecureVpc(stack, "Network", endpoints=()).vpc
    lb = SecureLoadBalancer(stack, "Web", vpc=vpc, certificate=certificate(stack))
    group = elbv2.ApplicationTargetGroup(
        stack, "Group", vpc=vpc, port=80, target_type=elbv2.TargetType.IP
    )
    lb.add_route("First", target_group=group, routing=ListenerRouting(priority=7))
    with pytest.raises(ValidationError, match=rf"routing.priority: .*{fragment}"):
        lb.add_route("Second", target_group=group, routing=ListenerRouting(priority=priority))


def _vpc(stack: object, *, public: bool, private: bool) -> object:
    from aws_cdk import aws_ec2 as ec2

    return ec2.Vpc.from_vpc_attributes(
        stack,  # type: ignore[arg-type]
        "Vpc",
        vpc_id="vpc-0a1b2c3d4e5f67892",
        availability_zones=["ap-northeast-2a", "ap-northeast-2c"],
        public_subnet_ids=["subnet-0b0000000000000b1", "subnet-0b0000000000000b2"]
        if public
        else None,
        private_subnet_ids=["subnet-0a0000000000000a1", "subnet-0a0000000000000a2"]
        if private
        else None,
    )


@pytest.mark.parametrize(
    ("public", "private", "internet_facing", "message"),
    [
        (False, True, True, r"internet_facing: the VPC has no public subnets"),
        (True, False, False, r"vpc: has no private subnets for an internal load balancer"),
    ],
)
def test_subnets_for_the_scheme_must_exist(
    public: bool, private: bool, internet_facing: bool, message: str
) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=message):
        SecureLoadBalancer(
            stack,
            "Web",
            vpc=_vpc(stack, public=public, private=private),  # type: ignore[arg-type]
            certificate=certificate(stack),
            internet_facing=internet_facing,
        )
    assert stack.node.try_find_child("Web") is None


def test_domain_must_be_inside_its_hosted_zone() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=r"domain.domain_name: is not inside the hosted zone"):
        _lb(domain=DomainOptions(domain_name="app.example.org", hosted_zone=hosted_zone(stack)))


def test_the_zone_apex_and_names_below_it_are_accepted() -> None:
    for name in ("example.com", "api.eu.example.com"):
        stack = stack_for_errors()
        vpc = SecureVpc(stack, "Network", endpoints=()).vpc
        SecureLoadBalancer(
            stack,
            "Web",
            vpc=vpc,
            domain=DomainOptions(domain_name=name, hosted_zone=hosted_zone(stack)),
        )


def test_access_logs_work_without_the_s3_bucket_policy_feature_flag() -> None:
    """Apps without @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy get the same policy, no ACL."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    app = cdk.App(context={"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": False})
    stack = cdk.Stack(app, "NoFlag", env=cdk.Environment(region="ap-northeast-2"))
    lb = SecureLoadBalancer(
        stack,
        "Web",
        vpc=_vpc(stack, public=True, private=True),  # type: ignore[arg-type]
        certificate=certificate(stack),
    )
    template = Template.from_stack(stack)
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        assert "AccessControl" not in bucket["Properties"]
    target = stack.resolve(lb.server_access_logs_bucket.bucket_name)  # type: ignore[union-attr]
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"LoggingConfiguration": {"DestinationBucketName": target, "LogFilePrefix": "s3/"}},
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:PutObject",
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                            }
                        )
                    ]
                )
            }
        },
    )
