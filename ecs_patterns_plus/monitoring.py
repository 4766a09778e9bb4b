"""ServiceMonitoring: alarms, a dashboard, deployment and task events, and log queries for ECS.

Everything notifies one KMS-encrypted, TLS-only SNS topic. The golden-signal alarms of a
load-balanced service (target 5xx rate, p99 latency, unhealthy hosts) come from one function,
``golden_signal_alarms``, which deployment strategies use as their rollback alarms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from . import compliance, defaults
from .encryption import create_key
from .errors import Problems, is_token

_ALB = "AWS/ApplicationELB"
_ECS = "AWS/ECS"
_INSIGHTS = "ECS/ContainerInsights"
_EVENTS = "AWS/Events"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_LOAD_BALANCER_ARN = re.compile(
    r"^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:loadbalancer/app/[^/]+/[^/]+$"
)
_TARGET_GROUP_ARN = re.compile(
    r"^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:targetgroup/[^/]+/[^/]+$"
)


@dataclass(frozen=True, kw_only=True)
class MonitoringThresholds:
    """When each alarm fires; ``None`` turns an alarm off (a loud opt-out, with a warning).

    Metric alarms look at 1-minute periods and fire when ``datapoints_to_alarm`` of the last
    ``evaluation_periods`` minutes breach; missing data (no traffic) never breaches.

    Args:
        cpu_percent: average service CPU utilization, 1 to 100. Default: 80.
        memory_percent: average service memory utilization, 1 to 100. Default: 80.
        running_below_desired_minutes: consecutive minutes with fewer running than desired
            tasks (Container Insights), 1 to 1440. Default: 5.
        load_balancer_5xx_percent: 5xx answered by the load balancer itself, % of requests,
            0.01 to 100. Default: 5.
        target_5xx_percent: 5xx answered by the service's targets, % of requests, 0.01 to
            100 (golden signal). Default: 5.
        latency_p99: p99 target response time, 1 ms to 300 s (golden signal). Default: 2 s.
        unhealthy_hosts: unhealthy targets, 1 to 1000 (golden signal). Default: 1.
        rejected_connections: connections the load balancer rejected per minute, 1 to
            1,000,000. Default: 1.
        task_failures: abnormal task stops (non-zero exit, failed health check, failed to
            start) within ``task_failure_window``, 1 to 1000: a restart loop. Default: 3.
        task_failure_window: whole minutes, 1 to 60. Default: 15 minutes.
        log_errors: error lines per minute in the service's log group, 1 to 1,000,000.
            Default: no alarm (the metric is on the dashboard).
        min_requests: 5xx rates count only minutes with at least this many requests,
            0 to 1,000,000. Default: 10.
        evaluation_periods: minutes each metric alarm looks back, 1 to 1440. Default: 5.
        datapoints_to_alarm: breaching minutes among them that fire the alarm, 1 to
            ``evaluation_periods``. Default: 3.
    """

    cpu_percent: float | None = defaults.ALARM_CPU_PERCENT
    memory_percent: float | None = defaults.ALARM_MEMORY_PERCENT
    running_below_desired_minutes: int | None = defaults.ALARM_RUNNING_BELOW_DESIRED_MINUTES
    load_balancer_5xx_percent: float | None = defaults.ALARM_LOAD_BALANCER_5XX_PERCENT
    target_5xx_percent: float | None = defaults.ALARM_TARGET_5XX_PERCENT
    latency_p99: cdk.Duration | None = defaults.ALARM_LATENCY_P99
    unhealthy_hosts: int | None = defaults.ALARM_UNHEALTHY_HOSTS
    rejected_connections: int | None = defaults.ALARM_REJECTED_CONNECTIONS
    task_failures: int | None = defaults.ALARM_TASK_FAILURES
    task_failure_window: cdk.Duration = defaults.ALARM_TASK_FAILURE_WINDOW
    log_errors: int | None = None
    min_requests: int = defaults.ALARM_MIN_REQUESTS
    evaluation_periods: int = defaults.ALARM_EVALUATION_PERIODS
    datapoints_to_alarm: int = defaults.ALARM_DATAPOINTS_TO_ALARM


#: Thresholds of the golden-signal alarms (the deployment rollback alarms).
GOLDEN_SIGNALS = ("target_5xx_percent", "latency_p99", "unhealthy_hosts")

#: Thresholds of the alarms that exist only with a load balancer.
LOAD_BALANCER_SIGNALS = (*GOLDEN_SIGNALS, "load_balancer_5xx_percent", "rejected_connections")

# (field, low, high, whole number) of every numeric threshold.
_NUMBER_RANGES: tuple[tuple[str, float, float, bool], ...] = (
    ("cpu_percent", 1, 100, False),
    ("memory_percent", 1, 100, False),
    ("running_below_desired_minutes", 1, 1440, True),
    ("load_balancer_5xx_percent", 0.01, 100, False),
    ("target_5xx_percent", 0.01, 100, False),
    ("unhealthy_hosts", 1, 1000, True),
    ("rejected_connections", 1, 1_000_000, True),
    ("task_failures", 1, 1000, True),
    ("log_errors", 1, 1_000_000, True),
    ("min_requests", 0, 1_000_000, True),
    ("evaluation_periods", 1, 1440, True),
    ("datapoints_to_alarm", 1, 1440, True),
)


def check_thresholds(problems: Problems, argument: str, thresholds: Any) -> None:
    """Record every problem with a ``MonitoringThresholds`` (named ``argument.field``)."""
    if not isinstance(thresholds, MonitoringThresholds):
        problems.add(
            argument,
            "must be a MonitoringThresholds",
            thresholds,
            "pass MonitoringThresholds(...) with the values to change",
        )
        return
    optional = {item.name for item in fields(MonitoringThresholds) if "None" in str(item.type)}
    for name, low, high, whole in _NUMBER_RANGES:
        value = getattr(thresholds, name)
        if value is None and name not in optional:
            problems.add(
                f"{argument}.{name}",
                "cannot be None",
                value,
                f"pass a value from {_number(low)} to {_number(high)}",
            )
        _check_number(problems, f"{argument}.{name}", value, low, high, whole)
    evaluation, datapoints = thresholds.evaluation_periods, thresholds.datapoints_to_alarm
    numbers = all(_is_number(value) and not is_token(value) for value in (evaluation, datapoints))
    if numbers and evaluation >= 1:
        problems.require(
            datapoints <= evaluation,
            f"{argument}.datapoints_to_alarm",
            f"cannot exceed evaluation_periods ({evaluation})",
            datapoints,
            f"pass a value from 1 to {evaluation}",
        )
    _check_duration(problems, f"{argument}.latency_p99", thresholds.latency_p99, 1, 300_000)
    window = thresholds.task_failure_window
    if window is None:
        problems.add(
            f"{argument}.task_failure_window",
            "cannot be None",
            window,
            "turn the alarm off with task_failures=None instead",
        )
    elif _check_duration(problems, f"{argument}.task_failure_window", window, 60_000, 3_600_000):
        millis = window.to_milliseconds()
        problems.require(
            is_token(millis) or millis % 60_000 == 0,
            f"{argument}.task_failure_window",
            "must be whole minutes",
            window,
            "pass cdk.Duration.minutes(n) with 1 <= n <= 60",
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_number(
    problems: Problems, argument: str, value: Any, low: float, high: float, whole: bool
) -> None:
    if value is None or is_token(value):
        return
    if not _is_number(value) or (whole and not isinstance(value, int)):
        problems.add(
            argument,
            "must be a whole number" if whole else "must be a number",
            value,
            f"pass a value from {_number(low)} to {_number(high)}",
        )
        return
    problems.require(
        low <= value <= high,
        argument,
        f"must be between {_number(low)} and {_number(high)}",
        value,
        f"pass a value from {_number(low)} to {_number(high)}",
    )


def _show(value: float) -> str:
    """A threshold for a description: literal numbers as written, tokens resolved at deploy."""
    return cdk.Token.as_string(value) if is_token(value) else f"{value:g}"


def _number(value: float) -> str:
    if not float(value).is_integer():
        return f"{value:g}"
    return f"{int(value):,}" if value >= 10_000 else str(int(value))


def _check_duration(
    problems: Problems, argument: str, value: Any, low_ms: int, high_ms: int
) -> bool:
    if value is None:
        return True
    if not isinstance(value, cdk.Duration):
        problems.add(argument, "must be a cdk.Duration", value, "pass e.g. cdk.Duration.seconds(2)")
        return False
    millis = value.to_milliseconds()
    if is_token(millis):
        return True
    return problems.require(
        low_ms <= millis <= high_ms,
        argument,
        f"must be between {_human(low_ms)} and {_human(high_ms)}",
        value,
        f"pass a duration from {_human(low_ms)} to {_human(high_ms)}",
    )


def _human(millis: int) -> str:
    if millis % 60_000 == 0:
        return f"{millis // 60_000} minute{'s' if millis != 60_000 else ''}"
    if millis % 1000 == 0:
        return f"{millis // 1000} seconds"
    return f"{millis} ms"


def _check_load_balancing(
    problems: Problems,
    load_balancer: Any,
    target_group: Any,
    *,
    required: bool,
) -> None:
    if load_balancer is None and target_group is None:
        if required:
            problems.add(
                "load_balancer",
                "is required with target_group for the golden signals",
                None,
                "pass the service's application load balancer and target group",
            )
        return
    if target_group is None:
        problems.add(
            "target_group",
            "is needed with load_balancer: target metrics are per load balancer and target group",
            None,
            "pass the service's target group too",
        )
    if load_balancer is None:
        problems.add(
            "load_balancer",
            "is needed with target_group: target metrics are per load balancer and target group",
            None,
            "pass the load balancer that routes to the target group too",
        )
    if load_balancer is not None:
        arn = getattr(load_balancer, "load_balancer_arn", None)
        problems.require(
            isinstance(arn, str) and (is_token(arn) or bool(_LOAD_BALANCER_ARN.match(arn))),
            "load_balancer",
            "must be an application load balancer (elbv2.IApplicationLoadBalancer)",
            arn if isinstance(arn, str) else type(load_balancer).__name__,
            "pass an ApplicationLoadBalancer or one imported with its ARN",
        )
    if target_group is not None:
        arn = getattr(target_group, "target_group_arn", None)
        problems.require(
            isinstance(arn, str) and (is_token(arn) or bool(_TARGET_GROUP_ARN.match(arn))),
            "target_group",
            "must be an application target group (elbv2.IApplicationTargetGroup)",
            arn if isinstance(arn, str) else type(target_group).__name__,
            "pass an ApplicationTargetGroup or one imported with its ARN",
        )


def _problems_at(scope: Construct) -> Problems:
    """Problems reported at ``scope``'s own path (for functions that add to a scope)."""
    problems = Problems(scope, "")
    problems.path = scope.node.path
    return problems


def _warn_disabled(
    scope: Construct, thresholds: MonitoringThresholds, names: tuple[str, ...]
) -> None:
    defaults_on = {item.name: item.default for item in fields(MonitoringThresholds)}
    for name in names:
        if getattr(thresholds, name) is None and defaults_on[name] is not None:
            cdk.Annotations.of(scope).add_warning_v2(
                f"ecs-patterns-plus:alarm-disabled-{name.replace('_', '-')}",
                f"The {name} alarm is turned off ({name}=None): this service gets no "
                "notification for it"
                + (
                    ", and deployments lose it as a rollback alarm"
                    if name in GOLDEN_SIGNALS
                    else ""
                )
                + ".",
            )


# --- Metrics -----------------------------------------------------------------------------


def _load_balancer_full_name(load_balancer: elbv2.IApplicationLoadBalancer) -> str:
    if isinstance(load_balancer, elbv2.ApplicationLoadBalancer):
        return load_balancer.load_balancer_full_name
    arn = load_balancer.load_balancer_arn
    if is_token(arn):
        parts = cdk.Fn.split("/", arn)
        return cdk.Fn.join("/", [cdk.Fn.select(index, parts) for index in (1, 2, 3)])
    return arn.split(":", 5)[5].removeprefix("loadbalancer/")


def _target_group_full_name(target_group: elbv2.IApplicationTargetGroup) -> str:
    if isinstance(target_group, elbv2.ApplicationTargetGroup):
        return target_group.target_group_full_name
    arn = target_group.target_group_arn
    if is_token(arn):
        return cdk.Fn.select(5, cdk.Fn.split(":", arn))
    return arn.split(":", 5)[5]


class _LoadBalancerMetrics:
    """ALB metrics of one load balancer and one of its target groups."""

    def __init__(
        self,
        load_balancer: elbv2.IApplicationLoadBalancer,
        target_group: elbv2.IApplicationTargetGroup,
    ) -> None:
        self.load_balancer_dimension = {"LoadBalancer": _load_balancer_full_name(load_balancer)}
        self.target_dimensions = {
            **self.load_balancer_dimension,
            "TargetGroup": _target_group_full_name(target_group),
        }

    def load_balancer(
        self, name: str, statistic: str, label: str | None = None
    ) -> cloudwatch.Metric:
        return _metric(_ALB, name, self.load_balancer_dimension, statistic, label)

    def target(self, name: str, statistic: str, label: str | None = None) -> cloudwatch.Metric:
        return _metric(_ALB, name, self.target_dimensions, statistic, label)

    def target_5xx_rate(self, min_requests: int) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=(
                f"IF(target_requests >= {min_requests}, "
                "100 * FILL(target_5xx, 0) / target_requests, 0)"
            ),
            using_metrics={
                "target_5xx": self.target("HTTPCode_Target_5XX_Count", "Sum", "Target 5xx"),
                "target_requests": self.target("RequestCount", "Sum", "Requests"),
            },
            label="Target 5xx (% of requests)",
            period=defaults.ALARM_PERIOD,
        )

    def load_balancer_5xx_rate(self, min_requests: int) -> cloudwatch.MathExpression:
        # Requests the load balancer answers itself (503: no healthy target) never reach
        # RequestCount: count them in, or a total outage would look like 0% errors.
        total = "(FILL(lb_requests, 0) + FILL(lb_5xx, 0))"
        return cloudwatch.MathExpression(
            expression=f"IF({total} >= {min_requests}, 100 * FILL(lb_5xx, 0) / {total}, 0)",
            using_metrics={
                "lb_5xx": self.load_balancer("HTTPCode_ELB_5XX_Count", "Sum", "Load balancer 5xx"),
                "lb_requests": self.load_balancer("RequestCount", "Sum", "Requests"),
            },
            label="Load balancer 5xx (% of requests)",
            period=defaults.ALARM_PERIOD,
        )


def _metric(
    namespace: str,
    name: str,
    dimensions: dict[str, str],
    statistic: str,
    label: str | None = None,
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=defaults.ALARM_PERIOD,
        label=label,
    )


def _service_metric(
    service: ecs.IBaseService,
    namespace: str,
    name: str,
    statistic: str,
    label: str | None = None,
) -> cloudwatch.Metric:
    dimensions = {"ClusterName": service.cluster.cluster_name, "ServiceName": service.service_name}
    return _metric(namespace, name, dimensions, statistic, label)


# --- Alarms ------------------------------------------------------------------------------


def _alarm(
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
    evaluation_periods: int | None = None,
    datapoints_to_alarm: int | None = None,
) -> cloudwatch.Alarm:
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=evaluation_periods or thresholds.evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm or thresholds.datapoints_to_alarm,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
        actions_enabled=True,
    )
    _notify(alarm, topic)
    return alarm


def _notify(alarm: cloudwatch.AlarmBase, topic: sns.ITopic) -> None:
    action = cw_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)


_GOLDEN_KEYS = {
    "Target5xxRate": "target_5xx",
    "TargetResponseTimeP99": "latency_p99",
    "UnhealthyHosts": "unhealthy_hosts",
}
"""Construct id of each golden-signal alarm -> its key in ``ServiceMonitoring.alarms``."""


def _golden_signal_alarms(
    scope: Construct,
    metrics: _LoadBalancerMetrics,
    topic: sns.ITopic,
    thresholds: MonitoringThresholds,
    name: str,
) -> dict[str, cloudwatch.Alarm]:
    alarms: dict[str, cloudwatch.Alarm] = {}
    if thresholds.target_5xx_percent is not None:
        alarms["target_5xx"] = _alarm(
            scope,
            "Target5xxRate",
            metric=metrics.target_5xx_rate(thresholds.min_requests),
            threshold=thresholds.target_5xx_percent,
            topic=topic,
            thresholds=thresholds,
            description=f"{name}: at least {_show(thresholds.target_5xx_percent)}% of requests "
            "end in a 5xx from the service. Read the service's error logs; if a deployment "
            "is running, it rolls back.",
        )
    if thresholds.latency_p99 is not None:
        seconds = thresholds.latency_p99.to_seconds(integral=False)
        alarms["latency_p99"] = _alarm(
            scope,
            "TargetResponseTimeP99",
            metric=metrics.target("TargetResponseTime", "p99"),
            threshold=seconds,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            topic=topic,
            thresholds=thresholds,
            description=f"{name}: p99 response time above {_show(seconds)} s. Check CPU and "
            "memory, downstream dependencies and recent deployments.",
        )
    if thresholds.unhealthy_hosts is not None:
        alarms["unhealthy_hosts"] = _alarm(
            scope,
            "UnhealthyHosts",
            metric=metrics.target("UnHealthyHostCount", "Maximum"),
            threshold=thresholds.unhealthy_hosts,
            topic=topic,
            thresholds=thresholds,
            description=f"{name}: {_show(thresholds.unhealthy_hosts)}+ targets fail the load "
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
    problems = _problems_at(scope)
    check_thresholds(problems, "thresholds", thresholds)
    _check_load_balancing(problems, load_balancer, target_group, required=True)
    _check_interface(problems, "topic", topic, "topic_arn", "an SNS topic (sns.ITopic)")
    _check_service_name(problems, service_name)
    problems.raise_if_any()
    _warn_disabled(scope, thresholds, GOLDEN_SIGNALS)
    metrics = _LoadBalancerMetrics(load_balancer, target_group)
    name = service_name or metrics.target_dimensions["TargetGroup"]
    return list(_golden_signal_alarms(scope, metrics, topic, thresholds, name).values())


def _check_interface(
    problems: Problems, argument: str, value: Any, attribute: str, expected: str
) -> None:
    """Record a problem unless ``value`` (when given) looks like ``expected`` (has ``attribute``)."""
    problems.require(
        hasattr(value, attribute),
        argument,
        f"must be {expected}",
        value if isinstance(value, (str, int, float)) or value is None else type(value).__name__,
        f"pass {expected}",
    )


def _check_service_name(problems: Problems, service_name: str | None) -> None:
    if service_name is None or (isinstance(service_name, str) and is_token(service_name)):
        return
    problems.require(
        isinstance(service_name, str) and bool(_NAME_PATTERN.match(service_name)),
        "service_name",
        "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit",
        service_name,
        "pass e.g. 'orders-api'",
    )


# --- Notifications -----------------------------------------------------------------------


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
    key = encryption_key or _notification_key(
        scope, f"{construct_id}Key", "Alarm and event notifications"
    )
    topic = sns.Topic(scope, construct_id, master_key=key, enforce_ssl=True)
    allow_alarms_to_publish(topic)
    return topic


def _notification_key(scope: Construct, construct_id: str, description: str) -> kms.Key:
    key = create_key(scope, construct_id, description=description)
    allow_notifications(key)
    return key


class _Notifier:
    """EventBridge rules that notify the topic, with a shared encrypted dead-letter queue."""

    def __init__(self, scope: Construct, topic: sns.ITopic, queue: sqs.IQueue) -> None:
        self.scope = scope
        self.topic = topic
        self.queue = queue
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
            )
        )
        self.rules[key] = rule
        return rule


def _dead_letter_queue(scope: Construct, key: kms.IKey) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        "DeadLetterQueue",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=defaults.NOTIFICATION_RETENTION,
    )
    compliance.DEAD_LETTER_QUEUE.apply(queue)
    return queue


def _field(path: str) -> str:
    return events.EventField.from_path(path)


# --- The construct -----------------------------------------------------------------------


class ServiceMonitoring(Construct):
    """Alarms, a dashboard, deployment and task event notifications and log queries for a service.

    Alarms (each notifies ``topic`` on ALARM and OK): CPU and memory utilization, running
    tasks below desired, abnormal task stops (restart loop), and with a load balancer the
    load balancer 5xx rate, target 5xx rate, p99 target response time, unhealthy hosts and
    rejected connections. ``service_unhealthy`` is a composite of the alarms that mean users
    are affected. EventBridge rules report failed and rolled-back deployments, tasks that
    exit non-zero, fail health checks or fail to start (image pull, secrets), and service
    warnings (e.g. unable to place tasks), each with a hint on what to check.

    Args:
        service: the ECS service (Fargate or EC2; Container Insights on its cluster for the
            running-below-desired alarm and task panels).
        load_balancer: the application load balancer in front of it. Default: no load
            balancer alarms or panels.
        target_group: the service's target group on ``load_balancer``. Default: none
            (required with ``load_balancer``).
        log_group: the service's log group, for the error metric filter and the Logs
            Insights queries. Default: no log metrics or queries.
        topic: SNS topic every alarm and rule notifies; its policy gets a statement for
            CloudWatch alarms. Default: a new KMS-encrypted, TLS-only topic.
        encryption_key: KMS key for the new topic and the notification dead-letter queue.
            Default: a new rotating key that CloudWatch and EventBridge may use.
        thresholds: when the alarms fire. Default: ``MonitoringThresholds()``.
        service_name: name in alarm descriptions, messages, metric and query names.
            Default: the ECS service's name (resolved at deploy time).
        notify_deployments: also notify every deployment start and completion, not only
            failures and rollbacks. Default: False.
        dashboard: create the CloudWatch dashboard. Default: True.
        golden_signal_alarms: alarms that already watch this target group's golden signals
            (e.g. ``AlbFargateService.golden_signal_alarms``, its rollback alarms): reused
            instead of created twice. Default: created here.

    Attributes:
        topic, encryption_key (of the new topic and the dead-letter queue), dead_letter_queue,
        alarms (name -> alarm), golden_signal_alarms (target 5xx rate, p99 latency,
        unhealthy hosts: the rollback alarms), service_unhealthy (composite alarm, ``None``
        when every alarm it combines is off), dashboard (``None`` when off), event_rules
        (name -> rule), metric_filters (name -> filter), queries (name -> saved query).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: ecs.IBaseService,
        load_balancer: elbv2.IApplicationLoadBalancer | None = None,
        target_group: elbv2.IApplicationTargetGroup | None = None,
        log_group: logs.ILogGroup | None = None,
        topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        thresholds: MonitoringThresholds = MonitoringThresholds(),
        service_name: str | None = None,
        notify_deployments: bool = False,
        dashboard: bool = True,
        golden_signal_alarms: Sequence[cloudwatch.IAlarm] | None = None,
    ) -> None:
        problems = Problems(scope, construct_id)
        problems.require(
            _is_service(service),
            "service",
            "must be an ECS service (ecs.FargateService, ecs.Ec2Service or an imported one)",
            type(service).__name__,
            "pass the ECS service; for a service construct use ServiceMonitoring.for_service",
        )
        _check_load_balancing(problems, load_balancer, target_group, required=False)
        for argument, value, attribute, expected in (
            ("log_group", log_group, "log_group_name", "a log group (logs.ILogGroup)"),
            ("topic", topic, "topic_arn", "an SNS topic (sns.ITopic)"),
            ("encryption_key", encryption_key, "key_arn", "a KMS key (kms.IKey)"),
        ):
            if value is not None:
                _check_interface(problems, argument, value, attribute, expected)
        check_thresholds(problems, "thresholds", thresholds)
        _check_service_name(problems, service_name)
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        self.service = service
        self.thresholds = thresholds
        self.name = service_name or service.service_name
        _warn_disabled(
            self,
            thresholds,
            tuple(
                item.name
                for item in fields(thresholds)
                if load_balancer is not None or item.name not in LOAD_BALANCER_SIGNALS
            ),
        )

        self.encryption_key: kms.IKey = encryption_key or _notification_key(
            self, "Key", "Service monitoring notifications"
        )
        self.topic: sns.ITopic = topic or notification_topic(
            self, "Topic", encryption_key=self.encryption_key
        )
        if topic is not None:
            allow_alarms_to_publish(topic)
        self.dead_letter_queue = _dead_letter_queue(self, self.encryption_key)

        self.alarms: dict[str, cloudwatch.IAlarm] = {}
        self.metric_filters: dict[str, logs.MetricFilter] = {}
        self.queries: dict[str, logs.QueryDefinition] = {}
        self._lb_metrics = (
            _LoadBalancerMetrics(load_balancer, target_group)
            if load_balancer is not None and target_group is not None
            else None
        )
        self._notifier = _Notifier(self, self.topic, self.dead_letter_queue)
        self.event_rules = self._notifier.rules

        self._service_alarms()
        self.golden_signal_alarms: list[cloudwatch.IAlarm] = []
        if self._lb_metrics is not None:
            golden = (
                _golden_signal_alarms(self, self._lb_metrics, self.topic, thresholds, self.name)
                if golden_signal_alarms is None
                else {
                    _GOLDEN_KEYS.get(alarm.node.id, alarm.node.id): alarm
                    for alarm in golden_signal_alarms
                }
            )
            self.alarms.update(golden)
            self.golden_signal_alarms = list(golden.values())
            self._load_balancer_alarms(self._lb_metrics)
        self._event_rules(notify_deployments)
        self._task_failure_alarm()
        self.log_errors: cloudwatch.Metric | None = None
        if log_group is not None:
            self._log_insights(log_group)
        self.alarms["undelivered_notifications"] = _alarm(
            self,
            "UndeliveredNotifications",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            topic=self.topic,
            thresholds=thresholds,
            description=f"{self.name}: event notifications could not be delivered to the topic "
            "and wait in the dead-letter queue. Check the topic policy and its KMS key policy.",
        )
        self.service_unhealthy = self._composite()
        self.dashboard = _Dashboard(self, log_group).dashboard if dashboard else None

    @classmethod
    def for_service(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        service: Any,
        topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        thresholds: MonitoringThresholds = MonitoringThresholds(),
        service_name: str | None = None,
        notify_deployments: bool = False,
        dashboard: bool = True,
    ) -> ServiceMonitoring:
        """Monitor a service construct such as ``AlbFargateService``.

        Reads ``service.service`` (the ECS service) and, when present,
        ``service.load_balancer`` (an application load balancer, or a construct holding one
        as ``.load_balancer`` such as ``SecureLoadBalancer``), ``service.target_group`` and
        ``service.log_group`` (or ``service.task_definition.log_group``) and
        ``service.golden_signal_alarms`` (reused, not duplicated); the other arguments are
        those of the constructor.
        """
        inner: Any = getattr(service, "service", None)
        if not _is_service(inner):
            problems = Problems(scope, construct_id)
            problems.add(
                "service",
                "must have a .service attribute holding the ECS service",
                type(service).__name__,
                "pass e.g. an AlbFargateService, or use ServiceMonitoring(service=...) directly",
            )
            problems.raise_if_any()
        return cls(
            scope,
            construct_id,
            service=inner,
            load_balancer=_unwrap(getattr(service, "load_balancer", None), "load_balancer_arn"),
            target_group=getattr(service, "target_group", None),
            log_group=getattr(service, "log_group", None)
            or getattr(getattr(service, "task_definition", None), "log_group", None),
            topic=topic,
            encryption_key=encryption_key,
            thresholds=thresholds,
            service_name=service_name,
            notify_deployments=notify_deployments,
            dashboard=dashboard,
            golden_signal_alarms=getattr(service, "golden_signal_alarms", None) or None,
        )

    # --- alarms --------------------------------------------------------------------------

    def _service_alarms(self) -> None:
        t, name = self.thresholds, self.name
        if t.cpu_percent is not None:
            self.alarms["cpu"] = self._alarm(
                "CpuHigh",
                _service_metric(self.service, _ECS, "CPUUtilization", "Average"),
                t.cpu_percent,
                f"{name}: average CPU above {_show(t.cpu_percent)}%. Autoscaling is not keeping up "
                "or is at its maximum: raise max capacity or task CPU, or find the hot path.",
            )
        if t.memory_percent is not None:
            self.alarms["memory"] = self._alarm(
                "MemoryHigh",
                _service_metric(self.service, _ECS, "MemoryUtilization", "Average"),
                t.memory_percent,
                f"{name}: average memory above {_show(t.memory_percent)}%. Tasks are close to their "
                "hard limit and an OOM kill (exit code 137): raise task memory or find the leak.",
            )
        if t.running_below_desired_minutes is not None:
            minutes = t.running_below_desired_minutes
            self.alarms["running_tasks"] = _alarm(
                self,
                "RunningBelowDesired",
                metric=cloudwatch.MathExpression(
                    expression="desired - running",
                    using_metrics={
                        "desired": self._insights("DesiredTaskCount", "Desired tasks"),
                        "running": self._insights("RunningTaskCount", "Running tasks"),
                    },
                    label="Desired minus running tasks",
                    period=defaults.ALARM_PERIOD,
                ),
                threshold=1,
                evaluation_periods=minutes,
                datapoints_to_alarm=minutes,
                topic=self.topic,
                thresholds=t,
                description=f"{name}: fewer tasks running than desired for {minutes} minutes. "
                "Tasks crash, fail health checks, cannot be placed (capacity, subnet IPs) or "
                "cannot pull their image: see the task-stopped notifications and service events.",
            )

    def _load_balancer_alarms(self, metrics: _LoadBalancerMetrics) -> None:
        t, name = self.thresholds, self.name
        if t.load_balancer_5xx_percent is not None:
            self.alarms["load_balancer_5xx"] = self._alarm(
                "LoadBalancer5xxRate",
                metrics.load_balancer_5xx_rate(t.min_requests),
                t.load_balancer_5xx_percent,
                f"{name}: at least {_show(t.load_balancer_5xx_percent)}% of requests end in a 5xx "
                "from the load balancer (502/503/504): no healthy targets, targets closing "
                "connections, or timeouts. Check target health and the keep-alive timeout.",
            )
        if t.rejected_connections is not None:
            self.alarms["rejected_connections"] = self._alarm(
                "RejectedConnections",
                metrics.load_balancer("RejectedConnectionCount", "Sum"),
                t.rejected_connections,
                f"{name}: the load balancer rejected connections (connection limit reached). "
                "Check for a traffic spike or connection leak.",
            )

    def _task_failure_alarm(self) -> None:
        t = self.thresholds
        stops = ("task_exited", "health_check_failed", "task_failed_to_start")
        if t.task_failures is None:
            return
        window = t.task_failure_window
        using: dict[str, cloudwatch.IMetric] = {
            f"m{index}": cloudwatch.Metric(
                namespace=_EVENTS,
                metric_name="MatchedEvents",
                dimensions_map={"RuleName": self.event_rules[key].rule_name},
                statistic="Sum",
                period=window,
            )
            for index, key in enumerate(stops)
        }
        self.alarms["task_failures"] = _alarm(
            self,
            "TaskFailures",
            metric=cloudwatch.MathExpression(
                expression=" + ".join(f"FILL({metric_id}, 0)" for metric_id in using),
                using_metrics=using,
                label="Abnormal task stops",
                period=window,
            ),
            threshold=t.task_failures,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            topic=self.topic,
            thresholds=t,
            description=f"{self.name}: {_show(t.task_failures)}+ tasks stopped abnormally within "
            f"{window.to_human_string()} - a restart loop. Check the health check path/port, "
            "raise startPeriod and the grace period, and read the tasks' last log lines.",
        )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, threshold: float, description: str
    ) -> cloudwatch.Alarm:
        return _alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            description=description,
            topic=self.topic,
            thresholds=self.thresholds,
        )

    def _insights(self, name: str, label: str) -> cloudwatch.Metric:
        return _service_metric(self.service, _INSIGHTS, name, "Average", label)

    def _composite(self) -> cloudwatch.CompositeAlarm | None:
        keys = (
            "running_tasks",
            "task_failures",
            "unhealthy_hosts",
            "target_5xx",
            "load_balancer_5xx",
            "latency_p99",
        )
        members = [self.alarms[key] for key in keys if key in self.alarms]
        if not members:
            return None
        composite = cloudwatch.CompositeAlarm(
            self,
            "ServiceUnhealthy",
            alarm_rule=cloudwatch.AlarmRule.any_of(
                *(cloudwatch.AlarmRule.from_alarm(m, cloudwatch.AlarmState.ALARM) for m in members)
            ),
            alarm_description=f"{self.name} is unhealthy: users are affected (tasks missing or "
            "failing, unhealthy targets, 5xx errors or slow responses). See the member alarms "
            "and the service dashboard.",
            actions_enabled=True,
        )
        _notify(composite, self.topic)
        return composite

    # --- events --------------------------------------------------------------------------

    def _event_rules(self, notify_deployments: bool) -> None:
        service, name = self.service, self.name
        cluster_arn = service.cluster.cluster_arn
        deployment = {"source": ["aws.ecs"], "detail_type": ["ECS Deployment State Change"]}
        self._notifier.rule(
            "deployment_failed",
            "DeploymentFailed",
            "ECS deployment failed or rolled back",
            events.EventPattern(
                **deployment,
                resources=[service.service_arn],
                detail={
                    "$or": [
                        {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
                        {
                            "eventName": ["SERVICE_DEPLOYMENT_IN_PROGRESS"],
                            "reason": [{"wildcard": "*rolling back*"}, {"wildcard": "*rollback*"}],
                        },
                    ]
                },
            ),
            f"[{name}] ECS deployment {_field('$.detail.eventName')} "
            f"({_field('$.detail.deploymentId')}): {_field('$.detail.reason')}. The service "
            "rolls back to its last completed deployment; see the task-stopped notifications "
            "and the service events for the cause.",
        )
        if notify_deployments:
            self._notifier.rule(
                "deployments",
                "Deployments",
                "ECS deployment started or completed",
                events.EventPattern(
                    **deployment,
                    resources=[service.service_arn],
                    detail={
                        "eventName": [
                            "SERVICE_DEPLOYMENT_IN_PROGRESS",
                            "SERVICE_DEPLOYMENT_COMPLETED",
                        ]
                    },
                ),
                f"[{name}] ECS deployment {_field('$.detail.eventName')} "
                f"({_field('$.detail.deploymentId')}): {_field('$.detail.reason')}",
            )
        stopped = {
            "clusterArn": [cluster_arn],
            "group": [f"service:{service.service_name}"],
            "lastStatus": ["STOPPED"],
        }
        task_state = {"source": ["aws.ecs"], "detail_type": ["ECS Task State Change"]}
        task = (
            f"Task {_field('$.detail.taskArn')} ({_field('$.detail.taskDefinitionArn')}) "
            f"stopped: {_field('$.detail.stopCode')}, {_field('$.detail.stoppedReason')}."
        )
        self._notifier.rule(
            "task_exited",
            "TaskExited",
            "ECS task of the service stopped: an essential container exited non-zero",
            events.EventPattern(
                **task_state,
                detail={
                    **stopped,
                    "stopCode": ["EssentialContainerExited"],
                    "containers": {"exitCode": [{"anything-but": 0}]},
                },
            ),
            f"[{name}] {task} An essential container exited with a non-zero code (137: killed, "
            "often out of memory). Read the task's last log lines (saved query 'Last lines of "
            "each task'), then check the container health check and its startPeriod.",
        )
        self._notifier.rule(
            "health_check_failed",
            "TaskHealthCheckFailed",
            "ECS task of the service stopped: failed container or load balancer health checks",
            events.EventPattern(
                **task_state,
                detail={
                    **stopped,
                    "stoppedReason": [
                        {"prefix": "Task failed ELB health checks"},
                        {"prefix": "Task failed container health checks"},
                    ],
                },
            ),
            f"[{name}] {task} Check the health check path, port, interval and timeout, raise "
            "startPeriod / the health-check grace period for slow starts, and check that the "
            "service security group admits the load balancer on the container port.",
        )
        self._notifier.rule(
            "task_failed_to_start",
            "TaskFailedToStart",
            "ECS task of the service failed to start (image pull, secrets, log group)",
            events.EventPattern(
                **task_state, detail={**stopped, "stopCode": ["TaskFailedToStart"]}
            ),
            f"[{name}] {task} The task never started. CannotPullContainerError: check the image "
            "digest, the execution role's ECR permissions and the VPC endpoints (ECR api and "
            "dkr, S3) or NAT route. ResourceInitializationError: check the secrets, their KMS "
            "keys and the Secrets Manager, SSM and Logs endpoints.",
        )
        self._notifier.rule(
            "service_action",
            "ServiceAction",
            "ECS service warnings and errors (e.g. unable to place tasks)",
            events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Service Action"],
                resources=[service.service_arn],
                detail={"eventType": ["WARN", "ERROR"]},
            ),
            f"[{name}] ECS service {_field('$.detail.eventType')} "
            f"{_field('$.detail.eventName')}: {_field('$.detail.reason')}. Placement failures "
            "mean no capacity (EC2 capacity, Fargate quota) or no free IPs in the subnets; a "
            "stalled deployment may need other minimum/maximum healthy percents.",
        )

    # --- logs ----------------------------------------------------------------------------

    def _log_insights(self, log_group: logs.ILogGroup) -> None:
        metric_name = f"{self.name}-LogErrors"
        self.metric_filters["errors"] = logs.MetricFilter(
            self,
            "LogErrors",
            log_group=log_group,
            filter_pattern=logs.FilterPattern.any_term(*defaults.LOG_ERROR_TERMS),
            metric_namespace=defaults.LOG_METRIC_NAMESPACE,
            metric_name=metric_name,
            metric_value="1",
            default_value=0,
            unit=cloudwatch.Unit.COUNT,
        )
        self.log_errors = cloudwatch.Metric(
            namespace=defaults.LOG_METRIC_NAMESPACE,
            metric_name=metric_name,
            statistic="Sum",
            period=defaults.ALARM_PERIOD,
        )
        t = self.thresholds
        if t.log_errors is not None:
            self.alarms["log_errors"] = self._alarm(
                "LogErrorsHigh",
                self.log_errors,
                t.log_errors,
                f"{self.name}: {_show(t.log_errors)}+ error lines a minute in the service logs. "
                "Run the saved query 'Errors'.",
            )
        errors = "@message like /(?i)(error|exception|fatal|panic|traceback)/"
        queries = {
            "errors": (
                "Errors",
                "Recent error lines",
                logs.QueryString(
                    fields=["@timestamp", "@logStream", "@message"],
                    filter_statements=[errors],
                    sort="@timestamp desc",
                    limit=200,
                ),
            ),
            "errors_by_task": (
                "ErrorsByTask",
                "Errors by task",
                logs.QueryString(
                    filter_statements=[errors],
                    stats_statements=["count(*) as errors by @logStream"],
                    sort="errors desc",
                    limit=50,
                ),
            ),
            "task_starts": (
                "TaskStarts",
                "Task starts (restart loops)",
                logs.QueryString(
                    stats_statements=[
                        "min(@timestamp) as started, max(@timestamp) as last_seen, "
                        "count(*) as lines by @logStream"
                    ],
                    sort="started desc",
                    limit=100,
                ),
            ),
            "last_lines": (
                "LastLines",
                "Last lines of each task",
                logs.QueryString(
                    stats_statements=[
                        "latest(@message) as last_line, max(@timestamp) as last_seen by @logStream"
                    ],
                    sort="last_seen desc",
                    limit=100,
                ),
            ),
        }
        for key, (construct_id, title, query) in queries.items():
            self.queries[key] = logs.QueryDefinition(
                self,
                f"{construct_id}Query",
                query_definition_name=f"{self.name}/{title}",
                query_string=query,
                log_groups=[log_group],
            )


def _unwrap(value: Any, attribute: str) -> Any:
    """``value``, or the ``.load_balancer`` it wraps when only that has ``attribute``."""
    if value is None or hasattr(value, attribute):
        return value
    inner = getattr(value, "load_balancer", None)
    return inner if hasattr(inner, attribute) else value


def _is_service(value: Any) -> bool:
    return all(hasattr(value, name) for name in ("service_arn", "service_name", "cluster"))


class _Dashboard:
    """The service dashboard: alarm status, the brief's metrics, deployments, log errors, runbook."""

    def __init__(self, monitoring: ServiceMonitoring, log_group: logs.ILogGroup | None) -> None:
        self.m = monitoring
        name = monitoring.name
        self.dashboard = cloudwatch.Dashboard(
            monitoring, "Dashboard", default_interval=defaults.DASHBOARD_INTERVAL
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# {name}\nECS service `{monitoring.service.service_name}` on cluster "
                f"`{monitoring.service.cluster.cluster_name}`. Alarms notify the monitoring topic.",
                width=24,
                height=2,
            )
        )
        alarms: list[cloudwatch.IAlarm] = list(monitoring.alarms.values())
        if monitoring.service_unhealthy is not None:
            alarms.insert(0, monitoring.service_unhealthy)
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                alarms=alarms, title="Alarms", width=24, height=1 + -(-len(alarms) // 4)
            )
        )
        self.dashboard.add_widgets(self._utilization(), self._tasks())
        lb = monitoring._lb_metrics
        if lb is not None:
            self.dashboard.add_widgets(*self._load_balancer(lb))
        self.dashboard.add_widgets(self._deployments(), self._log_errors())
        if log_group is not None:
            self.dashboard.add_widgets(
                cloudwatch.LogQueryWidget(
                    title="Recent errors",
                    log_group_names=[log_group.log_group_name],
                    query_lines=[
                        "fields @timestamp, @logStream, @message",
                        "filter @message like /(?i)(error|exception|fatal|panic|traceback)/",
                        "sort @timestamp desc",
                        "limit 50",
                    ],
                    width=24,
                    height=6,
                )
            )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(markdown=_runbook(monitoring), width=24, height=9)
        )

    def _annotation(self, field: str, label: str) -> list[cloudwatch.HorizontalAnnotation]:
        value = getattr(self.m.thresholds, field)
        if value is None:
            return []
        if isinstance(value, cdk.Duration):
            value = value.to_milliseconds() / 1000
        return [cloudwatch.HorizontalAnnotation(value=value, label=label)]

    def _utilization(self) -> cloudwatch.GraphWidget:
        service = self.m.service
        return cloudwatch.GraphWidget(
            title="CPU and memory utilization (%)",
            left=[
                _service_metric(service, _ECS, "CPUUtilization", "Average", "CPU"),
                _service_metric(service, _ECS, "MemoryUtilization", "Average", "Memory"),
                _service_metric(service, _ECS, "CPUUtilization", "Maximum", "CPU (max)"),
                _service_metric(service, _ECS, "MemoryUtilization", "Maximum", "Memory (max)"),
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            left_annotations=[
                *self._annotation("cpu_percent", "CPU alarm"),
                *self._annotation("memory_percent", "Memory alarm"),
            ],
            width=12,
            height=6,
        )

    def _tasks(self) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title="Tasks: desired, running, pending",
            left=[
                self.m._insights("DesiredTaskCount", "Desired"),
                self.m._insights("RunningTaskCount", "Running"),
                self.m._insights("PendingTaskCount", "Pending"),
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0),
            width=12,
            height=6,
        )

    def _load_balancer(self, lb: _LoadBalancerMetrics) -> list[cloudwatch.IWidget]:
        t = self.m.thresholds
        return [
            cloudwatch.GraphWidget(
                title="Requests and errors",
                left=[
                    lb.target("RequestCount", "Sum", "Requests"),
                    lb.target("HTTPCode_Target_4XX_Count", "Sum", "Target 4xx"),
                    lb.target("HTTPCode_Target_5XX_Count", "Sum", "Target 5xx"),
                    lb.load_balancer("HTTPCode_ELB_5XX_Count", "Sum", "Load balancer 5xx"),
                ],
                right=[
                    lb.target_5xx_rate(t.min_requests),
                    lb.load_balancer_5xx_rate(t.min_requests),
                ],
                right_y_axis=cloudwatch.YAxisProps(min=0, max=100, label="%", show_units=False),
                width=8,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Target response time (s)",
                left=[
                    lb.target("TargetResponseTime", f"p{percentile}", f"p{percentile}")
                    for percentile in (50, 90, 99)
                ],
                left_annotations=self._annotation("latency_p99", "p99 alarm"),
                left_y_axis=cloudwatch.YAxisProps(min=0),
                width=8,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Targets and connections",
                left=[
                    lb.target("HealthyHostCount", "Minimum", "Healthy targets"),
                    lb.target("UnHealthyHostCount", "Maximum", "Unhealthy targets"),
                ],
                right=[
                    lb.load_balancer("RejectedConnectionCount", "Sum", "Rejected connections"),
                    lb.load_balancer(
                        "TargetConnectionErrorCount", "Sum", "Target connection errors"
                    ),
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0),
                right_y_axis=cloudwatch.YAxisProps(min=0),
                width=8,
                height=6,
            ),
        ]

    def _deployments(self) -> cloudwatch.GraphWidget:
        rules = self.m.event_rules
        labels = {
            "deployment_failed": "Deployments failed / rolled back",
            "task_exited": "Tasks exited non-zero",
            "health_check_failed": "Tasks failed health checks",
            "task_failed_to_start": "Tasks failed to start",
            "service_action": "Service warnings",
        }
        return cloudwatch.GraphWidget(
            title="Deployments and task failures",
            left=[
                self.m._insights("DeploymentCount", "Deployments"),
                self.m._insights("TaskSetCount", "Task sets"),
            ],
            right=[
                cloudwatch.Metric(
                    namespace=_EVENTS,
                    metric_name="MatchedEvents",
                    dimensions_map={"RuleName": rules[key].rule_name},
                    statistic="Sum",
                    period=cdk.Duration.minutes(5),
                    label=label,
                )
                for key, label in labels.items()
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0),
            right_y_axis=cloudwatch.YAxisProps(min=0),
            stacked=False,
            width=12,
            height=6,
        )

    def _log_errors(self) -> cloudwatch.IWidget:
        if self.m.log_errors is None:
            return cloudwatch.TextWidget(
                markdown="No log group was given: no log error metric.", width=12, height=6
            )
        return cloudwatch.GraphWidget(
            title="Error log lines per minute",
            left=[self.m.log_errors.with_(label="Error log lines")],
            left_annotations=self._annotation("log_errors", "Log errors alarm"),
            left_y_axis=cloudwatch.YAxisProps(min=0),
            width=12,
            height=6,
        )


def _runbook(monitoring: ServiceMonitoring) -> str:
    cluster = monitoring.service.cluster.cluster_name
    return "\n".join(
        [
            "## Troubleshooting",
            "* **Tasks restart in a loop** (TaskFailures, task-stopped notifications): check the "
            "health check path and port, raise `startPeriod` and the health-check grace period, "
            "read the saved queries *Last lines of each task* and *Task starts*.",
            "* **Service UNHEALTHY / unhealthy targets**: check the target group health check "
            "(path, interval, timeout) and that the service security group admits the load "
            "balancer on the container port.",
            "* **Image pull fails** (TaskFailedToStart, `CannotPullContainerError`): check the "
            "execution role's ECR permissions and the VPC endpoints (ECR api and dkr, S3, Logs) "
            "or the NAT route.",
            "* **Deployment stalls**: look for placement failures in the service warnings "
            "(capacity, free subnet IPs) and the minimum/maximum healthy percents.",
            "* **Shell into a task** (audited, KMS-encrypted session): `aws ecs execute-command "
            f"--cluster {cluster} --task <task-id> --container <name> --interactive "
            "--command /bin/sh`",
            "* **Restart all tasks**: `aws ecs update-service --cluster "
            f"{cluster} --service {monitoring.service.service_name} --force-new-deployment`",
        ]
    )


class ExecCommandAudit(Construct):
    """Notifies every ``aws ecs execute-command`` (ECS Exec) session opened on a cluster.

    ECS Exec session contents are already logged by ``HardenedCluster``; this rule reports
    who opened which shell, from CloudTrail's ``ExecuteCommand`` management event (the
    account needs a CloudTrail trail for management events). Use one per cluster.

    Args:
        cluster: the cluster whose ``ExecuteCommand`` calls are reported.
        topic: SNS topic to notify (e.g. ``ServiceMonitoring.topic``).
        dead_letter_queue: queue for undeliverable notifications.
            Default: a new KMS-encrypted queue (and key).

    Attributes:
        rule, dead_letter_queue, encryption_key (``None`` when a queue was passed).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        problems = Problems(scope, construct_id)
        _check_interface(
            problems, "cluster", cluster, "cluster_arn", "an ECS cluster (ecs.ICluster)"
        )
        _check_interface(problems, "topic", topic, "topic_arn", "an SNS topic (sns.ITopic)")
        if dead_letter_queue is not None:
            _check_interface(
                problems, "dead_letter_queue", dead_letter_queue, "queue_arn", "an SQS queue"
            )
        problems.raise_if_any()
        super().__init__(scope, construct_id)
        self.encryption_key: kms.Key | None = None
        if dead_letter_queue is None:
            self.encryption_key = _notification_key(self, "Key", "ECS Exec audit notifications")
            dead_letter_queue = _dead_letter_queue(self, self.encryption_key)
        self.dead_letter_queue = dead_letter_queue
        notifier = _Notifier(self, topic, dead_letter_queue)
        self.rule = notifier.rule(
            "exec",
            "ExecuteCommand",
            "ECS Exec session opened on the cluster",
            events.EventPattern(
                source=["aws.ecs"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventSource": ["ecs.amazonaws.com"],
                    "eventName": ["ExecuteCommand"],
                    "requestParameters": {"cluster": [cluster.cluster_name, cluster.cluster_arn]},
                },
            ),
            f"ECS Exec: {_field('$.detail.userIdentity.arn')} opened "
            f"{_field('$.detail.requestParameters.command')} in container "
            f"{_field('$.detail.requestParameters.container')} of task "
            f"{_field('$.detail.requestParameters.task')} on cluster {cluster.cluster_name} "
            f"from {_field('$.detail.sourceIPAddress')}. The session is logged to the "
            "cluster's ECS Exec log group.",
        )
