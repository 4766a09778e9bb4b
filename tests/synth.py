"""Synthesize an app once, with the rule packs on, and read back what CDK wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from ecs_patterns_plus.review.templates import assembly_stacks

ROOT = Path(__file__).resolve().parent.parent
FEATURE_FLAGS: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]


def new_app(outdir: Path | None = None, *, validation: bool = True, **context: Any) -> cdk.App:
    """An App with cdk.json's context (feature flags and example config), plus ``context``.

    ``validation=False`` leaves out aws-cdk-lib's built-in CloudFormation validation, for
    apps a test builds to read a template in this process: it costs seconds per synthesis,
    and every scenario and example stack is validated by the synthesis workers anyway.
    """
    return cdk.App(
        outdir=str(outdir) if outdir else None,
        builtin_cloud_formation_validation=validation,
        context={
            **FEATURE_FLAGS,
            "@aws-cdk/core:validationReportJson": True,
            "aws:cdk:version-reporting": False,
            # As `cdk synth` writes them: every resource names its construct path.
            "aws:cdk:enable-path-metadata": True,
            **context,
        },
    )


CHECKOV_RESULTS = "checkov-failures.json"
CFN_LINT_RESULTS = "cfn-lint-findings.json"
"""checkov's and cfn-lint's findings, written beside the templates they were run on."""


class UndeclaredError(LookupError):
    """A test read a stack, or findings, it did not declare."""


@dataclass
class Synthesized:
    """What one or more ``app.synth()`` runs wrote: templates, metadata, rule-pack reports,
    and checkov's and cfn-lint's findings where they were run.

    ``outdirs`` are the cloud-assembly directories (several when an app is synthesized in
    parts, in parallel); each stack lives in exactly one of them.
    """

    outdirs: list[Path]
    stack_names: list[str]
    synth_errors: list[str] = field(default_factory=list)
    declared: frozenset[str] | None = None
    """The only stacks that may be read (None: all of them); see ``declared_by``."""
    findings: bool = True
    """Whether the findings of the rule packs, checkov and cfn-lint may be read."""
    test: str = ""
    files: dict[str, Path] = field(default_factory=dict)
    """Each stack's template file, by stack name."""
    _templates: dict[str, Template] = field(default_factory=dict, repr=False)

    def declared_by(
        self, test: str, stacks: frozenset[str] | None, *, findings: bool
    ) -> Synthesized:
        """What ``test`` may read of this: the ``stacks`` it declares (None: all), and their
        findings only if it declares those too."""
        outdirs, names, files = self.outdirs, self.stack_names, self.files
        if stacks is not None:
            names = [name for name in names if name in stacks]
            files = {name: files[name] for name in names}
            outdirs = [d for d in outdirs if any(d in path.parents for path in files.values())]
        return replace(
            self,
            outdirs=outdirs,
            stack_names=names,
            files=files,
            declared=stacks,
            findings=findings,
            test=test,
            _templates=self._templates,
        )

    def _check_declared(self, stack: str) -> None:
        if self.declared is not None and stack not in self.declared:
            raise UndeclaredError(
                f"{self.test} reads scenario {stack!r} without declaring it: add "
                f"@pytest.mark.scenarios({stack!r}) to the test (or to its module's pytestmark; "
                "a parametrized test can declare its parameter: "
                '@pytest.mark.scenarios(param="stack"))'
            )

    def _check_findings(self) -> None:
        if not self.findings:
            raise UndeclaredError(
                f"{self.test} reads rule-pack, checkov or cfn-lint findings without declaring "
                "them: mark it @pytest.mark.findings"
            )

    @property
    def outdir(self) -> Path:
        (only,) = self.outdirs
        return only

    def path(self, stack: str, suffix: str = ".template.json") -> Path:
        """The file ``<stack><suffix>`` in whichever output directory holds the stack."""
        self._check_declared(stack)
        if stack not in self.files:
            raise FileNotFoundError(f"no stack {stack!r} in {self.outdirs}")
        template = self.files[stack]
        return template.with_name(template.name.removesuffix(".template.json") + suffix)

    def construct_path(self, stack: str) -> str:
        """The stack's construct path (``Dev/Network`` for the stack ``Dev-Network``)."""
        return stack.replace("-", "/")

    def template_json(self, stack: str) -> dict[str, Any]:
        return json.loads(self.path(stack).read_text())

    def template(self, stack: str) -> Template:
        """The stack's template as an assertions.Template (cached)."""
        self._check_declared(stack)
        if stack not in self._templates:
            self._templates[stack] = Template.from_json(self.template_json(stack))
        return self._templates[stack]

    def metadata(self, stack: str) -> dict[str, list[dict[str, Any]]]:
        try:
            return json.loads(self.path(stack, ".metadata.json").read_text())
        except FileNotFoundError:
            return {}

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
        """One line per unacknowledged finding of the validation plugins (in declared stacks)."""
        self._check_findings()
        lines = []
        for outdir in self.outdirs:
            report_path = outdir / "policy-validation-report.json"
            if not report_path.exists():
                lines.append(f"no validation report in {outdir}; synth errors: {self.synth_errors}")
                continue
            report = json.loads(report_path.read_text())
            lines += [
                f"{plugin['summary']['pluginName']}: {violation['ruleName']} at "
                f"{[r.get('constructPath') for r in violation['violatingResources']]}"
                for plugin in report["pluginReports"]
                for violation in plugin["violations"]
                if self.declared is None
                or not self.declared.isdisjoint(map(_stack_of, violation["violatingResources"]))
            ]
        return lines

    def checkov_failures(self, stack: str) -> list[str]:
        """checkov's failed checks in the stack's template: ``CKV_ID resource`` lines."""
        self._check_findings()
        template = self.path(stack)
        return list(_lint_results(template.parent / CHECKOV_RESULTS).get(template.name, []))

    def cfn_lint_findings(self, stack: str) -> list[str]:
        """cfn-lint's errors and warnings in the stack's template (informational ones left out)."""
        self._check_findings()
        template = self.path(stack)
        return list(_lint_results(template.parent / CFN_LINT_RESULTS)[template.name])


@cache
def _lint_results(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: checkov and cfn-lint were not run on these templates")
    return dict(json.loads(path.read_text()))


def _stack_of(resource: dict[str, Any]) -> str:
    """The stack of a validation report's violating resource (cdk-nag gives no template)."""
    if resource.get("constructPath"):
        return str(resource["constructPath"]).split("/")[0]
    return Path(resource["templatePath"]).name.removesuffix(".template.json")


def read_outdirs(outdirs: list[Path]) -> Synthesized:
    """The stacks written to ``outdirs``, the stages' nested assemblies included."""
    files = {name: path for outdir in outdirs for name, path in stack_files(outdir).items()}
    return Synthesized(outdirs=outdirs, stack_names=sorted(files), files=files)


def stack_files(assembly: Path) -> dict[str, Path]:
    """Each stack of a cloud assembly (and of its stages' assemblies) by name, to its template
    (``assembly_stacks``: ``ServiceDefaults``, ``Dev-Network``); templates without a manifest
    are named after their files."""
    if not (assembly / "manifest.json").exists():
        return {p.name.removesuffix(".template.json"): p for p in assembly.glob("*.template.json")}
    return {name: stack.template for name, stack in assembly_stacks(assembly).items()}


def synthesize(app: cdk.App) -> Synthesized:
    """Synthesize ``app`` into its outdir; validation failures are kept for the tests to read."""
    error = None
    try:
        assembly = app.synth()
        outdir = Path(assembly.directory)
    except RuntimeError as exc:  # the rule packs failed: templates and the report are written
        error = str(exc)
        outdir = Path(app.outdir)
    result = read_outdirs([outdir])
    if error:
        result.synth_errors.append(error)
    return result
