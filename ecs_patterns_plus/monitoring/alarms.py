"""Alarms that notify a topic, and the golden-signal alarms a deployment rolls back on."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .. import defaults
from ..errors import checked
from .checks import check_interface, check_load_balancing, check_service_name, problems_at
from .metrics import LoadBalancerMetrics, NetworkLoadBalancerMetrics, ServiceConnectMetrics
from .thresholds import GOLDEN_SIGNALS, MonitoringThresholds, check_thresholds, show, warn_disabled


def alarm(
    scope: Construct,
    construct_id: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    topic: sns.ITopic,
    evaluation_periods: int,
    datapoints_to_alarm: int,
    comparison: cloudwatch.ComparisonOperator = (
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    ),
) -> cloudwatch.Alarm:
    """An alarm that notifies ``topic`` on ALARM and OK; missing data (no traffic) never breaches."""
    result = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
        actions_enabled=True,
    )
    notify(result, topic)
    return result


def service_alarm(
    scope: Construct,
    construct_id: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    topic: sns.ITopic,
    thresholds: MonitoringThresholds,
    comparison: cloudwatch.ComparisonOperator = (
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    ),
) -> cloudwatch.Alarm:
    """An ``alarm`` judged on the minutes ``thresholds`` name (M breaching out of N)."""
    return alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        description=description,
        topic=topic,
        evaluation_periods=thresholds.evaluation_periods,
        datapoints_to_alarm=thresholds.datapoints_to_alarm,
        comparison=comparison,
    )


def notify(alarm: cloudwatch.AlarmBase, topic: sns.ITopic) -> None:
    """Notify ``topic`` when ``alarm`` goes to ALARM and back to OK."""
    action = cw_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)


GOLDEN_KEYS = {
    "RollbackAlarm": "golden_signals",
    "Target5xxRate": "target_5xx",
    "TargetResponseTimeP99": "latency_p99",
    "UnhealthyHosts": "unhealthy_hosts",
}
"""Construct id of each golden-signal alarm -> its key in ``ServiceMonitoring.alarms``."""


def golden_signals(
    scope: Construct,
    metrics: LoadBalancerMetrics | ServiceConnectMetrics,
    topic: sns.ITopic,
    thresholds: MonitoringThresholds,
    name: str,
) -> dict[str, cloudwatch.Alarm]:
    """The golden-signal alarms of a target group or a Service Connect port, by their key in
    ``ServiceMonitoring.alarms``: target 5xx rate, p99 response time and, behind a load
    balancer, unhealthy hosts (Service Connect counts none)."""
    alarms: dict[str, cloudwatch.Alarm] = {}
    if thresholds.target_5xx_percent is not None:
        alarms["target_5xx"] = service_alarm(
            scope,
            "Target5xxRate",
            metric=metrics.target_5xx_rate(thresholds.min_requests),
            threshold=thresholds.target_5xx_percent,
            topic=topic,
            thresholds=thresholds,
            description=f"{name}: at least {show(thresholds.target_5xx_percent)}% of requests "
            "end in a 5xx from the service. Read the service's error logs; if a deployment "
            "is running, it rolls back.",
        )
    if thresholds.latency_p99 is not None:
        seconds = thresholds.latency_p99.to_seconds(integral=False)
        alarms["latency_p99"] = service_alarm(
            scope,
            "TargetResponseTimeP99",
            metric=metrics.target("TargetResponseTime", "p99"),
            threshold=seconds * metrics.response_time_unit,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            topic=topic,
            thresholds=thresholds,
            description=f"{name}: p99 response time above {show(seconds)} s. Check CPU and "
            "memory, downstream dependencies and recent deployments.",
        )
    if thresholds.unhealthy_hosts is not None and metrics.health_checked:
        alarms["unhealthy_hosts"] = service_alarm(
            scope,
            "UnhealthyHosts",
            metric=metrics.target("UnHealthyHostCount", "Maximum"),
            threshold=thresholds.unhealthy_hosts,
            topic=topic,
            thresholds=thresholds,
            description=f"{name}: {show(thresholds.unhealthy_hosts)}+ targets fail the load "
            "balancer health check. Check the health check path, port, interval and timeout, "
            "and that the service security group admits the load balancer on the container port.",
        )
    return alarms


@checked
def golden_signal_alarms(
    scope: Construct,
    *,
    load_balancer: elbv2.IApplicationLoadBalancer,
    target_group: elbv2.IApplicationTargetGroup,
    topic: sns.ITopic,
    thresholds: MonitoringThresholds = MonitoringThresholds(),
    service_name: str | None = None,
) -> list[cloudwatch.Alarm]:
    """The golden-signal alarms of a target group: the alarms a deployment rolls back on.

    Adds, in ``scope``, ``Target5xxRate`` (target 5xx, % of requests), ``TargetResponseTimeP99``
    and ``UnhealthyHosts``, each notifying ``topic`` on ALARM and OK. They depend only on the
    load balancer and target group, never on the service, so a service may name them in its
    deployment configuration. ``ServiceMonitoring`` builds its golden signals with this
    function: pass ``monitoring.golden_signal_alarms`` to a deployment instead of calling it
    twice for one target group.

    Args:
        scope: where the alarms are added.
        load_balancer: the application load balancer in front of the service.
        target_group: the service's target group on it.
        topic: SNS topic every alarm notifies (see ``notification_topic``).
        thresholds: ``target_5xx_percent``, ``latency_p99``, ``unhealthy_hosts``,
            ``min_requests``, ``evaluation_periods`` and ``datapoints_to_alarm`` apply; a
            threshold of ``None`` leaves its alarm out, with a warning.
            Default: ``MonitoringThresholds()``.
        service_name: name used in the alarm descriptions. Default: the target group.

    Returns:
        The alarms, in the order above (turned-off alarms left out).
    """
    problems = problems_at(scope)
    check_thresholds(problems, "thresholds", thresholds)
    check_load_balancing(problems, load_balancer, target_group, required=True)
    check_interface(problems, "topic", topic, "topic_arn", "an SNS topic (sns.ITopic)")
    check_service_name(problems, service_name)
    problems.raise_if_any()
    warn_disabled(scope, thresholds, GOLDEN_SIGNALS)
    metrics = LoadBalancerMetrics(load_balancer, target_group)
    name = service_name or metrics.target_dimensions["TargetGroup"]
    return list(golden_signals(scope, metrics, topic, thresholds, name).values())


def golden_signal_alarm(
    scope: Construct,
    construct_id: str,
    *,
    metrics: LoadBalancerMetrics | ServiceConnectMetrics,
    topic: sns.ITopic,
    thresholds: MonitoringThresholds,
    name: str,
) -> cloudwatch.Alarm | None:
    """One alarm on a target group's (or a Service Connect port's) golden signals: it fires
    when any of them breaches.

    The rollback alarm of a service: the target 5xx rate (minutes with at least
    ``min_requests`` requests), the p99 response time and the unhealthy hosts (behind a
    load balancer; Service Connect counts none), combined by
    metric math into one series (1 while any breaches, else 0) judged like every other alarm
    (``datapoints_to_alarm`` of ``evaluation_periods`` minutes). One alarm instead of three per
    target group keeps a service small; ``ServiceMonitoring`` without a service's alarms keeps
    the three apart for diagnosis. ``None`` when all three thresholds are off.
    """
    t = thresholds
    using: dict[str, cloudwatch.IMetric] = {}
    breaches: list[str] = []
    said: list[str] = []
    if t.target_5xx_percent is not None:
        using["errors"] = metrics.target("HTTPCode_Target_5XX_Count", "Sum", "Target 5xx")
        using["requests"] = metrics.requests()
        counted = f"FILL(requests, 0) >= {show(t.min_requests)} AND FILL(requests, 0) > 0"
        rate = f"IF({counted}, 100 * FILL(errors, 0) / FILL(requests, 1), 0)"
        breaches.append(f"({rate} >= {show(t.target_5xx_percent)})")
        said.append(f"at least {show(t.target_5xx_percent)}% of requests end in a 5xx")
    if t.latency_p99 is not None:
        seconds = t.latency_p99.to_seconds(integral=False)
        using["p99"] = metrics.target("TargetResponseTime", "p99", "p99 response time")
        breaches.append(f"(FILL(p99, 0) > {show(seconds * metrics.response_time_unit)})")
        said.append(f"p99 response time above {show(seconds)} s")
    if t.unhealthy_hosts is not None and metrics.health_checked:
        using["unhealthy"] = metrics.target("UnHealthyHostCount", "Maximum", "Unhealthy hosts")
        breaches.append(f"(FILL(unhealthy, 0) >= {show(t.unhealthy_hosts)})")
        said.append(f"{show(t.unhealthy_hosts)}+ targets fail the health check")
    if not breaches:
        return None
    return _any_breach_alarm(
        scope,
        construct_id,
        using=using,
        breaches=breaches,
        label="Golden signals breached (1) or not (0)",
        topic=topic,
        thresholds=thresholds,
        description=f"{name}: {', or '.join(said)}. A running deployment rolls back. Check the "
        "service's error logs, CPU and memory, downstream dependencies"
        + (
            ", the health check path and port, and that the service security group admits the "
            "load balancer."
            if metrics.health_checked
            else " and the Service Connect access logs in the service's log group."
        ),
    )


def network_signal_alarm(
    scope: Construct,
    construct_id: str,
    *,
    metrics: NetworkLoadBalancerMetrics,
    topic: sns.ITopic,
    thresholds: MonitoringThresholds,
    name: str,
) -> cloudwatch.Alarm | None:
    """One alarm on what a Network Load Balancer measures of its targets: unhealthy tasks
    (``unhealthy_hosts``), or tasks resetting connections (``target_resets``: a revision that
    crashes or refuses them). ``None`` when both thresholds are off.

    TLS errors stay out: ``TargetTLSNegotiationErrorCount`` exists only for TLS target groups
    (the library ends TLS at the listener), and ``ClientTLSNegotiationErrorCount`` counts
    handshakes between clients and the load balancer, which no task revision changes: rolling
    back on it would undo good deployments.
    """
    t = thresholds
    using: dict[str, cloudwatch.IMetric] = {}
    breaches, said = [], []
    if t.unhealthy_hosts is not None:
        using["unhealthy"] = metrics.target("UnHealthyHostCount", "Maximum", "Unhealthy tasks")
        breaches.append(f"(FILL(unhealthy, 0) >= {show(t.unhealthy_hosts)})")
        said.append(f"{show(t.unhealthy_hosts)}+ tasks fail the health check")
    if t.target_resets is not None:
        using["resets"] = metrics.target("TCP_Target_Reset_Count", "Sum", "Target resets")
        breaches.append(f"(FILL(resets, 0) >= {show(t.target_resets)})")
        said.append(f"the tasks reset {show(t.target_resets)}+ connections a minute")
    if not breaches:
        return None
    return _any_breach_alarm(
        scope,
        construct_id,
        using=using,
        breaches=breaches,
        label="Network load balancer signals breached (1) or not (0)",
        topic=topic,
        thresholds=thresholds,
        description=f"{name}: {', or '.join(said)}. A running deployment rolls back. Check the "
        "service's error logs, the health check port and protocol, and that the service "
        "security group admits the load balancer.",
    )


def _any_breach_alarm(
    scope: Construct,
    construct_id: str,
    *,
    using: dict[str, cloudwatch.IMetric],
    breaches: list[str],
    label: str,
    topic: sns.ITopic,
    thresholds: MonitoringThresholds,
    description: str,
) -> cloudwatch.Alarm:
    """One alarm on several conditions (``breaches``, metric-math terms over ``using``): the
    series is 1 while any of them holds, judged like every other alarm."""
    return service_alarm(
        scope,
        construct_id,
        metric=cloudwatch.MathExpression(
            expression=" OR ".join(breaches),
            using_metrics=using,
            label=label,
            period=defaults.ALARM_PERIOD,
        ),
        threshold=1,
        topic=topic,
        thresholds=thresholds,
        description=description,
    )


def undelivered_notifications_alarm(
    scope: Construct, queue: sqs.IQueue, topic: sns.ITopic, name: str
) -> cloudwatch.Alarm:
    """``UndeliveredNotifications``: something waits in a notification dead-letter queue."""
    return alarm(
        scope,
        "UndeliveredNotifications",
        metric=queue.metric_approximate_number_of_messages_visible(
            period=defaults.UNDELIVERED_ALARM_PERIOD, statistic="Maximum"
        ),
        threshold=1,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        topic=topic,
        description=f"{name}: event notifications could not be delivered to the topic and "
        "wait in the dead-letter queue. Check the topic policy and its KMS key policy.",
    )
