"""Preflight: the troubleshooting guide's run-time failures, found at synth time.

``enable_preflight(app)`` checks every library service and job of the app when it is
synthesized, and reports each problem as a CDK warning (an error where the deployment is
certain to fail) with a stable id, ``ecs-patterns-plus:preflight-<check>``. The findings are
also written into each stack template's ``Metadata`` (``EcsPatternsPlus::Preflight``), where
the review report reads them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from constructs import Construct, IConstruct

from .errors import checked, duration_seconds, is_token

if TYPE_CHECKING:
    from .jobs.scheduled import ScheduledTask
    from .services.core import CoreService, ServiceCore

METADATA_KEY = "EcsPatternsPlus::Preflight"
"""Where a stack template holds its preflight findings."""
RESERVED_PER_SUBNET = 5
"""Addresses AWS reserves in every subnet (network, router, DNS, future, broadcast)."""
ALWAYS_NEEDED = ("ecr_api", "ecr_dkr", "s3", "logs")
"""Endpoints every task needs in a VPC without NAT: the image and the logs."""
_LOCAL_URL = re.compile(r"localhost(?::(\d+))?(/[^\s'\"|]*)")


@dataclass(frozen=True)
class Finding:
    """One preflight finding: its stable id, where, what, and whether the deploy must fail."""

    check: str
    path: str
    message: str
    error: bool = False

    @property
    def id(self) -> str:
        return f"ecs-patterns-plus:preflight-{self.check}"

    def as_metadata(self) -> dict[str, str | bool]:
        return {"id": self.id, "path": self.path, "message": self.message, "error": self.error}


@checked
def enable_preflight(scope: Construct, *, production: bool = False) -> None:
    """Check the services and jobs under ``scope`` (an app or a stack) when they synthesize.

    Args:
        scope: the app or stack to check.
        production: also warn about a service that keeps a single task or runs in a single
            Availability Zone (one task or one AZ is an outage waiting to happen).
            Default: False.
    """
    cdk.Aspects.of(scope).add(_Preflight(production))


@jsii.implements(cdk.IAspect)
class _Preflight:
    def __init__(self, production: bool) -> None:
        self.production = production

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, cdk.Stack):
            return
        findings = check_stack(node, production=self.production)
        if not findings:
            return
        checked = {construct.node.path: construct for construct in _checked_constructs(node)}
        for finding in findings:
            annotations = cdk.Annotations.of(checked.get(finding.path, node))
            if finding.error:
                annotations.add_error(f"{finding.message} [{finding.id}]")
            else:
                annotations.add_warning_v2(finding.id, finding.message)
        metadata = dict(node.template_options.metadata or {})
        metadata[METADATA_KEY] = [finding.as_metadata() for finding in findings]
        node.template_options.metadata = metadata


def check_stack(stack: cdk.Stack, *, production: bool = False) -> list[Finding]:
    """Every preflight finding of the library's services and jobs in ``stack``."""
    from .jobs.scheduled import ScheduledTask
    from .services.core import CoreService

    checked = _checked_constructs(stack)
    services = [c for c in checked if isinstance(c, CoreService)]
    jobs = [c for c in checked if isinstance(c, ScheduledTask)]
    findings: list[Finding] = []
    findings += _subnet_headroom(services)
    for service in services:
        findings += _endpoints(service)
        findings += _grace_period(service)
        findings += _health_check_target(service)
        if production:
            findings += _single_points(service)
    for job in jobs:
        findings += _spot_without_retries(job)
    return findings


def _checked_constructs(stack: cdk.Stack) -> list[CoreService | ScheduledTask]:
    """The library's services and scheduled jobs of ``stack`` (not of stacks nested in it)."""
    from .jobs.scheduled import ScheduledTask
    from .services.core import CoreService

    return [
        child
        for child in stack.node.find_all()
        if isinstance(child, (CoreService, ScheduledTask)) and cdk.Stack.of(child) is stack
    ]


# --- subnet IP headroom ------------------------------------------------------------------


def _subnet_headroom(services: list[CoreService]) -> list[Finding]:
    """Tasks a deployment can run at once (the most tasks times the maximum percent) against
    the free addresses of the subnets they share; awsvpc gives every task an address."""
    by_subnets: dict[tuple[str, ...], tuple[int, list[int], list[int], list[str]]] = {}
    for service in services:
        core = service.core
        subnets = _selected(core).subnets
        sizes = [_addresses(subnet) for subnet in subnets]
        if not sizes or None in sizes:
            continue  # imported subnets without a CIDR: nothing to count
        low, high = _task_counts(core)
        if low is None or high is None:
            continue
        key = tuple(sorted(subnet.subnet_id for subnet in subnets))
        free, lows, highs, paths = by_subnets.get(key, (sum(s for s in sizes if s), [], [], []))
        by_subnets[key] = (free, [*lows, low], [*highs, high], [*paths, service.node.path])
    findings = []
    for free, lows, highs, paths in by_subnets.values():
        where = ", ".join(paths)
        if sum(lows) > free:
            findings.append(
                Finding(
                    "subnet-headroom",
                    paths[0],
                    f"{where}: the subnets have {free} free addresses and the services need "
                    f"{sum(lows)} for their minimum task count alone: tasks would not start "
                    "(awsvpc gives each task an address). Use larger subnets.",
                    error=True,
                )
            )
        elif sum(highs) > free:
            findings.append(
                Finding(
                    "subnet-headroom",
                    paths[0],
                    f"{where}: at the maximum task count a deployment runs up to {sum(highs)} "
                    f"tasks at once (maximum percent included), and the subnets have {free} "
                    "free addresses: scaling or a deployment would stall. Use larger subnets "
                    "or lower max_capacity / max_healthy_percent.",
                )
            )
    return findings


def _selected(core: ServiceCore) -> ec2.SelectedSubnets:
    """The subnets the service's tasks run in."""
    from .launch import private_subnets

    selection = core.vpc_subnets or private_subnets(core.vpc)
    return core.vpc.select_subnets(**selection._values)


def _addresses(subnet: ec2.ISubnet) -> int | None:
    try:
        cidr = subnet.ipv4_cidr_block
    except RuntimeError:  # jsii: an imported subnet without its CIDR
        return None
    if is_token(cidr):
        return None
    return int(ipaddress.ip_network(cidr).num_addresses) - RESERVED_PER_SUBNET


def _task_counts(core: ServiceCore) -> tuple[int | None, int | None]:
    """The fewest tasks the service keeps, and the most a deployment runs at once."""
    scaling, desired = core.scaling, core.desired_count
    low = desired if scaling is None or scaling.min_capacity is None else scaling.min_capacity
    high = desired if scaling is None else scaling.max_capacity
    percent = core.deployment.max_healthy_percent
    if any(is_token(value) for value in (low, high, percent)):
        return None, None
    return int(low), int(high * max(percent, 100) // 100)


# --- endpoints of an isolated VPC ---------------------------------------------------------


def _endpoints(service: CoreService) -> list[Finding]:
    """In a VPC without NAT the tasks reach AWS only through endpoints: each feature in use
    needs its own (image and logs, secrets, ECS Exec, the worker's queue, X-Ray traces)."""
    core = service.core
    vpc = core.vpc
    if vpc.private_subnets or not vpc.isolated_subnets:
        return []  # NAT (or public subnets only): AWS is reachable without endpoints
    needed = set(ALWAYS_NEEDED)
    definition = core.task_definition
    for value in definition.secrets.values():
        needed.add("secretsmanager" if value.secret is not None else "ssm")
    if core.enable_exec:
        needed.add("ssmmessages")
    if getattr(service, "queue", None) is not None:
        needed.add("sqs")
    if definition.telemetry is not None and definition.telemetry.traces:
        needed.add("xray")
    endpoints = core.endpoints
    have = {*endpoints.interface_endpoints, *endpoints.gateway_endpoints} if endpoints else set()
    missing = sorted(needed - have)
    if not missing:
        return []
    return [
        Finding(
            "isolated-endpoints",
            service.node.path,
            f"{service.node.path}: its VPC has no NAT, so the tasks reach AWS only through VPC "
            f"endpoints, and it has none for {', '.join(missing)}"
            + ("" if core.endpoints else " (no endpoints were passed)")
            + ": the tasks could not start or would fail at run time. Add them to "
            "SecureVpc(endpoints=...) and pass endpoints= to the service.",
            error=bool(set(missing) & {*ALWAYS_NEEDED, "secretsmanager", "ssm"}),
        )
    ]


# --- health checks -----------------------------------------------------------------------


def _grace_period(service: CoreService) -> list[Finding]:
    """ECS ignores load balancer health checks for the grace period: shorter than the
    container's start period plus the checks that make a target healthy, and new tasks are
    killed while they start (a restart loop)."""
    core = service.core
    group = getattr(service, "target_group", None)
    if core.health_check_grace_period is None or group is None:
        return []
    check = group.health_check
    grace = duration_seconds(core.health_check_grace_period)
    start = duration_seconds(core.task_definition.health_check_start_period)
    interval = duration_seconds(check.interval) if check and check.interval else 30
    healthy = check.healthy_threshold_count if check and check.healthy_threshold_count else 5
    if None in (grace, start, interval) or is_token(healthy):
        return []
    needed = start + healthy * interval  # type: ignore[operator]
    if grace >= needed:  # type: ignore[operator]
        return []
    return [
        Finding(
            "grace-period",
            service.node.path,
            f"{service.node.path}: health_check_grace_period is {grace:g} s, shorter than the "
            f"container's start period plus {healthy} healthy checks ({needed:g} s): new "
            "tasks can be stopped as unhealthy while they start. Raise it, or leave it out "
            "to have it derived.",
        )
    ]


def _health_check_target(service: CoreService) -> list[Finding]:
    """The load balancer probes one path and port, the container's own check another: one of
    them checks something else than the application serves."""
    core = service.core
    group = getattr(service, "target_group", None)
    container_check = core.task_definition.health_check
    if group is None or group.health_check is None or container_check is None:
        return []
    command = " ".join(container_check.command)
    found = _LOCAL_URL.search(command)
    path = group.health_check.path
    if found is None or path is None or is_token(path):
        return []
    port, checked_path = found.group(1), found.group(2).split("?")[0]
    container_port = core.task_definition.container_port
    mismatches = []
    if checked_path != path:
        mismatches.append(f"path {checked_path} (the target group probes {path})")
    if port is not None and container_port is not None and int(port) != container_port:
        mismatches.append(f"port {port} (the target group probes {container_port})")
    if not mismatches:
        return []
    return [
        Finding(
            "health-check-target",
            service.node.path,
            f"{service.node.path}: the container's health check calls "
            + " and ".join(mismatches)
            + ": one of the two checks something the load balancer does not serve. Point both "
            "at the same path and port.",
        )
    ]


# --- production and jobs -----------------------------------------------------------------


def _single_points(service: CoreService) -> list[Finding]:
    core = service.core
    findings = []
    low, _ = _task_counts(core)
    if low is not None and low < 2 and not core.daemon:
        findings.append(
            Finding(
                "single-task",
                service.node.path,
                f"{service.node.path}: keeps {low} task in production: a task replacement or "
                "an AZ outage is downtime. Run at least 2 (desired_count / min_capacity).",
            )
        )
    zones = set(_selected(core).availability_zones)
    if len(zones) == 1 and not any(is_token(zone) for zone in zones):
        findings.append(
            Finding(
                "single-az",
                service.node.path,
                f"{service.node.path}: its tasks run in one Availability Zone ({zones.pop()}) "
                "in production: an AZ outage takes the service down. Use subnets in 2 or more.",
            )
        )
    return findings


def _spot_without_retries(job: ScheduledTask) -> list[Finding]:
    """Spot capacity may be unavailable when the schedule fires: without retries that run is
    skipped (to the dead-letter queue)."""
    strategy = job._launch.strategy
    spot_only = bool(strategy) and all(s.capacity_provider == "FARGATE_SPOT" for s in strategy)
    if not spot_only or job.retry_attempts != 0:
        return []
    return [
        Finding(
            "spot-without-retries",
            job.node.path,
            f"{job.node.path}: runs on Fargate Spot only with retry_attempts=0: when Spot has "
            "no capacity the run fails and is not tried again. Allow retries (default 3) or "
            "add on-demand FARGATE to the strategy.",
        )
    ]
