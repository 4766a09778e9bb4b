"""NlbFargateService: the service core behind a listener of a SecureNetworkLoadBalancer.

For TCP, TLS and UDP services (gRPC or MQTT endpoints, databases proxies, game servers) that
an Application Load Balancer cannot carry. Relied on: "Target groups for your Network Load
Balancers" (health checks, deregistration delay and connection termination, client IP
preservation) and "CloudWatch metrics for your Network Load Balancer" (``AWS/NetworkELB``
``UnHealthyHostCount`` and ``TCP_Target_Reset_Count`` by load balancer and target group).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from .. import defaults
from ..autoscaling import ScalingOptions
from ..deployment.binding import drop_referenced_dependencies, traffic_shift_role
from ..deployment.strategy import NETWORK_LOAD_BALANCER, DeploymentStrategy, TestTraffic
from ..errors import Problems, checked, is_token
from ..monitoring.alarms import network_signal_alarm
from ..monitoring.metrics import NetworkLoadBalancerMetrics
from ..monitoring.thresholds import MonitoringThresholds
from ..network import VpcEndpoints, same_vpc
from ..network_load_balancer import NlbListener, SecureNetworkLoadBalancer
from ..task_definition import HardenedTaskDefinition
from .backend import BackendService
from .core import CoreService, ServiceCore

_HEALTH_PROTOCOLS = {
    "TCP": elbv2.Protocol.TCP,
    "HTTP": elbv2.Protocol.HTTP,
    "HTTPS": elbv2.Protocol.HTTPS,
}
_NLB_SUCCESS_CODES = re.compile(r"^[2-5]\d\d(-[2-5]\d\d)?(,[2-5]\d\d(-[2-5]\d\d)?)*$")


@dataclass(frozen=True, kw_only=True)
class NlbHealthCheck:
    """The Network Load Balancer's health check of each task, tuned for fast rollouts.

    A new task turns healthy after ``healthy_threshold x interval`` (20 s by default), a
    failing one is taken out after ``unhealthy_threshold x interval`` (20 s).

    Args:
        protocol: ``"TCP"`` (a connection opens), ``"HTTP"`` or ``"HTTPS"``. Default: TCP.
        port: the TCP port to probe; a UDP listener needs one (health checks never speak
            UDP). Default: the container port.
        path: the path of an HTTP(S) check. Default: ``/`` for HTTP(S), none for TCP.
        interval: 5-300 s. Default: 10 seconds.
        timeout: 2-120 s, shorter than ``interval``. Default: 5 seconds.
        healthy_threshold / unhealthy_threshold: 2-10. Default: 2 / 2.
        success_codes: HTTP(S) codes that count as healthy, 200-599. Default: ``200-399``.
    """

    protocol: str = "TCP"
    port: int | None = None
    path: str | None = None
    interval: cdk.Duration = defaults.NLB_HEALTH_INTERVAL
    timeout: cdk.Duration = defaults.NLB_HEALTH_TIMEOUT
    healthy_threshold: int = defaults.NLB_HEALTHY_THRESHOLD
    unhealthy_threshold: int = defaults.NLB_UNHEALTHY_THRESHOLD
    success_codes: str | None = None

    def validate(self, problems: Problems, argument: str, listener: NlbListener) -> None:
        """Record problems with this health check of ``listener``'s service."""
        if not problems.require(
            self.protocol in _HEALTH_PROTOCOLS,
            f"{argument}.protocol",
            "must be TCP, HTTP or HTTPS (a Network Load Balancer never probes over UDP)",
            self.protocol,
            "pass 'TCP', 'HTTP' or 'HTTPS'",
        ):
            return
        http = self.protocol != "TCP"
        problems.require(
            not listener.carries_udp or self.port is not None,
            f"{argument}.port",
            f"is needed for a {listener.protocol} listener: a {self.protocol} health check on "
            "the traffic port reaches a port the tasks answer over UDP",
            self.port,
            "pass port=<a TCP port the container answers health checks on>",
        )
        problems.in_range(f"{argument}.port", self.port, 1, 65535)
        for name, value in (("path", self.path), ("success_codes", self.success_codes)):
            problems.require(
                http or value is None,
                f"{argument}.{name}",
                "belongs to HTTP and HTTPS health checks; this one is TCP",
                value,
                "use protocol='HTTP', or leave it out",
            )
        if self.path is not None and not is_token(self.path):
            problems.require(
                self.path.startswith("/") and len(self.path) <= 1024,
                f"{argument}.path",
                "must be an absolute HTTP path",
                self.path,
                "e.g. '/health'",
            )
        if self.success_codes is not None and not is_token(self.success_codes):
            problems.require(
                bool(_NLB_SUCCESS_CODES.match(self.success_codes)),
                f"{argument}.success_codes",
                "must be HTTP codes or ranges from 200 to 599 (a Network Load Balancer's range)",
                self.success_codes,
                "e.g. '200' or '200-399'",
            )
        problems.probe_timing(argument, self.interval, self.timeout)
        problems.in_range(f"{argument}.healthy_threshold", self.healthy_threshold, 2, 10)
        problems.in_range(f"{argument}.unhealthy_threshold", self.unhealthy_threshold, 2, 10)

    def to_health_check(self) -> elbv2.HealthCheck:
        http = self.protocol != "TCP"
        return elbv2.HealthCheck(
            protocol=_HEALTH_PROTOCOLS[self.protocol],
            port=str(self.port) if self.port is not None else None,
            path=(self.path or defaults.TARGET_HEALTH_PATH) if http else None,
            healthy_http_codes=(self.success_codes or defaults.NLB_HEALTH_SUCCESS_CODES)
            if http
            else None,
            interval=self.interval,
            timeout=self.timeout,
            healthy_threshold_count=self.healthy_threshold,
            unhealthy_threshold_count=self.unhealthy_threshold,
        )


class _NlbFrontDoor:
    """A listener of a ``SecureNetworkLoadBalancer`` forwarding to the service's target group."""

    traffic = NETWORK_LOAD_BALANCER
    admits = "the network load balancer on the container port"

    def __init__(
        self,
        *,
        load_balancer: SecureNetworkLoadBalancer,
        listener: NlbListener,
        health_check: NlbHealthCheck,
        deregistration_delay: cdk.Duration,
        preserve_client_ip: bool,
    ) -> None:
        self.load_balancer = load_balancer
        self.listener = listener
        self.health_check = health_check
        self.deregistration_delay = deregistration_delay
        self.preserve_client_ip = preserve_client_ip
        self.target_group: elbv2.NetworkTargetGroup | None = None
        self.alternate_target_group: elbv2.NetworkTargetGroup | None = None
        self.network_listener: elbv2.NetworkListener | None = None
        self.test_listener: elbv2.NetworkListener | None = None
        self.traffic_shift_role: iam.IRole | None = None
        self.golden_signal_alarms: list[cloudwatch.IAlarm] = []

    def check(self, problems: Problems, core: ServiceCore) -> None:
        definition = core.task_definition
        problems.require(
            definition.container_port is not None,
            "task_definition",
            "has no container port for the load balancer to send traffic to",
            None,
            "build it with HardenedTaskDefinition(..., container_port=8883)",
        )
        self.load_balancer.check_listener(problems, "listener", self.listener)
        if core.deployment.shifts_traffic:
            test = core.deployment.test_traffic or TestTraffic()
            self.load_balancer.check_listener(
                problems, "deployment.test_traffic", replace(self.listener, port=test.port)
            )
            problems.require(
                test.port != self.listener.port,
                "deployment.test_traffic.port",
                "is the production listener's port",
                test.port,
                "pick another port for test traffic (default 9443)",
            )
        self.health_check.validate(problems, "health_check", self.listener)
        problems.require(
            (definition.port_protocol == ecs.Protocol.UDP) == (self.listener.protocol == "UDP"),
            "task_definition",
            f"its container port speaks {definition.port_protocol.value}, and the listener "
            f"{self.listener.protocol}",
            definition.port_protocol.value,
            "build the task definition with port_protocol=ecs.Protocol.UDP for a UDP listener, "
            "TCP otherwise",
        )
        problems.seconds_in_range("deregistration_delay", self.deregistration_delay, 0, 3600)
        core.check_derived_grace_period(
            problems, self.health_check.interval, self.health_check.healthy_threshold
        )
        if core.scaling is not None:
            problems.require(
                not core.scaling.requests_per_target,
                "scaling.requests_per_target",
                "needs request counts, and a Network Load Balancer counts connections",
                core.scaling.requests_per_target,
                "scale on CPU, memory or a step_scaling metric (e.g. active flows)",
            )
        problems.require(
            same_vpc(core.vpc, self.load_balancer.vpc),
            "load_balancer",
            "is in another VPC than the cluster: its targets (the tasks' IP addresses) must be "
            "in the load balancer's VPC",
            self.load_balancer.node.path,
            "put the load balancer in the cluster's VPC",
        )

    def grace_period(self, core: ServiceCore) -> cdk.Duration:
        check = self.health_check
        return core.derived_grace_period(check.interval, check.healthy_threshold)

    def prepare(self, scope: Construct, core: ServiceCore) -> list[cloudwatch.IAlarm]:
        self.target_group = self._target_group(scope, "TargetGroup", core)
        if core.topic is not None:
            alarm = _rollback_alarm(
                scope, "RollbackAlarm", core, self.load_balancer, self.target_group
            )
            self.golden_signal_alarms = [alarm] if alarm is not None else []
        alarms = list(self.golden_signal_alarms)
        if core.deployment.shifts_traffic:
            green = self.alternate_target_group = self._target_group(
                scope, "AlternateTargetGroup", core
            )
            if core.topic is not None:
                alarm = _rollback_alarm(
                    scope, "AlternateRollbackAlarm", core, self.load_balancer, green
                )
                alarms += [alarm] if alarm is not None else []
        return alarms

    def _target_group(
        self, scope: Construct, construct_id: str, core: ServiceCore
    ) -> elbv2.NetworkTargetGroup:
        port = core.task_definition.container_port
        assert port is not None
        target_protocol = {"TLS": elbv2.Protocol.TCP}.get(
            self.listener.protocol, self.listener.elb_protocol
        )
        return elbv2.NetworkTargetGroup(
            scope,
            construct_id,
            vpc=core.vpc,
            port=port,
            protocol=target_protocol,
            target_type=elbv2.TargetType.IP,
            health_check=self.health_check.to_health_check(),
            deregistration_delay=self.deregistration_delay,
            connection_termination=defaults.NLB_CONNECTION_TERMINATION,
            # UDP target groups always preserve the client IP; AWS refuses the attribute.
            preserve_client_ip=None if self.listener.carries_udp else self.preserve_client_ip,
        )

    def attach(self, scope: Construct, core: ServiceCore) -> None:
        assert self.target_group is not None
        definition = core.task_definition
        port = definition.container_port
        assert port is not None
        self.network_listener = self.load_balancer.add_listener(
            scope, "Listener", self.listener, self.target_group
        )
        ports = self.listener.ports(port)
        if self.listener.carries_udp or self.health_check.port is not None:
            ports.append(ec2.Port.tcp(self.health_check.port or port))
        for allowed in ports:
            core.service.connections.allow_from(
                self.load_balancer.load_balancer, allowed, "Network load balancer to the tasks"
            )
        target = functools.partial(
            core.service.load_balancer_target,
            container_name=definition.container_name,
            container_port=port,
            protocol=definition.port_protocol,
        )
        if self.alternate_target_group is None:
            self.target_group.add_target(target())
            # The service must not start before its target group is on a listener (with
            # traffic shifting, the service names both listeners: CloudFormation orders it).
            core.service.node.add_dependency(self.network_listener)
            return None
        test = core.deployment.test_traffic or TestTraffic()
        self.test_listener = self.load_balancer.add_listener(
            scope,
            "TestListener",
            replace(self.listener, port=test.port),
            self.target_group,
            test_sources=test.sources,
        )
        self.traffic_shift_role = traffic_shift_role(scope)
        target(
            alternate_target=ecs.AlternateTarget(
                "AlternateTarget",
                alternate_target_group=self.alternate_target_group,
                production_listener=ecs.ListenerRuleConfiguration.network_listener(
                    self.network_listener
                ),
                test_listener=ecs.ListenerRuleConfiguration.network_listener(self.test_listener),
                role=self.traffic_shift_role,
            )
        ).attach_to_network_target_group(self.target_group)
        drop_referenced_dependencies(core.service, self.network_listener, self.test_listener)
        return None

    @property
    def requests_per_target(self) -> None:
        return None


def _rollback_alarm(
    scope: Construct,
    construct_id: str,
    core: ServiceCore,
    load_balancer: SecureNetworkLoadBalancer,
    target_group: elbv2.NetworkTargetGroup,
) -> cloudwatch.Alarm | None:
    assert core.topic is not None
    return network_signal_alarm(
        scope,
        construct_id,
        metrics=NetworkLoadBalancerMetrics(load_balancer.load_balancer, target_group),
        topic=core.topic,
        thresholds=core.alarm_thresholds,
        name=core.service_name or "service",
    )


class NlbFargateService(CoreService):
    """A Fargate (or EC2) service in private subnets behind a listener of a SecureNetworkLoadBalancer.

    The service core (``services.core``) behind a Network Load Balancer front door: TCP, TLS
    or UDP, a target group tuned for fast rollouts that closes a drained task's connections,
    and a rollback alarm on unhealthy tasks and connection resets.

    Args:
        cluster: the ECS cluster.
        task_definition: a ``HardenedTaskDefinition`` with a ``container_port`` (and
            ``port_protocol=ecs.Protocol.UDP`` behind a UDP listener).
        load_balancer: the ``SecureNetworkLoadBalancer``; one service per listener port.
        listener: the port and protocol clients use (``NlbListener``).
        health_check: the target group's health check. Default: ``NlbHealthCheck()`` (TCP).
        deregistration_delay: how long a stopping task drains its connections before they
            are closed. Default: 30 seconds.
        preserve_client_ip: the tasks see the clients' IP addresses (TCP and TLS; always on
            for UDP); the service security group still admits only the load balancer's.
            Default: False (AWS's default for IP targets).
        deployment: ``DeploymentStrategy.rolling()``, or ECS-native ``.blue_green()``,
            ``.canary()`` or ``.linear()``: a second target group and a test listener on
            ``test_traffic.port`` (the listener's protocol, open only to its ``sources``);
            ECS adds 10 minutes to each traffic shift on a Network Load Balancer. CodeDeploy
            is refused. Default: rolling, min healthy 100 % / max 200 %, circuit breaker
            with rollback.
        rollback_alarms: create one alarm on unhealthy tasks and target connection resets
            (``alarm_thresholds.unhealthy_hosts`` and ``target_resets``) and roll deployments
            back on it. Default: True.
        connects_to: the ``BackendService`` constructs it calls over Service Connect.
            Default: none.
        The other arguments are those of ``AlbFargateService``, with the same defaults:
        desired_count, service_name, health_check_grace_period, capacity_provider_strategy,
        placement_strategies, placement_constraints, alarm_topic, alarm_thresholds,
        deployment_alarms, enable_exec, endpoints, https_egress, scaling (CPU and memory;
        a Network Load Balancer counts no requests), vpc_subnets.

    Attributes:
        service, target_group, alternate_target_group, test_listener (None for rolling),
        traffic_shift_role, listener (the ``elbv2.NetworkListener``), security_group,
        load_balancer, scaling, task_definition, rollback_alarms, golden_signal_alarms,
        alarm_topic, alarm_thresholds, deployment, deployment_resources.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        task_definition: HardenedTaskDefinition,
        load_balancer: SecureNetworkLoadBalancer,
        listener: NlbListener,
        health_check: NlbHealthCheck | None = None,
        deregistration_delay: cdk.Duration = defaults.DEREGISTRATION_DELAY,
        preserve_client_ip: bool = False,
        desired_count: int = defaults.DESIRED_COUNT,
        service_name: str | None = None,
        health_check_grace_period: cdk.Duration | None = None,
        capacity_provider_strategy: Sequence[ecs.CapacityProviderStrategy] | None = None,
        placement_strategies: Sequence[ecs.PlacementStrategy] = (),
        placement_constraints: Sequence[ecs.PlacementConstraint] = (),
        deployment: DeploymentStrategy | None = None,
        rollback_alarms: bool = True,
        alarm_topic: sns.ITopic | None = None,
        alarm_thresholds: MonitoringThresholds | None = None,
        deployment_alarms: Sequence[cloudwatch.IAlarm] = (),
        enable_exec: bool = False,
        endpoints: VpcEndpoints | None = None,
        https_egress: Sequence[ec2.IPeer] | None = None,
        scaling: ScalingOptions | None = ScalingOptions(),  # noqa: B008 - frozen, immutable
        vpc_subnets: ec2.SubnetSelection | None = None,
        connects_to: Sequence[BackendService] = (),
    ) -> None:
        core = ServiceCore.of(locals())
        door = _NlbFrontDoor(
            load_balancer=load_balancer,
            listener=listener,
            health_check=health_check or NlbHealthCheck(),
            deregistration_delay=deregistration_delay,
            preserve_client_ip=preserve_client_ip or listener.carries_udp,
        )
        problems = Problems(scope, construct_id)
        core.check(problems, door=door)
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        core.build(self, door)
        assert door.target_group is not None and door.network_listener is not None
        self._adopt(core)
        self.load_balancer = load_balancer
        self.target_group = door.target_group
        self.listener = door.network_listener
        self.alternate_target_group = door.alternate_target_group
        self.test_listener = door.test_listener
        self.traffic_shift_role = door.traffic_shift_role
        self.golden_signal_alarms: list[cloudwatch.IAlarm] = door.golden_signal_alarms
