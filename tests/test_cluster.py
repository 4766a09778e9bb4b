"""Intent tests: the guarantees of HardenedCluster, by name."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Match

from ecs_patterns_plus import HardenedCluster, ValidationError
from tests.synth import Synthesized
from tests.util import resources_of, stack_for_errors


@pytest.mark.scenarios("ClusterDefaults")
def test_container_insights_enabled(scenarios: Synthesized) -> None:
    scenarios.template("ClusterDefaults").has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
    )


@pytest.mark.scenarios("ClusterDefaults")
def test_exec_sessions_are_encrypted_and_audited(scenarios: Synthesized) -> None:
    template = scenarios.template("ClusterDefaults")
    template.has_resource_properties(
        "AWS::ECS::Cluster",
        {
            "Configuration": {
                "ExecuteCommandConfiguration": {
                    "KmsKeyId": {
                        "Fn::GetAtt": [Match.string_like_regexp("^EcsPatternsPlusKey"), "Arn"]
                    },
                    "LogConfiguration": {
                        "CloudWatchEncryptionEnabled": True,
                        "CloudWatchLogGroupName": {
                            "Ref": Match.string_like_regexp("^PlatformExecLogGroup")
                        },
                    },
                    "Logging": "OVERRIDE",
                }
            }
        },
    )
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "KmsKeyId": {
                    "Fn::GetAtt": [Match.string_like_regexp("^EcsPatternsPlusKey"), "Arn"]
                },
                "RetentionInDays": 365,
            },
            "DeletionPolicy": "Retain",
        },
    )


@pytest.mark.scenarios("ClusterDefaults")
def test_fargate_and_spot_providers_with_on_demand_default(scenarios: Synthesized) -> None:
    scenarios.template("ClusterDefaults").has_resource_properties(
        "AWS::ECS::ClusterCapacityProviderAssociations",
        {
            "CapacityProviders": ["FARGATE", "FARGATE_SPOT"],
            "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1}],
        },
    )


@pytest.mark.scenarios("ClusterSpotDefault")
def test_custom_default_strategy(scenarios: Synthesized) -> None:
    scenarios.template("ClusterSpotDefault").has_resource_properties(
        "AWS::ECS::ClusterCapacityProviderAssociations",
        {
            "DefaultCapacityProviderStrategy": [
                {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
                {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
            ]
        },
    )


@pytest.mark.scenarios("ClusterDefaults", "ClusterSpotDefault")
def test_cluster_without_vpc_creates_a_secure_vpc(scenarios: Synthesized) -> None:
    assert len(resources_of(scenarios, "ClusterDefaults", "AWS::EC2::FlowLog")) == 1
    assert len(resources_of(scenarios, "ClusterSpotDefault", "AWS::EC2::VPC")) == 1


def _strategy(*items: tuple[str, int, int]) -> list[ecs.CapacityProviderStrategy]:
    return [
        ecs.CapacityProviderStrategy(capacity_provider=n, weight=w, base=b) for n, w, b in items
    ]


@pytest.mark.parametrize(
    ("strategy", "fragment"),
    [
        ([], "at least one capacity provider"),
        (_strategy(("FARGATE_SPOTT", 1, 0)), "unknown capacity provider"),
        (_strategy(("FARGATE", 0, 0)), "weight above 0"),
        (_strategy(("FARGATE", 1001, 0)), "between 0 and 1000"),
        (_strategy(("FARGATE", 1, 1), ("FARGATE_SPOT", 1, 2)), "only one provider may have a base"),
        (_strategy(("FARGATE", 1, 0), ("FARGATE", 1, 0)), "names a capacity provider twice"),
    ],
)
def test_cluster_rejects_bad_capacity_strategy(strategy: list, fragment: str) -> None:
    with pytest.raises(ValidationError) as error:
        HardenedCluster(stack_for_errors(), "Platform", default_capacity_provider_strategy=strategy)
    assert "default_capacity_provider_strategy: " in str(error.value)
    assert fragment in str(error.value)


@pytest.mark.parametrize("name", ["orders prod", "orders.prod", "orders/prod", "", "a" * 256])
def test_cluster_name_with_characters_ecs_refuses_is_refused(name: str) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as error:
        HardenedCluster(stack, "Platform", cluster_name=name)
    assert error.value.problems == (
        "cluster_name: must be 1 to 255 letters, digits, hyphens and underscores (ECS refuses "
        f"others); got {name!r}; e.g. 'orders-prod'",
    )
    assert stack.node.try_find_child("Platform") is None


def test_cluster_names_at_the_limits_and_tokens_are_accepted() -> None:
    stack = stack_for_errors()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0a1b2c3d4e5f67890",
        availability_zones=["ap-northeast-2a"],
        private_subnet_ids=["subnet-0a0000000000000a1"],
    )
    for index, name in enumerate(
        ["a" * 255, "Orders_prod-1", "x", cdk.CfnParameter(stack, "Name").value_as_string]
    ):
        platform = HardenedCluster(stack, f"Platform{index}", vpc=vpc, cluster_name=name)
        assert platform.cluster.node.default_child.cluster_name == name  # type: ignore[union-attr]
