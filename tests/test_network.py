"""Intent tests: the guarantees of SecureVpc and VpcEndpoints, by name."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from ecs_patterns_plus import SecureVpc, ValidationError, VpcEndpoints
from tests.synth import Synthesized
from tests.util import resources_of, stack_for_errors


@pytest.mark.scenarios("VpcDefaults")
def test_public_subnets_never_assign_public_ips(scenarios: Synthesized) -> None:
    subnets = resources_of(scenarios, "VpcDefaults", "AWS::EC2::Subnet")
    public = [s for s in subnets.values() if s["Properties"]["MapPublicIpOnLaunch"]]
    assert public == []
    assert len(subnets) == 4  # 2 AZs x (private, public)


@pytest.mark.scenarios("VpcDefaults")
def test_tasks_subnets_are_private_with_nat_per_az(scenarios: Synthesized) -> None:
    template = scenarios.template("VpcDefaults")
    template.resource_count_is("AWS::EC2::NatGateway", 2)
    routes = resources_of(scenarios, "VpcDefaults", "AWS::EC2::Route")
    private_routes = [r for k, r in routes.items() if "PrivateSubnet" in k]
    assert len(private_routes) == 2
    assert all("NatGatewayId" in r["Properties"] for r in private_routes)


@pytest.mark.scenarios("VpcSingleNat")
def test_single_nat_gateway_for_cost(scenarios: Synthesized) -> None:
    scenarios.template("VpcSingleNat").resource_count_is("AWS::EC2::NatGateway", 1)


@pytest.mark.scenarios("VpcIsolated")
def test_isolated_vpc_has_no_internet_route(scenarios: Synthesized) -> None:
    template = scenarios.template("VpcIsolated")
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::Route", 0)
    template.resource_count_is("AWS::EC2::VPCEndpoint", 7)


@pytest.mark.scenarios("VpcThreeAzs")
def test_azs_come_from_fn_get_azs(scenarios: Synthesized) -> None:
    subnets = resources_of(scenarios, "VpcThreeAzs", "AWS::EC2::Subnet")
    azs = {str(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert len(azs) == 3
    assert all("Fn::GetAZs" in az for az in azs)


@pytest.mark.scenarios("VpcDefaults")
def test_flow_logs_capture_all_traffic_to_encrypted_retained_log_group(
    scenarios: Synthesized,
) -> None:
    template = scenarios.template("VpcDefaults")
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {"KmsKeyId": Match.any_value(), "RetentionInDays": 365},
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


@pytest.mark.scenarios("VpcDefaults")
def test_log_keys_rotate_are_retained_and_limit_grants(scenarios: Synthesized) -> None:
    scenarios.template("VpcDefaults").has_resource(
        "AWS::KMS::Key",
        {
            "Properties": {
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Sid": "DenyGrantsExceptForAwsServices", "Effect": "Deny"}
                            ),
                            Match.object_like({"Sid": "AllowCloudWatchLogs"}),
                        ]
                    )
                },
            },
            "DeletionPolicy": "Retain",
        },
    )


@pytest.mark.scenarios("VpcDefaults")
def test_default_security_group_is_restricted(scenarios: Synthesized) -> None:
    scenarios.template("VpcDefaults").resource_count_is("Custom::VpcRestrictDefaultSG", 1)


@pytest.mark.scenarios("VpcDefaults")
def test_default_endpoints_are_the_fargate_set(scenarios: Synthesized) -> None:
    endpoints = resources_of(scenarios, "VpcDefaults", "AWS::EC2::VPCEndpoint")
    names = sorted(str(e["Properties"]["ServiceName"]) for e in endpoints.values())
    for service in ("ecr.api", "ecr.dkr", ".s3", ".logs", ".secretsmanager", ".ssm'", ".kms"):
        assert any(service.strip("'") in name for name in names), service
    assert len(endpoints) == 7


@pytest.mark.scenarios("EndpointsForTasks")
def test_interface_endpoints_use_private_dns_and_their_own_security_group(
    scenarios: Synthesized,
) -> None:
    template = scenarios.template("EndpointsForTasks")
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcEndpointType": "Interface",
            "PrivateDnsEnabled": True,
            "SecurityGroupIds": [
                {"Fn::GetAtt": [Match.string_like_regexp("EndpointsSecurityGroup"), "GroupId"]}
            ],
        },
    )


@pytest.mark.scenarios("EndpointsForTasks")
def test_endpoint_security_group_admits_443_only_from_tasks(scenarios: Synthesized) -> None:
    groups = resources_of(scenarios, "EndpointsForTasks", "AWS::EC2::SecurityGroup")
    endpoint_group = next(k for k in groups if k.startswith("EndpointsSecurityGroup"))
    task_group = next(k for k in groups if k.startswith("TaskSecurityGroup"))
    assert "SecurityGroupIngress" not in groups[endpoint_group]["Properties"]  # not the VPC CIDR
    ingress = resources_of(scenarios, "EndpointsForTasks", "AWS::EC2::SecurityGroupIngress")
    assert [i["Properties"] for i in ingress.values()] == [
        {
            "Description": "HTTPS from tasks to VPC endpoints",
            "FromPort": 443,
            "GroupId": {"Fn::GetAtt": [endpoint_group, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [task_group, "GroupId"]},
            "ToPort": 443,
        }
    ]


@pytest.mark.scenarios("EndpointsForTasks")
def test_selected_endpoints_only(scenarios: Synthesized) -> None:
    endpoints = resources_of(scenarios, "EndpointsForTasks", "AWS::EC2::VPCEndpoint")
    assert len(endpoints) == 5


# --- Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "argument", "fragment"),
    [
        ({"cidr": "10.0.0.0/33"}, "cidr", "not a valid IPv4 network"),
        ({"cidr": "10.0.0.1/16"}, "cidr", "not a valid IPv4 network"),
        ({"cidr": "not-a-cidr"}, "cidr", "not a valid IPv4 network"),
        ({"cidr": "10.0.0.0/8"}, "cidr", "/16 to /28"),
        ({"cidr": "10.0.0.0/20"}, "cidr", "too small for 2 AZs"),
        ({"max_azs": 1}, "max_azs", "between 2 and 6"),
        ({"max_azs": 7}, "max_azs", "between 2 and 6"),
        ({"nat_gateways": 3}, "nat_gateways", "between 0 and 2"),
        ({"nat_gateways": -1}, "nat_gateways", "between 0 and 2"),
        ({"public_subnets": False}, "public_subnets", "NAT gateways live in public subnets"),
        ({"nat_gateways": 0, "endpoints": ("s3",)}, "endpoints", "isolated VPC"),
        ({"endpoints": ("ecr", "s3")}, "endpoints", "unknown endpoint name(s) 'ecr'"),
    ],
)
def test_secure_vpc_rejects_bad_input(kwargs: dict, argument: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as error:
        SecureVpc(stack_for_errors(), "Network", **kwargs)
    assert f"{argument}: " in str(error.value)
    assert fragment in str(error.value)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ValidationError) as error:
        SecureVpc(stack_for_errors(), "Network", cidr="x", max_azs=9)
    assert len(error.value.problems) == 2
    assert str(error.value).startswith("Errors/Network: 2 invalid arguments")


def test_endpoints_reject_unknown_names() -> None:
    stack = stack_for_errors()
    vpc = SecureVpc(stack, "Network", endpoints=()).vpc
    with pytest.raises(ValidationError, match=r"services: unknown endpoint name\(s\) 'ecs-api'"):
        VpcEndpoints(stack, "Endpoints", vpc=vpc, services=["ecs-api"])


def test_endpoint_subnets_must_select_some() -> None:
    stack = stack_for_errors()
    network = SecureVpc(stack, "Network", endpoints=())
    with pytest.raises(ValidationError) as error:
        VpcEndpoints(
            stack,
            "Endpoints",
            vpc=network.vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        )
    (problem,) = error.value.problems
    assert problem.startswith(
        "subnets: selects no subnet of the VPC (There are no 'Isolated' subnet groups"
    )
    assert stack.node.try_find_child("Endpoints") is None
    VpcEndpoints(stack, "Private", vpc=network.vpc, subnets=ec2.SubnetSelection(one_per_az=True))


def test_messaging_and_tracing_endpoints_are_known() -> None:
    """Queue workers, publishers and tracing sidecars reach SQS, SNS, EventBridge and X-Ray
    through endpoints of their own, on request."""
    stack = stack_for_errors()
    vpc = SecureVpc(stack, "Network", endpoints=()).vpc
    VpcEndpoints(stack, "Endpoints", vpc=vpc, services=["sqs", "sns", "events", "xray"])
    endpoints = Template.from_stack(stack).find_resources("AWS::EC2::VPCEndpoint")
    names = sorted(
        json.dumps(endpoint["Properties"]["ServiceName"]).split(".")[-1].strip('"]}')
        for endpoint in endpoints.values()
    )
    assert names == ["events", "sns", "sqs", "xray"]
