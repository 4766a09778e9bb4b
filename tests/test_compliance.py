"""Every example stack and every compliant scenario: zero unacknowledged findings anywhere.

The rule packs (cdk-nag AwsSolutions, NIST 800-53 R5, HIPAA, PCI DSS 3.2.1, Serverless and
the Control Tower guard rules) run as validation plugins during synth; checkov and cfn-lint
run on the written templates. Acknowledgements must come from COMPLIANCE.md's table.
"""

from __future__ import annotations

import re

import pytest

from tests.scenarios import load_all
from tests.synth import Synthesized
from tests.validators import cfn_lint_findings, checkov_failures

EXAMPLE_STACKS = ["Batch", "Network", "Platform", "WebService"]
COMPLIANT_SCENARIOS = [name for name, item in load_all().items() if item.compliant]

_REGULATORY = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")


def _regulatory(rule: str, where: str) -> dict[str, str]:
    return {f"{pack}-{rule}": where for pack in _REGULATORY}


# COMPLIANCE.md's "What may be acknowledged" table: rule id -> where (construct path regex).
ALLOWED_RULES: dict[str, str] = {
    # ExecutionRole: ecr:GetAuthorizationToken; TaskRole: ssmmessages (ECS Exec); InstanceRole:
    # ecs:DiscoverPollEndpoint (compliance.ECS_AGENT); SchedulerRole: ecs:TagResource while
    # RunTask creates the task (compliance.TASK_TAGGING). None has resource-level permissions.
    "AwsSolutions-IAM5[Resource::*]": r"/(ExecutionRole|TaskRole|InstanceRole|SchedulerRole)/",
    **_regulatory("IAMNoInlinePolicy", r"/"),
    "AwsSolutions-EC23": r"/SecurityGroup$",
    **_regulatory("VPCNoUnrestrictedRouteToIGW", r"/PublicSubnet\d+$"),
    **_regulatory("S3DefaultEncryptionKMS", r"LogsBucket$"),
    **_regulatory("S3BucketReplicationEnabled", r"LogsBucket$"),
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSCodeDeployRoleForECS]": r"/",
    # The ECS-native twin of the CodeDeploy row: the AWS-maintained policy ECS blue/green,
    # canary and linear deployments need to shift listener rules (compliance.ECS_BLUE_GREEN_ROLE).
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]": r"/TrafficShiftRole$",
    "AwsSolutions-IAM5": r"Role",
    # cdk-nag reads AutoScalingGroup.LaunchTemplate only, not MixedInstancesPolicy.LaunchTemplate
    # (which CT.AUTOSCALING.PR.6 requires); the launch template itself passes CT.EC2.PR.1/.14
    # and checkov (compliance.MIXED_INSTANCES_LAUNCH_TEMPLATE).
    "AwsSolutions-EC26": r"/Capacity[A-Za-z0-9]+/AutoScalingGroup$",
    "NIST.800.53.R5-EC2IMDSv2Enabled": r"/Capacity[A-Za-z0-9]+/AutoScalingGroup$",
    "HIPAA.Security-EC2IMDSv2Enabled": r"/Capacity[A-Za-z0-9]+/AutoScalingGroup$",
    "AwsSolutions-SQS3": r"DeadLetterQueue",
    "Serverless-SQSRedrivePolicy": r"DeadLetterQueue",
    # The Control Tower twin of Serverless-SQSRedrivePolicy, on the dead-letter queue itself.
    "cdk-validator-cfnguard::sqs_dlq_check": r"DeadLetterQueue",
    **_regulatory("ELBv2ACMCertificateRequired", r"/(Redirect80To443|SecurityGroup)$"),
    # Control Tower twins of table rows (same check, same resource, same reason).
    "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check": r"LogsBucket$",
    "cdk-validator-cfnguard::s3_bucket_logging_enabled_check": r"/ServerAccessLogsBucket$",
    # Any `environment` at all fails AwsSolutions-ECS2; HardenedTaskDefinition refuses
    # secret-like names and credential-like values, so what remains is plain configuration.
    "AwsSolutions-ECS2": r"/TaskDefinition$",
    # CT.LAMBDA.PR.3 = checkov CKV_AWS_117, on CDK's own custom-resource Lambdas.
    "cdk-validator-cfnguard::lambda_inside_vpc_check": r"/Custom::[A-Za-z]+CustomResourceProvider/Handler$",
    # aws-cdk-lib acknowledges these of its own CloudFormation-Validate findings.
    "CloudFormation-Validate::W3010": r"",
    "CloudFormation-Validate::F3002": r"/FlowLog",
    "CloudFormation-Validate::F3003": r"/FlowLog",
}
ALLOWED_CHECKOV = {"CKV_AWS_18", "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_260"}
ALLOWED_CFN_LINT = {"W3005"}


def _checks(synth: Synthesized, stack: str) -> None:
    findings = [line for line in synth.rule_pack_violations if f"'{stack}/" in line]
    assert findings == [], "rule-pack findings"
    template = synth.path(stack)
    assert checkov_failures(template.parent).get(template.name, []) == []
    assert cfn_lint_findings(template) == []


def _acknowledgements(synth: Synthesized, stack: str) -> None:
    for path, data in synth.metadata_entries(stack, "aws:cdk:acknowledged-rules"):
        for rule, reason in data.items():
            rule_id = rule.removeprefix("Annotation::")
            assert rule_id in ALLOWED_RULES, f"{rule_id} acknowledged at {path}: not in the table"
            assert re.search(ALLOWED_RULES[rule_id], path), f"{rule_id} acknowledged at {path}"
            assert reason.strip(), f"{rule_id} at {path} has no reason"
    template = synth.template_json(stack)
    for logical_id, resource in template["Resources"].items():
        metadata = resource.get("Metadata", {})
        for skip in metadata.get("checkov", {}).get("skip", []):
            assert skip["id"] in ALLOWED_CHECKOV, f"checkov {skip['id']} skipped on {logical_id}"
            assert skip["comment"].strip()
        ignored = set(metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", []))
        assert ignored <= ALLOWED_CFN_LINT, f"cfn-lint {ignored} ignored on {logical_id}"


def _warnings(synth: Synthesized, stack: str) -> None:
    for entry_type in ("aws:cdk:warning", "aws:cdk:error"):
        assert synth.metadata_entries(stack, entry_type) == []


def test_example_app_lists_every_stack(example: Synthesized) -> None:
    assert example.stack_names == sorted(EXAMPLE_STACKS)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stack_has_no_findings(example: Synthesized, stack: str) -> None:
    _checks(example, stack)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stack_acknowledges_only_the_table(example: Synthesized, stack: str) -> None:
    _acknowledgements(example, stack)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stack_has_no_warnings(example: Synthesized, stack: str) -> None:
    _warnings(example, stack)


@pytest.mark.parametrize("stack", COMPLIANT_SCENARIOS)
def test_scenario_has_no_findings(scenarios: Synthesized, stack: str) -> None:
    _checks(scenarios, stack)


@pytest.mark.parametrize("stack", sorted(load_all()))
def test_scenario_acknowledges_only_the_table(scenarios: Synthesized, stack: str) -> None:
    _acknowledgements(scenarios, stack)
