"""PipelineStack: the example app's stages, promoted from the repository by CDK Pipelines."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines
from constructs import Construct

from ecs_patterns_plus import SecurePipeline

from .config import AppConfig, StageConfig

BOOTSTRAP_QUALIFIER = "hnb659fds"
"""The CDK bootstrap's default qualifier: its roles are ``cdk-<qualifier>-<role>-<account>-<region>``."""


class PipelineStack(cdk.Stack):
    """Source, synth, then each stage in promotion order behind its gates.

    - **Synth**: ``make test`` (lint, types, snapshots, intent tests, rule packs, checkov,
      cfn-lint), the release's image tags resolved to digests (``python -m stacks.images``),
      written into ``cdk.context.json``, then ``make synth``: the rule packs fail the synthesis on any finding, and
      every stage deploys this one cloud assembly, so production runs exactly the images
      staging ran.
    - **Review<Stage>**, before each stage: what the stage runs now (its stacks' templates,
      read through the CDK bootstrap's lookup role in its account) against what it is about
      to receive, with ``--fail-on-replace-data`` (a log group, bucket, key, secret or queue
      replaced or removed) and ``--fail-on-cost`` (the review's threshold, $50 a month or more):
      either stops the promotion. The report is in the step's log.
    - **Approve<Stage>**, for stages with ``approval``: a person approves after the review.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        stages: list[cdk.Stage],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.source = pipelines.CodePipelineSource.connection(
            config.pipeline.repository,
            config.pipeline.branch,
            connection_arn=config.pipeline.connection_arn,
        )
        self.pipeline = SecurePipeline(
            self,
            "Pipeline",
            source=self.source,
            synth_commands=[
                "make test",
                ".venv/bin/python -m stacks.images --context cdk.context.json",
                "make synth",
            ],
            synth_policy=[
                iam.PolicyStatement(
                    actions=["ecr:DescribeImages"],
                    resources=[
                        self.format_arn(
                            service="ecr",
                            resource="repository",
                            resource_name=config.pipeline.image_repository,
                        )
                    ],
                )
            ],
        )
        for stage_config, stage in zip(config.stages, stages, strict=True):
            self.pipeline.add_stage(stage, pre=self._gates(stage_config))
        self.pipeline.build()

    def _gates(self, stage: StageConfig) -> list[pipelines.Step]:
        account = stage.account or self.account
        lookup_role = (
            f"arn:{self.partition}:iam::{account}:role/"
            f"cdk-{BOOTSTRAP_QUALIFIER}-lookup-role-{account}-{stage.region}"
        )
        review = pipelines.CodeBuildStep(
            f"Review{stage.construct_id}",
            input=self.source,
            additional_inputs={"assembly": self.pipeline.synth},
            commands=[
                "make .venv/.installed",
                f".venv/bin/python -m stacks.deployed assembly/assembly-{stage.construct_id} "
                f"deployed --role-arn {lookup_role} --region {stage.region}",
                f".venv/bin/python -m ecs_patterns_plus.review deployed "
                f"assembly/assembly-{stage.construct_id} --allow-empty-base "
                "--fail-on-replace-data --fail-on-cost "
                f"--region {stage.region}",
            ],
            role_policy_statements=[
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[lookup_role])
            ],
        )
        if not stage.approval:
            return [review]
        approval = pipelines.ManualApprovalStep(
            f"Approve{stage.construct_id}",
            comment=f"Promote to {stage.name}: read Review{stage.construct_id}'s report first.",
        )
        approval.add_step_dependency(review)
        return [review, approval]
