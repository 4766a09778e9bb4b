"""The example app: one ``ExampleStage`` per environment of the typed configuration."""

from __future__ import annotations

import aws_cdk as cdk

from ecs_patterns_plus import enable_compliance_checks

from .config import AppConfig
from .stage import ExampleStage


def build_app(app: cdk.App) -> dict[str, ExampleStage]:
    """Add every stage of cdk.json's configuration to ``app``, with the rule packs on, and
    return them by stage name (in promotion order)."""
    config = AppConfig.from_context(app)
    enable_compliance_checks(app)
    return {
        stage.name: ExampleStage(app, config=stage, images=config.images) for stage in config.stages
    }
