"""checkov and cfn-lint on synthesized templates, each run once per synthesis worker on the
templates they have not linted before (``LINT_CACHE``).

The synthesis workers run both right after synthesizing (``lint_outdirs``), in parallel,
and leave the results beside the templates; the tests read them back
(``Synthesized.checkov_failures`` and ``Synthesized.cfn_lint_findings``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.synth import CFN_LINT_RESULTS, CHECKOV_RESULTS, ROOT

CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".tools" / "checkov" / "bin" / "checkov"))
CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def lint_outdirs(outdirs: list[Path]) -> None:
    """Run checkov and cfn-lint once each on every template in ``outdirs`` and their stages'
    assemblies (template names are unique across them) that they have not read before; write
    the findings into each directory that holds templates."""
    templates = [t for d in outdirs for t in sorted(d.rglob("*.template.json"))]
    # The two linters are separate processes: run them side by side (a cold cache lints
    # every template, and the tests wait for both).
    with ThreadPoolExecutor(max_workers=2) as pool:
        checkov_run = pool.submit(_remembered, "checkov", templates, _run_checkov)
        cfn_lint_run = pool.submit(_remembered, "cfn-lint", templates, _run_cfn_lint)
        checkov = json.dumps(checkov_run.result())
        cfn_lint = json.dumps(cfn_lint_run.result())
    for folder in {template.parent for template in templates}:
        (folder / CHECKOV_RESULTS).write_text(checkov)
        (folder / CFN_LINT_RESULTS).write_text(cfn_lint)


LINT_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecs_patterns_plus" / "lint"
)
"""Findings by template content, linter pins and this module (which runs the linters and reads
their reports), as mypy keeps its cache: a template the pinned linter has read before is not
read again (both linters are deterministic)."""
_PINS = ("requirements-dev.txt", "requirements-checkov.txt", "tests/validators.py")


def _remembered(
    tool: str, templates: list[Path], run: Callable[[list[Path]], dict[str, list[str]]]
) -> dict[str, list[str]]:
    """``run``'s findings by template name, running it only on templates whose content it
    has not linted with the same pins."""
    pins = hashlib.sha256(tool.encode())
    for name in _PINS:
        pins.update((ROOT / name).read_bytes())
    found: dict[str, list[str]] = {}
    unread: dict[Path, Path] = {}
    for template in templates:
        entry = (
            LINT_CACHE
            / tool
            / f"{hashlib.sha256(pins.digest() + template.read_bytes()).hexdigest()}.json"
        )
        if entry.is_file():
            found[template.name] = json.loads(entry.read_text())
        else:
            unread[template] = entry
    if unread:
        fresh = run(list(unread))
        for template, entry in unread.items():
            found[template.name] = fresh.get(template.name, [])
            entry.parent.mkdir(parents=True, exist_ok=True)
            staging = entry.with_suffix(f".{os.getpid()}")
            staging.write_text(json.dumps(found[template.name]))
            staging.replace(entry)  # whole or absent: workers may race
    return found


def _run_checkov(templates: list[Path]) -> dict[str, list[str]]:
    """checkov's failed checks by template file name, from one checkov run (one ``-f`` per
    template: with several ``-d``, checkov 3.3 scans the first directory repeatedly)."""
    if not templates:
        return {}
    if not CHECKOV.exists():
        raise RuntimeError(f"checkov is not installed at {CHECKOV}: run `make setup`")
    result = subprocess.run(
        [
            str(CHECKOV),
            *(arg for template in templates for arg in ("-f", str(template))),
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


def _run_cfn_lint(templates: list[Path]) -> dict[str, list[str]]:
    """cfn-lint errors and warnings by template file name, from one cfn-lint run."""
    findings: dict[str, list[str]] = {path.name: [] for path in templates}
    if not templates:
        return findings
    result = subprocess.run(
        [str(CFN_LINT), "--format", "json", "--", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) or not result.stdout.strip():
        raise RuntimeError(f"cfn-lint failed ({result.returncode}): {result.stderr[-2000:]}")
    for match in json.loads(result.stdout):
        if match["Filename"] is None:
            raise RuntimeError(f"cfn-lint could not run: {match['Message']}")
        if match["Level"] in ("Error", "Warning"):
            path = "/".join(map(str, match["Location"]["Path"]))
            findings[Path(match["Filename"]).name].append(
                f"{match['Rule']['Id']} {match['Message']} ({path})"
            )
    return findings
