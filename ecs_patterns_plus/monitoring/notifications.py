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
from ..encryption import (
    allow_to_encrypt,
    shared_scope,
    stack_key,
)


def allow_alarms_to_publish(topic: sns.ITopic) -> None:
    """Let CloudWatch alarms of this account and region publish to ``topic`` (and use its key).

    A topic policy replaces SNS's default policy, so alarms need this statement once any
    other statement (TLS-only, EventBridge) exists. Imported topics and keys are left
    unchanged: their policies must allow ``cloudwatch.amazonaws.com`` already.
    """
    if topic.master_key is not None:
        allow_to_encrypt(topic.master_key, "cloudwatch.amazonaws.com")
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
        scope: where the topic is added.
        construct_id: the topic's id.
        encryption_key: the topic's KMS key (its policy must allow CloudWatch and
            EventBridge, see ``allow_notifications``). Default: the stack's shared key.
    """
    key = encryption_key or stack_key(scope)
    topic = sns.Topic(scope, construct_id, master_key=key, enforce_ssl=True)
    allow_alarms_to_publish(topic)
    return topic


def stack_alarm_topic(scope: Construct) -> sns.Topic:
    """The stack's shared alarm topic (``EcsPatternsPlus/AlarmTopic``), created on first use.

    Encrypted with the stack's shared key, TLS-only; this account's CloudWatch alarms and
    EventBridge rules may publish. Every alarm and notification of the library's constructs in
    the stack goes here unless a construct is given its own topic: subscribe once.
    """
    shared = shared_scope(scope)
    topic = shared.node.try_find_child("AlarmTopic")
    if isinstance(topic, sns.Topic):
        return topic
    return notification_topic(shared, "AlarmTopic")


def stack_notification_queue(scope: Construct) -> sqs.Queue:
    """The stack's shared dead-letter queue for undeliverable notifications, created on first use.

    ``EcsPatternsPlus/NotificationDeadLetterQueue``: EventBridge rules that notify a topic put
    what they cannot deliver here (14 days, encrypted with the stack key, TLS-only); its alarm
    ``UndeliveredNotifications`` tells the stack's alarm topic.
    """
    shared = shared_scope(scope)
    queue = shared.node.try_find_child("NotificationDeadLetterQueue")
    if isinstance(queue, sqs.Queue):
        return queue
    queue = encrypted_dead_letter_queue(
        shared, stack_key(scope), construct_id="NotificationDeadLetterQueue"
    )
    from .alarms import undelivered_notifications_alarm  # alarms import this module

    undelivered_notifications_alarm(shared, queue, stack_alarm_topic(scope), "this stack")
    return queue


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
    scope: Construct,
    key: kms.IKey,
    retention: cdk.Duration = defaults.NOTIFICATION_RETENTION,
    *,
    construct_id: str = "DeadLetterQueue",
) -> sqs.Queue:
    """An encrypted, TLS-only dead-letter queue."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=retention,
    )
    compliance.DEAD_LETTER_QUEUE.apply(queue)
    return queue
