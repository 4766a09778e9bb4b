"""CloudWatch metrics of a service: ECS, Container Insights, its load balancer, EventBridge rules."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events

from .. import defaults
from ..errors import is_token

_ALB = "AWS/ApplicationELB"
_NLB = "AWS/NetworkELB"
ECS = "AWS/ECS"
INSIGHTS = "ECS/ContainerInsights"
_EVENTS = "AWS/Events"

ERROR_LINES = "@message like /(?i)({})/".format(
    "|".join(dict.fromkeys(term.lower() for term in defaults.LOG_ERROR_TERMS))
)
"""Logs Insights filter of the error lines: any of ``defaults.LOG_ERROR_TERMS``, in any case."""


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


class LoadBalancerMetrics:
    """ALB metrics of one load balancer and one of its target groups."""

    response_time_unit = 1
    """``TargetResponseTime`` is in seconds."""
    health_checked = True
    """The load balancer counts unhealthy targets."""

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
        return metric(_ALB, name, self.load_balancer_dimension, statistic, label)

    def target(self, name: str, statistic: str, label: str | None = None) -> cloudwatch.Metric:
        return metric(_ALB, name, self.target_dimensions, statistic, label)

    def requests(self) -> cloudwatch.Metric:
        """The requests the target group received, per minute."""
        return self.target("RequestCount", "Sum", "Requests")

    def target_5xx_rate(self, min_requests: int) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=(
                f"IF(target_requests >= {min_requests}, "
                "100 * FILL(target_5xx, 0) / target_requests, 0)"
            ),
            using_metrics={
                "target_5xx": self.target("HTTPCode_Target_5XX_Count", "Sum", "Target 5xx"),
                "target_requests": self.requests(),
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


class NetworkLoadBalancerMetrics:
    """Network Load Balancer metrics of one load balancer and one of its target groups
    (``AWS/NetworkELB``, by ``LoadBalancer`` and ``TargetGroup``)."""

    def __init__(
        self,
        load_balancer: elbv2.NetworkLoadBalancer,
        target_group: elbv2.NetworkTargetGroup,
    ) -> None:
        self.target_dimensions = {
            "LoadBalancer": load_balancer.load_balancer_full_name,
            "TargetGroup": target_group.target_group_full_name,
        }

    def target(self, name: str, statistic: str, label: str | None = None) -> cloudwatch.Metric:
        return metric(_NLB, name, self.target_dimensions, statistic, label)


class ServiceConnectMetrics:
    """Service Connect metrics of a published port: what the proxies of its clients measure
    of it (``AWS/ECS``, by ``TargetDiscoveryName``; HTTP, HTTP/2 and gRPC ports only).

    Relied on: "Amazon ECS Service Connect metrics" in the ECS developer guide.
    """

    response_time_unit = 1000
    """``TargetResponseTime`` is in milliseconds."""
    health_checked = False
    """Nothing counts unhealthy tasks: ECS replaces a task whose container health check fails."""

    def __init__(self, discovery_name: str) -> None:
        self.target_dimensions = {"TargetDiscoveryName": discovery_name}
        self.server_dimensions = {"DiscoveryName": discovery_name}

    def target(self, name: str, statistic: str, label: str | None = None) -> cloudwatch.Metric:
        return metric(ECS, name, self.target_dimensions, statistic, label)

    def server(self, name: str, statistic: str, label: str | None = None) -> cloudwatch.Metric:
        """What the port's own proxies measure (``RequestCount``, ``ActiveConnectionCount``,
        ``NewConnectionCount``, ``ProcessedBytes``; by ``DiscoveryName``)."""
        return metric(ECS, name, self.server_dimensions, statistic, label)

    def requests(self) -> cloudwatch.MathExpression:
        """The requests the port answered, per minute: the sum of the response-code counts
        its clients' proxies report (``RequestCount`` is only the server proxies', by
        ``DiscoveryName``, and misses requests that reach no task)."""
        codes = {
            f"target_{code}xx": self.target(
                f"HTTPCode_Target_{code}XX_Count", "Sum", f"Target {code}xx"
            )
            for code in (2, 3, 4, 5)
        }
        return cloudwatch.MathExpression(
            expression=" + ".join(f"FILL({metric_id}, 0)" for metric_id in codes),
            using_metrics=codes,
            label="Requests",
            period=defaults.ALARM_PERIOD,
        )

    def target_5xx_rate(self, min_requests: int) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=(
                f"IF(FILL(requests, 0) >= {min_requests}, "
                "100 * FILL(errors, 0) / FILL(requests, 1), 0)"
            ),
            using_metrics={
                "errors": self.target("HTTPCode_Target_5XX_Count", "Sum", "Target 5xx"),
                "requests": self.requests(),
            },
            label="Target 5xx (% of requests)",
            period=defaults.ALARM_PERIOD,
        )

    def requests_per_task(self) -> cloudwatch.Metric:
        """Requests each task receives per minute (what autoscaling on requests tracks)."""
        return self.target("RequestCountPerTarget", "Average", "Requests per task")


def metric(
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


def service_metric(
    service: ecs.IBaseService,
    namespace: str,
    name: str,
    statistic: str,
    label: str | None = None,
) -> cloudwatch.Metric:
    dimensions = {"ClusterName": service.cluster.cluster_name, "ServiceName": service.service_name}
    return metric(namespace, name, dimensions, statistic, label)


def insights_metric(service: ecs.IBaseService, name: str, label: str) -> cloudwatch.Metric:
    """A Container Insights metric of ``service`` (average per minute)."""
    return service_metric(service, INSIGHTS, name, "Average", label)


def rule_matches(
    rule: events.IRule, period: cdk.Duration, label: str | None = None
) -> cloudwatch.Metric:
    """How many events ``rule`` matched per ``period``."""
    return cloudwatch.Metric(
        namespace=_EVENTS,
        metric_name="MatchedEvents",
        dimensions_map={"RuleName": rule.rule_name},
        statistic="Sum",
        period=period,
        label=label,
    )
