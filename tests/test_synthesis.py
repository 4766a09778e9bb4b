"""The suite's own synthesis plumbing: a test reads only what it declares; work is dealt out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.synth import Synthesized, UndeclaredError, read_outdirs
from tests.synth_worker import Plan


@pytest.fixture
def synthesized(tmp_path: Path) -> Synthesized:
    """Two stacks as a worker writes them: templates, metadata and a validation report."""
    for stack in ("Declared", "Other"):
        (tmp_path / f"{stack}.template.json").write_text(json.dumps({"Resources": {}}))
        (tmp_path / f"{stack}.metadata.json").write_text(json.dumps({}))
    violations = [
        {"ruleName": f"Rule{stack}", "violatingResources": [{"constructPath": f"{stack}/Queue"}]}
        for stack in ("Declared", "Other")
    ]
    report = {"pluginReports": [{"summary": {"pluginName": "Pack"}, "violations": violations}]}
    (tmp_path / "policy-validation-report.json").write_text(json.dumps(report))
    return read_outdirs([tmp_path])


def test_an_undeclared_stack_cannot_be_read(synthesized: Synthesized) -> None:
    view = synthesized.declared_by("test_x", frozenset({"Declared"}), findings=False)
    assert view.stack_names == ["Declared"]
    assert view.template_json("Declared") == {"Resources": {}}
    with pytest.raises(UndeclaredError, match=r"@pytest.mark.scenarios\('Other'\)"):
        view.template_json("Other")
    with pytest.raises(UndeclaredError):
        view.metadata_entries("Other", "aws:cdk:warning")  # not read as "no metadata"


def test_a_template_cached_for_one_test_is_not_readable_by_another(
    synthesized: Synthesized,
) -> None:
    synthesized.declared_by("test_a", frozenset({"Other"}), findings=False).template("Other")
    view = synthesized.declared_by("test_b", frozenset({"Declared"}), findings=False)
    with pytest.raises(UndeclaredError):
        view.template("Other")


def test_findings_are_read_only_when_declared(synthesized: Synthesized) -> None:
    view = synthesized.declared_by("test_x", frozenset({"Declared"}), findings=False)
    for read in (
        lambda: view.rule_pack_violations,
        lambda: view.checkov_failures("Declared"),
        lambda: view.cfn_lint_findings("Declared"),
    ):
        with pytest.raises(UndeclaredError, match=r"@pytest.mark.findings"):
            read()
    declared = synthesized.declared_by("test_x", frozenset({"Declared"}), findings=True)
    assert declared.rule_pack_violations == ["Pack: RuleDeclared at ['Declared/Queue']"]


def test_work_is_dealt_once_each_by_load() -> None:
    plan = Plan(example=True, lint_example=True, scenarios={"A", "B", "C", "D"}, checked={"A"})
    shares = plan.deal(2)
    assert [share.example for share in shares] == [True, False]
    dealt = [name for share in shares for name in (*share.checked, *share.scenarios)]
    assert sorted(dealt) == ["A", "B", "C", "D"]
    assert [name for share in shares for name in share.checked] == ["A"]
    assert shares[1].checked == ["A"]  # the first share already carries the example app
    assert Plan(scenarios={"A"}).deal(2) == Plan(scenarios={"A"}).deal(1)  # no idle workers
