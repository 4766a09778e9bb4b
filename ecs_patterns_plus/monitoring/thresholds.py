"""MonitoringThresholds, their checks and the number and duration checks they use."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from .. import defaults
from ..errors import Problems, is_token


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
        latency_p99: p99 target response time, 1 ms to 300 s (golden signal); a token in
            seconds. Default: 2 s.
        unhealthy_hosts: unhealthy targets, 1 to 1000 (golden signal). Default: 1.
        rejected_connections: connections the load balancer rejected per minute, 1 to
            1,000,000. Default: 1.
        target_resets: TCP connections the targets of a Network Load Balancer reset per
            minute, 1 to 1,000,000 (its rollback alarm, with ``unhealthy_hosts``). Default: 10.
        task_failures: abnormal task stops (non-zero exit, failed health check, failed to
            start) within ``task_failure_window``, 1 to 1000: a restart loop. Default: 3.
        task_failure_window: whole minutes, 1 to 60, a literal (the alarm's period).
            Default: 15 minutes.
        log_errors: error lines per minute in the service's log group, 1 to 1,000,000.
            Default: no alarm (the metric is on the dashboard).
        oldest_message_age: age of a worker queue's oldest message, 1 minute to 14 days; a
            token in seconds. Default: 15 minutes.
        queue_backlog: visible messages in a worker's queue, 1 to 100,000,000, held for
            ``queue_backlog_minutes`` (1 to 1440). Default: 1000 for 15 minutes.
        dead_letters: messages waiting in a worker's dead-letter queue, 1 to 1,000,000.
            Default: 1.
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
    target_resets: int | None = defaults.ALARM_TARGET_RESETS
    task_failures: int | None = defaults.ALARM_TASK_FAILURES
    task_failure_window: cdk.Duration = defaults.ALARM_TASK_FAILURE_WINDOW
    log_errors: int | None = None
    oldest_message_age: cdk.Duration | None = defaults.ALARM_OLDEST_MESSAGE_AGE
    queue_backlog: int | None = defaults.ALARM_QUEUE_BACKLOG
    queue_backlog_minutes: int = defaults.ALARM_QUEUE_BACKLOG_MINUTES
    dead_letters: int | None = defaults.ALARM_DEAD_LETTERS
    min_requests: int = defaults.ALARM_MIN_REQUESTS
    evaluation_periods: int = defaults.ALARM_EVALUATION_PERIODS
    datapoints_to_alarm: int = defaults.ALARM_DATAPOINTS_TO_ALARM


#: Thresholds of the golden-signal alarms (the deployment rollback alarms).
GOLDEN_SIGNALS = ("target_5xx_percent", "latency_p99", "unhealthy_hosts")

#: Thresholds of the alarms that exist only with a load balancer.
LOAD_BALANCER_SIGNALS = (
    *GOLDEN_SIGNALS,
    "load_balancer_5xx_percent",
    "rejected_connections",
    "target_resets",
)

#: Thresholds of what a Network Load Balancer measures of its targets (its one alarm).
NETWORK_SIGNALS = ("unhealthy_hosts", "target_resets")

#: Thresholds of the alarms on a worker's queue.
QUEUE_SIGNALS = ("oldest_message_age", "queue_backlog", "dead_letters")

#: Thresholds of the golden signals Service Connect measures (it counts no unhealthy hosts).
SERVICE_CONNECT_SIGNALS = ("target_5xx_percent", "latency_p99")

# (field, low, high) of every numeric threshold; whole numbers are typed ``int``.
_NUMBER_RANGES: tuple[tuple[str, float, float], ...] = (
    ("cpu_percent", 1, 100),
    ("memory_percent", 1, 100),
    ("running_below_desired_minutes", 1, 1440),
    ("load_balancer_5xx_percent", 0.01, 100),
    ("target_5xx_percent", 0.01, 100),
    ("unhealthy_hosts", 1, 1000),
    ("rejected_connections", 1, 1_000_000),
    ("target_resets", 1, 1_000_000),
    ("task_failures", 1, 1000),
    ("log_errors", 1, 1_000_000),
    ("queue_backlog", 1, 100_000_000),
    ("queue_backlog_minutes", 1, 1440),
    ("dead_letters", 1, 1_000_000),
    ("min_requests", 0, 1_000_000),
    ("evaluation_periods", 1, 1440),
    ("datapoints_to_alarm", 1, 1440),
)


def check_thresholds(problems: Problems, argument: str, thresholds: MonitoringThresholds) -> None:
    """Record every range problem of a ``MonitoringThresholds`` (named ``argument.field``).

    Types are the type check's (``errors.checked``): values of another type are skipped here.
    """
    for name, low, high in _NUMBER_RANGES:
        _check_number(problems, f"{argument}.{name}", getattr(thresholds, name), low, high)
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
    _check_duration(
        problems,
        f"{argument}.oldest_message_age",
        thresholds.oldest_message_age,
        60_000,
        1_209_600_000,
    )
    window = thresholds.task_failure_window
    if not isinstance(window, cdk.Duration):
        return
    if window.is_unresolved():  # the alarm's period: CDK checks it against CloudWatch's list
        problems.add(
            f"{argument}.task_failure_window",
            "must be known at synth time, where CDK checks it as a CloudWatch period",
            window,
            "pass a literal duration, e.g. cdk.Duration.minutes(15)",
        )
    elif _check_duration(problems, f"{argument}.task_failure_window", window, 60_000, 3_600_000):
        problems.require(
            window.to_milliseconds() % 60_000 == 0,
            f"{argument}.task_failure_window",
            "must be whole minutes",
            window,
            "pass cdk.Duration.minutes(n) with 1 <= n <= 60",
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_number(problems: Problems, argument: str, value: Any, low: float, high: float) -> None:
    if not _is_number(value) or is_token(value):
        return
    problems.require(
        low <= value <= high,
        argument,
        f"must be between {_number(low)} and {_number(high)}",
        value,
        f"pass a value from {_number(low)} to {_number(high)}",
    )


def show(value: float) -> str:
    """A threshold for a description: literal numbers as written, tokens resolved at deploy."""
    return cdk.Token.as_string(value) if is_token(value) else f"{value:g}"


def show_duration(value: cdk.Duration) -> str:
    """A duration for a description: ``15 minutes``, or a token's seconds resolved at deploy."""
    if value.is_unresolved():
        return f"{cdk.Token.as_string(value.to_seconds())} seconds"
    return value.to_human_string()


def _number(value: float) -> str:
    if not float(value).is_integer():
        return f"{value:g}"
    return f"{int(value):,}" if value >= 10_000 else str(int(value))


def _check_duration(
    problems: Problems, argument: str, value: Any, low_ms: int, high_ms: int
) -> bool:
    """Record a problem unless ``value`` lies within ``low_ms..high_ms``; a token passes in
    seconds, the unit CloudWatch takes for thresholds and periods (a token cannot be converted)."""
    if not isinstance(value, cdk.Duration):
        return True
    if value.is_unresolved():
        return problems.require(
            value.unit_label() == "seconds",
            argument,
            f"a token in {value.unit_label()} cannot be converted to the seconds CloudWatch "
            "takes here",
            value,
            "pass cdk.Duration.seconds(token)",
        )
    millis = value.to_milliseconds()
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


def warn_disabled(
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
