"""The compliance plugins themselves: the faster Control Tower run finds what the plugin finds."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs

from ecs_patterns_plus.compliance import _control_tower_rule_types, idle_control_tower_rules
from tests.synth import Synthesized
from tests.util import logical_id


def test_bundled_rules_are_read_with_their_resource_types() -> None:
    rules = _control_tower_rule_types()
    assert len(rules) > 200
    assert "AWS::Logs::LogGroup" in rules["ct-cloudwatch-pr-3"]


def test_only_rules_for_absent_resource_types_are_left_out() -> None:
    idle = idle_control_tower_rules({"AWS::Logs::LogGroup"})
    assert "ct-cloudwatch-pr-3" not in idle
    assert "ct-ecs-pr-3" in idle
    # A rule that only looks up a log group to check another type reports on that type only.
    assert "ct-opensearch-pr-12" in idle
    assert set(idle) < set(_control_tower_rule_types())


@pytest.mark.findings
@pytest.mark.scenarios("UnencryptedLogGroup")
def test_findings_still_fail_synthesis(scenarios: Synthesized) -> None:
    assert any(
        line.startswith("cdk-validator-cfnguard: cloudwatch_log_group_encrypted_check")
        for line in scenarios.rule_pack_violations
    )
    # A plugin that reports a failure is what makes CDK's synthesis throw.
    report_path = scenarios.path("UnencryptedLogGroup").parent / "policy-validation-report.json"
    reports = json.loads(report_path.read_text())["pluginReports"]
    (failed,) = [
        plugin["summary"]["status"]
        for plugin in reports
        if any(
            violation["ruleName"].endswith("cloudwatch_log_group_encrypted_check")
            and any(
                str(resource.get("constructPath", "")).startswith("UnencryptedLogGroup/")
                for resource in violation["violatingResources"]
            )
            for violation in plugin["violations"]
        )
    ]
    assert failed == "failure"


def test_cfn_lint_runner_reports_errors_per_template(tmp_path: Path) -> None:
    from tests.validators import _run_cfn_lint

    good = tmp_path / "Good.template.json"
    bad = tmp_path / "Bad.template.json"
    good.write_text(json.dumps({"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup"}}}))
    bad.write_text(
        json.dumps(
            {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}
        )
    )
    findings = _run_cfn_lint([good, bad])
    assert findings["Good.template.json"] == []
    assert [line.split()[0] for line in findings["Bad.template.json"]] == ["E3002"]


@pytest.mark.findings
@pytest.mark.scenarios("UnencryptedLogGroup")
def test_checkov_runner_reports_failures_per_template(scenarios: Synthesized) -> None:
    """checkov's failures reach the tests by template and resource: the synthesis worker's run
    (or its cache, which a change of the runner invalidates) on the scenario that breaks the
    rules."""
    failures = scenarios.checkov_failures("UnencryptedLogGroup")
    log_group = logical_id(scenarios, "UnencryptedLogGroup", "Unencrypted")
    assert f"CKV_AWS_158 AWS::Logs::LogGroup.{log_group}" in failures
    resources = scenarios.template_json("UnencryptedLogGroup")["Resources"]
    assert all(line.split()[1].split(".")[1] in resources for line in failures), failures


def test_the_library_needs_no_feature_flag(no_feature_flags: Synthesized) -> None:
    """An app with none of cdk.json's feature flags: a platform stack and a service stack
    that references it synthesize with every rule pack and no finding or warning."""
    result = no_feature_flags
    assert result.rule_pack_violations == []
    warnings = [
        (path, data)
        for stack in result.stack_names
        for entry_type in ("aws:cdk:warning", "aws:cdk:error")
        for path, data in result.metadata_entries(stack, entry_type)
        # CDK's own advice to multi-stack apps, which the README passes on.
        if "defaultCrossStackReferences" not in str(data)
    ]
    assert warnings == []


def _violations(report: cdk.PolicyValidationPluginReportBeta1) -> list[tuple[str, str, str]]:
    return sorted(
        (violation.rule_name, resource.resource_logical_id, ",".join(sorted(resource.locations)))
        for violation in report.violations
        for resource in violation.violating_resources
    )


def test_the_faster_control_tower_run_reports_what_the_plugin_reports(tmp_path: Path) -> None:
    """Every bundled rule through the plugin itself, against the rules left after the type
    filter and the parallel screen: the same findings, on a template with many of them."""
    import jsii
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_ecs_patterns as ecs_patterns
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sqs as sqs
    from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

    from ecs_patterns_plus.compliance import ControlTowerChecks
    from ecs_patterns_plus.compliance.control_tower import _guard_bundle, _screen

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Plain", env=cdk.Environment(region="ap-northeast-2"))
    ecs_patterns.ApplicationLoadBalancedFargateService(
        stack,
        "Web",
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_registry("nginx")
        ),
    )
    logs.LogGroup(stack, "Unencrypted")
    s3.Bucket(stack, "Bucket")
    # A second template: findings that need the resources their resources reference.
    other = cdk.Stack(app, "Other", env=cdk.Environment(region="ap-northeast-2"))
    key = kms.Key(other, "Key")
    logs.LogGroup(other, "Encrypted", encryption_key=key)
    logs.LogGroup(other, "WrongKey", encryption_key=kms.Key(other, "Disabled", enabled=False))
    sqs.Queue(other, "Queue", encryption_master_key=key)
    s3.Bucket(other, "Logged", server_access_logs_bucket=s3.Bucket(other, "Target"))
    app.synth()
    templates = [str(tmp_path / f"{name}.template.json") for name in ("Plain", "Other")]

    @jsii.implements(cdk.IPolicyValidationContextBeta1)
    class Context:
        @property
        def template_paths(self) -> list[str]:
            return templates

    expected = _violations(CfnGuardValidator().validate(Context()))
    assert len({rule for rule, _, _ in expected}) > 10, "the template must break many rules"
    assert _violations(ControlTowerChecks().validate(Context())) == expected  # type: ignore[arg-type]

    # The screen keeps exactly the rule files behind those findings.
    rules = _guard_bundle().rules
    screened = _screen(rules, {path: json.loads(Path(path).read_text()) for path in templates})
    assert screened is not None
    found = {rule for rule, _, _ in expected}
    assert {name for name in rules if rules[name].names & found} == screened
    assert _screen({}, {templates[0]: {}}) is None  # nothing to screen: it cannot tell


def test_a_rule_reads_what_it_can_reach() -> None:
    """What a screened rule reads: the resources of the types it names and, transitively,
    what they reference; a rule that reaches resources any other way reads them all."""
    from ecs_patterns_plus.compliance.control_tower import _guard_bundle, _reachable, _reaches

    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
            },
            "Key": {"Type": "AWS::KMS::Key", "DependsOn": ["Role"]},
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"Description": {"Fn::Sub": "for ${Queue.Arn}"}},
            },
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": [{"Ref": "Topic"}]}},
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Task": {  # a container's DependsOn is no resource's: nothing reached, no error
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "ContainerDefinitions": [
                        {"DependsOn": [{"Condition": "START", "ContainerName": "Bucket"}]}
                    ]
                },
            },
        },
    }
    part = _reachable(template, frozenset({"AWS::Logs::LogGroup"}))
    assert sorted(part["Resources"]) == ["Key", "Logs", "Queue", "Role", "Topic"]
    assert part["AWSTemplateFormatVersion"] == "2010-09-09"
    assert _reachable(template, frozenset({"AWS::EC2::VPC"}))["Resources"] == {}
    assert list(_reachable(template, frozenset({"AWS::ECS::TaskDefinition"}))["Resources"]) == [
        "Task"
    ]

    typed = "let groups = Resources.*[ Type == %LOG_GROUP ]\nlet k = %doc.Resources[ keys == %id ]"
    assert _reaches(f'let LOG_GROUP = "AWS::Logs::LogGroup"\n{typed}') == {"AWS::Logs::LogGroup"}
    assert _reaches(f"{typed}\nlet all = Resources.*") is None
    assert _reaches(f"{typed}\nsome Resources.*.Properties.Tags exists") is None
    assert _reaches(f"{typed}\n# Resources.* in a comment") == frozenset()
    reaches = {name: rule.reaches for name, rule in _guard_bundle().rules.items()}
    assert reaches["ct-cloudwatch-pr-3"] == {"AWS::Logs::LogGroup", "AWS::KMS::Key"}
    assert sum(types is None for types in reaches.values()) < 10


def test_the_guard_package_is_unpacked_once_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from ecs_patterns_plus.compliance.control_tower import _unpacked_guard_package

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = _unpacked_guard_package()
    assert first.parent == tmp_path / "cache" / "ecs_patterns_plus"
    assert len(list((first / "rules").glob("ct-*.guard"))) > 200
    assert os.access(first / "cfn-guard", os.X_OK)
    unpacked_at = (first / "rules").stat().st_mtime_ns
    assert _unpacked_guard_package() == first
    assert (first / "rules").stat().st_mtime_ns == unpacked_at
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no staging left behind

    # A cache that cannot be written: a private copy for the process instead.
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    private = _unpacked_guard_package()
    assert not private.is_relative_to(tmp_path)
    assert len(list((private / "rules").glob("ct-*.guard"))) > 200


def test_a_linter_reads_each_template_content_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Findings are kept by template content and linter pins: unchanged templates are not
    linted again, changed ones are, and findings come back from the cache as they were."""
    from tests import validators

    monkeypatch.setattr(validators, "LINT_CACHE", tmp_path / "cache")
    first, second = tmp_path / "A.template.json", tmp_path / "B.template.json"
    first.write_text('{"Resources": {"A": {"Type": "AWS::SNS::Topic"}}}')
    second.write_text('{"Resources": {"B": {"Type": "AWS::SQS::Queue"}}}')
    read: list[list[str]] = []

    def lint(templates: list[Path]) -> dict[str, list[str]]:
        read.append(sorted(t.name for t in templates))
        return {t.name: [f"W1 {t.name}"] for t in templates if t.name.startswith("A")}

    expected = {"A.template.json": ["W1 A.template.json"], "B.template.json": []}
    assert validators._remembered("tool", [first, second], lint) == expected
    assert validators._remembered("tool", [first, second], lint) == expected
    second.write_text('{"Resources": {"B2": {"Type": "AWS::SQS::Queue"}}}')
    assert validators._remembered("tool", [first, second], lint) == expected
    assert (
        validators._remembered("other", [first], lint)["A.template.json"]
        == expected["A.template.json"]
    )
    assert read == [
        ["A.template.json", "B.template.json"],
        ["B.template.json"],
        ["A.template.json"],
    ]
