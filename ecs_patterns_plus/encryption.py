"""Customer managed KMS keys and the encrypted log groups built on them."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import defaults


def create_key(scope: Construct, construct_id: str, *, description: str) -> kms.Key:
    """A rotating, retained customer managed key that CloudWatch Logs in this account may use.

    Grants may be created only for AWS services acting on your behalf (CT.KMS.PR.3).
    """
    key = kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=defaults.KMS_KEY_ROTATION,
        removal_policy=defaults.DATA_REMOVAL_POLICY,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsExceptForAwsServices",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={
                "BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false",
                    "aws:PrincipalIsAWSService": "false",
                }
            },
        )
    )
    allow_cloudwatch_logs(key)
    return key


def allow_cloudwatch_logs(key: kms.Key) -> None:
    """Let CloudWatch Logs use ``key`` for log groups of this account and region only."""
    stack = cdk.Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogs",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    retention: logs.RetentionDays = defaults.LOG_RETENTION,
    log_group_name: str | None = None,
) -> logs.LogGroup:
    """A KMS-encrypted log group with retention, kept when the stack is deleted."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        encryption_key=key,
        retention=retention,
        removal_policy=defaults.DATA_REMOVAL_POLICY,
    )
