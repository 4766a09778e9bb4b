"""AlbFargateService: the service core behind a route of a SecureLoadBalancer.

Fargate by default; on the EC2 capacity of a ``HardenedCluster`` when its strategy says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from constructs import Construct

from .. import defaults
from ..autoscaling import ScalingOptions
from ..deployment.binding import AlbTraffic
from ..deployment.strategy import LOAD_BALANCER, DeploymentStrategy
from ..errors import Problems, checked, is_token
from ..load_balancer import ListenerRouting, SecureLoadBalancer
from ..monitoring.alarms import golden_signal_alarm
from ..monitoring.metrics import LoadBalancerMetrics
from ..monitoring.thresholds import MonitoringThresholds
from ..network import VpcEndpoints, same_vpc
from ..task_definition import HardenedTaskDefinition
from .backend import BackendService
from .core import CoreService, ServiceCore

_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_SUCCESS_CODES = re.compile(r"^[2-4]\d\d(-[2-4]\d\d)?(,[2-4]\d\d(-[2-4]\d\d)?)*$")
"""HTTP codes or ranges an Application Load Balancer's health check takes: 200 to 499."""
_GRPC_CODES = re.compile(r"^\d\d?(-\d\d?)?(,\d\d?(-\d\d?)?)*$")
"""gRPC status codes 0-99, e.g. ``0`` or ``0-2,5`` (``Matcher.GrpcCode``)."""
_GRPC_METHOD = re.compile(r"^/[A-Za-z_][\w.]*/[A-Za-z_]\w*$")
"""A gRPC method path, ``/package.Service/Method``."""
_TARGET_PROTOCOLS = {
    "HTTP": elbv2.ApplicationProtocol.HTTP,
    "HTTPS": elbv2.ApplicationProtocol.HTTPS,
}
_PROTOCOL_VERSIONS = {
    "HTTP1": elbv2.ApplicationProtocolVersion.HTTP1,
    "HTTP2": elbv2.ApplicationProtocolVersion.HTTP2,
    "GRPC": elbv2.ApplicationProtocolVersion.GRPC,
}


@dataclass(frozen=True, kw_only=True)
class TargetHealthCheck:
    """The load balancer's health check of each task, tuned for fast, safe rollouts.

    A new task turns healthy after ``healthy_threshold x interval`` (20 s by default);
    a failing one is taken out after ``unhealthy_threshold x interval`` (30 s). It speaks the
    service's ``target_protocol`` (HTTPS probes for HTTPS targets) and ``protocol_version``.

    Args:
        path: the HTTP path to probe, e.g. ``/actuator/health``; for a GRPC target group the
            gRPC method to call, ``/package.Service/Method``. Default: ``/``; with GRPC,
            ``/AWS.ALB/healthcheck``, which any live gRPC server answers UNIMPLEMENTED (12).
        interval: time between probes, 5-300 s. Default: 10 seconds.
        timeout: probe timeout, 2-120 s and below ``interval``. Default: 5 seconds.
        healthy_threshold: successes to turn healthy, 2-10. Default: 2.
        unhealthy_threshold: failures to turn unhealthy, 2-10. Default: 3.
        success_codes: HTTP codes that count as healthy, e.g. ``200`` or ``200-299``; for a
            GRPC target group gRPC status codes 0-99, e.g. ``0`` (OK). Default: ``200-299``;
            with GRPC, ``12`` for the default method and ``0`` for a method you name.
    """

    path: str | None = None
    interval: cdk.Duration = defaults.TARGET_HEALTH_INTERVAL
    timeout: cdk.Duration = defaults.TARGET_HEALTH_TIMEOUT
    healthy_threshold: int = defaults.TARGET_HEALTHY_THRESHOLD
    unhealthy_threshold: int = defaults.TARGET_UNHEALTHY_THRESHOLD
    success_codes: str | None = None

    def validate(
        self,
        problems: Problems,
        argument: str,
        protocol_version: str = defaults.TARGET_PROTOCOL_VERSION,
    ) -> None:
        """Record problems with this health check of a ``protocol_version`` target group
        under ``argument`` (e.g. ``health_check``)."""
        grpc = protocol_version == "GRPC"
        if self.path is not None and not is_token(self.path):
            if grpc:
                problems.require(
                    bool(_GRPC_METHOD.match(self.path)) and len(self.path) <= 1024,
                    f"{argument}.path",
                    "must be a gRPC method, /package.Service/Method, for a GRPC target group",
                    self.path,
                    "e.g. '/grpc.health.v1.Health/Check', or leave it out for the AWS default "
                    f"{defaults.TARGET_GRPC_HEALTH_PATH!r}",
                )
            else:
                problems.require(
                    self.path.startswith("/") and len(self.path) <= 1024,
                    f"{argument}.path",
                    "must be an absolute HTTP path",
                    self.path,
                    "e.g. '/actuator/health'",
                )
        problems.probe_timing(argument, self.interval, self.timeout)
        problems.in_range(f"{argument}.healthy_threshold", self.healthy_threshold, 2, 10)
        problems.in_range(f"{argument}.unhealthy_threshold", self.unhealthy_threshold, 2, 10)
        codes = self.success_codes
        if codes is not None and not is_token(codes):
            grpc_codes, http_codes = _GRPC_CODES.match(codes), _SUCCESS_CODES.match(codes)
            if grpc:
                problems.require(
                    bool(grpc_codes),
                    f"{argument}.success_codes",
                    "are HTTP codes, but a GRPC target group's health check counts gRPC status "
                    "codes"
                    if http_codes
                    else "must be gRPC status codes or ranges, 0 to 99",
                    codes,
                    "e.g. '0' (OK) or '0,5'",
                )
            else:
                problems.require(
                    bool(http_codes),
                    f"{argument}.success_codes",
                    f"are gRPC status codes, but an {protocol_version} target group's health "
                    "check counts HTTP codes"
                    if grpc_codes
                    else "must be HTTP codes or ranges from 200 to 499 (an Application Load "
                    "Balancer's range)",
                    codes,
                    "e.g. '200' or '200-299' or '200,302'"
                    + (", or protocol_version='GRPC' for a gRPC service" if grpc_codes else ""),
                )

    def to_health_check(self, target_protocol: str, protocol_version: str) -> elbv2.HealthCheck:
        """The target group's health check, with the protocol's defaults filled in."""
        grpc = protocol_version == "GRPC"
        path = self.path
        if path is None:
            path = defaults.TARGET_GRPC_HEALTH_PATH if grpc else defaults.TARGET_HEALTH_PATH
        codes = self.success_codes
        if codes is None and grpc:
            codes = (
                defaults.TARGET_GRPC_DEFAULT_METHOD_CODES
                if path == defaults.TARGET_GRPC_HEALTH_PATH
                else defaults.TARGET_GRPC_SUCCESS_CODES
            )
        return elbv2.HealthCheck(
            protocol=elbv2.Protocol.HTTPS if target_protocol == "HTTPS" else None,
            path=path,
            interval=self.interval,
            timeout=self.timeout,
            healthy_threshold_count=self.healthy_threshold,
            unhealthy_threshold_count=self.unhealthy_threshold,
            healthy_grpc_codes=codes if grpc else None,
            healthy_http_codes=None if grpc else codes or defaults.TARGET_SUCCESS_CODES,
        )


@dataclass(frozen=True, kw_only=True)
class PortRoute:
    """Another port of the service's tasks, behind its own target group and route on the same
    listener, e.g. an admin API or a sidecar's port.

    Args:
        name: PascalCase id, part of the construct ids (``<name>TargetGroup``,
            ``<name>Route``, ``<name>RollbackAlarm``).
        port: the container port, one of the container's (``container_port``,
            ``additional_ports`` or a sidecar's ``port``).
        routing: which requests reach it: paths or hosts, a priority of its own.
        container_name: the container that listens. Default: the application container.
        health_check: its target group's health check. Default: ``TargetHealthCheck()``.
    """

    name: str
    port: int
    routing: ListenerRouting
    container_name: str | None = None
    health_check: TargetHealthCheck | None = None


class _AlbFrontDoor:
    """A route of a ``SecureLoadBalancer`` to the service's target group (the core's front door)."""

    traffic = LOAD_BALANCER
    admits = "the load balancer on the container port"

    def __init__(
        self,
        *,
        construct_id: str,
        load_balancer: SecureLoadBalancer,
        routing: ListenerRouting | None,
        health_check: TargetHealthCheck,
        deregistration_delay: cdk.Duration,
        slow_start: cdk.Duration | None,
        target_protocol: str,
        protocol_version: str,
        target_container: str | None,
        additional_routes: Sequence[PortRoute] = (),
    ) -> None:
        self.construct_id = construct_id
        self.target_container = target_container
        self.additional_routes = tuple(additional_routes)
        self.additional_target_groups: dict[str, elbv2.ApplicationTargetGroup] = {}
        self.load_balancer = load_balancer
        self.shares_listener = routing is not None
        self.routing = routing or ListenerRouting(priority=defaults.CATCH_ALL_PRIORITY)
        self.health_check = health_check
        self.deregistration_delay = deregistration_delay
        self.slow_start = slow_start
        self.target_protocol = target_protocol
        self.protocol_version = protocol_version
        self.target_group: elbv2.ApplicationTargetGroup | None = None
        self.alternate_target_group: elbv2.ApplicationTargetGroup | None = None
        self.golden_signal_alarms: list[cloudwatch.IAlarm] = []
        self.alternate_rollback_alarms: list[cloudwatch.IAlarm] = []

    def check(self, problems: Problems, core: ServiceCore) -> None:
        ports = core.task_definition.container_ports
        if self.target_container is None:
            problems.require(
                core.task_definition.container_port is not None,
                "task_definition",
                "has no container port for the load balancer to send traffic to",
                None,
                "build it with HardenedTaskDefinition(..., container_port=8080)",
            )
        else:
            problems.require(
                self.target_container in ports,
                "target_container",
                "names no container of the task definition with a port"
                + (f" (with ports: {', '.join(sorted(ports))})" if ports else ""),
                self.target_container,
                "name a container that listens, e.g. a TLS or Envoy sidecar built with "
                "SidecarOptions(port=...)",
            )
        self._check_protocol(problems)
        self._check_additional_routes(problems, core)
        self.health_check.validate(problems, "health_check", self.protocol_version)
        core.check_derived_grace_period(
            problems, self.health_check.interval, self.health_check.healthy_threshold
        )
        problems.seconds_in_range("deregistration_delay", self.deregistration_delay, 0, 3600)
        problems.seconds_in_range("slow_start", self.slow_start, 30, 900)
        if core.deployment.uses_code_deploy:
            self.load_balancer.check_default_action(problems, self.construct_id)
        else:
            self.load_balancer.check_route(problems, self.routing)
        self.load_balancer.check_deployment(problems, core.deployment)
        problems.require(
            self.routing.authentication is None or not core.deployment.shifts_traffic,
            "routing.authentication",
            "cannot be combined with a traffic-shifting deployment: ECS shifts weights in the "
            "production rule's forward action, and its guide warns that blue/green deployments "
            "fail on rules that also authenticate",
            core.deployment.kind,
            "use DeploymentStrategy.rolling() for an authenticated route",
        )
        problems.require(
            same_vpc(core.vpc, self.load_balancer.vpc),
            "load_balancer",
            "is in another VPC than the cluster: its targets (the tasks' IP addresses) must be "
            "in the load balancer's VPC",
            self.load_balancer.node.path,
            "put the load balancer in the cluster's VPC",
        )

    def _check_protocol(self, problems: Problems) -> None:
        """The target protocol and version AWS takes (HTTP/2 and gRPC need an HTTPS listener,
        which every SecureLoadBalancer listener, test listeners included, is)."""
        for argument, value, allowed in (
            ("target_protocol", self.target_protocol, _TARGET_PROTOCOLS),
            ("protocol_version", self.protocol_version, _PROTOCOL_VERSIONS),
        ):
            problems.require(
                value in allowed,
                argument,
                f"must be one of {', '.join(allowed)}",
                value,
                f"pass {' or '.join(repr(name) for name in allowed)}",
            )
        problems.require(
            self.routing.authentication is None or self.protocol_version not in ("HTTP2", "GRPC"),
            "routing.authentication",
            f"cannot be combined with protocol_version={self.protocol_version!r}: rules that "
            "forward to HTTP/2 and gRPC target groups take only the forward action",
            self.protocol_version,
            "authenticate in the application, or use protocol_version='HTTP1'",
        )

    def _check_additional_routes(self, problems: Problems, core: ServiceCore) -> None:
        definition = core.task_definition
        names = [route.name for route in self.additional_routes]
        priorities = [self.routing.priority, *(r.routing.priority for r in self.additional_routes)]
        literal = [p for p in priorities if not is_token(p)]
        problems.require(
            len(set(names)) == len(names) and len(set(literal)) == len(literal),
            "additional_routes",
            "repeat a name or a priority (of routing or of each other)",
            [(name, priority) for name, priority in zip(names, priorities[1:], strict=True)],
            "give each route its own name and priority",
        )
        problems.require(
            not self.additional_routes or not core.deployment.shifts_traffic,
            "additional_routes",
            "need a rolling deployment: ECS shifts traffic between two target groups of one port",
            core.deployment.kind,
            "use DeploymentStrategy.rolling(), or give the other port a service of its own",
        )
        for index, route in enumerate(self.additional_routes):
            argument = f"additional_routes[{index}]"
            problems.require(
                bool(_PASCAL.match(route.name)),
                f"{argument}.name",
                "must be PascalCase letters and digits (it is part of construct ids)",
                route.name,
                "e.g. 'Admin'",
            )
            container = route.container_name or definition.container_name
            ports = (
                {definition.container_ports.get(container), *definition.additional_ports}
                if container == definition.container_name
                else {definition.container_ports.get(container)}
            )
            problems.require(
                is_token(route.port) or route.port in ports,
                f"{argument}.port",
                f"is not a port of container {container!r} (its ports: "
                f"{sorted(p for p in ports if p is not None)})",
                route.port,
                "add it to the task definition's additional_ports, or name the container",
            )
            problems.require(
                bool(route.routing.path_patterns or route.routing.host_headers),
                f"{argument}.routing",
                "routes every request, which the service's own port takes",
                route.routing.priority,
                "give it path_patterns or host_headers",
            )
            self.load_balancer.check_route(problems, route.routing, argument=f"{argument}.routing")
            (route.health_check or TargetHealthCheck()).validate(
                problems, f"{argument}.health_check", self.protocol_version
            )

    def grace_period(self, core: ServiceCore) -> cdk.Duration:
        return core.derived_grace_period(
            self.health_check.interval, self.health_check.healthy_threshold
        )

    def prepare(self, scope: Construct, core: ServiceCore) -> list[cloudwatch.IAlarm]:
        self.target_group = self._target_group(scope, "TargetGroup", core)
        self.golden_signal_alarms = self._watch(scope, core, "RollbackAlarm", self.target_group)
        if core.deployment.shifts_traffic:
            green = self.alternate_target_group = self._target_group(
                scope, "AlternateTargetGroup", core
            )
            self.alternate_rollback_alarms = self._watch(
                scope, core, "AlternateRollbackAlarm", green
            )
        extra = []
        for route in self.additional_routes:
            group = self._target_group(
                scope,
                f"{route.name}TargetGroup",
                core,
                port=route.port,
                health_check=route.health_check or TargetHealthCheck(),
            )
            self.additional_target_groups[route.name] = group
            extra += self._watch(scope, core, f"{route.name}RollbackAlarm", group)
        return [*self.golden_signal_alarms, *self.alternate_rollback_alarms, *extra]

    def attach(self, scope: Construct, core: ServiceCore) -> AlbTraffic:
        assert self.target_group is not None
        port = self._port(core)
        core.service.connections.allow_from(
            self.load_balancer.load_balancer,
            ec2.Port.tcp(port),
            "Load balancer to the container port",
        )
        in_own_stack = cdk.Stack.of(scope) is not cdk.Stack.of(self.load_balancer)
        for route in self.additional_routes:
            container = route.container_name or core.task_definition.container_name
            core.service.connections.allow_from(
                self.load_balancer.load_balancer,
                ec2.Port.tcp(route.port),
                f"Load balancer to {container} on {route.port}",
            )
            group = self.additional_target_groups[route.name]
            group.add_target(
                core.service.load_balancer_target(
                    container_name=container, container_port=route.port
                )
            )
            rule = self.load_balancer.add_route(
                f"{self.construct_id}{route.name}Route",
                target_group=group,
                routing=route.routing,
                scope=scope if in_own_stack else None,
            )
            core.service.node.add_dependency(rule)
        return AlbTraffic(
            load_balancer=self.load_balancer,
            target_group=self.target_group,
            routing=self.routing,
            route_id=self.construct_id,
            route_scope=scope if in_own_stack else None,
            container_name=self.target_container or core.task_definition.container_name,
            container_port=port,
            alternate_target_group=self.alternate_target_group,
            alternate_rollback_alarms=self.alternate_rollback_alarms,
        )

    @property
    def requests_per_target(self) -> elbv2.ApplicationTargetGroup | None:
        return self.target_group

    def _port(self, core: ServiceCore) -> int:
        """The port of the target container (the application's unless told otherwise)."""
        definition = core.task_definition
        port = definition.container_ports.get(self.target_container or definition.container_name)
        assert port is not None  # checked
        return port

    def _target_group(
        self,
        scope: Construct,
        construct_id: str,
        core: ServiceCore,
        *,
        port: int | None = None,
        health_check: TargetHealthCheck | None = None,
    ) -> elbv2.ApplicationTargetGroup:
        version = self.protocol_version
        check = health_check or self.health_check
        return elbv2.ApplicationTargetGroup(
            scope,
            construct_id,
            vpc=core.vpc,
            port=port or self._port(core),
            protocol=_TARGET_PROTOCOLS[self.target_protocol],
            protocol_version=None
            if version == defaults.TARGET_PROTOCOL_VERSION
            else _PROTOCOL_VERSIONS[version],
            target_type=elbv2.TargetType.IP,
            deregistration_delay=self.deregistration_delay,
            slow_start=self.slow_start,
            health_check=check.to_health_check(self.target_protocol, version),
        )

    def _watch(
        self,
        scope: Construct,
        core: ServiceCore,
        construct_id: str,
        group: elbv2.ApplicationTargetGroup,
    ) -> list[cloudwatch.IAlarm]:
        """The rollback alarm on ``group``'s golden signals (none when rollback alarms are off)."""
        if core.topic is None:
            return []
        metrics = LoadBalancerMetrics(self.load_balancer.load_balancer, group)
        alarm = golden_signal_alarm(
            scope,
            construct_id,
            metrics=metrics,
            topic=core.topic,
            thresholds=core.alarm_thresholds,
            name=core.service_name or metrics.target_dimensions["TargetGroup"],
        )
        return [alarm] if alarm is not None else []


class AlbFargateService(CoreService):
    """A Fargate (or EC2) service in private subnets, reachable only through a SecureLoadBalancer route.

    The service core (``services.core``) behind an ALB front door: a target group tuned for
    fast rollouts and a route on a shared listener.

    Args:
        cluster: the ECS cluster (e.g. ``HardenedCluster(...).cluster``).
        task_definition: a ``HardenedTaskDefinition`` with a ``container_port``.
        load_balancer: the ``SecureLoadBalancer`` to receive traffic from; several services
            may share one, each with its own ``routing``. A service in another stack than
            the load balancer keeps its routes in its own stack. An ``ImportedLoadBalancer``
            (another team's ALB and listener) takes a route with paths or hosts.
        routing: which requests reach this service. Default: every path, at the lowest
            priority (50000), so more specific routes of other services win.
        desired_count: tasks to run (the floor when autoscaling). Default: 2.
        service_name: Default: generated by CloudFormation.
        health_check: the target group's health check. Default: ``TargetHealthCheck()``.
        target_protocol: ``"HTTP"``, or ``"HTTPS"`` for end-to-end TLS: the container serves
            TLS on its port with any certificate (the ALB does not validate it; a self-signed
            one works) and the health check probes over HTTPS. Default: HTTP.
        protocol_version: how the ALB talks to the tasks: ``"HTTP1"``, ``"HTTP2"`` or
            ``"GRPC"`` (routes gRPC calls and health-checks a gRPC method with gRPC status
            codes, see ``TargetHealthCheck``); HTTP2 and GRPC routes take no
            ``routing.authentication``. Default: HTTP1.
        target_container: the container the load balancer sends requests to, on its port,
            e.g. a TLS or Envoy sidecar (``SidecarOptions(name="envoy", port=8443)``) in front
            of the application. Default: the application container.
        additional_routes: more ports of the tasks, each behind its own target group, route
            (paths or hosts) and rollback alarm (``PortRoute``); rolling deployments only.
            Default: none.
        deregistration_delay: how long a stopping task drains in-flight requests.
            Default: 30 seconds (the ELB default of 300 s slows every rollout).
        slow_start: ramp a new task's share of requests over this time, 30-900 s.
            Default: off.
        health_check_grace_period: how long ECS ignores load-balancer health after a task
            starts. Default: the container's health-check start period plus
            ``(healthy_threshold + 1) x interval`` (90 s for a 60 s start period).
        capacity_provider_strategy: e.g. FARGATE base 1 + FARGATE_SPOT weight 3, or the EC2
            capacity of a ``HardenedCluster`` (``[platform.ec2_capacity["web"].strategy()]``),
            which runs the service on EC2 instances (the task definition must be
            EC2-compatible). Default: Fargate.
        placement_strategies / placement_constraints: where tasks go on EC2 capacity, e.g.
            ``ecs.PlacementStrategy.spread_across_instances()``. Default: none.
        deployment: how new task definitions roll out: ``DeploymentStrategy.rolling()``,
            ``.blue_green()``, ``.canary()``, ``.linear()`` or ``.code_deploy_blue_green()``.
            Default: rolling, min healthy 100 % / max 200 %, circuit breaker with rollback.
        rollback_alarms: create one alarm on the golden signals (target 5xx rate, p99
            latency, unhealthy hosts) of each target group and roll deployments back on it.
            Default: True.
        alarm_topic: SNS topic the rollback alarms notify. Default: the stack's shared
            alarm topic.
        alarm_thresholds: thresholds of the rollback alarms. Default: ``MonitoringThresholds()``.
        deployment_alarms: more CloudWatch alarms that roll a deployment back. Default: none.
        enable_exec: allow ``aws ecs execute-command``; the task definition must be built
            with ``enable_exec=True``. Default: False.
        endpoints: VPC endpoints the tasks reach over HTTPS (admits the service's group).
            Default: none.
        https_egress: peers the tasks may reach on 443. Default: any IPv4 address, which in a
            VPC without NAT (``SecureVpc(nat_gateways=0)``) reaches only its interface
            endpoints and the S3 gateway, where ECR keeps image layers. A narrower list must
            still reach S3 (``ec2.Peer.prefix_list(<the region's S3 prefix list>)``) and needs
            ``endpoints``.
        scaling: autoscaling; ``None`` for a fixed task count. Default: ``ScalingOptions()``
            (CPU 50%, min = desired_count, max 10).
        vpc_subnets: where tasks run. Default: the VPC's private subnets.
        connects_to: the ``BackendService`` constructs it calls over Service Connect: it joins the
            cluster's namespace as a client (each calls ``endpoint``, e.g.
            ``http://orders:8080``) and each admits it to its port. Default: none.

    Attributes:
        service, target_group, additional_target_groups (by route name), security_group,
        listener_rule, load_balancer, scaling,
        task_definition, url, rollback_alarms (both target groups), golden_signal_alarms
        (the primary target group's, for ``ServiceMonitoring``), alarm_topic (None without
        rollback alarms), alarm_thresholds,
        deployment (the strategy), deployment_resources (green target group, test listener,
        traffic-shift role or CodeDeploy deployment group).
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        task_definition: HardenedTaskDefinition,
        load_balancer: SecureLoadBalancer,
        routing: ListenerRouting | None = None,
        desired_count: int = defaults.DESIRED_COUNT,
        service_name: str | None = None,
        health_check: TargetHealthCheck | None = None,
        target_protocol: str = defaults.TARGET_PROTOCOL,
        protocol_version: str = defaults.TARGET_PROTOCOL_VERSION,
        target_container: str | None = None,
        additional_routes: Sequence[PortRoute] = (),
        deregistration_delay: cdk.Duration = defaults.DEREGISTRATION_DELAY,
        slow_start: cdk.Duration | None = None,
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
        door = _AlbFrontDoor(
            construct_id=construct_id,
            load_balancer=load_balancer,
            routing=routing,
            health_check=health_check or TargetHealthCheck(),
            deregistration_delay=deregistration_delay,
            slow_start=slow_start,
            target_protocol=target_protocol,
            protocol_version=protocol_version,
            target_container=target_container,
            additional_routes=additional_routes,
        )
        problems = Problems(scope, construct_id)
        core.check(problems, door=door, shares_listener=door.shares_listener)
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        core.build(self, door)
        assert door.target_group is not None
        self._adopt(core)
        self.load_balancer = load_balancer
        self.target_group = door.target_group
        self.additional_target_groups = door.additional_target_groups
        self.listener_rule = core.resources.production_rule
        self.golden_signal_alarms: list[cloudwatch.IAlarm] = door.golden_signal_alarms
        patterns = door.routing.path_patterns
        self.url = load_balancer.url + (patterns[0].rstrip("*") if patterns else "/")
