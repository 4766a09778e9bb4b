"""The example app: one ``ExampleStage`` per environment, and the pipeline that promotes them."""

from __future__ import annotations

import aws_cdk as cdk

from ecs_patterns_plus import enable_compliance_checks

from .config import PREFIX, AppConfig
from .pipeline_stack import PipelineStack
from .stage import ExampleStage


def build_app(app: cdk.App) -> PipelineStack:
    """Add every stage of cdk.json's configuration, and the pipeline that deploys them in
    order, to ``app`` with the rule packs on."""
    config = AppConfig.from_context(app)
    enable_compliance_checks(app)
    stages = [ExampleStage(app, config=stage, images=config.images) for stage in config.stages]
    return PipelineStack(
        app,
        "Pipeline",
        config=config,
        stages=list(stages),
        env=config.pipeline.env,
        stack_name=f"{PREFIX}-pipeline",
    )
