"""The options of a task definition: HealthCheckOptions, LogOptions, SidecarOptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms

from .. import defaults
from ..errors import Problems
from ..retention import Retention
from ..secrets import SecretValue

_HEALTH_CHECK_RANGE = (cdk.Duration.seconds(2), cdk.Duration.seconds(300))
"""The shortest timeout and the longest interval: what CDK is given for token values."""


@dataclass(frozen=True, kw_only=True)
class HealthCheckOptions:
    """The container's own health check, run by ECS inside the container.

    Args:
        command: the check, ``["CMD-SHELL", "curl -fsS http://localhost/health || exit 1"]``
            or ``["CMD", "/bin/healthcheck"]``; without a ``CMD``/``CMD-SHELL`` prefix the
            words run through the shell. The image must contain the tool it calls.
        interval: time between checks, 5-300 s. Default: 30 seconds.
        timeout: time a check may take, 2-120 s and below ``interval``. Default: 5 seconds.
        retries: consecutive failures that make the container unhealthy, 1-10. Default: 3.
        start_period: failures in this first period after start do not count, 0-300 s; the
            service also waits this long before the load balancer's checks count.
            Default: 60 seconds.
    """

    command: Sequence[str]
    interval: cdk.Duration = defaults.HEALTH_CHECK_INTERVAL
    timeout: cdk.Duration = defaults.HEALTH_CHECK_TIMEOUT
    retries: int = defaults.HEALTH_CHECK_RETRIES
    start_period: cdk.Duration = defaults.HEALTH_CHECK_START_PERIOD

    def validate(self, problems: Problems, argument: str) -> None:
        """Record problems with these options under ``argument`` (e.g. ``health_check``)."""
        command = list(self.command)
        words = command[1:] if command[:1] in (["CMD"], ["CMD-SHELL"]) else command
        problems.require(
            bool(words) and all(words),
            f"{argument}.command",
            "must name a command",
            command,
            "e.g. ['CMD-SHELL', 'curl -fsS http://localhost/health || exit 1']",
        )
        problems.probe_timing(argument, self.interval, self.timeout)
        problems.in_range(f"{argument}.retries", self.retries, 1, 10)
        problems.seconds_in_range(f"{argument}.start_period", self.start_period, 0, 300)

    def to_health_check(self) -> ecs.HealthCheck:
        """The ECS health check; a token interval or timeout comes in ``token_overrides``
        (CDK compares them at synth time, CloudFormation takes them as they are)."""
        return ecs.HealthCheck(
            command=list(self.command),
            interval=_HEALTH_CHECK_RANGE[1] if self.interval.is_unresolved() else self.interval,
            timeout=_HEALTH_CHECK_RANGE[0] if self.timeout.is_unresolved() else self.timeout,
            retries=self.retries,
            start_period=self.start_period,
        )

    def token_overrides(self) -> dict[str, object]:
        """Container definition properties for a token interval or timeout, by path."""
        return {
            f"HealthCheck.{name}": value.to_seconds()
            for name, value in (("Interval", self.interval), ("Timeout", self.timeout))
            if value.is_unresolved()
        }


@dataclass(frozen=True, kw_only=True)
class LogOptions:
    """Where and how the containers' stdout/stderr go: awslogs to one encrypted log group.

    Args:
        log_group_name: the log group's literal name, unique per account and region.
            Default: ``/ecs/<family>``.
        retention: how long log events are kept: ``logs.RetentionDays`` or days (a token
            too). Default: one year.
        encryption_key: KMS key of the log group; it must allow CloudWatch Logs.
            Default: the stack's shared key (``EcsPatternsPlus/Key``).
        mode: ``NON_BLOCKING`` buffers lines so a CloudWatch Logs slowdown never blocks the
            application (lines beyond the buffer are dropped); ``BLOCKING`` never drops but
            can stall writes. Default: ``NON_BLOCKING``.
        max_buffer_size_mib: the non-blocking buffer, 1-1024 MiB. Default: 25 MiB.
    """

    log_group_name: str | None = None
    retention: Retention = defaults.LOG_RETENTION
    encryption_key: kms.IKey | None = None
    mode: ecs.AwsLogDriverMode = defaults.LOG_DRIVER_MODE
    max_buffer_size_mib: int = defaults.LOG_MAX_BUFFER_SIZE_MIB


@dataclass(frozen=True, kw_only=True)
class SidecarOptions:
    """A hardened helper container next to the application (proxy, agent, log router).

    It gets the same hardening as the application container: read-only root filesystem
    with ``writable_paths``, non-root ``user``, no capabilities, init process, hard memory
    limit, awslogs with its own stream prefix.

    Args:
        name: the container name, unique in the task.
        image: pinned like the application image (digest, or tag on an ECR repository).
        memory_limit_mib: hard memory limit, taken from the task's memory. Default: 128 MiB.
        cpu: CPU units reserved for the sidecar. Default: none reserved (shares the task's).
        port: a TCP port the sidecar listens on. Default: none.
        command: overrides the image's command. Default: the image's.
        environment: plain, non-secret variables. Default: none.
        secrets: variables read from Secrets Manager or SSM at start. Default: none.
        health_check: the sidecar's health check. Default: none.
        writable_paths: the only writable paths. Default: ``("/tmp",)``.
        user: the uid:gid to run as. Default: ``1000:1000``.
        essential: stop the task when this sidecar stops. Default: True.
        app_waits_for: the application container starts once the sidecar has reached this
            condition (``START``, ``HEALTHY`` with a health check, ``COMPLETE``/``SUCCESS``
            for non-essential init containers), or ``None``. Default: ``START``.
        waits_for: the containers (other sidecars, or the application container by its
            name) this sidecar starts after, each with its condition, e.g.
            ``{"app": ecs.ContainerDependencyCondition.HEALTHY}`` for an agent that needs
            the application; cycles are refused. Default: none.
    """

    name: str
    image: ecs.ContainerImage
    memory_limit_mib: int = defaults.SIDECAR_MEMORY_MIB
    cpu: int | None = None
    port: int | None = None
    command: Sequence[str] | None = None
    environment: Mapping[str, str] | None = None
    secrets: Mapping[str, SecretValue] | None = None
    health_check: HealthCheckOptions | None = None
    writable_paths: Sequence[str] = defaults.WRITABLE_PATHS
    user: str = defaults.CONTAINER_USER
    essential: bool = True
    app_waits_for: ecs.ContainerDependencyCondition | None = defaults.SIDECAR_APP_WAITS_FOR
    waits_for: Mapping[str, ecs.ContainerDependencyCondition] | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """One container to add, application or sidecar, after defaults are applied."""

    argument: str  # how the user named it in arguments: "" for the app, "sidecars[0]."
    name: str
    image: ecs.ContainerImage
    memory_limit_mib: int
    cpu: int | None
    port: int | None
    command: Sequence[str] | None
    environment: Mapping[str, str]
    secrets: Mapping[str, SecretValue]
    health_check: HealthCheckOptions | None
    writable_paths: Sequence[str]
    user: str
    essential: bool = True
    app_waits_for: ecs.ContainerDependencyCondition | None = None
    sidecar: bool = False
    extra_ports: Sequence[int] = ()
    waits_for: Mapping[str, ecs.ContainerDependencyCondition] = field(default_factory=dict)


def sidecar_spec(index: int, options: SidecarOptions) -> ContainerSpec:
    return ContainerSpec(
        argument=f"sidecars[{index}].",
        name=options.name,
        image=options.image,
        memory_limit_mib=options.memory_limit_mib,
        cpu=options.cpu,
        port=options.port,
        command=options.command,
        environment=dict(options.environment or {}),
        secrets=dict(options.secrets or {}),
        health_check=options.health_check,
        writable_paths=options.writable_paths,
        user=options.user,
        essential=options.essential,
        app_waits_for=options.app_waits_for,
        sidecar=True,
        waits_for=dict(options.waits_for or {}),
    )
