"""Synthesize an app once, with the rule packs on, and read back what CDK wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

ROOT = Path(__file__).resolve().parent.parent
FEATURE_FLAGS: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]


def new_app(outdir: Path | None = None, **context: Any) -> cdk.App:
    """An App with cdk.json's context (feature flags and example config), plus ``context``."""
    return cdk.App(
        outdir=str(outdir) if outdir else None,
        context={
            **FEATURE_FLAGS,
            "@aws-cdk/core:validationReportJson": True,
            "aws:cdk:version-reporting": False,
            # As `cdk synth` writes them: every resource names its construct path.
            "aws:cdk:enable-path-metadata": True,
            **context,
        },
    )


@dataclass
class Synthesized:
    """The result of one ``app.synth()``: templates, metadata and the rule-pack report."""

    outdir: Path
    stack_names: list[str]
    synth_error: str | None = None
    _templates: dict[str, Template] = field(default_factory=dict, repr=False)

    def template_json(self, stack: str) -> dict[str, Any]:
        return json.loads((self.outdir / f"{stack}.template.json").read_text())

    def template(self, stack: str) -> Template:
        """The stack's template as an assertions.Template (cached)."""
        if stack not in self._templates:
            self._templates[stack] = Template.from_json(self.template_json(stack))
        return self._templates[stack]

    def metadata(self, stack: str) -> dict[str, list[dict[str, Any]]]:
        path = self.outdir / f"{stack}.metadata.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def metadata_entries(self, stack: str, entry_type: str) -> list[tuple[str, Any]]:
        """(construct path, data) for every metadata entry of ``entry_type`` in ``stack``."""
        return [
            (path, entry["data"])
            for path, entries in self.metadata(stack).items()
            for entry in entries
            if entry["type"] == entry_type
        ]

    @cached_property
    def rule_pack_violations(self) -> list[str]:
        """One line per unacknowledged finding of the validation plugins."""
        report_path = self.outdir / "policy-validation-report.json"
        if not report_path.exists():
            return [f"no validation report; synth error: {self.synth_error}"]
        report = json.loads(report_path.read_text())
        return [
            f"{plugin['summary']['pluginName']}: {violation['ruleName']} at "
            f"{[r.get('constructPath') for r in violation['violatingResources']]}"
            for plugin in report["pluginReports"]
            for violation in plugin["violations"]
        ]


def synthesize(app: cdk.App) -> Synthesized:
    """Synthesize ``app`` into its outdir; validation failures are kept for the tests to read."""
    error = None
    try:
        assembly = app.synth()
        outdir = Path(assembly.directory)
    except RuntimeError as exc:  # the rule packs failed: templates and the report are written
        error = str(exc)
        outdir = Path(app.outdir)
    stacks = sorted(p.name.removesuffix(".template.json") for p in outdir.glob("*.template.json"))
    return Synthesized(outdir=outdir, stack_names=stacks, synth_error=error)
