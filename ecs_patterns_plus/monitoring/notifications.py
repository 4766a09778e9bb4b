"""Notifications: encrypted topics alarms and rules may publish to, dead-letter queues, notifiers."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .. import compliance, defaults
from ..encryption import create_key


def allow_notifications(key: kms.IKey) -> None:
    """Let CloudWatch alarms and EventBridge rules use ``key`` for encrypted topics and queues.

    Only keys defined in this app are changed; an imported key's policy must already allow
    ``cloudwatch.amazonaws.com`` and ``events.amazonaws.com`` ``kms:Decrypt`` and
    ``kms:GenerateDataKey*``.
    """
    for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
        _allow_to_encrypt(key, service)


def _allow_to_encrypt(key: kms.IKey, service: str) -> None:
    # The statement CDK writes when a rule targets a topic or queue on this key, so identical
    # statements merge into one; SNS and SQS call KMS on the publisher's behalf.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(service)],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
        )
    )


def allow_alarms_to_publish(topic: sns.ITopic) -> None:
    """Let CloudWatch alarms of this account and region publish to ``topic`` (and use its key).

    A topic policy replaces SNS's default policy, so alarms need this statement once any
    other statement (TLS-only, EventBridge) exists. Imported topics and keys are left
    unchanged: their policies must allow ``cloudwatch.amazonaws.com`` already.
    """
    if topic.master_key is not None:
        _allow_to_encrypt(topic.master_key, "cloudwatch.amazonaws.com")
    stack = cdk.Stack.of(topic)
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchAlarms",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {
                    "aws:SourceArn": stack.format_arn(
                        service="cloudwatch",
                        resource="alarm",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                },
            },
        )
    )


def notification_topic(
    scope: Construct, construct_id: str, *, encryption_key: kms.IKey | None = None
) -> sns.Topic:
    """A KMS-encrypted, TLS-only SNS topic that this account's alarms and rules may publish to.

    Args:
        scope: where the topic (and its key) are added.
        construct_id: the topic's id; a new key is ``<construct_id>Key``.
        encryption_key: the topic's KMS key (its policy must allow CloudWatch and
            EventBridge, see ``allow_notifications``). Default: a new rotating key.
    """
    key = encryption_key or notification_key(
        scope, f"{construct_id}Key", "Alarm and event notifications"
    )
    topic = sns.Topic(scope, construct_id, master_key=key, enforce_ssl=True)
    allow_alarms_to_publish(topic)
    return topic


def notification_key(scope: Construct, construct_id: str, description: str) -> kms.Key:
    """A new rotating key that CloudWatch alarms and EventBridge rules may use."""
    key = create_key(scope, construct_id, description=description)
    allow_notifications(key)
    return key


class Notifier:
    """EventBridge rules that notify the topic, with a shared encrypted dead-letter queue.

    ``retry_attempts``: how often a rule retries a failed delivery. Default: EventBridge's own.
    """

    def __init__(
        self,
        scope: Construct,
        topic: sns.ITopic,
        queue: sqs.IQueue,
        *,
        retry_attempts: int | None = None,
    ) -> None:
        self.scope = scope
        self.topic = topic
        self.queue = queue
        self.retry_attempts = retry_attempts
        self.rules: dict[str, events.Rule] = {}

    def rule(
        self, key: str, construct_id: str, description: str, pattern: events.EventPattern, text: str
    ) -> events.Rule:
        rule = events.Rule(self.scope, construct_id, description=description, event_pattern=pattern)
        rule.add_target(
            targets.SnsTopic(
                self.topic,
                message=events.RuleTargetInput.from_text(text),
                dead_letter_queue=self.queue,
                retry_attempts=self.retry_attempts,
            )
        )
        self.rules[key] = rule
        return rule


def encrypted_dead_letter_queue(
    scope: Construct, key: kms.IKey, retention: cdk.Duration = defaults.NOTIFICATION_RETENTION
) -> sqs.Queue:
    """An encrypted, TLS-only dead-letter queue (child id ``DeadLetterQueue``)."""
    queue = sqs.Queue(
        scope,
        "DeadLetterQueue",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=retention,
    )
    compliance.DEAD_LETTER_QUEUE.apply(queue)
    return queue
