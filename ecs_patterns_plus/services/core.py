"""The service core: what every kind of service has, whatever its front door.

Task definition and launch checks (Fargate, Fargate Spot or EC2 capacity, placement), the
service's security group and HTTPS egress, VPC endpoints, ECS Exec, the deployment strategy
and its rollback alarms, autoscaling, AZ rebalancing and tags. A front door (an ALB route, and
later an NLB listener, Service Connect or a queue) adds how traffic reaches the tasks; the
core builds everything else in the front door's construct, so its construct ids are the front
door's own.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Protocol

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from constructs import Construct

from .. import defaults
from ..autoscaling import ScalingOptions, apply_scaling, check_scaling
from ..deployment.binding import AlbTraffic, DeploymentResources
from ..deployment.strategy import DeploymentStrategy
from ..errors import Problems, duration_seconds, is_token
from ..launch import (
    Launch,
    check_daemon_launch,
    check_launch,
    has_private_subnets,
    private_subnets,
)
from ..load_balancer import is_anywhere
from ..monitoring.notifications import stack_alarm_topic
from ..monitoring.thresholds import MonitoringThresholds, check_thresholds
from ..network import VpcEndpoints, check_endpoints
from ..storage import admit_to_file_systems, check_same_vpc
from ..task_definition.ebs import attach_ebs_volumes, check_ebs_service
from .service_connect import (
    Published,
    Server,
    ServiceConnectOptions,
    check_joins,
    check_published,
    published,
    service_connect_props,
    write_tokens,
)

if TYPE_CHECKING:
    from ..task_definition import HardenedTaskDefinition


class FrontDoor(Protocol):
    """How traffic reaches a service's tasks: what a kind of service adds to the core."""

    @property
    def traffic(self) -> str | None:
        """What carries the requests, for the deployment strategy (``LOAD_BALANCER``, ...);
        None when nothing does (a worker pulls its work): rolling deployments only."""

    admits: str
    """Who the service's security group admits, in its description."""

    def check(self, problems: Problems, core: ServiceCore) -> None:
        """Record problems with the front door's arguments (before anything is built)."""

    def grace_period(self, core: ServiceCore) -> cdk.Duration | None:
        """How long ECS ignores the front door's health checks after a task starts."""

    def prepare(self, scope: Construct, core: ServiceCore) -> list[cloudwatch.IAlarm]:
        """Build what must exist before the service (target groups, a green one when the
        deployment shifts traffic); return their rollback alarms."""

    def attach(self, scope: Construct, core: ServiceCore) -> AlbTraffic | None:
        """Admit the front door to the tasks; return the traffic a deployment binds to."""

    @property
    def requests_per_target(self) -> elbv2.ApplicationTargetGroup | cloudwatch.IMetric | None:
        """What autoscaling on requests per target tracks: the target group, or a metric of
        the requests each task receives; None when nothing counts the requests."""

    # A front door that drains a queue (a worker's) also has ``queue``: the queue whose
    # backlog ``scaling.backlog`` tracks. The others have none.


@dataclass(kw_only=True)
class ServiceCore:
    """The settings and resources every kind of service shares (see the module docstring).

    Front doors take these arguments in their own constructors (with the defaults below),
    call ``check`` while checking their arguments and ``build`` once their construct exists.
    """

    cluster: ecs.ICluster
    task_definition: HardenedTaskDefinition
    desired_count: int = defaults.DESIRED_COUNT
    service_name: str | None = None
    health_check_grace_period: cdk.Duration | None = None
    capacity_provider_strategy: Sequence[ecs.CapacityProviderStrategy] | None = None
    placement_strategies: Sequence[ecs.PlacementStrategy] = ()
    placement_constraints: Sequence[ecs.PlacementConstraint] = ()
    deployment: DeploymentStrategy = field(default_factory=DeploymentStrategy.rolling)
    rollback_alarms: bool = True
    alarm_topic: sns.ITopic | None = None
    alarm_thresholds: MonitoringThresholds = field(default_factory=MonitoringThresholds)
    deployment_alarms: Sequence[cloudwatch.IAlarm] = ()
    enable_exec: bool = False
    endpoints: VpcEndpoints | None = None
    https_egress: Sequence[ec2.IPeer] | None = None
    scaling: ScalingOptions | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    service_connect: ServiceConnectOptions | None = None
    """What the service publishes with Service Connect; None publishes nothing."""
    connects_to: Sequence[Server] = ()
    """The Service Connect servers the service calls (it joins their namespace as a client)."""
    daemon: bool = False
    """The DAEMON scheduling strategy: one task on every EC2 container instance that meets the
    placement constraints, launch type EC2; ``desired_count`` is then unused (ECS counts the
    instances) and scaling, capacity provider strategies and placement strategies are refused."""

    # Built by ``build``:
    security_group: ec2.SecurityGroup = field(init=False)
    service: ecs.BaseService = field(init=False)
    topic: sns.ITopic | None = field(init=False, default=None)
    rollback: list[cloudwatch.IAlarm] = field(init=False, default_factory=list)
    resources: DeploymentResources = field(init=False, default_factory=DeploymentResources)
    scalable: ecs.ScalableTaskCount | None = field(init=False, default=None)
    published: Published | None = field(init=False, default=None)
    _launch: Launch | None = field(init=False, default=None)

    @classmethod
    def of(cls, arguments: dict[str, Any]) -> ServiceCore:
        """The core of a front door's constructor ``arguments`` (its ``locals()``): each core
        field it takes, the library's defaults where it passed None."""
        values = {f.name: arguments[f.name] for f in fields(cls) if f.init and f.name in arguments}
        values["deployment"] = values.get("deployment") or DeploymentStrategy.rolling()
        values["alarm_thresholds"] = values.get("alarm_thresholds") or MonitoringThresholds()
        return cls(**values)

    def check(
        self, problems: Problems, *, door: FrontDoor | None, shares_listener: bool = False
    ) -> None:
        """Record every problem with the core's arguments and ``door``'s."""
        definition = self.task_definition
        if self.enable_exec:
            problems.require(
                definition.exec_enabled,
                "enable_exec",
                "needs a task definition prepared for ECS Exec (writable SSM agent paths, "
                "exec permissions)",
                self.enable_exec,
                "build it with HardenedTaskDefinition(..., enable_exec=True)",
            )
        problems.in_range("desired_count", self.desired_count, 0, defaults.SCALING_CAPACITY_LIMIT)
        problems.seconds_in_range(
            "health_check_grace_period", self.health_check_grace_period, 0, 7200
        )
        self.deployment.check(
            problems, shares_listener=shares_listener, traffic=door.traffic if door else None
        )
        if self.daemon:
            self._launch = check_daemon_launch(
                problems, definition, self.capacity_provider_strategy, self.placement_strategies
            )
            self._check_daemon(problems)
        else:
            self._launch = check_launch(
                problems,
                definition,
                self.capacity_provider_strategy,
                default_strategy=(),
                placement=bool(self.placement_strategies or self.placement_constraints),
            )
        if self.scaling is not None and not self.daemon:
            check_scaling(problems, self.scaling, self.desired_count)
        problems.require(
            self.vpc_subnets is not None or has_private_subnets(self.vpc),
            "cluster",
            "its VPC has no private subnets, and the tasks never get public IP addresses",
            self.cluster.node.path,
            "use a VPC with private subnets (SecureVpc), or pass vpc_subnets",
        )
        check_endpoints(problems, self.endpoints, self.vpc)
        check_same_vpc(problems, self.task_definition.efs_volumes, self.vpc)
        check_ebs_service(problems, self.task_definition, daemon=self.daemon)
        self._check_egress(problems)
        if self.rollback_alarms:
            check_thresholds(problems, "alarm_thresholds", self.alarm_thresholds)
        if self.service_connect is not None:
            check_published(problems, self.service_connect, definition)
        check_joins(
            problems,
            cluster=self.cluster,
            task_definition=definition,
            connects_to=self.connects_to,
            publishes=self.service_connect is not None,
        )
        if self.scaling is not None and self.scaling.backlog is not None:
            problems.require(
                hasattr(door, "queue"),
                "scaling.backlog",
                "tracks the backlog of a queue, and only a WorkerService drains one",
                self.scaling.backlog,
                "scale on CPU, memory, requests or step_scaling instead",
            )
        if door is not None:
            door.check(problems, self)
        elif self.scaling is not None:
            problems.require(
                not self.scaling.requests_per_target,
                "scaling.requests_per_target",
                "needs something that counts the service's requests, and it has no load "
                "balancer or published HTTP port",
                self.scaling.requests_per_target,
                "scale on CPU, memory or a step_scaling metric instead",
            )

    def derived_grace_period(self, interval: cdk.Duration, healthy_threshold: int) -> cdk.Duration:
        """The container's start period plus ``healthy_threshold + 1`` health-check intervals
        of the load balancer (checked by ``check_derived_grace_period``)."""
        start = duration_seconds(self.task_definition.health_check_start_period)
        every = duration_seconds(interval)
        assert start is not None and every is not None  # checked: no token here
        return cdk.Duration.seconds(int(start + (healthy_threshold + 1) * every))

    def check_derived_grace_period(
        self, problems: Problems, interval: cdk.Duration, healthy_threshold: int
    ) -> None:
        """The derived grace period is arithmetic: it needs literal durations and threshold."""
        if self.health_check_grace_period is not None:
            return
        parts = (
            duration_seconds(self.task_definition.health_check_start_period),
            duration_seconds(interval),
            healthy_threshold,
        )
        problems.require(
            not any(part is None or is_token(part) for part in parts),
            "health_check_grace_period",
            "is derived from the health checks' start period, interval and healthy threshold, "
            "and one of them is a token",
            None,
            "pass health_check_grace_period=cdk.Duration.seconds(...) (a token works there)",
        )

    def _check_daemon(self, problems: Problems) -> None:
        """ECS counts a daemon's tasks (one per matching instance): nothing scales them; a
        deployment stops an instance's task before it starts the new one, so the maximum is
        100 % ("If a deployment configuration is specified, the maximum percent parameter
        must be 100", Amazon ECS Developer Guide, daemon scheduling strategy)."""
        problems.require(
            self.scaling is None,
            "scaling",
            "does not apply to a daemon: ECS runs one task on every instance its placement "
            "constraints admit, and the EC2 capacity's managed scaling adds the instances",
            self.scaling,
            "leave scaling out; scale the EC2 capacity (min_capacity / max_capacity) instead",
        )
        most = self.deployment.max_healthy_percent
        problems.require(
            self.deployment.shifts_traffic
            or is_token(most)
            or most == defaults.DAEMON_MAX_HEALTHY_PERCENT,
            "deployment.max_healthy_percent",
            "must be 100 for a daemon: ECS runs at most one of its tasks on an instance, so a "
            "deployment stops the old task before it starts the new one",
            most,
            "use DeploymentStrategy.rolling(min_healthy_percent=50, max_healthy_percent=100)",
        )

    @functools.cached_property
    def vpc(self) -> ec2.IVpc:
        return self.cluster.vpc

    def _check_egress(self, problems: Problems) -> None:
        """Tasks must reach ECR and S3 (image layers), through a NAT gateway or endpoints."""
        if self.https_egress is None:
            return  # HTTPS anywhere: NAT, or the interface and S3 gateway endpoints
        peers = list(self.https_egress)
        reaches_s3 = any(
            is_anywhere(peer) or is_token(peer.unique_id) or peer.unique_id.startswith("pl-")
            for peer in peers
        )
        problems.require(
            reaches_s3,
            "https_egress",
            "leaves the tasks no way to S3, where ECR keeps image layers: the tasks could not "
            "start",
            [peer.unique_id for peer in peers],
            "keep the default (in a VPC without NAT the only routes out are its endpoints and "
            "the S3 gateway), or add ec2.Peer.prefix_list('<the S3 prefix list of the region>')",
        )
        problems.require(
            self.endpoints is not None,
            "endpoints",
            "are needed with a restricted https_egress: the tasks reach ECR, CloudWatch Logs "
            "and Secrets Manager only through the interface endpoints then",
            None,
            "pass endpoints=network.endpoints (SecureVpc), or keep the default https_egress",
        )

    def build(self, scope: Construct, door: FrontDoor | None) -> None:
        """Build the service and everything around it in ``scope`` (the front door's construct)."""
        self.security_group = ec2.SecurityGroup(
            scope,
            "SecurityGroup",
            vpc=self.vpc,
            description=f"Service tasks: {door.admits if door else 'nobody'}; HTTPS out",
            allow_all_outbound=False,
        )
        for peer in (ec2.Peer.any_ipv4(),) if self.https_egress is None else self.https_egress:
            self.security_group.add_egress_rule(
                peer, ec2.Port.tcp(defaults.HTTPS_PORT), "HTTPS to AWS APIs and image layers"
            )
        if self.rollback_alarms:
            self.topic = self.alarm_topic or stack_alarm_topic(scope)
        if self.service_connect is not None:
            self.published = published(self.service_connect, self.task_definition, self.cluster)
        self.rollback = door.prepare(scope, self) if door is not None else []
        self.service = self._service(scope, door)
        attach_ebs_volumes(self.service, self.task_definition.ebs_volumes)
        if self.service_connect is not None and self.published is not None:
            write_tokens(self.service, self.service_connect, self.published)
        for server in self.connects_to:
            server.allow_from(self.service)
        admit_to_file_systems(self.task_definition.file_systems, self.service)
        traffic = door.attach(scope, self) if door is not None else None
        if self.endpoints is not None:
            # With HTTPS to anywhere the tasks reach the endpoints already: admit them only.
            self.endpoints.allow_from(self.service, egress=self.https_egress is not None)
        self.resources = self.deployment.bind(
            scope,
            self.service,
            traffic,
            rollback_alarms=self.rollback,
            deployment_alarms=self.deployment_alarms,
        )
        if self.scaling is not None:
            self.scalable = apply_scaling(
                self.service,
                self.scaling,
                desired_count=self.desired_count,
                requests=door.requests_per_target if door is not None else None,
                queue=getattr(door, "queue", None),
            )

    @property
    def _rebalances_zones(self) -> bool:
        # ECS rebalances AZs by starting a task before stopping one: it needs headroom above
        # 100 % and the ECS deployment controller.
        deployment = self.deployment
        return not deployment.uses_code_deploy and deployment.max_healthy_percent > 100

    def _placement_strategies(self) -> list[ecs.PlacementStrategy]:
        """The strategies on EC2 capacity; with AZ rebalancing, spread over AZs comes first.

        ECS AZ rebalancing requires the first placement strategy, if any, to spread tasks
        across ``attribute:ecs.availability-zone``; the given strategies follow it.
        """
        strategies = list(self.placement_strategies)
        if not strategies or not self._rebalances_zones:
            return strategies
        spread = ecs.PlacementStrategy.spread_across(ecs.BuiltInAttributes.AVAILABILITY_ZONE)
        first = cdk.Stack.of(self.cluster).resolve(strategies[0].to_json())
        if first == cdk.Stack.of(self.cluster).resolve(spread.to_json()):
            return strategies
        return [spread, *strategies]

    def _service(self, scope: Construct, door: FrontDoor | None) -> ecs.BaseService:
        launch, deployment = self._launch, self.deployment
        alarms = [*self.rollback, *self.deployment_alarms]
        on_ec2 = launch is not None and not launch.fargate
        placement: dict[str, Any] = (
            {
                "placement_strategies": self._placement_strategies() or None,
                "placement_constraints": list(self.placement_constraints) or None,
                "daemon": self.daemon,
            }
            if on_ec2
            else {"platform_version": ecs.FargatePlatformVersion.LATEST}
        )
        service_class = ecs.Ec2Service if on_ec2 else ecs.FargateService
        return service_class(
            scope,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition.task_definition,
            service_name=self.service_name,
            # Autoscaling owns the count: leaving DesiredCount out of the template keeps a
            # deploy from resetting it.
            desired_count=None if self.scaling is not None or self.daemon else self.desired_count,
            security_groups=[self.security_group],
            vpc_subnets=self.vpc_subnets or private_subnets(self.vpc),
            assign_public_ip=False,
            capacity_provider_strategies=(launch.strategy or None) if launch else None,
            health_check_grace_period=self.health_check_grace_period
            or (door.grace_period(self) if door is not None else None),
            deployment_alarms=ecs.DeploymentAlarmConfig(
                alarm_names=[alarm.alarm_name for alarm in alarms],
                behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
            )
            if alarms and not deployment.uses_code_deploy
            else None,
            enable_execute_command=self.enable_exec,
            availability_zone_rebalancing=ecs.AvailabilityZoneRebalancing.ENABLED
            if self._rebalances_zones
            else None,
            service_connect_configuration=service_connect_props(
                scope, self.task_definition, self.service_connect, self.published
            )
            if self.published is not None or self.connects_to
            else None,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
            **deployment.service_properties(),
            **placement,
        )


class CoreService(Construct):
    """A service construct built on a ``ServiceCore``: the attributes every kind shares.

    Attributes:
        service, security_group, task_definition, scaling, rollback_alarms, alarm_topic
        (None without rollback alarms), alarm_thresholds, deployment, deployment_resources.
    """

    def _adopt(self, core: ServiceCore) -> None:
        """Expose what ``core`` built (after ``core.build(self, door)``)."""
        self.task_definition = core.task_definition
        self.security_group = core.security_group
        self.service = core.service
        self.deployment = core.deployment
        self.deployment_resources = core.resources
        self.alarm_topic = core.topic
        self.alarm_thresholds = core.alarm_thresholds
        self.rollback_alarms: list[cloudwatch.IAlarm] = list(core.rollback)
        self.scaling = core.scalable
        self.core = core  # what preflight reads: counts, subnets, grace period, endpoints

    @property
    def connections(self) -> ec2.Connections:
        """The tasks' connections: ``service.connections.allow_to(database, ec2.Port.tcp(5432))``."""
        return self.service.connections
