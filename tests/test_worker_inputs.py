"""WorkerService, its queue and sources, backlog scaling and ``publish``: the mistakes refused
before anything is built, and the message that names each one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from ecs_patterns_plus import (
    AlbFargateService,
    BacklogScaling,
    DeploymentStrategy,
    HardenedCluster,
    MonitoringThresholds,
    QueueOptions,
    QueueSource,
    ScalingOptions,
    SecureLoadBalancer,
    ServiceMonitoring,
    ValidationError,
    VpcEndpoints,
    WorkerService,
    publish,
)
from tests.scenarios.common import certificate, existing_vpc
from tests.util import hardened_task, stack_for_errors


def _worker(stack: cdk.Stack, **options: Any) -> WorkerService:
    cluster = (
        options.pop("cluster", None)
        or HardenedCluster(stack, "Platform", vpc=existing_vpc(stack)).cluster
    )
    task = options.pop("task_definition", None) or hardened_task(stack, **options.pop("task", {}))
    return WorkerService(stack, "Worker", cluster=cluster, task_definition=task, **options)


def _rule(stack: cdk.Stack) -> events.Rule:
    return events.Rule(stack, "Rule", event_pattern=events.EventPattern(source=["aws.s3"]))


def _topic(stack: cdk.Stack) -> sns.Topic:
    return sns.Topic(stack, "Topic")


FILTER = {"type": sns.SubscriptionFilter.string_filter(allowlist=["order.placed"])}

# (case, how the worker is built, what the error says)
CASES: list[tuple[str, Callable[[cdk.Stack], Any], str]] = [
    (
        "visibility shorter than stop timeout",
        lambda s: _worker(s, queue=QueueOptions(visibility_timeout=cdk.Duration.seconds(20))),
        "queue.visibility_timeout: is shorter than the task's stop timeout (30 s)",
    ),
    (
        "visibility shorter than processing time",
        lambda s: _worker(
            s,
            queue=QueueOptions(visibility_timeout=cdk.Duration.seconds(40)),
            scaling=ScalingOptions(
                backlog=BacklogScaling(
                    acceptable_latency=cdk.Duration.minutes(10),
                    processing_time=cdk.Duration.minutes(1),
                )
            ),
        ),
        "queue.visibility_timeout: is shorter than the processing time per message (60 s)",
    ),
    (
        "max receive count 0",
        lambda s: _worker(s, queue=QueueOptions(max_receive_count=0)),
        "queue.max_receive_count: must be between 1 and 1000",
    ),
    (
        "dead letters expire before messages",
        lambda s: _worker(
            s,
            queue=QueueOptions(
                retention=cdk.Duration.days(7), dead_letter_retention=cdk.Duration.days(3)
            ),
        ),
        "queue.dead_letter_retention: is shorter than the queue's retention",
    ),
    (
        "retention above 14 days",
        lambda s: _worker(s, queue=QueueOptions(retention=cdk.Duration.days(15))),
        "queue.retention: must be between 60 and 1209600 seconds",
    ),
    (
        "existing queue with new-queue options",
        lambda s: _worker(s, queue=QueueOptions(queue=sqs.Queue(s, "Given"), max_receive_count=3)),
        "queue: sets options of a new queue together with an existing queue",
    ),
    (
        "sources on an imported queue",
        lambda s: _worker(
            s,
            queue=QueueOptions(
                queue=sqs.Queue.from_queue_arn(
                    s, "Imported", "arn:aws:sqs:ap-northeast-2:111122223333:jobs"
                )
            ),
            sources=[QueueSource(topic=_topic(s))],
        ),
        "sources: need a queue policy that admits them, and an imported queue's policy cannot",
    ),
    (
        "url variable already set",
        lambda s: _worker(s, task={"environment": {"QUEUE_URL": "https://example.com"}}),
        "queue.url_variable: must be a variable name the container does not set already",
    ),
    (
        "filter policy on an EventBridge source",
        lambda s: _worker(s, sources=[QueueSource(rule=_rule(s), filter_policy=FILTER)]),
        "sources[0]: sets options of an SNS subscription on an EventBridge source",
    ),
    (
        "a source with neither topic nor rule",
        lambda s: _worker(s, sources=[QueueSource()]),
        "sources[0]: needs exactly one of topic or rule",
    ),
    (
        "a rule's message on a topic source",
        lambda s: _worker(
            s,
            sources=[QueueSource(topic=_topic(s), message=events.RuleTargetInput.from_text("x"))],
        ),
        "sources[0].message: applies to an EventBridge rule",
    ),
    (
        "one topic twice",
        lambda s: _worker(
            s,
            sources=[QueueSource(topic=_topic(s)), QueueSource(topic=s.node.find_child("Topic"))],  # type: ignore[arg-type]
        ),
        "sources: subscribe the queue to one topic twice",
    ),
    (
        "scale to zero with a minimum above zero",
        lambda s: _worker(s, scaling=ScalingOptions(backlog=BacklogScaling(scale_to_zero=True))),
        "scaling.backlog.scale_to_zero: needs a minimum capacity of 0, and the service keeps "
        "at least 2 tasks",
    ),
    (
        "a minimum of zero without scale to zero",
        lambda s: _worker(s, desired_count=0),
        "scaling.backlog.scale_to_zero: is needed with a minimum capacity of 0",
    ),
    (
        "both targets",
        lambda s: _worker(
            s,
            scaling=ScalingOptions(
                backlog=BacklogScaling(
                    messages_per_task=5,
                    acceptable_latency=cdk.Duration.minutes(1),
                    processing_time=cdk.Duration.seconds(1),
                )
            ),
        ),
        "scaling.backlog: takes messages_per_task or acceptable_latency / processing_time",
    ),
    (
        "latency without processing time",
        lambda s: _worker(
            s,
            scaling=ScalingOptions(
                backlog=BacklogScaling(acceptable_latency=cdk.Duration.minutes(1))
            ),
        ),
        "scaling.backlog: derives messages per task from acceptable_latency and processing_time "
        "together",
    ),
    (
        "latency shorter than the processing time",
        lambda s: _worker(
            s,
            scaling=ScalingOptions(
                backlog=BacklogScaling(
                    acceptable_latency=cdk.Duration.seconds(1),
                    processing_time=cdk.Duration.seconds(4),
                )
            ),
        ),
        "scaling.backlog: allows less than one message per task",
    ),
    (
        "a token latency",
        lambda s: _worker(
            s,
            scaling=ScalingOptions(
                backlog=BacklogScaling(
                    acceptable_latency=cdk.Duration.seconds(cdk.Token.as_number({"Ref": "L"})),
                    processing_time=cdk.Duration.seconds(4),
                )
            ),
        ),
        "scaling.backlog.acceptable_latency: must be a literal duration above zero",
    ),
    (
        "requests per target on a worker",
        lambda s: _worker(
            s, scaling=ScalingOptions(requests_per_target=100, backlog=BacklogScaling())
        ),
        "scaling.requests_per_target: needs requests, and a worker receives none",
    ),
    (
        "a blue/green worker",
        lambda s: _worker(s, deployment=DeploymentStrategy.blue_green()),
        "deployment:",
    ),
    (
        "no Container Insights",
        lambda s: _worker(
            s,
            cluster=ecs.Cluster(
                s,
                "Plain",
                vpc=existing_vpc(s),
                container_insights_v2=ecs.ContainerInsights.DISABLED,
            ),
        ),
        "scaling.backlog: divides the backlog by Container Insights' task count, and the cluster "
        "has Container Insights off",
    ),
    (
        "restricted egress without an SQS endpoint",
        lambda s: _worker(
            s,
            endpoints=VpcEndpoints(
                s, "Endpoints", vpc=HardenedCluster(s, "Platform", vpc=existing_vpc(s)).cluster.vpc
            ),
            cluster=s.node.find_child("Platform").cluster,  # type: ignore[attr-defined]
            https_egress=[ec2.Peer.prefix_list("pl-78a54011")],
        ),
        "endpoints: have no SQS endpoint, and the restricted https_egress leaves the tasks no "
        "other way to their queue",
    ),
]


@pytest.mark.parametrize(("build", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_worker_mistake_is_refused_before_anything_is_built(
    build: Callable[[cdk.Stack], Any], message: str
) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match="Errors/Worker: ") as raised:
        build(stack)
    assert message in str(raised.value)
    assert stack.node.try_find_child("Worker") is None


def test_backlog_scaling_is_refused_on_a_service_without_a_queue() -> None:
    stack = stack_for_errors()
    vpc = existing_vpc(stack)
    with pytest.raises(ValidationError) as raised:
        AlbFargateService(
            stack,
            "Web",
            cluster=HardenedCluster(stack, "Platform", vpc=vpc).cluster,
            task_definition=hardened_task(stack, container_port=8080),
            load_balancer=SecureLoadBalancer(stack, "Lb", vpc=vpc, certificate=certificate(stack)),
            scaling=ScalingOptions(backlog=BacklogScaling()),
        )
    assert (
        "scaling.backlog: tracks the backlog of a queue, and only a WorkerService drains one"
        in (str(raised.value))
    )


def test_a_wrong_type_is_named_for_the_worker_and_publish() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as raised:
        _worker(stack, queue={"max_receive_count": 3})
    assert "queue: expected a QueueOptions; got dict" in str(raised.value)
    with pytest.raises(ValidationError) as raised:
        publish(stack, "Events", publishers=["web"])
    assert "publishers[0]: is neither a library service nor a HardenedTaskDefinition" in str(
        raised.value
    )
    assert stack.node.try_find_child("Events") is None


def test_publish_refuses_a_variable_the_publisher_sets() -> None:
    stack = stack_for_errors()
    task = hardened_task(stack, environment={"TOPIC_ARN": "arn:aws:sns:ap-northeast-2:1:x"})
    with pytest.raises(ValidationError, match="variable: is set already in Errors/Task's"):
        publish(stack, "Events", publishers=[task])
    with pytest.raises(ValidationError, match="variable: must be an environment variable name"):
        publish(stack, "Events", publishers=[task], variable="topic-arn")


def test_monitoring_refuses_dead_letters_without_their_queue_and_bad_queue_thresholds() -> None:
    stack = stack_for_errors()
    worker = _worker(stack)
    with pytest.raises(ValidationError) as raised:
        ServiceMonitoring(
            stack,
            "Monitoring",
            service=worker.service,
            dead_letter_queue=worker.dead_letter_queue,
            thresholds=MonitoringThresholds(
                queue_backlog=0, oldest_message_age=cdk.Duration.seconds(10)
            ),
        )
    message = str(raised.value)
    assert "dead_letter_queue: goes with the queue whose failed messages it holds" in message
    assert "thresholds.queue_backlog: must be between 1 and 100,000,000" in message
    assert "thresholds.oldest_message_age: must be between 1 minute and 20160 minutes" in message


def test_the_smallest_and_largest_queue_settings_are_accepted() -> None:
    stack = stack_for_errors()
    _worker(
        stack,
        task={"stop_timeout": cdk.Duration.seconds(120)},
        queue=QueueOptions(
            max_receive_count=1000,
            retention=cdk.Duration.seconds(60),
            dead_letter_retention=cdk.Duration.days(14),
            visibility_timeout=cdk.Duration.seconds(120),
        ),
        scaling=ScalingOptions(
            cpu_target_percent=None, backlog=BacklogScaling(messages_per_task=1)
        ),
    )
