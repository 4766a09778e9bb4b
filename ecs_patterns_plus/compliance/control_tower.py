"""The AWS Control Tower proactive controls (``cdklabs.cdk-validator-cfnguard``), with less work.

The plugin runs every bundled guard rule over every template, one ``cfn-guard`` process
on one core, and ``cfn-guard`` spends its time per rule file in proportion to the
template it reads (about 30 ms per rule on a 200-resource template). ``ControlTowerChecks``
hands the plugin only the rule files that can find something, decided in three steps:

1. A rule that reports only on resource types no template has is left out.
2. The rules left are screened by the plugin's own ``cfn-guard`` binary, run on every core.
   Each rule reads a template cut down to what it can reach: the resources of the types it
   names and, transitively, the resources they reference. (Every bundled rule queries
   resources only by ``Type ==`` or by the logical id of a reference; a rule that does
   anything else with ``Resources`` reads the whole template.)
3. The plugin runs, on the whole templates, the rule files that found something, and
   reports as it always does; CDK applies the acknowledgements.
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
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii

_RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
_REPORTS_ON = re.compile(r"^# Reports on:\n((?:#   \S+\n)+)", re.MULTILINE)
_RULE_NAME = re.compile(r"^rule\s+([A-Za-z0-9_]+)", re.MULTILINE)
_RESOURCES = re.compile(r"\bResources\b")
_RESOURCES_BY_TYPE_OR_ID = re.compile(
    r"\s+exists\b|\s+not\s+empty\b|(?:\.\*)?\[\s*(?:Type\s*==\s*[%\"]|keys\s*==)"
)
"""What may follow ``Resources`` in a rule that reaches resources only by type or id."""
_SUBSTITUTED = re.compile(r"\$\{([A-Za-z0-9]+)")
_RULES = "package/rules/control-tower/"
_PLATFORMS = {"Linux": "ubuntu", "Darwin": "macos"}
"""The plugin's names for the platforms its bundled ``cfn-guard`` binaries run on."""
_ARCHITECTURES = {"x86_64": "x86_64", "AMD64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
_COMPLETED = (0, 5, 19)
"""``cfn-guard validate`` exit codes of a completed run (19, 5: some rule is not compliant)."""


@dataclass(frozen=True)
class _GuardRule:
    """One bundled Control Tower guard rule file."""

    path: str
    types: frozenset[str]
    """The resource types it reports on."""
    names: frozenset[str]
    """The rules it declares (a finding names one)."""
    reaches: frozenset[str] | None
    """The resource types it can query (those it names); None: it may read any resource."""


@dataclass(frozen=True)
class _GuardBundle:
    """The plugin's Control Tower rules, by file stem (``ct-ecs-pr-3``), and its ``cfn-guard``
    binary for this machine (None where the plugin ships none)."""

    rules: dict[str, _GuardRule]
    binary: Path | None


@jsii.implements(cdk.IPolicyValidationPluginBeta1)
class ControlTowerChecks:
    """The AWS Control Tower proactive controls, as the ``cdk-validator-cfnguard`` plugin
    reports them (its findings, rule names and plugin name), run on the rule files that can
    find something (see the module)."""

    @property
    def name(self) -> str:
        return "cdk-validator-cfnguard"

    def validate(
        self, context: cdk.IPolicyValidationContextBeta1
    ) -> cdk.PolicyValidationPluginReportBeta1:
        from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

        templates = {path: json.loads(Path(path).read_text()) for path in context.template_paths}
        present = {
            resource.get("Type", "")
            for template in templates.values()
            for resource in template.get("Resources", {}).values()
        }
        idle = set(idle_control_tower_rules(present))
        rules = {name: rule for name, rule in _guard_bundle().rules.items() if name not in idle}
        found = _screen(rules, templates)
        if found is not None:
            rules = {name: rule for name, rule in rules.items() if name in found}
        if not rules:
            return cdk.PolicyValidationPluginReportBeta1(success=True, violations=[])
        paths = [rule.path for _, rule in sorted(rules.items())]
        report = CfnGuardValidator(control_tower_rules_enabled=False, rules=paths).validate(context)
        return as_errors(report)


def as_errors(
    report: cdk.PolicyValidationPluginReportBeta1,
) -> cdk.PolicyValidationPluginReportBeta1:
    """``report`` with every violation of severity ``error``.

    cfn-guard's plugin leaves the severity out. When an app acknowledges any finding of a
    plugin, aws-cdk-lib recomputes that plugin's success as "no violation left of severity
    error": without a severity, every other Control Tower finding of the app would then stop
    failing ``cdk synth`` (found on aws-cdk-lib 2.275: one acknowledged log bucket made an
    unencrypted log group pass).
    """
    return cdk.PolicyValidationPluginReportBeta1(
        success=report.success,
        metadata=report.metadata,
        plugin_version=report.plugin_version,
        violations=[
            cdk.PolicyViolationBeta1(
                rule_name=violation.rule_name,
                description=violation.description,
                violating_resources=violation.violating_resources,
                fix=violation.fix,
                rule_metadata=violation.rule_metadata,
                severity=violation.severity or "error",
            )
            for violation in report.violations
        ],
    )


def idle_control_tower_rules(present: set[str]) -> list[str]:
    """The Control Tower rules that check only resource types outside ``present``."""
    return sorted(
        rule for rule, types in _control_tower_rule_types().items() if types and not types & present
    )


def _control_tower_rule_types() -> dict[str, frozenset[str]]:
    """Each bundled Control Tower guard rule (file stem) -> the resource types it reports on."""
    return {name: rule.types for name, rule in _guard_bundle().rules.items()}


def _screen(rules: dict[str, _GuardRule], templates: dict[str, Any]) -> set[str] | None:
    """The rule files (keys of ``rules``) that find something in ``templates`` (path ->
    template), each rule run on the part of every template it can reach, on every core.

    None when it cannot tell (no binary, a run that did not complete, output it cannot
    read): then every rule file must run.
    """
    binary = _guard_bundle().binary
    if binary is None or not rules or not templates:
        return None
    groups: dict[frozenset[str] | None, list[str]] = {}
    for name, rule in rules.items():
        groups.setdefault(rule.reaches, []).append(name)
    with (
        tempfile.TemporaryDirectory(prefix="control-tower-") as directory,
        ThreadPoolExecutor(os.cpu_count() or 1) as pool,
    ):
        runs = []
        for index, (reaches, names) in enumerate(groups.items()):
            data = []
            for number, (path, template) in enumerate(templates.items()):
                if reaches is None:
                    data.append(path)
                    continue
                part = _reachable(template, reaches)
                if part["Resources"]:
                    data.append(str(Path(directory) / f"{index}-{number}.json"))
                    Path(data[-1]).write_text(json.dumps(part))
            if data:
                paths = [rules[name].path for name in names]
                runs.append(pool.submit(_failing_rules, binary, paths, data))
        outcomes = [run.result() for run in runs]
    if any(outcome is None for outcome in outcomes):
        return None
    failing = set().union(*(outcome for outcome in outcomes if outcome is not None))
    if not failing <= {declared for rule in rules.values() for declared in rule.names}:
        return None
    return {name for name, rule in rules.items() if rule.names & failing}


def _failing_rules(binary: Path, rules: list[str], data: list[str]) -> set[str] | None:
    """The names of the rules in ``rules`` that are not compliant somewhere in ``data``."""
    completed = subprocess.run(
        [
            str(binary),
            "validate",
            *(flag for path in rules for flag in ("--rules", path)),
            *(flag for path in data for flag in ("--data", path)),
            *("--output-format", "json", "--show-summary", "none", "--structured"),
        ],
        capture_output=True,
        check=False,
    )
    if completed.returncode not in _COMPLETED:
        return None
    try:
        return {
            entry["Rule"]["name"]
            for result in json.loads(completed.stdout or b"[]")
            for entry in (result.get("not_compliant") or [])
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _reachable(template: dict[str, Any], types: frozenset[str]) -> dict[str, Any]:
    """``template`` with only the resources of ``types`` and, transitively, those they
    reference (``Ref``, ``Fn::GetAtt``, ``${...}`` substitutions, ``DependsOn``)."""
    resources = template.get("Resources", {})
    keep = {key for key, resource in resources.items() if resource.get("Type") in types}
    pending = list(keep)
    while pending:
        for key in _references(resources[pending.pop()]):
            if key in resources and key not in keep:
                keep.add(key)
                pending.append(key)
    return {**template, "Resources": {key: resources[key] for key in resources if key in keep}}


def _references(value: Any) -> Iterable[str]:
    """Every logical id ``value`` may name (a superset: any string a reference could be)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("Ref", "DependsOn") and isinstance(item, str):
                yield item
            elif key == "Fn::GetAtt" and isinstance(item, str):
                yield item.split(".")[0]
            elif key == "Fn::GetAtt" and isinstance(item, list) and item:
                yield from _references(item[1:])
                if isinstance(item[0], str):
                    yield item[0]
            elif key == "DependsOn" and isinstance(item, list):
                yield from (entry for entry in item if isinstance(entry, str))
                yield from _references([entry for entry in item if not isinstance(entry, str)])
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, str):
        yield from _SUBSTITUTED.findall(value)


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
        rules[path.stem] = _GuardRule(
            path=str(path),
            types=frozenset(_RESOURCE_TYPE.findall(header.group(1) if header else text)),
            names=frozenset(_RULE_NAME.findall(text)),
            reaches=_reaches(text),
        )
    binary = directory / "cfn-guard"
    return _GuardBundle(rules, binary if binary.exists() else None)


def _reaches(text: str) -> frozenset[str] | None:
    """The resource types a rule can query: those it names, when every use of ``Resources``
    in its code is a test, a ``Type ==`` filter or a logical id lookup; else None."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for use in _RESOURCES.finditer(code):
        if not _RESOURCES_BY_TYPE_OR_ID.match(code, use.end()):
            return None
    return frozenset(_RESOURCE_TYPE.findall(text))


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
    binary = f"package/bin/{_PLATFORMS.get(platform.system())}/"
    binary += f"{_ARCHITECTURES.get(platform.machine())}/cfn-guard"
    (staging / "rules").mkdir()
    with tarfile.open(bundle, "r|gz") as archive:  # one pass over the stream
        for member in archive:
            if member.name.startswith(_RULES) and member.name.endswith(".guard"):
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
