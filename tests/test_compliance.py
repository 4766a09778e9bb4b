"""Every example stack and every compliant scenario: zero unacknowledged findings anywhere.

The rule packs (cdk-nag AwsSolutions, NIST 800-53 R5, HIPAA, PCI DSS 3.2.1, Serverless and
the Control Tower guard rules) run as validation plugins during synth; checkov and cfn-lint
run on the written templates. Acknowledgements must come from the table of
docs/compliance.md, which is the library's catalogue.
"""

from __future__ import annotations

import pytest

from ecs_patterns_plus import compliance
from stacks.config import PREFIX
from stacks.stage import STACKS
from tests.compliance_table import allowed, rows
from tests.scenarios import load_all
from tests.synth import FEATURE_FLAGS, Synthesized

EXAMPLE_STAGES = [stage["name"].capitalize() for stage in FEATURE_FLAGS[f"{PREFIX}:stages"]]
EXAMPLE_STACKS = sorted(
    ["Pipeline", *(f"{stage}-{stack}" for stage in EXAMPLE_STAGES for stack in STACKS)]
)
"""The pipeline and every stack of every stage of cdk.json's configuration: ``Dev-Network``, ..."""
COMPLIANT_SCENARIOS = [name for name, item in load_all().items() if item.compliant]

ALLOWED_CHECKOV = {skip for row in rows() for skip in row.checkov}
ALLOWED_CFN_LINT = {check for row in rows() for check in row.cfn_lint}


def _checks(synth: Synthesized, stack: str) -> None:
    findings = [
        line for line in synth.rule_pack_violations if f"'{synth.construct_path(stack)}/" in line
    ]
    assert findings == [], "rule-pack findings"
    assert synth.checkov_failures(stack) == []
    assert synth.cfn_lint_findings(stack) == []


def _acknowledgements(synth: Synthesized, stack: str) -> None:
    for path, data in synth.metadata_entries(stack, "aws:cdk:acknowledged-rules"):
        for rule, reason in data.items():
            rule_id = rule.removeprefix("Annotation::")
            assert allowed(rule_id, path), f"{rule_id} acknowledged at {path}: no row allows it"
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


@pytest.mark.findings
@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stack_has_no_findings(example: Synthesized, stack: str) -> None:
    _checks(example, stack)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stack_acknowledges_only_the_table(example: Synthesized, stack: str) -> None:
    _acknowledgements(example, stack)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stack_has_no_warnings(example: Synthesized, stack: str) -> None:
    _warnings(example, stack)


@pytest.mark.findings
@pytest.mark.parametrize("stack", COMPLIANT_SCENARIOS)
@pytest.mark.scenarios(param="stack")
def test_scenario_has_no_findings(scenarios: Synthesized, stack: str) -> None:
    _checks(scenarios, stack)


@pytest.mark.parametrize("stack", sorted(load_all()))
@pytest.mark.scenarios(param="stack")
def test_scenario_acknowledges_only_the_table(scenarios: Synthesized, stack: str) -> None:
    _acknowledgements(scenarios, stack)


def test_the_table_is_the_catalogue_the_library_applies() -> None:
    documented = {row.name: row for row in rows() if row.name}
    catalogue = {
        name: value
        for name, value in vars(compliance).items()
        if isinstance(value, compliance.Acknowledgement)
    }
    assert sorted(documented) == sorted(catalogue)
    for name, item in catalogue.items():
        row = documented[name]
        assert (set(item.rules), set(item.checkov), set(item.cfn_lint)) == (
            row.rules,
            row.checkov,
            row.cfn_lint,
        ), name
