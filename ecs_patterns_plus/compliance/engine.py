"""The rule packs every stack must pass, registered as CDK validation plugins.

``enable_compliance_checks(app)`` registers cdk-nag (AwsSolutions, NIST 800-53 R5,
HIPAA Security, PCI DSS 3.2.1, Serverless) and the AWS Control Tower proactive
controls (cfn-guard) as CDK validation plugins: ``cdk synth`` fails on any
unacknowledged finding. checkov and cfn-lint run on the synthesized templates.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import jsii


def enable_compliance_checks(app: cdk.App, *, control_tower: bool = True) -> None:
    """Register every rule pack of the library's compliance bar as CDK validation plugins.

    Needs the ``compliance`` extra (cdk-nag 3.x and cdklabs.cdk-validator-cfnguard).

    Args:
        app: the CDK app; findings anywhere in it fail ``cdk synth``.
        control_tower: also run the AWS Control Tower proactive controls (cfn-guard).
            Default: True.
    """
    from cdk_nag import (
        AwsSolutionsChecks,
        HIPAASecurityChecks,
        NIST80053R5Checks,
        PCIDSS321Checks,
        ServerlessChecks,
    )

    plugins: list[cdk.IPolicyValidationPlugin] = [
        AwsSolutionsChecks(),
        NIST80053R5Checks(),
        HIPAASecurityChecks(),
        PCIDSS321Checks(),
        ServerlessChecks(),
    ]
    if control_tower:
        plugins.append(ControlTowerChecks())  # type: ignore[arg-type]
    cdk.Validations.of(app).add_plugins(*plugins)


_RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
_REPORTS_ON = re.compile(r"^# Reports on:\n((?:#   \S+\n)+)", re.MULTILINE)
_RULE_NAME = re.compile(r"^rule\s+([A-Za-z0-9_]+)", re.MULTILINE)
_GUARD_RULES = "package/rules/control-tower/"
_GUARD_PLATFORMS = {"Linux": "ubuntu", "Darwin": "macos"}
"""The plugin's names for the platforms its bundled ``cfn-guard`` binaries run on."""
_GUARD_ARCHITECTURES = {
    "x86_64": "x86_64",
    "AMD64": "x86_64",
    "arm64": "aarch64",
    "aarch64": "aarch64",
}
_GUARD_RAN = (0, 5, 19)
"""``cfn-guard validate`` exit codes of a completed run (19, 5: some rule is not compliant)."""


@dataclass(frozen=True)
class _GuardRule:
    """One bundled Control Tower guard rule: its file, the resource types it reports on and the
    names of the rules it declares."""

    path: str
    types: frozenset[str]
    names: frozenset[str]


@dataclass(frozen=True)
class _GuardBundle:
    """The plugin's bundled Control Tower rules, by file stem (``ct-ecs-pr-3``), and its
    ``cfn-guard`` binary for this machine (None where the plugin ships none)."""

    rules: dict[str, _GuardRule]
    binary: Path | None


@functools.cache
def _guard_bundle() -> _GuardBundle:
    """The plugin's rules and binary, read once per process from their unpacked copy.

    Every rule's header names the types it reports on (``# Reports on:``); a rule finds
    nothing in a template without them, whatever other types its checks look up. A rule
    without that header counts every type it mentions.
    """
    directory = _unpacked_guard_package()
    rules: dict[str, _GuardRule] = {}
    for path in sorted((directory / "rules").glob("*.guard")):
        text = path.read_text()
        header = _REPORTS_ON.search(text)
        types = frozenset(_RESOURCE_TYPE.findall(header.group(1) if header else text))
        rules[path.stem] = _GuardRule(str(path), types, frozenset(_RULE_NAME.findall(text)))
    binary = directory / "cfn-guard"
    return _GuardBundle(rules, binary if binary.exists() else None)


def _unpacked_guard_package() -> Path:
    """The plugin's Control Tower rules (``rules/<stem>.guard``) and its ``cfn-guard`` binary
    for this machine, unpacked once per plugin version into the user's cache directory, as
    jsii unpacks the package itself (reading its 12 MB archive costs every process 0.15 s).
    Where that directory cannot be written, into a temporary directory for this process.
    """
    import cdklabs.cdk_validator_cfnguard as guard

    (bundle,) = (Path(guard.__file__).parent / "_jsii").glob("*.tgz")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecs_patterns_plus"
    target = cache / f"{bundle.stem}-{bundle.stat().st_size}"
    if target.is_dir():
        return target
    try:
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=cache))
    except OSError:
        staging = Path(tempfile.mkdtemp(prefix="cfn-guard-"))
        atexit.register(shutil.rmtree, staging, ignore_errors=True)
        target = staging
    system = _GUARD_PLATFORMS.get(platform.system())
    architecture = _GUARD_ARCHITECTURES.get(platform.machine())
    binary = f"package/bin/{system}/{architecture}/cfn-guard"
    (staging / "rules").mkdir()
    with tarfile.open(bundle, "r|gz") as archive:  # one pass over the stream
        for member in archive:
            if member.name.startswith(_GUARD_RULES) and member.name.endswith(".guard"):
                content = archive.extractfile(member).read()  # type: ignore[union-attr]
                (staging / "rules" / Path(member.name).name).write_bytes(content)
            elif member.name == binary:
                content = archive.extractfile(member).read()  # type: ignore[union-attr]
                (staging / "cfn-guard").write_bytes(content)
                (staging / "cfn-guard").chmod(0o755)
    if staging != target:
        try:
            staging.rename(target)  # complete or absent: concurrent processes race safely
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process was first
    return target


def _control_tower_rule_types() -> dict[str, frozenset[str]]:
    """Each bundled Control Tower guard rule (file stem) -> the resource types it reports on."""
    return {name: rule.types for name, rule in _guard_bundle().rules.items()}


@jsii.implements(cdk.IPolicyValidationPluginBeta1)
class ControlTowerChecks:
    """The AWS Control Tower proactive controls (``cdklabs.cdk-validator-cfnguard``), sped up.

    Findings, acknowledgements and the plugin name (``cdk-validator-cfnguard``) are the
    plugin's own; only which rule files it is handed changes:

    - rules that report on resource types none of the templates has cannot fail and are
      left out;
    - the rules left are screened first by the plugin's own ``cfn-guard`` binary, split
      across the machine's cores (``cfn-guard`` spends most of its time per rule file and
      template, on one core); the plugin then runs, and reports, only the rule files that
      found something. If the screen cannot run, the plugin runs every rule left.

    The rules are handed over as rule files (unpacked from the plugin's package), not through
    the plugin's ``disabled_rules`` (when the rules left happen to be as many as its rule
    directories, it runs them all).
    """

    @property
    def name(self) -> str:
        return "cdk-validator-cfnguard"

    def validate(
        self, context: cdk.IPolicyValidationContextBeta1
    ) -> cdk.PolicyValidationPluginReportBeta1:
        from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

        templates = list(context.template_paths)
        present: set[str] = set()
        for template_path in templates:
            resources = json.loads(Path(template_path).read_text()).get("Resources", {})
            present.update(resource.get("Type", "") for resource in resources.values())
        idle = set(idle_control_tower_rules(present))
        paths = {
            name: rule.path
            for name, rule in sorted(_guard_bundle().rules.items())
            if name not in idle
        }
        found = _screen(paths, templates)
        if found is not None:
            paths = {name: path for name, path in paths.items() if name in found}
        if not paths:
            return cdk.PolicyValidationPluginReportBeta1(success=True, violations=[])
        validator = CfnGuardValidator(control_tower_rules_enabled=False, rules=[*paths.values()])
        return validator.validate(context)


def _screen(paths: dict[str, str], templates: list[str]) -> set[str] | None:
    """The rule files (stems of ``paths``) that find something in ``templates``.

    Runs ``cfn-guard`` on as many cores as there are, each on a share of the rule files.
    None when it cannot tell (no binary, a run that did not complete, output it cannot
    read): then every rule file must run.
    """
    binary = _guard_bundle().binary
    if binary is None or not paths or not templates:
        return None
    shares = min(len(paths), os.cpu_count() or 1)
    names = list(paths)
    data = [flag for template in templates for flag in ("--data", template)]
    runs = [
        subprocess.Popen(
            [
                str(binary),
                "validate",
                *(flag for name in names[share::shares] for flag in ("--rules", paths[name])),
                *data,
                "--output-format",
                "json",
                "--show-summary",
                "none",
                "--structured",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for share in range(shares)
    ]
    failing: set[str] = set()
    complete = True
    for run in runs:
        output, _ = run.communicate()
        try:
            results = json.loads(output or b"[]")
            failing.update(
                entry["Rule"]["name"]
                for result in results
                for entry in (result.get("not_compliant") or [])
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            complete = False
        complete = complete and run.returncode in _GUARD_RAN
    rules = _guard_bundle().rules
    declared = {rule_name for name in paths for rule_name in rules[name].names}
    if not complete or not failing <= declared:
        return None
    return {name for name in paths if rules[name].names & failing}


def idle_control_tower_rules(present: set[str]) -> list[str]:
    """The Control Tower rules that check only resource types outside ``present``."""
    return sorted(
        rule for rule, types in _control_tower_rule_types().items() if types and not types & present
    )
