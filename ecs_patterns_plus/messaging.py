"""Work queues, what feeds them (SNS topics, EventBridge rules) and topics services publish to.

A ``WorkerService`` drains a queue built here: KMS-encrypted under the stack's shared key,
TLS-only, with a dead-letter queue. Its sources subscribe with a queue policy that admits
exactly them (``aws:SourceArn``); ``publish`` creates the encrypted topic a service publishes to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct, IConstruct

from . import defaults
from .encryption import allow_to_encrypt, stack_key
from .errors import Problems, checked, duration_seconds
from .monitoring.notifications import encrypted_dead_letter_queue

if TYPE_CHECKING:
    from .task_definition import HardenedTaskDefinition

_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class QueueOptions:
    """The queue a ``WorkerService`` drains.

    Args:
        queue: an existing queue to drain instead of a new one; its encryption, dead-letter
            queue and policy stay its owner's (the worker is granted, scaled and alarmed on
            it). The options below then do not apply. Default: a new queue.
        max_receive_count: receives before a message moves to the dead-letter queue, 1 to
            1000. Default: 5 (a Spot interruption, scale-in or deployment costs one).
        retention: how long an unprocessed message waits, 1 minute to 14 days. Default: 4 days.
        dead_letter_retention: how long a failed message stays in the dead-letter queue,
            1 minute to 14 days, at least ``retention`` (SQS keeps a message's original
            enqueue time). Default: 14 days.
        visibility_timeout: how long a received message stays hidden from other tasks, from
            the task's stop timeout to 12 hours. Default: twice the stop timeout.
        url_variable: the environment variable carrying the queue URL to the container.
            Default: ``QUEUE_URL``.
        encryption_key: the queues' KMS key. Default: the stack's shared key.
    """

    queue: sqs.IQueue | None = None
    max_receive_count: int | None = None
    retention: cdk.Duration | None = None
    dead_letter_retention: cdk.Duration | None = None
    visibility_timeout: cdk.Duration | None = None
    url_variable: str = defaults.WORKER_QUEUE_URL_VARIABLE
    encryption_key: kms.IKey | None = None

    def visibility(self, stop_timeout: cdk.Duration) -> cdk.Duration:
        """The visibility timeout of a new queue for tasks that stop within ``stop_timeout``."""
        if self.visibility_timeout is not None:
            return self.visibility_timeout
        stop = duration_seconds(stop_timeout)
        if stop is None:  # a token: CloudFormation multiplies nothing, so the stop timeout
            return stop_timeout  # itself (the minimum the check allows)
        return cdk.Duration.seconds(int(stop * defaults.WORKER_VISIBILITY_TIMEOUT_FACTOR))


@dataclass(frozen=True, kw_only=True)
class QueueSource:
    """Something that sends the worker's queue messages: an SNS topic or an EventBridge rule.

    Args:
        topic: an SNS topic the queue subscribes to.
        rule: an EventBridge rule whose matched events go to the queue.
        filter_policy: topic only: which messages the subscription takes, by message
            attribute (``sns.SubscriptionFilter``). Default: every message.
        raw_message_delivery: topic only: deliver the published body as is, not wrapped in
            an SNS envelope. Default: True.
        message: rule only: what the rule sends. Default: the matched event.
    """

    topic: sns.ITopic | None = None
    rule: events.Rule | None = None
    filter_policy: Mapping[str, sns.SubscriptionFilter] | None = None
    raw_message_delivery: bool | None = None
    message: events.RuleTargetInput | None = None


def check_queue(
    problems: Problems,
    options: QueueOptions,
    *,
    stop_timeout: cdk.Duration,
    processing_time: cdk.Duration | None,
    taken: frozenset[str],
) -> None:
    """Record problems with ``options`` for tasks with ``stop_timeout`` whose container
    already sets the variables ``taken``."""
    problems.require(
        bool(_VARIABLE.match(options.url_variable)) and options.url_variable not in taken,
        "queue.url_variable",
        "must be a variable name the container does not set already",
        options.url_variable,
        "pick another name, e.g. ORDERS_QUEUE_URL",
    )
    if options.queue is not None:
        own = {
            name: getattr(options, name)
            for name in (
                "max_receive_count",
                "retention",
                "dead_letter_retention",
                "visibility_timeout",
                "encryption_key",
            )
            if getattr(options, name) is not None
        }
        problems.require(
            not own,
            "queue",
            "sets options of a new queue together with an existing queue, which keeps its own",
            sorted(own),
            "configure the existing queue itself, or leave queue out",
        )
        visibility = _visibility_of(options.queue)
    else:
        problems.in_range("queue.max_receive_count", options.max_receive_count, 1, 1000)
        for name in ("retention", "dead_letter_retention"):
            problems.seconds_in_range(f"queue.{name}", getattr(options, name), 60, 1_209_600)
        kept = [
            duration_seconds(value or default)
            for value, default in (
                (options.retention, defaults.WORKER_QUEUE_RETENTION),
                (options.dead_letter_retention, defaults.WORKER_DEAD_LETTER_RETENTION),
            )
        ]
        problems.require(
            None in kept or kept[0] <= kept[1],  # type: ignore[operator]
            "queue.dead_letter_retention",
            "is shorter than the queue's retention: a message that moves to the dead-letter "
            "queue keeps its original enqueue time, so it would expire there on arrival",
            options.dead_letter_retention,
            "keep the default (14 days), or raise it to at least the queue's retention",
        )
        problems.seconds_in_range("queue.visibility_timeout", options.visibility_timeout, 0, 43_200)
        visibility = options.visibility(stop_timeout)
    _check_visibility(problems, visibility, stop_timeout, processing_time)


def _visibility_of(queue: sqs.IQueue) -> cdk.Duration | None:
    """The visibility timeout of a queue defined in this app (SQS's 30 s when unset)."""
    resource = queue.node.default_child
    if not isinstance(resource, sqs.CfnQueue):
        return None  # imported: its settings are not known here
    seconds = resource.visibility_timeout
    return cdk.Duration.seconds(30 if seconds is None else seconds)


def _check_visibility(
    problems: Problems,
    visibility: cdk.Duration | None,
    stop_timeout: cdk.Duration,
    processing_time: cdk.Duration | None,
) -> None:
    """A message must stay hidden while a task that received it may still work on it."""
    hidden = duration_seconds(visibility) if visibility is not None else None
    stop = duration_seconds(stop_timeout)
    if hidden is None:
        return
    if stop is not None:
        problems.require(
            hidden >= stop,
            "queue.visibility_timeout",
            f"is shorter than the task's stop timeout ({stop:g} s): a task told to stop may "
            "still finish a message another task has received again, which processes it twice",
            visibility,
            f"pass at least cdk.Duration.seconds({stop:g}), or shorten the task's stop_timeout",
        )
    each = duration_seconds(processing_time) if processing_time is not None else None
    if each is not None:
        problems.require(
            hidden >= each,
            "queue.visibility_timeout",
            f"is shorter than the processing time per message ({each:g} s) the scaling "
            "names: every message would be received again while a task still works on it",
            visibility,
            f"pass at least cdk.Duration.seconds({each:g})",
        )


def check_sources(problems: Problems, sources: Sequence[QueueSource]) -> None:
    """Record problems with each source: one topic or one rule, and only its own options."""
    for index, source in enumerate(sources):
        argument = f"sources[{index}]"
        problems.require(
            (source.topic is None) != (source.rule is None),
            argument,
            "needs exactly one of topic or rule",
            {"topic": source.topic is not None, "rule": source.rule is not None},
            "pass QueueSource(topic=...) or QueueSource(rule=...), one per source",
        )
        if source.rule is not None:
            topic_only = {
                name: getattr(source, name)
                for name in ("filter_policy", "raw_message_delivery")
                if getattr(source, name) is not None
            }
            problems.require(
                not topic_only,
                argument,
                "sets options of an SNS subscription on an EventBridge source, which has none: "
                "a rule's event pattern is its filter",
                sorted(topic_only),
                "put the filter in the rule's event_pattern, and drop these options",
            )
        if source.topic is not None:
            problems.require(
                source.message is None,
                f"{argument}.message",
                "applies to an EventBridge rule; an SNS topic delivers what was published",
                source.message,
                "drop message, or use the topic's raw_message_delivery",
            )
    topics = [source.topic for source in sources if source.topic is not None]
    problems.require(
        len({id(topic) for topic in topics}) == len(topics),
        "sources",
        "subscribe the queue to one topic twice: each message would arrive twice",
        [topic.node.path for topic in topics],
        "merge the filter policies into one QueueSource per topic",
    )


def work_queue(
    scope: Construct, options: QueueOptions, stop_timeout: cdk.Duration
) -> tuple[sqs.IQueue, sqs.IQueue | None]:
    """The queue of ``options`` and its dead-letter queue (None when unknown), built in ``scope``."""
    if options.queue is not None:
        dead = options.queue.dead_letter_queue if isinstance(options.queue, sqs.Queue) else None
        return options.queue, dead.queue if dead is not None else None
    key = options.encryption_key or stack_key(scope)
    dead_letters = encrypted_dead_letter_queue(
        scope,
        key,
        options.dead_letter_retention or defaults.WORKER_DEAD_LETTER_RETENTION,
    )
    queue = sqs.Queue(
        scope,
        "Queue",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=options.retention or defaults.WORKER_QUEUE_RETENTION,
        visibility_timeout=options.visibility(stop_timeout),
        dead_letter_queue=sqs.DeadLetterQueue(
            queue=dead_letters,
            max_receive_count=options.max_receive_count or defaults.WORKER_MAX_RECEIVE_COUNT,
        ),
    )
    return queue, dead_letters


def subscribe(
    scope: Construct,
    queue: sqs.IQueue,
    dead_letter_queue: sqs.IQueue | None,
    sources: Sequence[QueueSource],
) -> None:
    """Feed ``queue`` from ``sources``; what cannot be delivered goes to ``dead_letter_queue``.

    Each subscription or rule target adds the queue-policy statement that admits its topic
    or rule only (``aws:SourceArn``) and, for a key defined in this app, lets SNS (for this
    account's topics) or EventBridge use the queue's key.
    """
    for source in sources:
        if source.topic is not None:
            _subscribe_to_topic(scope, queue, dead_letter_queue, source, source.topic)
        elif source.rule is not None:
            source.rule.add_target(_QueueTarget(queue, dead_letter_queue, source.message))


def _subscribe_to_topic(
    scope: Construct,
    queue: sqs.IQueue,
    dead_letter_queue: sqs.IQueue | None,
    source: QueueSource,
    topic: sns.ITopic,
) -> None:
    """Subscribe ``queue`` to ``topic``.

    Not CDK's ``SqsSubscription``: with its feature flag on, it names the topic in the key
    policy, a dependency cycle when topic and queue share the stack's key. The key statement
    here admits SNS for this account's topics instead; the queue policy names the topic.
    """
    sns.Subscription(
        scope,
        f"{cdk.Names.node_unique_id(topic.node)}Subscription",
        topic=topic,
        endpoint=queue.queue_arn,
        protocol=sns.SubscriptionProtocol.SQS,
        raw_message_delivery=source.raw_message_delivery is not False,
        filter_policy=dict(source.filter_policy) if source.filter_policy else None,
        dead_letter_queue=dead_letter_queue,
    )
    queue.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("sns.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[queue.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": topic.topic_arn}},
        )
    )
    keys = {
        id(q.encryption_master_key): q.encryption_master_key
        for q in (queue, dead_letter_queue)
        if q is not None and q.encryption_master_key is not None
    }
    for key in keys.values():
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(queue).account}},
            )
        )


@jsii.implements(events.IRuleTarget)
class _QueueTarget:
    """An EventBridge rule target that admits its own rule only.

    CDK's ``targets.SqsQueue`` leaves out the ``aws:SourceArn`` condition when the queue is
    encrypted, which would let any EventBridge rule, in any account, send to it.
    """

    def __init__(
        self,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue | None,
        message: events.RuleTargetInput | None,
    ) -> None:
        self.queue = queue
        self.dead_letter_queue = dead_letter_queue
        self.message = message

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        for queue in (self.queue, self.dead_letter_queue):
            if queue is None:
                continue
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["sqs:SendMessage"],
                    resources=[queue.queue_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": rule.rule_ref.rule_arn}},
                )
            )
            if queue.encryption_master_key is not None:
                allow_to_encrypt(queue.encryption_master_key, "events.amazonaws.com")
        return events.RuleTargetConfig(
            arn=self.queue.queue_arn,
            input=self.message,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                arn=self.dead_letter_queue.queue_arn
            )
            if self.dead_letter_queue is not None
            else None,
        )


def _task_definition_of(publisher: object) -> HardenedTaskDefinition | None:
    """The task definition of a publisher: itself, or a library service's."""
    from .task_definition import HardenedTaskDefinition

    if isinstance(publisher, HardenedTaskDefinition):
        return publisher
    found = getattr(publisher, "task_definition", None)
    return found if isinstance(found, HardenedTaskDefinition) else None


@checked
def publish(
    scope: Construct,
    construct_id: str,
    *,
    publishers: Sequence[object] = (),
    variable: str = "TOPIC_ARN",
    encryption_key: kms.IKey | None = None,
) -> sns.Topic:
    """An encrypted, TLS-only SNS topic that ``publishers`` may publish to (and nothing else).

    Args:
        scope: where the topic is added.
        construct_id: the topic's id.
        publishers: services (``AlbFargateService``, ``BackendService``, ``WorkerService``,
            ...) or ``HardenedTaskDefinition`` s: each task role may ``sns:Publish`` to this
            topic and use its key through SNS only; the application container gets the
            topic's ARN in ``variable``. Default: none (grant later with ``grant_publish``).
        variable: the environment variable carrying the topic ARN. Default: ``TOPIC_ARN``.
        encryption_key: the topic's KMS key. Default: the stack's shared key.

    Returns:
        The topic; subscribe workers with ``QueueSource(topic=...)``.
    """
    problems = Problems(scope, construct_id)
    found = [_task_definition_of(publisher) for publisher in publishers]
    for index, publisher in enumerate(publishers):
        problems.require(
            found[index] is not None,
            f"publishers[{index}]",
            "is neither a library service nor a HardenedTaskDefinition",
            type(publisher).__name__,
            "pass the service construct (e.g. an AlbFargateService) or its task definition",
        )
    definitions = [definition for definition in found if definition is not None]
    problems.require(
        bool(_VARIABLE.match(variable)),
        "variable",
        "must be an environment variable name",
        variable,
        "pass e.g. ORDER_EVENTS_TOPIC_ARN",
    )
    for definition in definitions:
        problems.require(
            variable not in definition.variables,
            "variable",
            f"is set already in {definition.node.path}'s container",
            variable,
            "pick another name, e.g. ORDER_EVENTS_TOPIC_ARN",
        )
    problems.raise_if_any()
    key = encryption_key or stack_key(scope)
    topic = sns.Topic(scope, construct_id, master_key=key, enforce_ssl=True)
    for definition in definitions:
        grant_publish(topic, definition.task_role)
        definition.add_variable(variable, topic.topic_arn)
    return topic


def grant_publish(topic: sns.ITopic, grantee: iam.IGrantable) -> None:
    """Let ``grantee`` publish to ``topic`` and use its key through SNS only."""
    principal = grantee.grant_principal
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn])
    )
    if topic.master_key is not None:
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[topic.master_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": _via(topic, "sns")}},
            )
        )


def grant_consume(queue: sqs.IQueue, grantee: iam.IGrantable) -> None:
    """Let ``grantee`` receive, delete and hide messages of ``queue``, and decrypt them
    through SQS only: no other queue, no send, no purge, no other use of the key."""
    principal = grantee.grant_principal
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
            resources=[queue.queue_arn],
        )
    )
    if queue.encryption_master_key is not None:
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[queue.encryption_master_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": _via(queue, "sqs")}},
            )
        )


def _via(scope: IConstruct, service: str) -> str:
    return f"{service}.{cdk.Stack.of(scope).region}.{cdk.Stack.of(scope).url_suffix}"
