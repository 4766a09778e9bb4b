"""Service autoscaling: target tracking (CPU, memory, requests or backlog per task), step and
scheduled."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from . import defaults
from .errors import Problems, duration_seconds, is_token

_CONSTRUCT_ID = re.compile(r"^[A-Z][A-Za-z0-9]*$")


@dataclass(frozen=True, kw_only=True)
class StepScalingOptions:
    """Step scaling on any metric, e.g. queue depth or p99 latency.

    Args:
        name: PascalCase id of the policy (part of its logical id).
        metric: the metric to watch.
        steps: ``appscaling.ScalingInterval`` bands and the change for each.
        adjustment_type: how ``change`` is read. Default: change in capacity (tasks).
        cooldown: wait after a step before the next. Default: 60 seconds.
        evaluation_periods: periods the metric must breach. Default: 1.
    """

    name: str
    metric: cloudwatch.IMetric
    steps: Sequence[appscaling.ScalingInterval]
    adjustment_type: appscaling.AdjustmentType = defaults.STEP_SCALING_ADJUSTMENT
    cooldown: cdk.Duration = defaults.SCALE_OUT_COOLDOWN
    evaluation_periods: int = defaults.STEP_SCALING_EVALUATION_PERIODS


@dataclass(frozen=True, kw_only=True)
class ScheduledScalingOptions:
    """Capacity bounds on a schedule, e.g. a higher floor during business hours.

    Args:
        name: PascalCase id of the scheduled action.
        schedule: ``appscaling.Schedule.cron(...)`` / ``.rate(...)`` / ``.at(...)``.
        min_capacity / max_capacity: bounds from then on. At least one is required.
        time_zone: the schedule's time zone. Default: UTC.
    """

    name: str
    schedule: appscaling.Schedule
    min_capacity: int | None = None
    max_capacity: int | None = None
    time_zone: cdk.TimeZone | None = None


@dataclass(frozen=True, kw_only=True)
class BacklogScaling:
    """Target tracking on a worker's backlog per task: visible messages / tasks.

    Computed by CloudWatch metric math in the scaling policy itself (no Lambda function):
    ``backlog = visible / desired tasks`` (``AWS/SQS ApproximateNumberOfMessagesVisible`` over
    Container Insights' ``DesiredTaskCount``). Target tracking sets the task count to
    ``ceil(tasks * backlog / target)`` = ``ceil(visible / messages_per_task)``.

    Give the target as ``messages_per_task``, or as ``acceptable_latency`` and
    ``processing_time`` (target = acceptable latency / processing time per message).

    Args:
        messages_per_task: visible messages each task may hold, 1 to 100,000.
            Default: 10, or ``acceptable_latency / processing_time`` when both are given.
        acceptable_latency: how long a message may wait before a task starts on it; literal.
        processing_time: how long a task takes per message; literal. At most the queue's
            visibility timeout (a message would be received twice).
        scale_to_zero: run no task while the queue is empty; a step policy starts one task
            when a message arrives (the wake-up takes a few minutes: CloudWatch's SQS metrics
            arrive every minute, then a task starts). Needs a minimum capacity of 0
            (``desired_count=0``). Default: False.
    """

    messages_per_task: float | None = None
    acceptable_latency: cdk.Duration | None = None
    processing_time: cdk.Duration | None = None
    scale_to_zero: bool = False

    @property
    def target(self) -> float:
        """The messages per task to hold (after ``check_backlog``)."""
        if self.messages_per_task is not None:
            return self.messages_per_task
        if self.acceptable_latency is None or self.processing_time is None:
            return defaults.WORKER_MESSAGES_PER_TASK
        latency = duration_seconds(self.acceptable_latency)
        each = duration_seconds(self.processing_time)
        assert latency is not None and each is not None  # checked: literal durations
        return latency / each


@dataclass(frozen=True, kw_only=True)
class ScalingOptions:
    """How a service scales. Target-tracking policies combine: the largest wins.

    Args:
        min_capacity: fewest tasks, and where a new service settles: the template leaves the
            task count to Application Auto Scaling (a deployment never resets it), which
            raises CloudFormation's initial one task to this minimum when it registers the
            service. At least the service's ``desired_count``. Default: ``desired_count``.
        max_capacity: most tasks. Default: 10.
        cpu_target_percent: average CPU to hold; None to turn off. Default: 50.
        memory_target_percent: average memory to hold. Default: None (off).
        requests_per_target: requests per task and minute to hold: the ALB's
            ``RequestCountPerTarget`` behind a load balancer, Service Connect's (``AWS/ECS``,
            by ``TargetDiscoveryName``, average per minute) for a published HTTP port.
            Default: None (off).
        scale_out_cooldown: Default: 60 seconds (react fast).
        scale_in_cooldown: Default: 300 seconds (shrink slowly).
        step_scaling: extra step-scaling policies. Default: none.
        schedules: scheduled capacity changes. Default: none.
        backlog: backlog per task of a worker's queue (``WorkerService`` only).
            Default: None (off).
    """

    min_capacity: int | None = None
    max_capacity: int = defaults.SCALING_MAX_CAPACITY
    cpu_target_percent: float | None = defaults.SCALING_CPU_TARGET
    memory_target_percent: float | None = None
    requests_per_target: int | None = None
    scale_out_cooldown: cdk.Duration = defaults.SCALE_OUT_COOLDOWN
    scale_in_cooldown: cdk.Duration = defaults.SCALE_IN_COOLDOWN
    step_scaling: Sequence[StepScalingOptions] = field(default_factory=tuple)
    schedules: Sequence[ScheduledScalingOptions] = field(default_factory=tuple)
    backlog: BacklogScaling | None = None


def check_scaling(problems: Problems, scaling: ScalingOptions, desired_count: int) -> None:
    """Record every problem with ``scaling`` for a service of ``desired_count`` tasks."""
    low = desired_count if scaling.min_capacity is None else scaling.min_capacity
    problems.in_range("scaling.min_capacity", low, 0, defaults.SCALING_CAPACITY_LIMIT)
    bounds = (low, desired_count, scaling.max_capacity)
    if problems.in_range(
        "scaling.max_capacity", scaling.max_capacity, 1, defaults.SCALING_CAPACITY_LIMIT
    ) and not any(is_token(bound) for bound in bounds):
        problems.require(
            low <= desired_count <= scaling.max_capacity,
            "scaling",
            "needs min_capacity <= desired_count <= max_capacity",
            f"min {low}, desired {desired_count}, max {scaling.max_capacity}",
            "raise max_capacity or lower desired_count / min_capacity",
        )
        # With autoscaling the template leaves DesiredCount out, so that no deployment resets
        # what autoscaling chose. CloudFormation then creates the service with one task, and
        # Application Auto Scaling moves it into [min, max] when it registers the service
        # (RegisterScalableTarget): the service settles at min_capacity, never above it.
        problems.require(
            low >= desired_count,
            "scaling.min_capacity",
            f"is below desired_count ({desired_count}): a new autoscaled service settles at "
            "min_capacity (Application Auto Scaling raises CloudFormation's one task to it), so "
            "desired_count would never be reached",
            low,
            f"leave min_capacity out (it is desired_count) or set desired_count={low}",
        )
    for name in ("cpu_target_percent", "memory_target_percent"):
        problems.in_range(f"scaling.{name}", getattr(scaling, name), 10, 90, "percent")
    problems.in_range("scaling.requests_per_target", scaling.requests_per_target, 1, 1_000_000)
    problems.require(
        any(
            (
                scaling.cpu_target_percent,
                scaling.memory_target_percent,
                scaling.requests_per_target,
                scaling.step_scaling,
                scaling.backlog,
            )
        ),
        "scaling",
        "has no scaling policy",
        "every policy off",
        "keep cpu_target_percent, or set memory/requests/backlog targets or step_scaling; "
        "pass scaling=None for a fixed task count",
    )
    problems.seconds_in_range("scaling.scale_out_cooldown", scaling.scale_out_cooldown, 0, 3600)
    problems.seconds_in_range("scaling.scale_in_cooldown", scaling.scale_in_cooldown, 0, 3600)
    names = [item.name for item in scaling.step_scaling] + [item.name for item in scaling.schedules]
    for name in names:
        problems.require(
            bool(_CONSTRUCT_ID.match(name)) and names.count(name) == 1,
            "scaling.step_scaling/schedules name",
            "must be unique and PascalCase",
            name,
            "e.g. 'QueueDepth' or 'BusinessHours'",
        )
    for step in scaling.step_scaling:
        problems.require(
            len(step.steps) >= 2,
            f"scaling.step_scaling[{step.name}].steps",
            "needs at least two intervals (one to scale out, one to scale in)",
            len(step.steps),
            "add a band with a negative change for scale-in",
        )
        problems.in_range(
            f"scaling.step_scaling[{step.name}].evaluation_periods", step.evaluation_periods, 1, 100
        )
    for item in scaling.schedules:
        _check_schedule(problems, scaling, item, low)
    if scaling.backlog is not None:
        _check_backlog(problems, scaling.backlog, low)


def _check_backlog(problems: Problems, backlog: BacklogScaling, low: int) -> None:
    """Record problems with backlog tracking of a service whose minimum capacity is ``low``."""
    argument = "scaling.backlog"
    latency, each = backlog.acceptable_latency, backlog.processing_time
    problems.require(
        (latency is None) == (each is None),
        argument,
        "derives messages per task from acceptable_latency and processing_time together",
        {"acceptable_latency": latency, "processing_time": each},
        "pass both, or messages_per_task alone",
    )
    problems.require(
        backlog.messages_per_task is None or latency is None,
        argument,
        "takes messages_per_task or acceptable_latency / processing_time, not both",
        backlog.messages_per_task,
        "drop one of them",
    )
    problems.in_range(f"{argument}.messages_per_task", backlog.messages_per_task, 1, 100_000)
    seconds = {
        name: duration_seconds(value)
        for name, value in (("acceptable_latency", latency), ("processing_time", each))
        if value is not None
    }
    for name, value in seconds.items():
        problems.require(
            value is not None and value > 0,
            f"{argument}.{name}",
            "must be a literal duration above zero: the target is computed at synth time",
            getattr(backlog, name),
            "pass e.g. cdk.Duration.seconds(2), or messages_per_task (a token works there)",
        )
    if len(seconds) == 2 and all(value for value in seconds.values()):
        problems.require(
            backlog.target >= 1,
            argument,
            "allows less than one message per task: acceptable_latency is shorter than "
            "processing_time, which no task count can meet",
            f"{backlog.target:g} messages per task",
            "raise acceptable_latency, or speed up the processing",
        )
    if is_token(low):
        return
    problems.require(
        low > 0 or backlog.scale_to_zero,
        f"{argument}.scale_to_zero",
        "is needed with a minimum capacity of 0: target tracking never starts a task from "
        "zero, so the queue would never be drained",
        backlog.scale_to_zero,
        "pass BacklogScaling(scale_to_zero=True), or keep at least one task",
    )
    if backlog.scale_to_zero:
        problems.require(
            low == 0,
            f"{argument}.scale_to_zero",
            f"needs a minimum capacity of 0, and the service keeps at least {low} tasks",
            low,
            "pass desired_count=0 (scaling.min_capacity then defaults to 0), or "
            "scale_to_zero=False",
        )


def _check_schedule(
    problems: Problems, scaling: ScalingOptions, item: ScheduledScalingOptions, low: int
) -> None:
    """Record problems with one scheduled action; ``low`` is the service's own minimum.

    A scheduled action sets the bounds it names and keeps the other: a new minimum above every
    maximum the service can have (or a new maximum below every minimum) makes the action fail
    when it runs (Application Auto Scaling, "How scheduled scaling works", considerations).
    """
    argument = f"scaling.schedules[{item.name}]"
    problems.require(
        item.min_capacity is not None or item.max_capacity is not None,
        argument,
        "sets neither min_capacity nor max_capacity",
        None,
        "set one or both",
    )
    limit = defaults.SCALING_CAPACITY_LIMIT
    problems.in_range(f"{argument}.min_capacity", item.min_capacity, 0, limit)
    problems.in_range(f"{argument}.max_capacity", item.max_capacity, 0, limit)
    minimum, maximum = item.min_capacity, item.max_capacity
    if any(is_token(bound) for bound in (minimum, maximum, low, scaling.max_capacity)):
        return
    if minimum is not None and maximum is not None:
        problems.require(
            minimum <= maximum,
            argument,
            "min_capacity exceeds max_capacity",
            (minimum, maximum),
            "swap or fix the bounds",
        )
        return
    others = [other for other in scaling.schedules if other is not item]
    if minimum is not None:
        highest = max(
            [scaling.max_capacity]
            + [
                o.max_capacity
                for o in others
                if o.max_capacity is not None and not is_token(o.max_capacity)
            ]
        )
        problems.require(
            minimum <= highest,
            argument,
            f"sets min_capacity above the highest max_capacity the service can have ({highest}), "
            "so the action fails when it runs",
            minimum,
            f"also set max_capacity (at least {minimum}) on this schedule, or raise "
            "scaling.max_capacity",
        )
    if maximum is not None:
        lowest = min(
            [low]
            + [
                o.min_capacity
                for o in others
                if o.min_capacity is not None and not is_token(o.min_capacity)
            ]
        )
        problems.require(
            maximum >= lowest,
            argument,
            f"sets max_capacity below the lowest min_capacity the service can have ({lowest}), "
            "so the action fails when it runs",
            maximum,
            f"also set min_capacity (at most {maximum}) on this schedule, or lower "
            "scaling.min_capacity",
        )


def apply_scaling(
    service: ecs.BaseService,
    scaling: ScalingOptions,
    *,
    desired_count: int,
    requests: elbv2.ApplicationTargetGroup | cloudwatch.IMetric | None,
    queue: sqs.IQueue | None = None,
) -> ecs.ScalableTaskCount:
    """Attach ``scaling`` (already checked) to ``service``; returns the scalable target.

    ``queue``: the worker's queue whose backlog ``scaling.backlog`` tracks."""
    count = service.auto_scale_task_count(
        min_capacity=desired_count if scaling.min_capacity is None else scaling.min_capacity,
        max_capacity=scaling.max_capacity,
    )
    scale_in, scale_out = scaling.scale_in_cooldown, scaling.scale_out_cooldown
    if scaling.cpu_target_percent:
        count.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=scaling.cpu_target_percent,
            scale_in_cooldown=scale_in,
            scale_out_cooldown=scale_out,
        )
    if scaling.memory_target_percent:
        count.scale_on_memory_utilization(
            "Memory",
            target_utilization_percent=scaling.memory_target_percent,
            scale_in_cooldown=scale_in,
            scale_out_cooldown=scale_out,
        )
    if scaling.requests_per_target and requests is not None:
        _track_requests(count, scaling, requests)
    for step in scaling.step_scaling:
        count.scale_on_metric(
            step.name,
            metric=step.metric,
            scaling_steps=list(step.steps),
            adjustment_type=step.adjustment_type,
            cooldown=step.cooldown,
            evaluation_periods=step.evaluation_periods,
        )
    if scaling.backlog is not None and queue is not None:
        _track_backlog(count, service, scaling, scaling.backlog, queue)
    for item in scaling.schedules:
        count.scale_on_schedule(
            item.name,
            schedule=item.schedule,
            min_capacity=item.min_capacity,
            max_capacity=item.max_capacity,
            time_zone=item.time_zone,
        )
    return count


def _track_requests(
    count: ecs.ScalableTaskCount,
    scaling: ScalingOptions,
    requests: elbv2.ApplicationTargetGroup | cloudwatch.IMetric,
) -> None:
    """Hold ``scaling.requests_per_target`` requests per task: the ALB's predefined metric
    for a target group, else ``requests`` (Service Connect's requests per task)."""
    per_task = scaling.requests_per_target
    assert per_task is not None
    scale_in, scale_out = scaling.scale_in_cooldown, scaling.scale_out_cooldown
    if isinstance(requests, elbv2.ApplicationTargetGroup):
        count.scale_on_request_count(
            "Requests",
            requests_per_target=per_task,
            target_group=requests,
            scale_in_cooldown=scale_in,
            scale_out_cooldown=scale_out,
        )
    else:
        count.scale_to_track_custom_metric(
            "Requests",
            metric=requests,
            target_value=per_task,
            scale_in_cooldown=scale_in,
            scale_out_cooldown=scale_out,
        )


def _track_backlog(
    count: ecs.ScalableTaskCount,
    service: ecs.BaseService,
    scaling: ScalingOptions,
    backlog: BacklogScaling,
    queue: sqs.IQueue,
) -> None:
    """Hold ``backlog.target`` visible messages per task, by metric math in the policy.

    CDK's target tracking takes single metrics only, so the policy is written as the
    CloudFormation resource (Application Auto Scaling User Guide, "Create a target tracking
    scaling policy using metric math", example "Amazon SQS queue backlog per task"). The
    denominator is the desired task count, not the running one: tasks that are still
    starting count, so the policy does not add more while they start.
    """
    target = count.node.find_child("Target")
    assert isinstance(target, appscaling.ScalableTarget)
    policy = Construct(count, "Backlog")
    metrics = appscaling.CfnScalingPolicy
    tasks = {"ClusterName": service.cluster.cluster_name, "ServiceName": service.service_name}
    queries = [
        _metric_query(
            "visible",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": queue.queue_name},
        ),
        _metric_query("tasks", *_DESIRED_TASKS, tasks),
        metrics.TargetTrackingMetricDataQueryProperty(
            id="backlog",
            expression=BACKLOG_PER_TASK,
            label="Visible messages per task",
            return_data=True,
        ),
    ]
    metrics(
        policy,
        "Resource",
        policy_name=cdk.Names.unique_id(policy),
        policy_type="TargetTrackingScaling",
        scaling_target_id=target.scalable_target_id,
        target_tracking_scaling_policy_configuration=metrics.TargetTrackingScalingPolicyConfigurationProperty(
            target_value=backlog.target,
            customized_metric_specification=metrics.CustomizedMetricSpecificationProperty(
                metrics=queries
            ),
            scale_in_cooldown=scaling.scale_in_cooldown.to_seconds(),
            scale_out_cooldown=scaling.scale_out_cooldown.to_seconds(),
        ),
    )
    if backlog.scale_to_zero:
        count.scale_on_metric(
            "WakeUp",
            metric=cloudwatch.MathExpression(
                expression="IF(FILL(tasks, 0) < 1, FILL(visible, 0), 0)",
                using_metrics={
                    "visible": queue.metric_approximate_number_of_messages_visible(
                        statistic="Maximum", period=cdk.Duration.minutes(1)
                    ),
                    "tasks": cloudwatch.Metric(
                        namespace=_DESIRED_TASKS[0],
                        metric_name=_DESIRED_TASKS[1],
                        dimensions_map=tasks,
                        statistic="Maximum",
                        period=cdk.Duration.minutes(1),
                    ),
                },
                label="Visible messages while no task runs",
                period=cdk.Duration.minutes(1),
            ),
            # One band that adds a task, one that does nothing: CDK creates only the alarm
            # that wakes the service; backlog tracking takes it from one task on.
            scaling_steps=[
                appscaling.ScalingInterval(upper=1, change=0),
                appscaling.ScalingInterval(lower=1, change=defaults.WORKER_WAKE_UP_TASKS),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=scaling.scale_out_cooldown,
            evaluation_periods=1,
        )


_DESIRED_TASKS = ("ECS/ContainerInsights", "DesiredTaskCount")
"""The denominator of backlog per task: Container Insights' desired task count of the service."""

BACKLOG_PER_TASK = "IF(FILL(tasks, 0) > 0, FILL(visible, 0) / tasks, FILL(visible, 0))"
"""Visible messages per desired task; with no task, the visible messages themselves."""


def _metric_query(
    query_id: str, namespace: str, name: str, dimensions: dict[str, str]
) -> appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty:
    metrics = appscaling.CfnScalingPolicy
    return metrics.TargetTrackingMetricDataQueryProperty(
        id=query_id,
        metric_stat=metrics.TargetTrackingMetricStatProperty(
            metric=metrics.TargetTrackingMetricProperty(
                namespace=namespace,
                metric_name=name,
                dimensions=[
                    metrics.TargetTrackingMetricDimensionProperty(name=key, value=value)
                    for key, value in dimensions.items()
                ],
            ),
            stat="Average",
        ),
        return_data=False,
    )
