"""The example app's pipeline (``SecurePipeline``): its gates, its approval, its least privilege."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from aws_cdk import pipelines

from ecs_patterns_plus import SecurePipeline
from ecs_patterns_plus.errors import ValidationError
from ecs_patterns_plus.pipeline import narrow
from stacks.config import PREFIX
from tests.synth import FEATURE_FLAGS, Synthesized, new_app
from tests.util import resources_of

STAGES: list[dict[str, Any]] = FEATURE_FLAGS[f"{PREFIX}:stages"]
CONNECTION = "arn:aws:codeconnections:ap-northeast-2:111122223333:connection/abc"


def _stages(example: Synthesized) -> list[dict[str, Any]]:
    (pipeline,) = resources_of(example, "Pipeline", "AWS::CodePipeline::Pipeline").values()
    return list(pipeline["Properties"]["Stages"])


def _text(value: Any) -> str:
    """A template string, its ``Fn::Join`` parts joined, a reference written ``${Name}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(_text(item) for item in value)
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_text(part) for part in parts)
    return "${" + str(value.get("Ref", value)) + "}"


def _commands(example: Synthesized, step: str) -> list[str]:
    """The build commands of the CodeBuild project of ``step`` (its path ends with it)."""
    projects = resources_of(example, "Pipeline", "AWS::CodeBuild::Project").values()
    (project,) = [p for p in projects if p["Properties"]["Description"].endswith(f"/{step}")]
    spec = json.loads(_text(project["Properties"]["Source"]["BuildSpec"]))
    return list(spec["phases"]["build"]["commands"])


def _policies(example: Synthesized) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources_of(example, "Pipeline", "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_stages_deploy_in_promotion_order_each_behind_its_review(example: Synthesized) -> None:
    stages = _stages(example)
    names = [stage["Name"] for stage in stages]
    expected = [stage["name"].capitalize() for stage in STAGES]
    assert [name for name in names if name in expected] == expected
    assert names.index(expected[0]) > names.index("Build")
    for stage in stages:
        if stage["Name"] not in expected:
            continue
        first = min(action["RunOrder"] for action in stage["Actions"])
        reviews = [a for a in stage["Actions"] if a["Name"] == f"Review{stage['Name']}"]
        assert [a["RunOrder"] for a in reviews] == [first], stage["Name"]
        deploys = [a for a in stage["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"]
        assert deploys and min(a["RunOrder"] for a in deploys) > first


def test_production_waits_for_a_person_after_its_review(example: Synthesized) -> None:
    by_name = {stage["Name"]: stage for stage in _stages(example)}
    for entry in STAGES:
        actions = by_name[entry["name"].capitalize()]["Actions"]
        approvals = [a for a in actions if a["ActionTypeId"]["Category"] == "Approval"]
        assert bool(approvals) is entry.get("approval", False), entry["name"]
        if approvals:
            (approval,) = approvals
            review = next(a for a in actions if a["Name"].startswith("Review"))
            deploys = [a for a in actions if a["ActionTypeId"]["Category"] == "Deploy"]
            assert review["RunOrder"] < approval["RunOrder"] < min(a["RunOrder"] for a in deploys)
    assert any(entry.get("approval") for entry in STAGES if entry.get("production"))


def test_the_synth_step_runs_the_tests_pins_the_images_then_synthesizes(
    example: Synthesized,
) -> None:
    commands = _commands(example, "Synth")
    assert commands.index("make test") < commands.index("make synth")
    pin = ".venv/bin/python -m stacks.images --context cdk.context.json"
    assert commands.index("make test") < commands.index(pin) < commands.index("make synth")
    describe = [s for s in _policies(example) if s["Action"] == "ecr:DescribeImages"]
    assert len(describe) == 1
    assert ":repository/myapp" in json.dumps(describe[0]["Resource"])


@pytest.mark.parametrize("stage", STAGES, ids=[stage["name"] for stage in STAGES])
def test_each_review_stops_data_loss_and_cost_increases(
    example: Synthesized, stage: dict[str, Any]
) -> None:
    name = stage["name"].capitalize()
    commands = _commands(example, f"Review{name}")
    (review,) = [c for c in commands if "-m ecs_patterns_plus.review" in c]
    assert f"deployed assembly/assembly-{name} " in review
    for flag in ("--fail-on-replace-data", "--fail-on-cost"):
        assert flag in review
    assert f"--region {stage['region']}" in review
    (read,) = [c for c in commands if "-m stacks.deployed" in c]
    account = stage["account"] or "${AWS::AccountId}"
    role = f":iam::{account}:role/cdk-hnb659fds-lookup-role-{account}-{stage['region']}"
    assume = [s for s in _policies(example) if s["Action"] == "sts:AssumeRole"]
    assert role in " ".join(_text(s["Resource"]) for s in assume)
    assert "--role-arn arn:" in read and f"{role} --region" in read


def test_the_pipeline_cannot_rewrite_itself_and_grants_no_wildcard(example: Synthesized) -> None:
    template = json.dumps(example.template_json("Pipeline"))
    assert "SelfMutation" not in template and "UpdatePipeline" not in template
    for statement in _policies(example):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert not [a for a in actions if "*" in a], statement
        assert statement["Resource"] != "*", statement
        assert "/aws/codebuild/" not in json.dumps(statement["Resource"])


def test_artifacts_and_build_logs_are_encrypted_kept_and_logged(example: Synthesized) -> None:
    buckets = resources_of(example, "Pipeline", "AWS::S3::Bucket")
    artifacts = buckets["PipelineArtifacts"]["Properties"]
    (rule,) = artifacts["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert artifacts["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "LoggingConfiguration" in artifacts and artifacts["ObjectLockEnabled"] is True
    assert buckets["PipelineArtifacts"]["DeletionPolicy"] == "Retain"
    (logs,) = resources_of(example, "Pipeline", "AWS::Logs::LogGroup").items()
    assert logs[1]["Properties"]["RetentionInDays"] >= 365 and "KmsKeyId" in logs[1]["Properties"]
    for project in resources_of(example, "Pipeline", "AWS::CodeBuild::Project").values():
        properties = project["Properties"]
        assert properties["LogsConfig"]["CloudWatchLogs"]["GroupName"] == {"Ref": logs[0]}
        assert "EncryptionKey" in properties
        assert properties["Environment"].get("PrivilegedMode") is not True


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            {"Action": ["s3:GetObject*", "s3:GetBucket*", "s3:List*"], "Resource": "b"},
            {
                "Action": [
                    "s3:GetBucketAcl",
                    "s3:GetBucketLocation",
                    "s3:GetBucketVersioning",
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:ListBucket",
                ],
                "Resource": "b",
            },
        ),
        (
            {"Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"], "Resource": "k"},
            {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "k"},
        ),
        ({"Action": "kms:ReEncrypt*", "Resource": "k"}, None),
        (
            {"Action": "logs:PutLogEvents", "Resource": ["arn:log-group:/aws/codebuild/x", "g"]},
            {"Action": "logs:PutLogEvents", "Resource": "g"},
        ),
        ({"Action": "codebuild:CreateReportGroup", "Resource": "arn:x:report-group/p-*"}, None),
        ({"Action": ["codebuild:StartBuild", "codebuild:StopBuild"], "Resource": "*"}, None),
        ({"Action": "codebuild:StartBuild", "Resource": "arn:project/p"}, None.__class__),
    ],
)
def test_wildcard_grants_are_narrowed_and_unused_ones_dropped(
    statement: dict[str, Any], expected: Any
) -> None:
    if expected is type(None):  # an exact grant is kept as it is
        expected = statement
    assert narrow({"Effect": "Allow", **statement}) == (
        None if expected is None else {"Effect": "Allow", **expected}
    )


def _pipeline(stack: cdk.Stack, construct_id: str = "Pipeline", **options: Any) -> SecurePipeline:
    source = pipelines.CodePipelineSource.connection("o/r", "main", connection_arn=CONNECTION)
    return SecurePipeline(
        stack, construct_id, source=source, **{"synth_commands": ["make synth"], **options}
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"synth_commands": []}, r"synth_commands: is empty"),
        ({"timeout": cdk.Duration.minutes(1)}, r"timeout: .*5"),
        ({"log_retention": 10}, r"log_retention: is not a retention period"),
    ],
)
def test_bad_pipeline_input_is_named(options: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(new_app(validation=False), "Tools")
    with pytest.raises(ValidationError, match=message):
        _pipeline(stack, **options)


def test_one_pipeline_per_stack_and_build_must_be_called(tmp_path: Path) -> None:
    app = new_app(tmp_path, validation=False)
    stack = cdk.Stack(app, "Tools", env=cdk.Environment(region="ap-northeast-2"))
    pipeline = _pipeline(stack)
    with pytest.raises(ValidationError, match=r"scope: its stack already holds a SecurePipeline"):
        _pipeline(stack, "Second")
    stage = cdk.Stage(app, "Dev")
    sqs.Queue(cdk.Stack(stage, "App"), "Queue", enforce_ssl=True)
    pipeline.add_stage(stage)
    (error,) = pipeline.node.validate()  # what fails `cdk synth`
    assert "build() was not called" in error
    pipeline.build()
    assert pipeline.node.validate() == []


def test_a_review_reads_what_the_stage_runs_and_leaves_out_stacks_not_deployed(
    tmp_path: Path,
) -> None:
    """``python -m stacks.deployed``: the review's base, named as the review names the new side."""
    import boto3
    from botocore.stub import Stubber

    from ecs_patterns_plus.review import load_templates
    from stacks.deployed import write_deployed

    app = new_app(tmp_path / "cdk.out", validation=False)
    stage = cdk.Stage(app, "Prod")
    for name in ("Network", "Web"):
        sqs.Queue(cdk.Stack(stage, name, stack_name=f"app-prod-{name.lower()}"), "Queue")
    assembly = Path(app.synth().directory) / "assembly-Prod"
    cloudformation = boto3.client("cloudformation", region_name="ap-northeast-2")
    deployed = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "get_template",
            {"TemplateBody": json.dumps(deployed)},
            {"StackName": "app-prod-network"},
        )
        stub.add_client_error(
            "get_template",
            service_error_code="ValidationError",
            service_message="Stack with id app-prod-web does not exist",
            expected_params={"StackName": "app-prod-web"},
        )
        written = write_deployed(cloudformation, assembly, tmp_path / "deployed")
    assert written == ["Prod-Network"]
    assert load_templates(tmp_path / "deployed") == {"Prod-Network": deployed}
    assert sorted(load_templates(assembly)) == ["Prod-Network", "Prod-Web"]


def test_the_pinned_digests_go_into_the_context_file_beside_its_other_keys(tmp_path: Path) -> None:
    from stacks.images import write_context

    context = tmp_path / "cdk.context.json"
    context.write_text(json.dumps({"availability-zones:account=1:region=r": ["a"]}))
    digests = {"web": "sha256:" + "ab" * 32}
    write_context(context, digests)
    assert json.loads(context.read_text()) == {
        "availability-zones:account=1:region=r": ["a"],
        f"{PREFIX}:image-digests": digests,
    }
