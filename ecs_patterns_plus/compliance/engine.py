"""The rule packs every stack must pass, registered as CDK validation plugins.

``enable_compliance_checks(app)`` registers cdk-nag (AwsSolutions, NIST 800-53 R5,
HIPAA Security, PCI DSS 3.2.1, Serverless) and the AWS Control Tower proactive
controls (cfn-guard) as CDK validation plugins: ``cdk synth`` fails on any
unacknowledged finding. checkov and cfn-lint run on the synthesized templates.
"""

from __future__ import annotations

import aws_cdk as cdk

from .control_tower import ControlTowerChecks


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
