"""SecurePipeline: CDK Pipelines on CodePipeline V2 that passes every rule pack the stacks do."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines
from constructs import Construct, IValidation

from . import compliance, defaults
from .encryption import stack_key
from .errors import Problems, checked
from .log_buckets import log_bucket, private_bucket
from .retention import Retention, check_retention, retained_log_group

NARROWED_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "s3:GetObject*": ("s3:GetObject", "s3:GetObjectVersion"),
    "s3:GetBucket*": ("s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"),
    "s3:List*": ("s3:ListBucket",),
    "s3:DeleteObject*": ("s3:DeleteObject",),
    "s3:Abort*": ("s3:AbortMultipartUpload",),
    "kms:GenerateDataKey*": ("kms:GenerateDataKey",),
    "kms:ReEncrypt*": (),
}
"""What the wildcard actions of CDK's bucket and key grants become in the pipeline's roles:
the calls CodePipeline and CodeBuild make on an artifact bucket encrypted with a KMS key. The
bucket actions are those of the minimum service-role policies the user guides give ("Manage
the CodePipeline service role": GetBucketVersioning, GetBucketAcl, GetBucketLocation, then
GetObject, GetObjectVersion, PutObject; "Allow CodeBuild to interact with other AWS
services": GetObject, GetObjectVersion, PutObject, GetBucketAcl, GetBucketLocation), plus
ListBucket, DeleteObject and AbortMultipartUpload that CDK's grants name; re-encryption is
never needed. PutObjectAcl is left out: the bucket enforces its owner (ACLs are disabled)."""

UNUSED_GRANTS = ("/aws/codebuild/", ":report-group/")
"""Resources CDK grants every CodeBuild project that the pipeline's projects never use: the
default log group (they log to the pipeline's own group) and test-report groups (no step
writes reports)."""

BUILD_CONTROL = frozenset(
    {"codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"}
)
"""Starting and watching builds: CodePipeline's action roles do it, on their own project.
CDK Pipelines also gives the asset-publishing projects' role these on ``*``, which a build
never calls: dropped."""


class SecurePipeline(Construct):
    """A CDK Pipelines ``CodePipeline`` with its storage, logs and roles hardened.

    - Artifacts in a versioned, SSL-only bucket encrypted with the stack's key, with server
      access logs, Object Lock, EventBridge notifications and expiry of old versions.
    - Every CodeBuild step logs to one encrypted log group kept ``log_retention``.
    - No self-mutation: the pipeline cannot rewrite itself (or assume the CDK bootstrap's
      deploy role for its own stack); deploy the pipeline stack with ``cdk deploy`` when it
      changes.
    - Least privilege: CDK's wildcard bucket and key actions are narrowed to the calls the
      services make (``NARROWED_ACTIONS``), and grants on unused log and report groups are
      dropped; what is left is acknowledged from the library's catalogue only.

    Add the stages with ``add_stage`` (and gates with ``pre`` / ``post``), then call
    ``build()`` once: it builds the CodePipeline and hardens its roles.

    Args:
        source: where the code comes from (``pipelines.CodePipelineSource.connection``).
        synth_commands: the synth step's commands; they leave the cloud assembly in
            ``cdk.out``.
        synth_policy: statements the synth step's role needs besides the artifacts (e.g.
            ``ecr:DescribeImages`` to pin images). Default: none.
        build_image: the CodeBuild image of every step. Default: ``STANDARD_7_0``.
        compute_type: Default: ``ComputeType.MEDIUM`` (8 GiB, 4 vCPUs).
        timeout: each step's time limit, 5 to 480 minutes. Default: 60 minutes.
        log_retention: how long the steps' logs are kept. Default: one year.

    Attributes:
        pipeline (``pipelines.CodePipeline``), synth (the synth ``CodeBuildStep``),
        artifact_bucket, access_logs_bucket, log_group, encryption_key.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: pipelines.IFileSetProducer,
        synth_commands: Sequence[str],
        synth_policy: Sequence[iam.PolicyStatement] = (),
        build_image: codebuild.IBuildImage = defaults.PIPELINE_BUILD_IMAGE,
        compute_type: codebuild.ComputeType = defaults.PIPELINE_COMPUTE_TYPE,
        timeout: cdk.Duration = defaults.PIPELINE_STEP_TIMEOUT,
        log_retention: Retention = defaults.LOG_RETENTION,
    ) -> None:
        problems = Problems(scope, construct_id)
        problems.require(
            bool(synth_commands),
            "synth_commands",
            "is empty",
            synth_commands,
            "give the commands that synthesize the app into cdk.out, e.g. ['make synth']",
        )
        problems.minutes_in_range("timeout", timeout, 5, 480)
        check_retention(problems, "log_retention", log_retention)
        stack = cdk.Stack.of(scope)
        problems.require(
            not any(isinstance(node, SecurePipeline) for node in stack.node.find_all()),
            "scope",
            "its stack already holds a SecurePipeline",
            stack.node.path,
            "give each pipeline a stack of its own",
        )
        problems.raise_if_any()
        super().__init__(scope, construct_id)
        self.encryption_key = stack_key(self)
        self.access_logs_bucket = log_bucket(self, "ServerAccessLogsBucket")
        compliance.FINAL_ACCESS_LOG_BUCKET.apply(self.access_logs_bucket)
        self.artifact_bucket = self._artifact_bucket()
        self.log_group = retained_log_group(
            self, "Logs", key=self.encryption_key, retention=log_retention
        )
        self.synth = pipelines.CodeBuildStep(
            "Synth",
            input=source,
            commands=list(synth_commands),
            primary_output_directory="cdk.out",
            role_policy_statements=list(synth_policy),
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            code_pipeline=codepipeline.Pipeline(
                self,
                "CodePipeline",
                artifact_bucket=self.artifact_bucket,
                pipeline_type=codepipeline.PipelineType.V2,
                restart_execution_on_update=True,
            ),
            synth=self.synth,
            self_mutation=False,
            # Actions without a role of their own run as the pipeline's role: one role fewer
            # (CDK Pipelines' shared CodeBuildActionRole is not created).
            use_pipeline_role_for_actions=True,
            publish_assets_in_parallel=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=build_image, compute_type=compute_type
                ),
                timeout=timeout,
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group)
                ),
            ),
        )
        self._built = False
        self.node.add_validation(_Built(self))

    def add_stage(
        self,
        stage: cdk.Stage,
        *,
        pre: Sequence[pipelines.Step] = (),
        post: Sequence[pipelines.Step] = (),
    ) -> pipelines.StageDeployment:
        """Deploy ``stage`` after the stages added before it, ``pre`` steps first (gates,
        approvals), ``post`` steps after (checks)."""
        return self.pipeline.add_stage(stage, pre=list(pre), post=list(post))

    def build(self) -> None:
        """Build the CodePipeline, then narrow and acknowledge its roles' policies."""
        self.pipeline.build_pipeline()
        # CDK makes the CodePipeline depend on its role, which its RoleArn already references
        # (cfn-lint W3005); the dependency on the role's policy stays.
        code_pipeline = self.pipeline.pipeline
        cfn_pipeline = code_pipeline.node.default_child
        assert isinstance(cfn_pipeline, cdk.CfnResource)
        policy = code_pipeline.role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, cdk.CfnResource)
        cfn_pipeline.add_override("DependsOn", [cdk.Stack.of(self).get_logical_id(policy)])
        for node in self.node.find_all():
            if isinstance(node, iam.CfnPolicy):
                node.policy_document = _Narrowed(node.policy_document)
                policy = node.node.scope  # the role's DefaultPolicy
                assert policy is not None
                compliance.GRANT_DEFAULT_POLICY.apply(policy)
                compliance.PIPELINE_ARTIFACT_OBJECTS.apply(policy)
        # The steps' projects live under these two (CodeBuild steps, asset publishing).
        for owner in (code_pipeline, self.pipeline):
            compliance.CODEPIPELINE_BUILD_SOURCE.apply(owner)
        self._built = True

    def _artifact_bucket(self) -> s3.Bucket:
        bucket = private_bucket(
            self,
            "Artifacts",
            expiration=defaults.PIPELINE_ARTIFACT_EXPIRATION,
            expiry_rule_id="ExpireOldArtifacts",
            encryption_key=self.encryption_key,
            server_access_logs_bucket=self.access_logs_bucket,
        )
        # One pipeline per stack: a fixed id names its objects in the acknowledged finding.
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.override_logical_id("PipelineArtifacts")
        compliance.PIPELINE_ARTIFACT_REPLICATION.apply(bucket)
        return bucket


@jsii.implements(cdk.IResolvable)
class _Narrowed:
    """A policy document with ``NARROWED_ACTIONS`` and without ``UNUSED_GRANTS``."""

    def __init__(self, document: Any) -> None:
        self.document = document
        self.creation_stack: list[str] = []

    def resolve(self, context: cdk.IResolveContext) -> Any:
        resolved = context.resolve(self.document)
        statements = [narrow(statement) for statement in resolved.get("Statement", [])]
        return {**resolved, "Statement": [s for s in statements if s is not None]}

    def to_string(self) -> str:
        return "SecurePipeline narrowed policy document"


def narrow(statement: dict[str, Any]) -> dict[str, Any] | None:
    """``statement`` with ``NARROWED_ACTIONS`` and without ``UNUSED_GRANTS`` (None if nothing
    is left of it)."""
    resources = statement.get("Resource", [])
    resources = resources if isinstance(resources, list) else [resources]
    kept = [r for r in resources if not any(part in json.dumps(r) for part in UNUSED_GRANTS)]
    actions = statement.get("Action", [])
    actions = actions if isinstance(actions, list) else [actions]
    if resources == ["*"] and set(actions) <= BUILD_CONTROL:
        return None
    narrowed = sorted({a for action in actions for a in NARROWED_ACTIONS.get(action, (action,))})
    if not kept or not narrowed:
        return None
    return {
        **statement,
        "Action": narrowed if len(narrowed) > 1 else narrowed[0],
        "Resource": kept if len(kept) > 1 else kept[0],
    }


@jsii.implements(IValidation)
class _Built:
    def __init__(self, pipeline: SecurePipeline) -> None:
        self.pipeline = pipeline

    def validate(self) -> list[str]:
        if self.pipeline._built:
            return []
        return [
            "SecurePipeline: build() was not called: call it once after the last add_stage, "
            "or the CodePipeline is built without its hardened roles"
        ]
