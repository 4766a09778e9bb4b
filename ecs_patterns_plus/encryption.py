"""Customer managed KMS keys, the stack's shared key, and the encrypted log groups built on them.

One owner per shared resource: by default every log group, topic, queue and schedule of the
library's constructs in a stack is encrypted with one key, created on first use under the
stack's ``EcsPatternsPlus`` construct; a construct given its own key uses that instead.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import defaults

SHARED_ID = "EcsPatternsPlus"
"""Construct id, under each stack, of the library's shared resources (key, topic, policies)."""


def shared_scope(scope: Construct) -> Construct:
    """The stack's ``EcsPatternsPlus`` construct, home of shared resources (created on first use)."""
    stack = cdk.Stack.of(scope)
    known = _SHARED.get(id(stack))
    if known is not None and known[0] is stack:
        return known[1]
    existing = stack.node.try_find_child(SHARED_ID)
    shared = existing if isinstance(existing, Construct) else Construct(stack, SHARED_ID)
    _SHARED[id(stack)] = (stack, shared)
    return shared


_SHARED: dict[int, tuple[cdk.Stack, Construct]] = {}
"""Each stack's shared construct, remembered (every lookup is a round trip to Node.js)."""


def stack_key(scope: Construct) -> kms.Key:
    """The stack's shared customer managed key (``EcsPatternsPlus/Key``), created on first use.

    Rotating and retained; CloudWatch Logs of this account and region, CloudWatch alarms and
    EventBridge rules may use it (for log groups, encrypted topics and queues).
    """
    shared = shared_scope(scope)
    key = shared.node.try_find_child("Key")
    if isinstance(key, kms.Key):
        return key
    key = create_key(
        shared, "Key", description="ecs_patterns_plus: logs, notifications and queues of this stack"
    )
    allow_notifications(key)
    return key


def allow_notifications(key: kms.IKey) -> None:
    """Let CloudWatch alarms and EventBridge rules use ``key`` for encrypted topics and queues.

    Only keys defined in this app are changed; an imported key's policy must already allow
    ``cloudwatch.amazonaws.com`` and ``events.amazonaws.com`` ``kms:Decrypt`` and
    ``kms:GenerateDataKey*``.
    """
    for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
        allow_to_encrypt(key, service)


def allow_to_encrypt(key: kms.IKey, service: str) -> None:
    """Let ``service`` encrypt with ``key`` on a publisher's behalf (SNS and SQS call KMS)."""
    # The statement CDK writes when a rule targets a topic or queue on this key, so identical
    # statements merge into one.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(service)],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
        )
    )


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
