"""The rule packs every stack must pass, registered as CDK validation plugins.

``enable_compliance_checks(app)`` registers cdk-nag (AwsSolutions, NIST 800-53 R5,
HIPAA Security, PCI DSS 3.2.1, Serverless) and the AWS Control Tower proactive
controls (cfn-guard) as CDK validation plugins: ``cdk synth`` fails on any
unacknowledged finding. checkov and cfn-lint run on the synthesized templates.
"""

from __future__ import annotations

import functools
import json
import re
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


@dataclass(frozen=True)
class _GuardRule:
    """One bundled Control Tower guard rule: its text and the resource types it reports on."""

    text: str
    types: frozenset[str]


@functools.cache
def _control_tower_rules() -> dict[str, _GuardRule]:
    """Every bundled Control Tower guard rule, by file stem (``ct-ecs-pr-3``).

    Every rule's header names the types it reports on (``# Reports on:``); a rule finds
    nothing in a template without them, whatever other types its checks look up. A rule
    without that header counts every type it mentions.
    """
    import cdklabs.cdk_validator_cfnguard as guard

    (bundle,) = (Path(guard.__file__).parent / "_jsii").glob("*.tgz")
    rules: dict[str, _GuardRule] = {}
    with tarfile.open(bundle) as archive:
        for member in archive.getmembers():
            if member.name.startswith("package/rules/control-tower/") and member.name.endswith(
                ".guard"
            ):
                text = archive.extractfile(member).read().decode()  # type: ignore[union-attr]
                header = _REPORTS_ON.search(text)
                types = frozenset(_RESOURCE_TYPE.findall(header.group(1) if header else text))
                rules[Path(member.name).stem] = _GuardRule(text, types)
    return rules


def _control_tower_rule_types() -> dict[str, frozenset[str]]:
    """Each bundled Control Tower guard rule (file stem) -> the resource types it reports on."""
    return {name: rule.types for name, rule in _control_tower_rules().items()}


@jsii.implements(cdk.IPolicyValidationPluginBeta1)
class ControlTowerChecks:
    """The AWS Control Tower proactive controls (``cdklabs.cdk-validator-cfnguard``), sped up.

    Runs the bundled guard rules through ``CfnGuardValidator``, leaving out only the rules
    that report on resource types none of the templates has (they cannot fail): the rules
    that can apply are written to a temporary directory and handed to the plugin as its rule
    files. (The plugin's own ``disabled_rules`` is not used: when the rules left happen to be
    as many as its rule directories, it runs them all.) Findings, acknowledgements and the
    plugin name (``cdk-validator-cfnguard``) are the plugin's own.
    """

    @property
    def name(self) -> str:
        return "cdk-validator-cfnguard"

    def validate(
        self, context: cdk.IPolicyValidationContextBeta1
    ) -> cdk.PolicyValidationPluginReportBeta1:
        from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

        present: set[str] = set()
        for template_path in context.template_paths:
            resources = json.loads(Path(template_path).read_text()).get("Resources", {})
            present.update(resource.get("Type", "") for resource in resources.values())
        idle = set(idle_control_tower_rules(present))
        with tempfile.TemporaryDirectory(prefix="control-tower-rules-") as directory:
            paths = []
            for name, rule in sorted(_control_tower_rules().items()):
                if name not in idle:
                    path = Path(directory) / f"{name}.guard"
                    path.write_text(rule.text)
                    paths.append(str(path))
            if not paths:
                return cdk.PolicyValidationPluginReportBeta1(success=True, violations=[])
            validator = CfnGuardValidator(control_tower_rules_enabled=False, rules=paths)
            return validator.validate(context)


def idle_control_tower_rules(present: set[str]) -> list[str]:
    """The Control Tower rules that check only resource types outside ``present``."""
    return sorted(
        rule for rule, types in _control_tower_rule_types().items() if types and not types & present
    )
