"""The example app as one stage per environment, each from its entry in cdk.json."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus.errors import ValidationError
from stacks.config import IMAGE_TAGS, PREFIX, AppConfig, Images
from tests.synth import FEATURE_FLAGS, Synthesized, new_app
from tests.util import resources_of, stack_for_errors

STAGES: list[dict[str, Any]] = FEATURE_FLAGS[f"{PREFIX}:stages"]
DIGEST = "sha256:" + "ab" * 32


def _resources(example: Synthesized, stage: dict[str, Any], stack: str, kind: str) -> list[Any]:
    name = f"{stage['name'].capitalize()}-{stack}"
    return [resource["Properties"] for resource in resources_of(example, name, kind).values()]


@pytest.mark.parametrize("stage", STAGES, ids=[stage["name"] for stage in STAGES])
def test_each_stage_takes_its_settings_from_its_entry(
    example: Synthesized, stage: dict[str, Any]
) -> None:
    nats = _resources(example, stage, "Network", "AWS::EC2::NatGateway")
    assert len(nats) == stage["nat_gateways"]
    name = f"{stage['name'].capitalize()}-WebService"
    targets = resources_of(example, name, "AWS::ApplicationAutoScaling::ScalableTarget")
    web = [t["Properties"] for key, t in targets.items() if key.startswith("ServiceTaskCount")]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in web] == [
        (stage["desired_count"], stage["max_count"])
    ]
    groups = _resources(example, stage, "WebService", "AWS::Logs::LogGroup")
    (app_logs,) = [group for group in groups if group.get("LogGroupName") == "/ecs/myapp"]
    assert app_logs["RetentionInDays"] == stage["log_retention_days"]
    (balancer,) = _resources(
        example, stage, "WebService", "AWS::ElasticLoadBalancingV2::LoadBalancer"
    )
    attributes = {item["Key"]: item["Value"] for item in balancer["LoadBalancerAttributes"]}
    assert attributes["deletion_protection.enabled"] == str(stage["deletion_protection"]).lower()
    records = _resources(example, stage, "WebService", "AWS::Route53::RecordSet")
    assert {record["Name"] for record in records} == {stage["domain_name"] + "."}


def test_stages_differ_where_their_entries_do(example: Synthesized) -> None:
    """The deployment strategy follows each entry: the dev stage rolls, production canaries."""
    by_name = {stage["name"]: stage for stage in STAGES}
    assert (by_name["dev"]["deployment"], by_name["prod"]["deployment"]) == ("rolling", "canary")
    for name, canary in (("dev", False), ("prod", True)):
        services = _resources(example, by_name[name], "WebService", "AWS::ECS::Service")
        (web,) = [s for s in services if s.get("ServiceName") == "myapp-svc"]
        assert ("CanaryConfiguration" in web["DeploymentConfiguration"]) is canary


def test_each_stage_names_and_tags_its_stacks_after_itself(example: Synthesized) -> None:
    for stage in STAGES:
        assembly = example.path(f"{stage['name'].capitalize()}-Network").parent
        manifest = json.loads((assembly / "manifest.json").read_text())
        names = {
            artifact["properties"]["stackName"]
            for artifact in manifest["artifacts"].values()
            if artifact["type"] == "aws:cloudformation:stack"
        }
        assert names == {
            f"{PREFIX}-{stage['name']}-{suffix}"
            for suffix in ("network", "platform", "batch", "web", "broker")
        }
        (vpc,) = _resources(example, stage, "Network", "AWS::EC2::VPC")
        assert {"Key": "stage", "Value": stage["name"]} in vpc["Tags"]


def _config(**context: Any) -> AppConfig:
    return AppConfig.from_context(new_app(validation=False, **context))


def _stage(**changes: Any) -> dict[str, Any]:
    return {**STAGES[0], **changes}


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([_stage(nat_gateway=1)], r"stages\[0\]\.nat_gateway: unknown setting"),
        ([_stage(desired_count="2")], r"stages\[0\]\.desired_count: must be a whole number"),
        ([_stage(production="yes")], r"stages\[0\]\.production: must be true or false"),
        ([{"name": "dev"}], r"stages\[0\]\.region: is required"),
        ([_stage(name="Dev")], r"stages\[0\]\.name: must be lower-case letters and digits"),
        ([_stage(region="seoul")], r"stages\[0\]\.region: must be an AWS region"),
        ([_stage(account="1234")], r"stages\[0\]\.account: must be a 12-digit account id"),
        ([_stage(deployment="big_bang")], r"stages\[0\]\.deployment: unknown strategy"),
        ([_stage(desired_count=5, max_count=4)], r"desired_count: must be 1 to max_count \(4\)"),
        ([_stage(production=True, desired_count=1)], r"production stage needs 2 or more tasks"),
        ([_stage(nat_gateways=3)], r"nat_gateways: must be 0 \(isolated\) to 2"),
        ([_stage(domain_name="myapp.example.org")], r"domain_name: must be a name inside"),
        ([STAGES[0], STAGES[0]], r"stage 'dev' is given twice"),
        ([], r"stages: must be a list of stages"),
    ],
)
def test_a_bad_stage_entry_is_named(stages: list[Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _config(**{f"{PREFIX}:stages": stages})


def test_a_bad_pipeline_entry_or_digest_is_named() -> None:
    pipeline = FEATURE_FLAGS[f"{PREFIX}:pipeline"]
    with pytest.raises(ValidationError, match=r"pipeline\.connection_arn: must be the ARN"):
        _config(**{f"{PREFIX}:pipeline": {**pipeline, "connection_arn": "github"}})
    with pytest.raises(ValidationError, match=r"image-digests: must map image names"):
        _config(**{f"{PREFIX}:image-digests": {"web": "latest"}})
    with pytest.raises(ValidationError, match=r"image-digests: must map image names"):
        _config(**{f"{PREFIX}:image-digests": {"unknown": DIGEST}})
    with pytest.raises(ValidationError, match=r"image-digests: is not JSON"):
        _config(**{f"{PREFIX}:image-digests": "{web"})


def test_images_run_by_their_pinned_digest_and_by_tag_without_one() -> None:
    """What the pipeline's synth step passes (``-c ecs-patterns-plus:image-digests=<JSON>``)
    pins every stage's containers to the digest staging tested."""
    config = _config(**{f"{PREFIX}:image-digests": json.dumps({"web": DIGEST})})
    assert config.images.digests == {"web": DIGEST}
    stack = stack_for_errors()
    repository = ecr.Repository.from_repository_name(stack, "Repository", "myapp")
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("web", image=config.images.image(repository, "web"))
    task.add_container("orders", image=config.images.image(repository, "orders"))
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (definition,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"
    ]
    images = {
        container["Name"]: json.dumps(container["Image"])
        for container in definition["Properties"]["ContainerDefinitions"]
    }
    assert f"/myapp@{DIGEST}" in images["web"]
    assert f"/myapp:{IMAGE_TAGS['orders']}" in images["orders"]


def test_images_come_from_the_pipelines_account_when_it_has_one() -> None:
    """A stage in another account pulls from the pipeline account's repository, by ARN."""
    images = Images(account="111122223333", region="ap-northeast-2", digests={"web": DIGEST})
    stack = stack_for_errors()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("web", image=images.image(images.repository(stack), "web"))
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (definition,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"
    ]
    image = json.dumps(definition["Properties"]["ContainerDefinitions"][0]["Image"])
    assert "111122223333.dkr.ecr.ap-northeast-2." in image and f"/myapp@{DIGEST}" in image


def test_the_release_tags_resolve_to_digests_and_a_missing_tag_is_named() -> None:
    """``python -m stacks.images``: what the pipeline pins (ECR answered by a stub)."""
    import boto3
    from botocore.stub import Stubber

    from stacks.images import resolve

    ecr_client = boto3.client("ecr", region_name="ap-northeast-2")
    tags = {"web": "web-1.0.0", "orders": "orders-1.0.0"}
    request = {
        "repositoryName": "myapp",
        "imageIds": [{"imageTag": "orders-1.0.0"}, {"imageTag": "web-1.0.0"}],
    }
    other = "sha256:" + "cd" * 32
    with Stubber(ecr_client) as stub:
        stub.add_response(
            "describe_images",
            {
                "imageDetails": [
                    {"imageDigest": DIGEST, "imageTags": ["web-1.0.0", "latest"]},
                    {"imageDigest": other, "imageTags": ["orders-1.0.0"]},
                ]
            },
            request,
        )
        stub.add_response(
            "describe_images",
            {"imageDetails": [{"imageDigest": DIGEST, "imageTags": ["web-1.0.0"]}]},
            request,
        )
        assert resolve(ecr_client, "myapp", tags) == {"orders": other, "web": DIGEST}
        with pytest.raises(LookupError, match=r"no image tagged orders-1\.0\.0 in ECR repository"):
            resolve(ecr_client, "myapp", tags)
