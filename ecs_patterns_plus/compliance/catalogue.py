"""Acknowledgement and its catalogue: the only findings the library acknowledges.

Every acknowledgement the library makes is one of the ``Acknowledgement`` constants
below, each inherent to what it covers and applied on the narrowest construct.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aws_cdk as cdk
from constructs import IConstruct

#: The rule-id prefixes of the three regulatory cdk-nag packs.
REGULATORY_PACKS = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")


def _in_regulatory_packs(*rules: str) -> tuple[str, ...]:
    return tuple(f"{pack}-{rule}" for pack in REGULATORY_PACKS for rule in rules)


@dataclass(frozen=True, kw_only=True)
class Acknowledgement:
    """A finding that is inherent to a resource, with the reason, for every tool that reports it.

    Attributes:
        reason: why the finding cannot be fixed in the construct.
        rules: cdk-nag / CDK validation rule ids (granular ``Rule[Finding]`` where possible).
        checkov: checkov check ids, written as ``Metadata.checkov.skip``.
        cfn_lint: cfn-lint rule ids, written as ``Metadata.cfn-lint.config.ignore_checks``.
    """

    reason: str
    rules: tuple[str, ...] = ()
    checkov: tuple[str, ...] = ()
    cfn_lint: tuple[str, ...] = ()

    def apply(self, construct: IConstruct) -> None:
        """Acknowledge on ``construct`` (and, for cdk-nag, its descendants)."""
        if self.rules:
            validations = cdk.Validations.of(construct)
            for rule in self.rules:
                validations.acknowledge(cdk.Acknowledgment(id=rule, reason=self.reason))
        if not (self.checkov or self.cfn_lint):
            return
        resource = _cfn_resource(construct)
        if self.checkov:
            existing = resource.get_metadata("checkov") or {"skip": []}
            skips = [*existing["skip"], *({"id": i, "comment": self.reason} for i in self.checkov)]
            resource.add_metadata("checkov", {"skip": skips})
        if self.cfn_lint:
            existing = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
            checks = sorted({*existing["config"]["ignore_checks"], *self.cfn_lint})
            resource.add_metadata("cfn-lint", {"config": {"ignore_checks": checks}})


def _cfn_resource(construct: IConstruct) -> cdk.CfnResource:
    if isinstance(construct, cdk.CfnResource):
        return construct
    child = construct.node.default_child
    if not isinstance(child, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    return child


# --- The catalogue: nothing outside this list is ever acknowledged. -------------------------

ECR_AUTH_TOKEN = Acknowledgement(
    reason="ecr:GetAuthorizationToken has no resource-level permissions; the statement "
    "holds that one action only, on the execution role's own small policy.",
    rules=("AwsSolutions-IAM5[Resource::*]",),
)
GRANT_DEFAULT_POLICY = Acknowledgement(
    reason="CDK DefaultPolicy written by grant*(): least-privilege, ARN-scoped statements "
    "attached to exactly one role.",
    rules=_in_regulatory_packs("IAMNoInlinePolicy"),
)
PUBLIC_ALB_INGRESS = Acknowledgement(
    reason="An internet-facing load balancer must accept 0.0.0.0/0 on its listener port; "
    "WAF protects it.",
    rules=("AwsSolutions-EC23",),
)
PUBLIC_SUBNET_ROUTE = Acknowledgement(
    reason="Public subnets hold only the internet-facing load balancer and NAT gateways; "
    "their default route to the internet gateway is their purpose.",
    rules=_in_regulatory_packs("VPCNoUnrestrictedRouteToIGW"),
)
LOG_BUCKET_ENCRYPTION = Acknowledgement(
    reason="ELB access-log and S3 server-access-log delivery support SSE-S3 only; "
    "cross-region replication is an organisation decision.",
    rules=(
        *_in_regulatory_packs("S3DefaultEncryptionKMS", "S3BucketReplicationEnabled"),
        "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check",  # CT.S3.PR.10, the same check
    ),
)
FINAL_ACCESS_LOG_BUCKET = Acknowledgement(
    reason="The bucket that receives server access logs cannot log to itself without recursion.",
    rules=("cdk-validator-cfnguard::s3_bucket_logging_enabled_check",),  # CT.S3.PR.2 = CKV_AWS_18
    checkov=("CKV_AWS_18",),
)
CODEDEPLOY_SERVICE_ROLE = Acknowledgement(
    reason="AWSCodeDeployRoleForECS is the AWS-maintained service-role policy for ECS blue/green.",
    rules=(
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSCodeDeployRoleForECS]",
    ),
)
ECS_BLUE_GREEN_ROLE = Acknowledgement(
    reason="AmazonECSInfrastructureRolePolicyForLoadBalancers is the AWS-maintained service-role "
    "policy ECS needs to shift listener rules in native blue/green, canary and linear "
    "deployments (the ECS-native twin of AWSCodeDeployRoleForECS).",
    rules=(
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
        "AmazonECSInfrastructureRolePolicyForLoadBalancers]",
    ),
)
ECS_VOLUMES_ROLE = Acknowledgement(
    reason="AmazonECSInfrastructureRolePolicyForVolumes is the AWS-maintained service-role "
    "policy ECS needs to create, attach and delete the tasks' managed EBS volumes.",
    rules=(
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonECSInfrastructureRolePolicyForVolumes]",
    ),
)
SERVICE_CONNECT_TLS_SECRETS = Acknowledgement(
    reason="ECS creates the Service Connect TLS private-key secrets itself, under names it "
    "chooses with the prefix ecs-sc!: the infrastructure role may touch only that prefix.",
    rules=(
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
        "<AWS::AccountId>:secret:ecs-sc!*]",
    ),
)
TASK_TAGGING = Acknowledgement(
    reason="Task ARNs do not exist before RunTask: ecs:TagResource is allowed only while RunTask "
    "creates a task (ecs:CreateAction), and RunTask only for one task definition in one cluster.",
    rules=("AwsSolutions-IAM5[Resource::*]",),
)
JOB_TASK_CONTROL = Acknowledgement(
    reason="Task ARNs do not exist before RunTask: a job's state machine (Step Functions "
    "ecs:runTask.sync) may stop and describe tasks of its own cluster only (ecs:cluster), and "
    "tag them only while RunTask creates them (ecs:CreateAction); RunTask only for one task "
    "definition in that cluster.",
    rules=("AwsSolutions-IAM5[Resource::*]",),
)
LOG_DELIVERY = Acknowledgement(
    reason="CloudWatch Logs delivery set-up for vended logs (logs:CreateLogDelivery, "
    "GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, "
    "DescribeResourcePolicies, DescribeLogGroups) has no resource-level permissions; one small "
    "policy per stack holds these actions only.",
    rules=("AwsSolutions-IAM5[Resource::*]",),
)
XRAY_TRACING = Acknowledgement(
    reason="X-Ray trace and sampling calls (xray:PutTraceSegments, PutTelemetryRecords, "
    "GetSamplingRules, GetSamplingTargets, GetSamplingStatisticSummaries) have no resource-level "
    "permissions; one small policy per stack holds these actions only.",
    rules=("AwsSolutions-IAM5[Resource::*]",),
)
LOG_ROUTER_S3_OBJECTS = Acknowledgement(
    reason="Fluent Bit's s3 output names the objects itself (time and a random UUID): the "
    "statement allows s3:PutObject only, under the one bucket and prefix that the task role's "
    "own tags name (IAM policy variables); one small policy per stack holds it.",
    rules=(
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::"
        "<aws:PrincipalTag/EcsPatternsPlusLogBucket>/<aws:PrincipalTag/EcsPatternsPlusLogPrefix>/*]",
    ),
)
DEAD_LETTER_QUEUE = Acknowledgement(
    reason="This queue is the dead-letter queue; it needs none of its own.",
    rules=(
        "AwsSolutions-SQS3",
        "Serverless-SQSRedrivePolicy",
        "cdk-validator-cfnguard::sqs_dlq_check",  # CT.SQS.PR.1, the same check
    ),
)
EXEC_SSM_MESSAGES = Acknowledgement(
    reason="ECS Exec needs ssmmessages:* channels (and logs:DescribeLogGroups to find the "
    "session-log group), which have no resource-level permissions.",
    rules=("AwsSolutions-IAM5[Resource::*]",),
)
PLAIN_ENVIRONMENT = Acknowledgement(
    reason="Plain environment variables carry non-secret configuration only: the library "
    "refuses names that look like secrets and values that look like credentials; secrets "
    "reach the container only through ECS secrets (Secrets Manager, SSM Parameter Store).",
    rules=("AwsSolutions-ECS2",),
)
ECS_AGENT = Acknowledgement(
    reason="ecs:DiscoverPollEndpoint has no resource-level permissions; ecs:Poll, "
    "StartTelemetrySession and UpdateContainerInstancesState are limited to this cluster's "
    "container instances by the ecs:cluster condition. The container instance role's own policy.",
    rules=("AwsSolutions-IAM5[Resource::*]",),
)
MIXED_INSTANCES_LAUNCH_TEMPLATE = Acknowledgement(
    reason="The group launches from MixedInstancesPolicy.LaunchTemplate (several instance "
    "types, as CT.AUTOSCALING.PR.6 requires), which these rules do not read; that launch "
    "template requires IMDSv2 and encrypts every volume (CT.EC2.PR.1/.14, checkov CKV_AWS_79).",
    rules=(
        "AwsSolutions-EC26",
        "NIST.800.53.R5-EC2IMDSv2Enabled",
        "HIPAA.Security-EC2IMDSv2Enabled",
    ),
)
CDK_CUSTOM_RESOURCE_LAMBDA = Acknowledgement(
    reason="CDK-managed custom-resource provider function; its code and settings are not ours "
    "to change.",
    rules=("cdk-validator-cfnguard::lambda_inside_vpc_check",),  # CT.LAMBDA.PR.3 = CKV_AWS_117
    checkov=("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"),
    cfn_lint=("W3005",),
)
PIPELINE_ARTIFACT_OBJECTS = Acknowledgement(
    reason="CodePipeline names the artifact objects itself (pipeline, artifact and a random "
    "key) in the pipeline's own bucket: the objects do not exist before an execution writes "
    "them; the actions are narrowed to the object calls CodePipeline and CodeBuild make.",
    rules=("AwsSolutions-IAM5[Resource::<PipelineArtifacts.Arn>/*]",),
)
PIPELINE_ARTIFACT_REPLICATION = Acknowledgement(
    reason="Pipeline artifacts are rebuilt from their commit by running the pipeline again; "
    "replicating them to another bucket is an organisation decision.",
    rules=_in_regulatory_packs("S3BucketReplicationEnabled"),
)
CODEPIPELINE_BUILD_SOURCE = Acknowledgement(
    reason="The rule flags every CodeBuild project without GitHub/Bitbucket OAuth; this "
    "project's source is its CodePipeline input artifact (Source.Type CODEPIPELINE): no "
    "repository URL, no credentials (Control Tower CT.CODEBUILD.PR.1 passes).",
    rules=(
        "HIPAA.Security-CodeBuildProjectSourceRepoUrl",
        "PCI.DSS.321-CodeBuildProjectSourceRepoUrl",
    ),
)
HTTP_REDIRECT_LISTENER = Acknowledgement(
    reason="Opted-in port-80 listener that only answers 301 to HTTPS; it carries no content.",
    rules=_in_regulatory_packs("ELBv2ACMCertificateRequired"),
    checkov=("CKV_AWS_260",),
)


def acknowledge(construct: IConstruct, *acknowledgements: Acknowledgement) -> None:
    """Apply catalogue ``acknowledgements`` to ``construct``."""
    for item in acknowledgements:
        item.apply(construct)


def catalogue() -> Iterable[Acknowledgement]:
    """Every acknowledgement the library may apply."""
    return (value for value in globals().values() if isinstance(value, Acknowledgement))
