"""The service dashboard and its runbook."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs

from .. import defaults
from .metrics import (
    ECS,
    ERROR_LINES,
    LoadBalancerMetrics,
    NetworkLoadBalancerMetrics,
    ServiceConnectMetrics,
    insights_metric,
    rule_matches,
    service_metric,
)
from .queue import QueueMetrics, queue_panels

if TYPE_CHECKING:
    from .service import ServiceMonitoring


class Dashboard:
    """The service dashboard: alarm status, the brief's metrics, deployments, log errors, runbook."""

    def __init__(
        self,
        monitoring: ServiceMonitoring,
        log_group: logs.ILogGroup | None,
        lb: LoadBalancerMetrics | None,
        service_connect: ServiceConnectMetrics | None,
        network: NetworkLoadBalancerMetrics | None = None,
        queue: QueueMetrics | None = None,
    ) -> None:
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
        if lb is not None:
            self.dashboard.add_widgets(*self._load_balancer(lb))
        if service_connect is not None:
            self.dashboard.add_widgets(*self._service_connect(service_connect))
        if network is not None:
            self.dashboard.add_widgets(self._network(network))
        if queue is not None:
            self.dashboard.add_widgets(*queue_panels(queue, monitoring.thresholds))
        self.dashboard.add_widgets(self._deployments(), self._log_errors())
        if log_group is not None:
            self.dashboard.add_widgets(
                cloudwatch.LogQueryWidget(
                    title="Recent errors",
                    log_group_names=[log_group.log_group_name],
                    query_lines=[
                        "fields @timestamp, @logStream, @message",
                        f"filter {ERROR_LINES}",
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

    def _annotation(
        self, field: str, label: str, unit: float = 1
    ) -> list[cloudwatch.HorizontalAnnotation]:
        """The threshold ``field`` as a line; a duration in seconds times ``unit`` (the
        metric's units per second, e.g. ``response_time_unit``)."""
        value = getattr(self.m.thresholds, field)
        if value is None:
            return []
        if isinstance(value, cdk.Duration):
            value = value.to_seconds(integral=False) * unit
        return [cloudwatch.HorizontalAnnotation(value=value, label=label)]

    def _utilization(self) -> cloudwatch.GraphWidget:
        service = self.m.service
        return cloudwatch.GraphWidget(
            title="CPU and memory utilization (%)",
            left=[
                service_metric(service, ECS, "CPUUtilization", "Average", "CPU"),
                service_metric(service, ECS, "MemoryUtilization", "Average", "Memory"),
                service_metric(service, ECS, "CPUUtilization", "Maximum", "CPU (max)"),
                service_metric(service, ECS, "MemoryUtilization", "Maximum", "Memory (max)"),
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
                insights_metric(self.m.service, "DesiredTaskCount", "Desired"),
                insights_metric(self.m.service, "RunningTaskCount", "Running"),
                insights_metric(self.m.service, "PendingTaskCount", "Pending"),
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0),
            width=12,
            height=6,
        )

    def _load_balancer(self, lb: LoadBalancerMetrics) -> list[cloudwatch.IWidget]:
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
            self._response_time("Target response time (s)", lb),
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

    @staticmethod
    def _network(nlb: NetworkLoadBalancerMetrics) -> cloudwatch.GraphWidget:
        """A Network Load Balancer's targets: health, flows and connection resets."""
        return cloudwatch.GraphWidget(
            title="Network load balancer targets",
            left=[
                nlb.target("HealthyHostCount", "Minimum", "Healthy tasks"),
                nlb.target("UnHealthyHostCount", "Maximum", "Unhealthy tasks"),
            ],
            right=[
                nlb.target("ActiveFlowCount", "Average", "Active flows"),
                nlb.target("NewFlowCount", "Sum", "New flows"),
                nlb.target("TCP_Target_Reset_Count", "Sum", "Target resets"),
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0),
            right_y_axis=cloudwatch.YAxisProps(min=0),
            width=24,
            height=6,
        )

    def _response_time(
        self, title: str, metrics: LoadBalancerMetrics | ServiceConnectMetrics
    ) -> cloudwatch.GraphWidget:
        """p50, p90 and p99 response time, with the p99 alarm's threshold in the metric's unit."""
        return cloudwatch.GraphWidget(
            title=title,
            left=[
                metrics.target("TargetResponseTime", f"p{percentile}", f"p{percentile}")
                for percentile in (50, 90, 99)
            ],
            left_annotations=self._annotation(
                "latency_p99", "p99 alarm", metrics.response_time_unit
            ),
            left_y_axis=cloudwatch.YAxisProps(min=0),
            width=8,
            height=6,
        )

    def _service_connect(self, sc: ServiceConnectMetrics) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Service Connect requests and errors",
                left=[
                    sc.server("RequestCount", "Sum", "Requests"),
                    sc.target("HTTPCode_Target_4XX_Count", "Sum", "Target 4xx"),
                    sc.target("HTTPCode_Target_5XX_Count", "Sum", "Target 5xx"),
                ],
                right=[sc.target_5xx_rate(self.m.thresholds.min_requests)],
                right_y_axis=cloudwatch.YAxisProps(min=0, max=100, label="%", show_units=False),
                width=8,
                height=6,
            ),
            self._response_time("Service Connect response time (ms)", sc),
            cloudwatch.GraphWidget(
                title="Service Connect connections",
                left=[
                    sc.server("ActiveConnectionCount", "Average", "Active connections"),
                    sc.server("NewConnectionCount", "Sum", "New connections"),
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0),
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
                insights_metric(self.m.service, "DeploymentCount", "Deployments"),
                insights_metric(self.m.service, "TaskSetCount", "Task sets"),
            ],
            right=[
                rule_matches(rules[key], defaults.DASHBOARD_EVENT_PERIOD, label)
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
