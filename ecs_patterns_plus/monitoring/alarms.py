"""Alarms that notify a topic, and the golden-signal alarms a deployment rolls back on."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from constructs import Construct

from .checks import check_interface, check_load_balancing, check_service_name, problems_at
from .metrics import LoadBalancerMetrics
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
    "Target5xxRate": "target_5xx",
    "TargetResponseTimeP99": "latency_p99",
    "UnhealthyHosts": "unhealthy_hosts",
}
"""Construct id of each golden-signal alarm -> its key in ``ServiceMonitoring.alarms``."""


def golden_signals(
    scope: Construct,
    metrics: LoadBalancerMetrics,
    topic: sns.ITopic,
    thresholds: MonitoringThresholds,
    name: str,
) -> dict[str, cloudwatch.Alarm]:
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
            threshold=seconds,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            topic=topic,
            thresholds=thresholds,
            description=f"{name}: p99 response time above {show(seconds)} s. Check CPU and "
            "memory, downstream dependencies and recent deployments.",
        )
    if thresholds.unhealthy_hosts is not None:
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
