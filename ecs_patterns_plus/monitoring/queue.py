"""A worker's queue: its metrics, its alarms (oldest message, backlog, dead letters) and panels.

SQS sends its metrics to CloudWatch every minute; a queue with no activity for six hours may
stop sending them until it is active again, so these alarms treat missing data as OK.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..autoscaling import BACKLOG_PER_TASK
from .alarms import alarm
from .metrics import insights_metric
from .thresholds import MonitoringThresholds, show, show_duration

_MINUTE = cdk.Duration.minutes(1)


class QueueMetrics:
    """The metrics of a worker's ``queue``, its ``dead_letter_queue`` and its ``service``."""

    def __init__(
        self, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue | None, service: ecs.IBaseService
    ) -> None:
        self.queue = queue
        self.dead_letter_queue = dead_letter_queue
        self.service = service

    def visible(self) -> cloudwatch.Metric:
        return self.queue.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=_MINUTE, label="Waiting (visible)"
        )

    def in_flight(self) -> cloudwatch.Metric:
        return self.queue.metric_approximate_number_of_messages_not_visible(
            statistic="Maximum", period=_MINUTE, label="Being processed (in flight)"
        )

    def oldest_age(self) -> cloudwatch.Metric:
        return self.queue.metric_approximate_age_of_oldest_message(
            statistic="Maximum", period=_MINUTE, label="Oldest message age (s)"
        )

    def dead_letters(self) -> cloudwatch.Metric | None:
        if self.dead_letter_queue is None:
            return None
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=_MINUTE, label="Dead letters"
        )

    def backlog_per_task(self) -> cloudwatch.MathExpression:
        """Visible messages per desired task: what backlog scaling holds at its target."""
        return cloudwatch.MathExpression(
            expression=BACKLOG_PER_TASK,
            using_metrics={
                "visible": self.visible(),
                "tasks": insights_metric(self.service, "DesiredTaskCount", "Desired tasks"),
            },
            label="Visible messages per task",
            period=_MINUTE,
        )


def dead_letters_arriving_alarm(
    scope: Construct, dead_letter_queue: sqs.IQueue, topic: sns.ITopic, name: str
) -> cloudwatch.Alarm:
    """``DeadLetters``: messages moved to the dead-letter queue within the last minute.

    The deployment rollback alarm of a worker: a release that fails every message sends them
    to the dead-letter queue after ``max_receive_count`` receives. It watches arrivals (the
    depth's increase), not the depth, so old dead letters do not block every deployment.
    SQS does not count moved messages in ``NumberOfMessagesSent``, hence the difference.
    """
    return alarm(
        scope,
        "DeadLetters",
        metric=cloudwatch.MathExpression(
            expression="DIFF(FILL(dead, REPEAT))",
            using_metrics={
                "dead": dead_letter_queue.metric_approximate_number_of_messages_visible(
                    statistic="Maximum", period=_MINUTE
                )
            },
            label="Messages moved to the dead-letter queue",
            period=_MINUTE,
        ),
        threshold=1,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        topic=topic,
        description=f"{name}: messages failed every receive and moved to the dead-letter "
        "queue. Read the worker's error logs; if a deployment is running, it rolls back.",
    )


def queue_alarms(
    scope: Construct,
    metrics: QueueMetrics,
    topic: sns.ITopic,
    thresholds: MonitoringThresholds,
    name: str,
) -> dict[str, cloudwatch.Alarm]:
    """The queue alarms of ``ServiceMonitoring``, by their key in its ``alarms``."""
    t = thresholds
    alarms: dict[str, cloudwatch.Alarm] = {}
    if t.oldest_message_age is not None:
        alarms["oldest_message_age"] = alarm(
            scope,
            "OldestMessageAge",
            metric=metrics.oldest_age(),
            threshold=t.oldest_message_age.to_seconds(),
            evaluation_periods=t.evaluation_periods,
            datapoints_to_alarm=t.datapoints_to_alarm,
            topic=topic,
            description=f"{name}: a message has waited over "
            f"{show_duration(t.oldest_message_age)}. The workers are stuck, failing, or at "
            "their maximum task count: check running tasks, errors and the backlog.",
        )
    if t.queue_backlog is not None:
        minutes = t.queue_backlog_minutes
        alarms["queue_backlog"] = alarm(
            scope,
            "QueueBacklog",
            metric=metrics.visible(),
            threshold=t.queue_backlog,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            topic=topic,
            description=f"{name}: more than {show(t.queue_backlog)} messages have waited for "
            f"{show(minutes)} minutes. The workers do not keep up: raise max_capacity or "
            "speed up the processing.",
        )
    dead_letters = metrics.dead_letters()
    if t.dead_letters is not None and dead_letters is not None:
        alarms["dead_letters"] = alarm(
            scope,
            "DeadLettersWaiting",
            metric=dead_letters,
            threshold=t.dead_letters,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            topic=topic,
            description=f"{name}: {show(t.dead_letters)}+ messages wait in the dead-letter "
            "queue, each having failed every receive. Inspect them, fix the cause, then "
            "redrive them to the queue (SQS console: Start DLQ redrive).",
        )
    return alarms


def queue_panels(
    metrics: QueueMetrics, thresholds: MonitoringThresholds
) -> list[cloudwatch.IWidget]:
    """Dashboard panels: messages waiting and in flight, the oldest one, backlog per task."""
    backlog: list[cloudwatch.IMetric] = [metrics.visible(), metrics.in_flight()]
    dead_letters = metrics.dead_letters()
    if dead_letters is not None:
        backlog.append(dead_letters)
    age = thresholds.oldest_message_age
    return [
        cloudwatch.GraphWidget(
            title="Queue: messages",
            left=backlog,
            right=[metrics.backlog_per_task()],
            left_y_axis=cloudwatch.YAxisProps(min=0),
            right_y_axis=cloudwatch.YAxisProps(min=0, label="per task", show_units=False),
            width=12,
            height=6,
        ),
        cloudwatch.GraphWidget(
            title="Queue: oldest message age (s)",
            left=[metrics.oldest_age()],
            left_y_axis=cloudwatch.YAxisProps(min=0),
            left_annotations=[
                cloudwatch.HorizontalAnnotation(value=age.to_seconds(), label="Alarm")
            ]
            if age is not None
            else None,
            width=12,
            height=6,
        ),
    ]
