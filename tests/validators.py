"""checkov and cfn-lint on synthesized templates, each run once per output directory.

The synthesis workers run both right after synthesizing (``lint_outdir``), in parallel,
and leave the results beside the templates; the tests read them back.
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path

from cfnlint import api as cfnlint_api

from tests.synth import ROOT

CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".tools" / "checkov" / "bin" / "checkov"))


CHECKOV_RESULTS = "checkov-failures.json"
CFN_LINT_RESULTS = "cfn-lint-findings.json"


def lint_outdir(outdir: Path) -> None:
    """Run checkov and cfn-lint on every template in ``outdir``; write their findings there."""
    (outdir / CHECKOV_RESULTS).write_text(json.dumps(_run_checkov(outdir)))
    findings = {path.name: _run_cfn_lint(path) for path in sorted(outdir.glob("*.template.json"))}
    (outdir / CFN_LINT_RESULTS).write_text(json.dumps(findings))


@cache
def checkov_failures(outdir: Path) -> dict[str, list[str]]:
    """checkov failures by template file name: ``CKV_ID resource`` lines."""
    saved = outdir / CHECKOV_RESULTS
    return json.loads(saved.read_text()) if saved.exists() else _run_checkov(outdir)


@cache
def cfn_lint_findings(template_path: Path) -> list[str]:
    """Every cfn-lint error and warning (informational matches are left out)."""
    saved = template_path.parent / CFN_LINT_RESULTS
    if saved.exists():
        return list(json.loads(saved.read_text())[template_path.name])
    return _run_cfn_lint(template_path)


def _run_checkov(outdir: Path) -> dict[str, list[str]]:
    if not CHECKOV.exists():
        raise RuntimeError(f"checkov is not installed at {CHECKOV}: run `make setup`")
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(outdir),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr[-2000:]}")
    report = json.loads(result.stdout or "{}")
    reports = report if isinstance(report, list) else [report]
    failures: dict[str, list[str]] = {}
    for item in reports:
        for check in item.get("results", {}).get("failed_checks", []):
            name = Path(check["file_path"]).name
            failures.setdefault(name, []).append(f"{check['check_id']} {check['resource']}")
    return failures


def _run_cfn_lint(template_path: Path) -> list[str]:
    matches = cfnlint_api.lint_file(template_path)
    return [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if m.rule.id[0] in "EW"
    ]
