"""Intent tests: the guarantees of HardenedCluster's EC2 capacity, by name."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns as sns

from ecs_patterns_plus import (
    Ec2Ami,
    Ec2Capacity,
    Ec2CapacityOptions,
    HardenedCluster,
    ValidationError,
)
from tests.scenarios.common import existing_vpc
from tests.synth import Synthesized
from tests.util import resources_of, stack_for_errors

SCENARIOS = ("Ec2CapacityDefaults", "Ec2CapacityGpuSpot", "Ec2CapacityBottlerocketArm")


def _one(synth: Synthesized, stack: str, resource_type: str, name: str = "") -> dict[str, Any]:
    (resource,) = [r for k, r in resources_of(synth, stack, resource_type).items() if name in k]
    return resource["Properties"]


def _launch_data(synth: Synthesized, stack: str, name: str = "") -> dict[str, Any]:
    return _one(synth, stack, "AWS::EC2::LaunchTemplate", name)["LaunchTemplateData"]


def _user_data(synth: Synthesized, stack: str, name: str = "") -> str:
    parts = _launch_data(synth, stack, name)["UserData"]["Fn::Base64"]["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else "<ref>" for part in parts)


def _distribution(synth: Synthesized, stack: str, name: str = "") -> dict[str, Any]:
    group = _one(synth, stack, "AWS::AutoScaling::AutoScalingGroup", name)
    return group["MixedInstancesPolicy"]["InstancesDistribution"]


# --- Instances -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", SCENARIOS)
@pytest.mark.scenarios(param="stack")
def test_instances_require_imdsv2_with_hop_limit_1(scenarios: Synthesized, stack: str) -> None:
    for template in resources_of(scenarios, stack, "AWS::EC2::LaunchTemplate").values():
        assert template["Properties"]["LaunchTemplateData"]["MetadataOptions"] == {
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 1,
            "HttpTokens": "required",
            "InstanceMetadataTags": "disabled",
        }


@pytest.mark.parametrize("stack", SCENARIOS)
@pytest.mark.scenarios(param="stack")
def test_instances_get_no_public_ip_and_detailed_monitoring(
    scenarios: Synthesized, stack: str
) -> None:
    for template in resources_of(scenarios, stack, "AWS::EC2::LaunchTemplate").values():
        data = template["Properties"]["LaunchTemplateData"]
        assert [nic["AssociatePublicIpAddress"] for nic in data["NetworkInterfaces"]] == [False]
        assert data["Monitoring"] == {"Enabled": True}


@pytest.mark.scenarios("Ec2CapacityDefaults", "Ec2CapacityGpuSpot")
def test_root_volume_is_encrypted_gp3(scenarios: Synthesized) -> None:
    assert _launch_data(scenarios, "Ec2CapacityDefaults")["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "DeleteOnTermination": True,
                "Encrypted": True,
                "VolumeSize": 30,
                "VolumeType": "gp3",
            },
        }
    ]
    gpu = _launch_data(scenarios, "Ec2CapacityGpuSpot")["BlockDeviceMappings"]
    assert gpu[0]["Ebs"]["VolumeSize"] == 100


@pytest.mark.scenarios("Ec2CapacityBottlerocketArm")
def test_bottlerocket_os_and_data_volumes_are_encrypted_gp3(scenarios: Synthesized) -> None:
    volumes = _launch_data(scenarios, "Ec2CapacityBottlerocketArm", "Graviton")[
        "BlockDeviceMappings"
    ]
    assert [v["DeviceName"] for v in volumes] == ["/dev/xvda", "/dev/xvdb"]
    assert all(v["Ebs"]["Encrypted"] and v["Ebs"]["VolumeType"] == "gp3" for v in volumes)
    assert "VolumeSize" not in volumes[0]["Ebs"]  # the OS volume keeps the AMI's size
    assert volumes[1]["Ebs"]["VolumeSize"] == 30


@pytest.mark.scenarios("Ec2CapacityDefaults")
def test_amazon_linux_agent_blocks_imds_and_privileged_containers(scenarios: Synthesized) -> None:
    user_data = _user_data(scenarios, "Ec2CapacityDefaults")
    assert user_data.startswith("#!/bin/bash\necho ECS_CLUSTER=<ref> >> /etc/ecs/ecs.config")
    for line in (
        "ECS_AWSVPC_BLOCK_IMDS=true",
        "ECS_DISABLE_PRIVILEGED=true",
        "ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE=true",
    ):
        assert f"echo {line} >> /etc/ecs/ecs.config" in user_data
    assert "SPOT_INSTANCE_DRAINING" not in user_data  # On-Demand


@pytest.mark.scenarios("Ec2CapacityGpuSpot")
def test_spot_instances_drain_on_interruption(scenarios: Synthesized) -> None:
    assert "echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config" in _user_data(
        scenarios, "Ec2CapacityGpuSpot"
    )


@pytest.mark.scenarios("Ec2CapacityBottlerocketArm")
def test_bottlerocket_settings_stay_in_the_ecs_table(scenarios: Synthesized) -> None:
    user_data = _user_data(scenarios, "Ec2CapacityBottlerocketArm", "GpuBottlerocket")
    assert user_data == (
        '\n[settings.ecs]\ncluster = "<ref>"\nawsvpc-block-imds = true\n'
        "allow-privileged-containers = false\nenable-spot-instance-draining = true"
    )


@pytest.mark.scenarios("Ec2CapacityBottlerocketArm", "Ec2CapacityDefaults", "Ec2CapacityGpuSpot")
def test_amis_match_gpu_and_architecture(scenarios: Synthesized) -> None:
    def images(stack: str) -> list[str]:
        params = scenarios.template_json(stack)["Parameters"]
        return sorted(p["Default"] for p in params.values() if "image" in p.get("Default", ""))

    assert images("Ec2CapacityDefaults") == [
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    ]
    assert images("Ec2CapacityGpuSpot") == [
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
    ]
    assert images("Ec2CapacityBottlerocketArm") == [
        "/aws/service/bottlerocket/aws-ecs-2-nvidia/x86_64/latest/image_id",
        "/aws/service/bottlerocket/aws-ecs-2/arm64/latest/image_id",
    ]


@pytest.mark.scenarios("Ec2CapacityDefaults")
def test_instance_security_group_has_no_inbound_and_https_out(scenarios: Synthesized) -> None:
    group = _one(scenarios, "Ec2CapacityDefaults", "AWS::EC2::SecurityGroup", "CapacityGeneral")
    assert "SecurityGroupIngress" not in group
    assert [
        (r["IpProtocol"], r["FromPort"], r["CidrIp"]) for r in group["SecurityGroupEgress"]
    ] == [("tcp", 443, "0.0.0.0/0")]


@pytest.mark.scenarios("Ec2CapacityDefaults")
def test_endpoints_admit_instances_of_the_clusters_own_vpc(scenarios: Synthesized) -> None:
    ingress = resources_of(scenarios, "Ec2CapacityDefaults", "AWS::EC2::SecurityGroupIngress")
    sources = [str(i["Properties"]["SourceSecurityGroupId"]) for i in ingress.values()]
    assert any("PlatformCapacityGeneralSecurityGroup" in source for source in sources)


# --- Instance role ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", SCENARIOS)
@pytest.mark.scenarios(param="stack")
def test_instance_role_has_no_aws_managed_policy(scenarios: Synthesized, stack: str) -> None:
    roles = resources_of(scenarios, stack, "AWS::IAM::Role")
    for key, role in roles.items():
        if "InstanceRole" in key:
            assert "ManagedPolicyArns" not in role["Properties"], key
            assert "Policies" not in role["Properties"], key
    policies = resources_of(scenarios, stack, "AWS::IAM::Policy")
    assert not [key for key in policies if "Capacity" in key]  # no DefaultPolicy from CDK


@pytest.mark.scenarios("Ec2CapacityGpuSpot")
def test_instance_role_holds_only_the_agents_rights_for_its_cluster(
    scenarios: Synthesized,
) -> None:
    policy = _one(scenarios, "Ec2CapacityGpuSpot", "AWS::IAM::ManagedPolicy")
    statements = policy["PolicyDocument"]["Statement"]
    actions = sorted(
        action
        for statement in statements
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    )
    assert actions == [
        "ecs:DeregisterContainerInstance",
        "ecs:DiscoverPollEndpoint",
        "ecs:Poll",
        "ecs:RegisterContainerInstance",
        "ecs:StartTelemetrySession",
        "ecs:SubmitAttachmentStateChanges",
        "ecs:SubmitContainerStateChange",
        "ecs:SubmitTaskStateChange",
        "ecs:UpdateContainerInstancesState",
    ]
    by_sid = {statement["Sid"]: statement for statement in statements}
    cluster_arn = by_sid["RegisterWithTheCluster"]["Resource"]
    assert cluster_arn["Fn::GetAtt"][0].startswith("PlatformCluster")
    assert cluster_arn["Fn::GetAtt"][1] == "Arn"
    assert by_sid["ContainerInstancesOfTheCluster"]["Resource"] == "*"
    assert by_sid["ContainerInstancesOfTheCluster"]["Condition"] == {
        "ArnEquals": {"ecs:cluster": cluster_arn}
    }
    assert by_sid["DiscoverPollEndpoint"]["Resource"] == "*"


# --- Auto Scaling group and capacity provider ------------------------------------------------


@pytest.mark.scenarios("Ec2CapacityDefaults", "Ec2CapacityGpuSpot")
def test_group_mixes_several_nitro_instance_types(scenarios: Synthesized) -> None:
    group = _one(scenarios, "Ec2CapacityDefaults", "AWS::AutoScaling::AutoScalingGroup")
    overrides = group["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]
    assert [o["InstanceType"] for o in overrides] == ["m6i.large", "m6a.large", "m7i.large"]
    gpu = _one(scenarios, "Ec2CapacityGpuSpot", "AWS::AutoScaling::AutoScalingGroup")
    types = [o["InstanceType"] for o in gpu["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]]
    assert types == ["g5.xlarge", "g4dn.xlarge"]


@pytest.mark.scenarios("Ec2CapacityDefaults")
def test_on_demand_capacity_is_all_on_demand(scenarios: Synthesized) -> None:
    assert _distribution(scenarios, "Ec2CapacityDefaults") == {
        "OnDemandAllocationStrategy": "prioritized",
        "OnDemandBaseCapacity": 0,
        "OnDemandPercentageAboveBaseCapacity": 100,
    }
    group = _one(scenarios, "Ec2CapacityDefaults", "AWS::AutoScaling::AutoScalingGroup")
    assert "CapacityRebalance" not in group


@pytest.mark.scenarios("Ec2CapacityGpuSpot")
def test_spot_capacity_is_capacity_optimized_and_rebalanced(scenarios: Synthesized) -> None:
    distribution = _distribution(scenarios, "Ec2CapacityGpuSpot")
    assert distribution["OnDemandPercentageAboveBaseCapacity"] == 0
    assert distribution["SpotAllocationStrategy"] == "capacity-optimized"
    group = _one(scenarios, "Ec2CapacityGpuSpot", "AWS::AutoScaling::AutoScalingGroup")
    assert group["CapacityRebalance"] is True


@pytest.mark.scenarios("Ec2CapacityGpuSpot")
def test_group_scales_from_zero_in_private_subnets_of_several_zones(
    scenarios: Synthesized,
) -> None:
    group = _one(scenarios, "Ec2CapacityGpuSpot", "AWS::AutoScaling::AutoScalingGroup")
    assert (group["MinSize"], group["MaxSize"]) == ("0", "4")
    assert "DesiredCapacity" not in group  # deploys never reset what managed scaling chose
    subnets = [subnet["Ref"] for subnet in group["VPCZoneIdentifier"]]
    assert len(subnets) == 2
    assert all(subnet.startswith("NetworkVpcPrivateSubnet") for subnet in subnets)
    assert group["AvailabilityZones"] == [
        {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
    ]


@pytest.mark.scenarios("Ec2CapacityGpuSpot")
def test_managed_scaling_termination_protection_and_draining(scenarios: Synthesized) -> None:
    provider = _one(scenarios, "Ec2CapacityGpuSpot", "AWS::ECS::CapacityProvider")
    assert provider["AutoScalingGroupProvider"]["ManagedScaling"] == {
        "InstanceWarmupPeriod": 180,
        "Status": "ENABLED",
        "TargetCapacity": 90,
    }
    assert provider["AutoScalingGroupProvider"]["ManagedTerminationProtection"] == "ENABLED"
    assert provider["AutoScalingGroupProvider"]["ManagedDraining"] == "ENABLED"
    group = _one(scenarios, "Ec2CapacityGpuSpot", "AWS::AutoScaling::AutoScalingGroup")
    assert group["NewInstancesProtectedFromScaleIn"] is True


@pytest.mark.parametrize("stack", SCENARIOS)
@pytest.mark.scenarios(param="stack")
def test_draining_needs_no_lambda_or_lifecycle_hook(scenarios: Synthesized, stack: str) -> None:
    functions = resources_of(scenarios, stack, "AWS::Lambda::Function")
    assert [key for key in functions if not key.startswith("CustomVpcRestrictDefaultSG")] == []
    assert resources_of(scenarios, stack, "AWS::AutoScaling::LifecycleHook") == {}


@pytest.mark.scenarios("Ec2CapacityDefaults")
def test_launches_and_terminations_notify_an_ssl_only_encrypted_topic(
    scenarios: Synthesized,
) -> None:
    group = _one(scenarios, "Ec2CapacityDefaults", "AWS::AutoScaling::AutoScalingGroup")
    (notification,) = group["NotificationConfigurations"]
    assert sorted(notification["NotificationTypes"]) == [
        "autoscaling:EC2_INSTANCE_LAUNCH",
        "autoscaling:EC2_INSTANCE_LAUNCH_ERROR",
        "autoscaling:EC2_INSTANCE_TERMINATE",
        "autoscaling:EC2_INSTANCE_TERMINATE_ERROR",
    ]
    assert notification["TopicARN"]["Ref"].startswith("PlatformCapacityEvents")
    topic = _one(scenarios, "Ec2CapacityDefaults", "AWS::SNS::Topic")
    assert "alias/aws/sns" in json.dumps(topic["KmsMasterKeyId"])
    policy = _one(scenarios, "Ec2CapacityDefaults", "AWS::SNS::TopicPolicy")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.scenarios("Ec2CapacityBottlerocketArm")
def test_capacity_providers_join_the_cluster(scenarios: Synthesized) -> None:
    associations = _one(
        scenarios, "Ec2CapacityBottlerocketArm", "AWS::ECS::ClusterCapacityProviderAssociations"
    )
    providers = associations["CapacityProviders"]
    assert providers[:2] == ["FARGATE", "FARGATE_SPOT"]
    assert sorted(p["Ref"][:25] for p in providers[2:]) == [
        "PlatformCapacityGpuBottle",
        "PlatformCapacityGravitonC",
    ]


@pytest.mark.scenarios("Ec2CapacityBottlerocketArm")
def test_default_strategy_names_ec2_capacity_by_its_name(scenarios: Synthesized) -> None:
    associations = _one(
        scenarios, "Ec2CapacityBottlerocketArm", "AWS::ECS::ClusterCapacityProviderAssociations"
    )
    (item,) = associations["DefaultCapacityProviderStrategy"]
    assert item["CapacityProvider"]["Ref"].startswith("PlatformCapacityGravitonCapacityProvider")
    assert (item["Base"], item["Weight"]) == (1, 1)


@pytest.mark.scenarios("Ec2CapacityOptOuts")
def test_opt_outs_warn(scenarios: Synthesized) -> None:
    warnings = scenarios.metadata_entries("Ec2CapacityOptOuts", "aws:cdk:warning")
    text = " ".join(str(data) for _, data in warnings)
    for warning in (
        "ecs-patterns-plus:single-instance-type",
        "ecs-patterns-plus:instance-types",
        "ecs-patterns-plus:metadata-hop-limit",
        "ecs-patterns-plus:managed-termination-protection",
    ):
        assert warning in text
    data = _launch_data(scenarios, "Ec2CapacityOptOuts")
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 2


@pytest.mark.scenarios("Ec2CapacityBottlerocketArm", "Ec2CapacityDefaults", "Ec2CapacityGpuSpot")
def test_defaults_do_not_warn(scenarios: Synthesized) -> None:
    for stack in SCENARIOS:
        assert scenarios.metadata_entries(stack, "aws:cdk:warning") == []


@pytest.mark.scenarios("Ec2CapacityDefaults")
def test_user_data_only_configures_the_agent(scenarios: Synthesized) -> None:
    lines = _user_data(scenarios, "Ec2CapacityDefaults").splitlines()
    assert lines[0] == "#!/bin/bash"
    assert all(line.startswith("echo ECS_") for line in lines[1:])


# --- Bad input -------------------------------------------------------------------------------


def _cluster(**kwargs: Any) -> HardenedCluster:
    return HardenedCluster(stack_for_errors(), "Platform", **kwargs)


@pytest.mark.parametrize(
    ("options", "argument", "fragment"),
    [
        ({"name": "GPU"}, "name", "lower-case letters"),
        ({"name": "1gpu"}, "name", "starting with a letter"),
        ({"instance_types": ()}, "instance_types", "one or more instance type names"),
        ({"instance_types": ("m6i",)}, "instance_types", "one or more instance type names"),
        ({"instance_types": ("m6i.large", "m6i.large")}, "instance_types", "twice"),
        ({"gpu": True, "instance_types": ("m6i.large",)}, "instance_types", "NVIDIA GPU"),
        (
            {"instance_types": ("m6i.large", "m7g.large")},
            "instance_types",
            "mixes x86_64 and ARM64",
        ),
        ({"gpu": True, "instance_types": ("g5g.xlarge",)}, "instance_types", "x86_64 only"),
        ({"max_capacity": 0}, "max_capacity", "between 1 and 5000"),
        ({"min_capacity": 11}, "min_capacity", "between 0 and 10"),
        ({"target_capacity_percent": 0}, "target_capacity_percent", "between 1 and 100"),
        ({"instance_warmup": cdk.Duration.hours(3)}, "instance_warmup", "between 0 and 10000"),
        ({"volume_size_gib": 20}, "volume_size_gib", "between 30 and 16384"),
        ({"metadata_hop_limit": 3}, "metadata_hop_limit", "between 1 and 2"),
    ],
)
def test_cluster_rejects_bad_ec2_capacity(options: dict, argument: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as error:
        _cluster(ec2_capacity=[Ec2CapacityOptions(**{"name": "gpu", **options})])
    assert f"ec2_capacity[0].{argument}: " in str(error.value)
    assert fragment in str(error.value)


def test_bottlerocket_accepts_graviton_gpus_and_smaller_data_volumes() -> None:
    platform = _cluster(
        ec2_capacity=[
            Ec2CapacityOptions(
                name="gpu",
                gpu=True,
                ami=Ec2Ami.BOTTLEROCKET,
                instance_types=("g5g.xlarge", "g5g.2xlarge"),
                volume_size_gib=20,
            )
        ]
    )
    assert list(platform.ec2_capacity) == ["gpu"]


def test_cluster_rejects_capacity_names_used_twice() -> None:
    with pytest.raises(ValidationError, match=r"ec2_capacity: names a capacity twice"):
        _cluster(ec2_capacity=[Ec2CapacityOptions(name="a"), Ec2CapacityOptions(name="a")])


def test_default_strategy_must_name_known_capacity() -> None:
    with pytest.raises(ValidationError) as error:
        _cluster(
            ec2_capacity=[Ec2CapacityOptions(name="gpu")],
            default_capacity_provider_strategy=[
                ecs.CapacityProviderStrategy(capacity_provider="cpu", weight=1)
            ],
        )
    assert "default_capacity_provider_strategy: unknown capacity provider" in str(error.value)


def test_default_strategy_cannot_mix_fargate_and_ec2() -> None:
    with pytest.raises(ValidationError) as error:
        _cluster(
            ec2_capacity=[Ec2CapacityOptions(name="gpu")],
            default_capacity_provider_strategy=[
                ecs.CapacityProviderStrategy(capacity_provider="gpu", weight=1),
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1),
            ],
        )
    assert "default_capacity_provider_strategy: mixes Fargate and EC2" in str(error.value)


def test_add_ec2_capacity_rejects_a_name_in_use() -> None:
    platform = _cluster(ec2_capacity=[Ec2CapacityOptions(name="gpu", gpu=True)])
    with pytest.raises(ValidationError) as error:
        platform.add_ec2_capacity(Ec2CapacityOptions(name="gpu"))
    assert str(error.value).startswith("Errors/Platform/CapacityGpu: options.name: ")


def test_add_ec2_capacity_validates_before_creating_anything() -> None:
    platform = _cluster()
    children = len(platform.node.children)
    with pytest.raises(ValidationError, match=r"options.max_capacity: "):
        platform.add_ec2_capacity(Ec2CapacityOptions(name="big", max_capacity=6000))
    assert len(platform.node.children) == children


def test_capacity_needs_private_subnets() -> None:
    stack = stack_for_errors()
    public_only = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC)
        ],
    )
    no_private = r"subnets: the VPC has no private subnets for the instances, which never get"
    with pytest.raises(ValidationError, match=rf"ec2_capacity\[0\]\.{no_private}"):
        HardenedCluster(
            stack, "Platform", vpc=public_only, ec2_capacity=[Ec2CapacityOptions(name="gpu")]
        )
    assert stack.node.try_find_child("Platform") is None
    platform = HardenedCluster(stack, "Fargate", vpc=public_only)  # Fargate tasks choose theirs
    with pytest.raises(ValidationError, match=rf"options\.{no_private}"):
        platform.add_ec2_capacity(Ec2CapacityOptions(name="gpu"))
    with pytest.raises(ValidationError, match=rf"options\.{no_private}"):
        Ec2Capacity(
            stack,
            "Direct",
            cluster=platform.cluster,
            options=Ec2CapacityOptions(name="gpu"),
            notifications_topic=sns.Topic(stack, "Topic"),
        )
    assert stack.node.try_find_child("Direct") is None
    assert platform.ec2_capacity == {}


def test_capacity_subnets_must_select_some() -> None:
    stack = stack_for_errors()
    isolated = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    with pytest.raises(ValidationError) as error:
        HardenedCluster(
            stack,
            "Platform",
            vpc=existing_vpc(stack),
            ec2_capacity=[Ec2CapacityOptions(name="gpu", subnets=isolated)],
        )
    (problem,) = error.value.problems
    assert problem.startswith(
        "ec2_capacity[0].subnets: selects no subnet of the VPC (There are no 'Isolated' subnet "
        "groups in this VPC"
    )
    assert problem.endswith("select subnets the VPC has, e.g. its private ones (the default)")
    assert stack.node.try_find_child("Platform") is None
