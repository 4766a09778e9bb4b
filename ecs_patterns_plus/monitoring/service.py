"""ServiceMonitoring: alarms, event notifications, log queries and a dashboard for one ECS service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any, Protocol

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .. import defaults
from ..encryption import shared_scope, stack_key
from ..errors import Problems, checked, duration_seconds, is_token
from ..task_definition.validation import PORT_NAME
from .alarms import (
    GOLDEN_KEYS,
    alarm,
    golden_signals,
    network_signal_alarm,
    notify,
    service_alarm,
    undelivered_notifications_alarm,
)
from .checks import check_load_balancing, check_service_name
from .dashboard import Dashboard
from .events import service_rules
from .metrics import (
    ECS,
    LoadBalancerMetrics,
    NetworkLoadBalancerMetrics,
    ServiceConnectMetrics,
    insights_metric,
    rule_matches,
    service_metric,
)
from .notifications import (
    Notifier,
    allow_alarms_to_publish,
    encrypted_dead_letter_queue,
    notification_topic,
    stack_alarm_topic,
    stack_notification_queue,
)
from .queries import saved_queries
from .queue import QueueMetrics, queue_alarms
from .thresholds import (
    LOAD_BALANCER_SIGNALS,
    NETWORK_SIGNALS,
    QUEUE_SIGNALS,
    SERVICE_CONNECT_SIGNALS,
    MonitoringThresholds,
    check_thresholds,
    show,
    show_duration,
    warn_disabled,
)


class ServiceConstruct(Protocol):
    """A service construct holding its ECS service as ``.service``, such as ``AlbFargateService``."""

    @property
    def service(self) -> ecs.IBaseService: ...


class ServiceMonitoring(Construct):
    """Alarms, a dashboard, deployment and task event notifications and log queries for a service.

    Alarms (each notifies ``topic`` on ALARM and OK): CPU and memory utilization, running
    tasks below desired, abnormal task stops (restart loop), with a load balancer the
    load balancer 5xx rate, target 5xx rate, p99 target response time, unhealthy hosts and
    rejected connections, with a Service Connect port the target 5xx rate and p99 target
    response time its clients' proxies measure, and with a worker's queue the age of its
    oldest message, a lasting backlog and messages in its dead-letter queue. ``service_unhealthy`` is a composite of the
    alarms that mean users are affected. EventBridge rules report failed and rolled-back
    deployments, tasks that exit non-zero, fail health checks or fail to start (image pull,
    secrets), and service warnings (e.g. unable to place tasks), each with a hint on what to
    check.

    Args:
        service: the ECS service (Fargate or EC2; Container Insights on its cluster for the
            running-below-desired alarm and task panels).
        load_balancer: the application load balancer in front of it. Default: no load
            balancer alarms or panels.
        target_group: the service's target group on ``load_balancer``. Default: none
            (required with ``load_balancer``).
        service_connect: the discovery name of the HTTP, HTTP/2 or gRPC port the service
            publishes with Service Connect (``BackendService.published.discovery_name``), for
            its golden-signal alarms and panels; not with ``load_balancer``. Default: no
            Service Connect alarms or panels.
        network_load_balancer / network_target_group: the Network Load Balancer in front of
            the service and its target group: one alarm on unhealthy tasks and connection
            resets (``unhealthy_hosts``, ``target_resets``; reused from
            ``golden_signal_alarms`` when given) and a dashboard panel. Default: none.
        queue / dead_letter_queue: the queue a worker drains and its dead-letter queue
            (``WorkerService.queue``): queue alarms and dashboard panels. Default: none.
        log_group: the service's log group, for the error metric filter and the Logs
            Insights queries. Default: no log metrics or queries.
        topic: SNS topic every alarm and rule notifies; its policy gets a statement for
            CloudWatch alarms. Default: the stack's shared alarm topic (with
            ``encryption_key``: a new topic encrypted with it).
        encryption_key: KMS key of a topic and notification dead-letter queue of this
            monitoring's own. Default: the stack's shared topic, key and dead-letter queue.
        thresholds: when the alarms fire. Default: ``MonitoringThresholds()``.
        service_name: name in alarm descriptions, messages, metric and query names.
            Default: the ECS service's name (resolved at deploy time).
        notify_deployments: also notify every deployment start and completion, not only
            failures and rollbacks. Default: False.
        dashboard: create the CloudWatch dashboard. Default: True.
        golden_signal_alarms: alarms that already watch this target group's (or Service
            Connect port's) golden signals (e.g. ``AlbFargateService.golden_signal_alarms``,
            its rollback alarms): reused instead of created twice. Default: created here.

    Attributes:
        topic, encryption_key (of the dead-letter queue), dead_letter_queue (undeliverable
        notifications; the stack's shared one unless ``topic`` or ``encryption_key`` is given),
        alarms (name -> alarm), golden_signal_alarms (target 5xx rate, p99 latency and,
        behind a load balancer, unhealthy hosts: the rollback alarms), service_unhealthy
        (composite alarm, ``None`` when every alarm it combines is off), dashboard (``None``
        when off), event_rules (name -> rule), metric_filters (name -> filter), queries
        (name -> saved query).
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: ecs.IBaseService,
        load_balancer: elbv2.IApplicationLoadBalancer | None = None,
        target_group: elbv2.IApplicationTargetGroup | None = None,
        service_connect: str | None = None,
        network_load_balancer: elbv2.NetworkLoadBalancer | None = None,
        network_target_group: elbv2.NetworkTargetGroup | None = None,
        queue: sqs.IQueue | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
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
        check_load_balancing(problems, load_balancer, target_group, required=False)
        check_thresholds(problems, "thresholds", thresholds)
        _check_service_connect(problems, service_connect, load_balancer, thresholds)
        problems.require(
            (network_load_balancer is None) == (network_target_group is None)
            and not (network_load_balancer and (load_balancer or service_connect)),
            "network_load_balancer",
            "goes with network_target_group, and without load_balancer or service_connect",
            network_load_balancer and network_load_balancer.node.path,
            "pass both network_load_balancer and network_target_group, or neither",
        )
        problems.require(
            queue is not None or dead_letter_queue is None,
            "dead_letter_queue",
            "goes with the queue whose failed messages it holds",
            dead_letter_queue and dead_letter_queue.node.path,
            "pass queue too",
        )
        check_service_name(problems, service_name)
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        self.service = service
        self.thresholds = thresholds
        self.name = service_name or service.service_name
        measured = (
            LOAD_BALANCER_SIGNALS
            if load_balancer is not None
            else SERVICE_CONNECT_SIGNALS
            if service_connect is not None
            else NETWORK_SIGNALS
            if network_load_balancer is not None
            else ()
        ) + (QUEUE_SIGNALS if queue is not None else ())
        warn_disabled(
            self,
            thresholds,
            tuple(
                item.name
                for item in fields(thresholds)
                if item.name in measured
                or item.name not in (*LOAD_BALANCER_SIGNALS, *QUEUE_SIGNALS)
            ),
        )

        shared = topic is not None and topic is shared_scope(self).node.try_find_child("AlarmTopic")
        own = (topic is not None and not shared) or encryption_key is not None
        if encryption_key is not None:
            self.topic: sns.ITopic = topic or notification_topic(
                self, "Topic", encryption_key=encryption_key
            )
        else:
            self.topic = topic or stack_alarm_topic(self)
        if topic is not None and not shared:  # the shared topic allows alarms already
            allow_alarms_to_publish(topic)
        self.dead_letter_queue = (
            encrypted_dead_letter_queue(self, encryption_key or stack_key(self))
            if own
            else stack_notification_queue(self)
        )
        self.encryption_key: kms.IKey = self.dead_letter_queue.encryption_master_key  # type: ignore[assignment]

        self.alarms: dict[str, cloudwatch.IAlarm] = {}
        self.metric_filters: dict[str, logs.MetricFilter] = {}
        self.queries: dict[str, logs.QueryDefinition] = {}
        self._lb_metrics = (
            LoadBalancerMetrics(load_balancer, target_group)
            if load_balancer is not None and target_group is not None
            else None
        )
        self._service_connect_metrics = (
            ServiceConnectMetrics(service_connect) if service_connect is not None else None
        )
        self._notifier = Notifier(self, self.topic, self.dead_letter_queue)
        self.event_rules = self._notifier.rules

        self._service_alarms()
        self.golden_signal_alarms: list[cloudwatch.IAlarm] = []
        golden_metrics = self._lb_metrics or self._service_connect_metrics
        if golden_metrics is not None:
            golden = (
                golden_signals(self, golden_metrics, self.topic, thresholds, self.name)
                if golden_signal_alarms is None
                else {
                    GOLDEN_KEYS.get(item.node.id, item.node.id): item
                    for item in golden_signal_alarms
                }
            )
            self.alarms.update(golden)
            self.golden_signal_alarms = list(golden.values())
        if self._lb_metrics is not None:
            self._load_balancer_alarms(self._lb_metrics)
        self._network_metrics = (
            NetworkLoadBalancerMetrics(network_load_balancer, network_target_group)
            if network_load_balancer is not None and network_target_group is not None
            else None
        )
        if self._network_metrics is not None:
            alarms: list[cloudwatch.IAlarm] = list(golden_signal_alarms or [])
            if golden_signal_alarms is None:
                alarm = network_signal_alarm(
                    self,
                    "NetworkSignals",
                    metrics=self._network_metrics,
                    topic=self.topic,
                    thresholds=thresholds,
                    name=self.name,
                )
                alarms = [alarm] if alarm is not None else []
            if alarms:  # one alarm on both signals, as the service rolls back on
                self.alarms["golden_signals"] = alarms[0]
            self.golden_signal_alarms = alarms
        self._queue_metrics = (
            QueueMetrics(queue, dead_letter_queue, service) if queue is not None else None
        )
        if self._queue_metrics is not None:
            self.alarms.update(
                queue_alarms(self, self._queue_metrics, self.topic, thresholds, self.name)
            )
        service_rules(self._notifier, self.service, self.name, notify_deployments)
        self._task_failure_alarm()
        self.log_errors: cloudwatch.Metric | None = None
        if log_group is not None:
            self._log_insights(log_group)
        self.alarms["undelivered_notifications"] = (
            undelivered_notifications_alarm(self, self.dead_letter_queue, self.topic, self.name)
            if own
            else _shared_undelivered_alarm(self)
        )
        self.service_unhealthy = self._composite()
        self.dashboard = (
            Dashboard(
                self,
                log_group,
                self._lb_metrics,
                self._service_connect_metrics,
                self._network_metrics,
                self._queue_metrics,
            ).dashboard
            if dashboard
            else None
        )

    @classmethod
    @checked
    def for_service(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        service: ServiceConstruct,
        topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        thresholds: MonitoringThresholds | None = None,
        service_name: str | None = None,
        notify_deployments: bool = False,
        dashboard: bool = True,
    ) -> ServiceMonitoring:
        """Monitor a service construct such as ``AlbFargateService``.

        Reads ``service.service`` (the ECS service) and, when present,
        ``service.load_balancer`` (an application load balancer, or a construct holding one
        as ``.load_balancer`` such as ``SecureLoadBalancer``), ``service.target_group``,
        ``service.published`` (a Service Connect port such as ``BackendService``'s: its
        discovery name, when it speaks HTTP, HTTP/2 or gRPC), ``service.queue`` and
        ``service.dead_letter_queue`` (``WorkerService``), ``service.log_group`` (or
        ``service.task_definition.log_group``),
        ``service.golden_signal_alarms`` (reused, not duplicated), ``service.alarm_thresholds``
        and ``service.alarm_topic``; the other arguments are those of the constructor.
        ``thresholds`` and ``topic`` default to the service's, so the reused rollback alarms
        and the new ones fire alike and notify one topic.
        """
        group = getattr(service, "target_group", None)
        network = isinstance(group, elbv2.NetworkTargetGroup)
        application = not network
        return cls(
            scope,
            construct_id,
            service=service.service,
            load_balancer=_unwrap(getattr(service, "load_balancer", None), "load_balancer_arn")
            if application
            else None,
            target_group=group if application else None,
            network_load_balancer=service.load_balancer.load_balancer if network else None,  # type: ignore[attr-defined]
            network_target_group=group if network else None,
            service_connect=_http_discovery_name(getattr(service, "published", None)),
            queue=getattr(service, "queue", None),
            dead_letter_queue=getattr(service, "dead_letter_queue", None),
            log_group=getattr(service, "log_group", None)
            or getattr(getattr(service, "task_definition", None), "log_group", None),
            topic=topic or getattr(service, "alarm_topic", None),
            encryption_key=encryption_key,
            thresholds=thresholds
            or getattr(service, "alarm_thresholds", None)
            or MonitoringThresholds(),
            service_name=service_name,
            notify_deployments=notify_deployments,
            dashboard=dashboard,
            golden_signal_alarms=getattr(service, "golden_signal_alarms", None) or None,
        )

    # --- alarms --------------------------------------------------------------------------

    def _service_alarms(self) -> None:
        t, name = self.thresholds, self.name
        for key, construct_id, metric_name, what, threshold, hint in (
            (
                "cpu",
                "CpuHigh",
                "CPUUtilization",
                "CPU",
                t.cpu_percent,
                "Autoscaling is not keeping up or is at its maximum: raise max capacity or task "
                "CPU, or find the hot path.",
            ),
            (
                "memory",
                "MemoryHigh",
                "MemoryUtilization",
                "memory",
                t.memory_percent,
                "Tasks are close to their hard limit and an OOM kill (exit code 137): raise task "
                "memory or find the leak.",
            ),
        ):
            if threshold is not None:
                self.alarms[key] = self._alarm(
                    construct_id,
                    service_metric(self.service, ECS, metric_name, "Average"),
                    threshold,
                    f"{name}: average {what} above {show(threshold)}%. {hint}",
                )
        if t.running_below_desired_minutes is not None:
            minutes = t.running_below_desired_minutes
            self.alarms["running_tasks"] = alarm(
                self,
                "RunningBelowDesired",
                metric=cloudwatch.MathExpression(
                    expression="desired - running",
                    using_metrics={
                        "desired": insights_metric(
                            self.service, "DesiredTaskCount", "Desired tasks"
                        ),
                        "running": insights_metric(
                            self.service, "RunningTaskCount", "Running tasks"
                        ),
                    },
                    label="Desired minus running tasks",
                    period=defaults.ALARM_PERIOD,
                ),
                threshold=1,
                evaluation_periods=minutes,
                datapoints_to_alarm=minutes,
                topic=self.topic,
                description=f"{name}: fewer tasks running than desired for {show(minutes)} "
                "minutes. Tasks crash, fail health checks, cannot be placed (capacity, subnet IPs) "
                "or cannot pull their image: see the task-stopped notifications and service events.",
            )

    def _load_balancer_alarms(self, metrics: LoadBalancerMetrics) -> None:
        t, name = self.thresholds, self.name
        if t.load_balancer_5xx_percent is not None:
            self.alarms["load_balancer_5xx"] = self._alarm(
                "LoadBalancer5xxRate",
                metrics.load_balancer_5xx_rate(t.min_requests),
                t.load_balancer_5xx_percent,
                f"{name}: at least {show(t.load_balancer_5xx_percent)}% of requests end in a 5xx "
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
            f"m{index}": rule_matches(self.event_rules[key], window)
            for index, key in enumerate(stops)
        }
        self.alarms["task_failures"] = alarm(
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
            description=f"{self.name}: {show(t.task_failures)}+ tasks stopped abnormally within "
            f"{show_duration(window)} - a restart loop. Check the health check path/port, "
            "raise startPeriod and the grace period, and read the tasks' last log lines.",
        )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, threshold: float, description: str
    ) -> cloudwatch.Alarm:
        return service_alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            description=description,
            topic=self.topic,
            thresholds=self.thresholds,
        )

    def _composite(self) -> cloudwatch.CompositeAlarm | None:
        keys = (
            "running_tasks",
            "task_failures",
            "golden_signals",
            "unhealthy_hosts",
            "target_5xx",
            "load_balancer_5xx",
            "latency_p99",
            "oldest_message_age",
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
            alarm_description=f"{self.name} is unhealthy: users are affected ("
            + (
                "tasks missing or failing, or messages waiting too long"
                if self._queue_metrics is not None
                else "tasks missing or failing, unhealthy targets, 5xx errors or slow responses"
            )
            + "). See the member alarms and the service dashboard.",
            actions_enabled=True,
        )
        notify(composite, self.topic)
        return composite

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
                f"{self.name}: {show(t.log_errors)}+ error lines a minute in the service logs. "
                "Run the saved query 'Errors'.",
            )
        self.queries.update(saved_queries(self, self.name, log_group))


def _shared_undelivered_alarm(scope: Construct) -> cloudwatch.IAlarm:
    """The alarm on the stack's shared notification dead-letter queue (created with it)."""
    queue = stack_notification_queue(scope)
    found = queue.node.scope.node.find_child("UndeliveredNotifications")  # type: ignore[union-attr]
    assert isinstance(found, cloudwatch.Alarm)
    return found


def _check_service_connect(
    problems: Problems,
    discovery_name: str | None,
    load_balancer: elbv2.IApplicationLoadBalancer | None,
    thresholds: MonitoringThresholds,
) -> None:
    """Record problems with a Service Connect discovery name and with thresholds it cannot
    take (a token response time: Service Connect's is in milliseconds)."""
    if discovery_name is None:
        return
    problems.require(
        load_balancer is None,
        "service_connect",
        "cannot go with load_balancer: the golden signals are then the target group's",
        discovery_name,
        "pass either load_balancer and target_group, or service_connect",
    )
    problems.require(
        is_token(discovery_name) or bool(PORT_NAME.match(discovery_name)),
        "service_connect",
        "must be a discovery name: 1-64 lower-case letters, digits, '_' or '-', not "
        "starting with '-'",
        discovery_name,
        "pass the published port's discovery name (BackendService.published.discovery_name)",
    )
    latency = thresholds.latency_p99
    problems.require(
        not isinstance(latency, cdk.Duration) or duration_seconds(latency) is not None,
        "thresholds.latency_p99",
        "a token cannot be converted to the milliseconds Service Connect measures response "
        "times in",
        latency,
        "pass a literal duration, e.g. cdk.Duration.seconds(2)",
    )


def _http_discovery_name(published: Any) -> str | None:
    """The discovery name of a Service Connect port (``Published``) that counts requests:
    HTTP, HTTP/2 or gRPC, not TCP."""
    if published is None or published.app_protocol is None:
        return None
    return published.discovery_name


def _unwrap(value: Any, attribute: str) -> Any:
    """``value``, or the ``.load_balancer`` it wraps when only that has ``attribute``."""
    if value is None or hasattr(value, attribute):
        return value
    inner = getattr(value, "load_balancer", None)
    return inner if hasattr(inner, attribute) else value
