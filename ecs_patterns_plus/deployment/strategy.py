"""DeploymentStrategy: rolling, ECS-native blue/green, canary and linear, or CodeDeploy blue/green.

Every strategy rolls back automatically: the deployment circuit breaker (ECS strategies)
or CodeDeploy's auto-rollback, plus CloudWatch alarms on the service's golden signals
(target 5xx rate, p99 latency, unhealthy hosts) that ``AlbFargateService`` creates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .. import defaults
from ..errors import Problems, checked, is_token
from ..load_balancer import is_anywhere

if TYPE_CHECKING:
    from .binding import AlbTraffic, DeploymentResources

ROLLING = "rolling"
BLUE_GREEN = "blue_green"
CANARY = "canary"
LINEAR = "linear"
CODE_DEPLOY = "code_deploy_blue_green"
LOAD_BALANCER = "load_balancer"
NETWORK_LOAD_BALANCER = "network_load_balancer"
SERVICE_CONNECT = "service_connect"
_NATIVE = (BLUE_GREEN, CANARY, LINEAR)
TEST_TRAFFIC_HEADER = "x-amzn-ecs-blue-green-test"
"""The header that sends a request to the new tasks during a blue/green, canary or linear
deployment of a Service Connect service (AWS's default test traffic rule)."""
_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_MAX_BAKE_MINUTES = 1440


@dataclass(frozen=True, kw_only=True)
class LifecycleHook:
    """A Lambda function ECS invokes at deployment stages, e.g. a smoke test of the new tasks.

    The function reports success or failure (``hookStatus``); a failure rolls back.

    Args:
        name: PascalCase id of the hook.
        function: the Lambda function.
        stages: when it runs. Default: after test traffic reaches the new tasks and
            before production traffic shifts (``POST_TEST_TRAFFIC_SHIFT``).
    """

    name: str
    function: lambda_.IFunction
    stages: Sequence[ecs.DeploymentLifecycleStage] = defaults.LIFECYCLE_HOOK_STAGES


@dataclass(frozen=True, kw_only=True)
class TestTraffic:
    """A test listener that reaches the new tasks before production traffic does.

    It is never open to the internet: only ``sources`` (e.g. a CI runner's or a hook
    function's security group, or an office prefix list) may connect.

    Args:
        port: HTTPS port of the test listener. Default: 9443.
        sources: who may connect. Default: nobody until you add them with
            ``load_balancer.connections.allow_from(peer, ec2.Port.tcp(port))``.
    """

    __test__ = False  # not a pytest test class

    port: int = defaults.TEST_LISTENER_PORT
    sources: Sequence[ec2.IPeer] = ()


@dataclass(frozen=True, kw_only=True)
class DeploymentStrategy:
    """How ``AlbFargateService`` replaces its tasks. Build it with a factory method.

    ``rolling``: replace tasks in place, bounded by min/max healthy percent.
    ``blue_green``: start a full new (green) set, shift all traffic at once, bake, then stop blue.
    ``canary``: shift ``percent`` of traffic, wait, shift the rest, bake.
    ``linear``: shift ``step_percent`` every ``step_bake_time``, bake.
    ``code_deploy_blue_green``: the same through CodeDeploy and its predefined configs.
    """

    kind: str
    min_healthy_percent: int = defaults.MIN_HEALTHY_PERCENT
    max_healthy_percent: int = defaults.MAX_HEALTHY_PERCENT
    bake_time: cdk.Duration | None = None
    step_percent: float | None = None
    step_bake_time: cdk.Duration | None = None
    test_traffic: TestTraffic | None = None
    lifecycle_hooks: Sequence[LifecycleHook] = field(default_factory=tuple)
    code_deploy_config: codedeploy.IEcsDeploymentConfig | None = None
    termination_wait: cdk.Duration | None = None

    @classmethod
    @checked
    def rolling(
        cls,
        *,
        min_healthy_percent: int = defaults.MIN_HEALTHY_PERCENT,
        max_healthy_percent: int = defaults.MAX_HEALTHY_PERCENT,
    ) -> DeploymentStrategy:
        """Rolling update with the circuit breaker and alarm rollback.

        Args:
            min_healthy_percent: tasks kept running, % of desired. Default: 100.
            max_healthy_percent: tasks allowed during the deploy. Default: 200.
        """
        return cls(
            kind=ROLLING,
            min_healthy_percent=min_healthy_percent,
            max_healthy_percent=max_healthy_percent,
        )

    @classmethod
    @checked
    def blue_green(
        cls,
        *,
        bake_time: cdk.Duration = defaults.BAKE_TIME,
        test_traffic: TestTraffic | None = None,
        lifecycle_hooks: Sequence[LifecycleHook] = (),
    ) -> DeploymentStrategy:
        """ECS-native blue/green: all traffic moves to the new tasks at once.

        Args:
            bake_time: both sets keep running after the shift, for instant rollback, 0-1440
                minutes. Default: 10 minutes.
            test_traffic: a test listener for the new tasks (behind a load balancer).
                Default: ``TestTraffic()`` behind a load balancer; with Service Connect, the
                requests that carry the header ``x-amzn-ecs-blue-green-test``.
            lifecycle_hooks: Lambda hooks, e.g. a smoke test. Default: none.
        """
        return cls._native(BLUE_GREEN, bake_time, test_traffic, lifecycle_hooks)

    @classmethod
    @checked
    def canary(
        cls,
        *,
        percent: float = defaults.CANARY_PERCENT,
        step_bake_time: cdk.Duration = defaults.CANARY_BAKE_TIME,
        bake_time: cdk.Duration = defaults.BAKE_TIME,
        test_traffic: TestTraffic | None = None,
        lifecycle_hooks: Sequence[LifecycleHook] = (),
    ) -> DeploymentStrategy:
        """ECS-native canary: ``percent`` of traffic first, the rest after ``step_bake_time``.

        Args:
            percent: share of production traffic for the canary, 0.1-100 in steps of 0.1.
                Default: 10.
            step_bake_time: how long the canary runs before the rest shifts, 0-1440
                minutes. Default: 10 minutes.
            bake_time: both sets kept after the full shift, 0-1440 minutes. Default: 10 minutes.
            test_traffic: Default: ``TestTraffic()`` (see ``blue_green``).
            lifecycle_hooks: Default: none.
        """
        return cls._native(
            CANARY, bake_time, test_traffic, lifecycle_hooks, percent, step_bake_time
        )

    @classmethod
    @checked
    def linear(
        cls,
        *,
        step_percent: float = defaults.LINEAR_STEP_PERCENT,
        step_bake_time: cdk.Duration = defaults.LINEAR_STEP_BAKE_TIME,
        bake_time: cdk.Duration = defaults.BAKE_TIME,
        test_traffic: TestTraffic | None = None,
        lifecycle_hooks: Sequence[LifecycleHook] = (),
    ) -> DeploymentStrategy:
        """ECS-native linear: ``step_percent`` more traffic every ``step_bake_time``.

        Args:
            step_percent: traffic added per step, 3-100 in steps of 0.1. Default: 10.
            step_bake_time: wait between steps, 0-1440 minutes. Default: 6 minutes.
            bake_time: both sets kept after the full shift, 0-1440 minutes. Default: 10 minutes.
            test_traffic: Default: ``TestTraffic()`` (see ``blue_green``).
            lifecycle_hooks: Default: none.
        """
        return cls._native(
            LINEAR, bake_time, test_traffic, lifecycle_hooks, step_percent, step_bake_time
        )

    @classmethod
    def _native(
        cls,
        kind: str,
        bake_time: cdk.Duration,
        test_traffic: TestTraffic | None,
        lifecycle_hooks: Sequence[LifecycleHook],
        step_percent: float | None = None,
        step_bake_time: cdk.Duration | None = None,
    ) -> DeploymentStrategy:
        """An ECS-native traffic-shifting strategy (blue/green, canary or linear)."""
        return cls(
            kind=kind,
            step_percent=step_percent,
            step_bake_time=step_bake_time,
            bake_time=bake_time,
            test_traffic=test_traffic,
            lifecycle_hooks=tuple(lifecycle_hooks),
        )

    @classmethod
    @checked
    def code_deploy_blue_green(
        cls,
        *,
        config: codedeploy.IEcsDeploymentConfig = defaults.CODE_DEPLOY_CONFIG,
        termination_wait: cdk.Duration = defaults.BAKE_TIME,
        test_traffic: TestTraffic | None = None,
    ) -> DeploymentStrategy:
        """Blue/green through CodeDeploy, with auto-rollback on failure, stop and alarm.

        Args:
            config: e.g. ``codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_5_MINUTES``,
                ``LINEAR_10_PERCENT_EVERY_1_MINUTES`` or ``ALL_AT_ONCE``.
                Default: canary 10 % for 5 minutes.
            termination_wait: blue tasks kept after the shift, 0-2880 minutes. Default: 10 minutes.
            test_traffic: Default: ``TestTraffic()``.
        """
        return cls(
            kind=CODE_DEPLOY,
            code_deploy_config=config,
            termination_wait=termination_wait,
            test_traffic=test_traffic or TestTraffic(),
        )

    @property
    def uses_code_deploy(self) -> bool:
        """True when CodeDeploy, not ECS, controls deployments."""
        return self.kind == CODE_DEPLOY

    @property
    def shifts_traffic(self) -> bool:
        """True for every strategy that runs a second (green) target group."""
        return self.kind != ROLLING

    def check(
        self, problems: Problems, *, shares_listener: bool, traffic: str | None = LOAD_BALANCER
    ) -> None:
        """Record every problem with this strategy.

        ``shares_listener``: the service routes on a shared listener; ``traffic``: what carries
        its requests, ``LOAD_BALANCER``, ``SERVICE_CONNECT`` (ECS shifts it for blue/green,
        canary and linear; CodeDeploy needs a load balancer), ``NETWORK_LOAD_BALANCER``
        (every ECS strategy; not CodeDeploy) or None (only rolling applies).
        """
        if traffic is None and self.kind != ROLLING:
            problems.add(
                "deployment",
                "shifts traffic, and this service takes none (no load balancer, no published "
                "Service Connect port)",
                self.kind,
                "use DeploymentStrategy.rolling()",
            )
            return
        if traffic == NETWORK_LOAD_BALANCER:
            problems.require(
                not self.uses_code_deploy,
                "deployment",
                "CDK's CodeDeploy deployment group for ECS takes Application Load Balancer "
                "listeners only; ECS shifts Network Load Balancer traffic itself",
                self.kind,
                "use DeploymentStrategy.blue_green(), .canary() or .linear()",
            )
        if traffic == SERVICE_CONNECT:
            problems.require(
                not self.uses_code_deploy,
                "deployment",
                "CodeDeploy blue/green needs a load balancer; ECS shifts Service Connect "
                "traffic itself",
                self.kind,
                "use DeploymentStrategy.blue_green(), .canary() or .linear()",
            )
            problems.require(
                self.test_traffic is None,
                "deployment.test_traffic",
                "is a test listener of a load balancer; Service Connect sends the requests that "
                f"carry the header '{TEST_TRAFFIC_HEADER}' to the new tasks instead",
                self.test_traffic,
                "leave test_traffic out",
            )
        if self.kind == ROLLING:
            problems.in_range("deployment.min_healthy_percent", self.min_healthy_percent, 0, 100)
            if problems.in_range(
                "deployment.max_healthy_percent", self.max_healthy_percent, 100, 200
            ) and not any(
                is_token(percent)
                for percent in (self.min_healthy_percent, self.max_healthy_percent)
            ):
                problems.require(
                    self.max_healthy_percent > self.min_healthy_percent,
                    "deployment.max_healthy_percent",
                    "must exceed min_healthy_percent or a rolling deploy cannot start a task",
                    (self.min_healthy_percent, self.max_healthy_percent),
                    "keep 100 / 200, or e.g. 50 / 100 to roll in place",
                )
            return
        _check_minutes(problems, "deployment.bake_time", self.bake_time)
        _check_minutes(problems, "deployment.step_bake_time", self.step_bake_time)
        if self.kind == CANARY:
            _check_percent(problems, "deployment.percent", self.step_percent, 0.1)
        if self.kind == LINEAR:
            _check_percent(problems, "deployment.step_percent", self.step_percent, 3.0)
        total = self.total_minutes()
        if total is not None:
            problems.require(
                total <= _MAX_BAKE_MINUTES,
                "deployment",
                f"shifts and bakes for {total:g} minutes in all; ECS ends a deployment's "
                f"bake stages at {_MAX_BAKE_MINUTES} minutes (24 hours)",
                self.kind,
                "use larger steps, shorter step_bake_time or a shorter bake_time",
            )
        if self.uses_code_deploy:
            problems.minutes_in_range("deployment.termination_wait", self.termination_wait, 0, 2880)
            problems.require(
                not shares_listener,
                "deployment",
                "CodeDeploy shifts the listener's default action, so the service must own the "
                "whole listener",
                "routing with paths, hosts or a priority",
                "drop routing (own load balancer) or use DeploymentStrategy.canary()/linear()",
            )
        if self.test_traffic is not None:
            port = self.test_traffic.port
            if problems.in_range("deployment.test_traffic.port", port, 1, 65535) and not is_token(
                port
            ):
                problems.require(
                    port not in (defaults.HTTPS_PORT, defaults.HTTP_REDIRECT_PORT),
                    "deployment.test_traffic.port",
                    "is a production port",
                    port,
                    f"use another port, e.g. {defaults.TEST_LISTENER_PORT}",
                )
            anywhere = [p.unique_id for p in self.test_traffic.sources if is_anywhere(p)]
            problems.require(
                not anywhere,
                "deployment.test_traffic.sources",
                "the test listener must never be open to the internet",
                anywhere,
                "name the callers: a security group, a prefix list or a private CIDR",
            )
        names = [hook.name for hook in self.lifecycle_hooks]
        for hook in self.lifecycle_hooks:
            problems.require(
                bool(_PASCAL.match(hook.name)) and names.count(hook.name) == 1,
                "deployment.lifecycle_hooks name",
                "must be unique and PascalCase",
                hook.name,
                "e.g. 'SmokeTest'",
            )
            problems.require(
                bool(hook.stages),
                f"deployment.lifecycle_hooks[{hook.name}].stages",
                "names no stage",
                [],
                "e.g. [ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT]",
            )

    def total_minutes(self) -> float | None:
        """Minutes of traffic shifting and baking one deployment takes (None: not native/unknown)."""
        if self.kind not in _NATIVE:
            return None
        durations = [d for d in (self.bake_time, self.step_bake_time) if d is not None]
        if any(d.is_unresolved() or d.to_seconds(integral=False) % 60 for d in durations) or (
            self.step_percent is not None and is_token(self.step_percent)
        ):
            return None
        bake = self.bake_time.to_minutes() if self.bake_time else 0
        step_bake = self.step_bake_time.to_minutes() if self.step_bake_time else 0
        if self.kind == CANARY:
            return step_bake + bake
        if self.kind == LINEAR and self.step_percent and self.step_percent > 0:
            return (math.ceil(100 / self.step_percent) - 1) * step_bake + bake
        return bake

    def bind(
        self,
        scope: Construct,
        service: ecs.BaseService,
        traffic: AlbTraffic | None,
        *,
        rollback_alarms: Sequence[cloudwatch.IAlarm] = (),
        deployment_alarms: Sequence[cloudwatch.IAlarm] = (),
    ) -> DeploymentResources:
        """Wire this strategy to ``service`` and its traffic; return what it created.

        Args:
            scope: where the strategy's resources go (the service construct).
            service: the ECS service, built with ``service_properties()``.
            traffic: how production traffic reaches it; ``None`` without a load balancer.
            rollback_alarms: the service's rollback alarms (of its target groups).
            deployment_alarms: the caller's own alarms that roll a deployment back.
        """
        from .binding import bind  # binding builds on this module

        return bind(
            self,
            scope,
            service,
            traffic,
            rollback_alarms=rollback_alarms,
            deployment_alarms=deployment_alarms,
        )

    def service_properties(self) -> dict[str, Any]:
        """The ``ecs.FargateService`` arguments this strategy sets."""
        props: dict[str, Any] = {
            "min_healthy_percent": self.min_healthy_percent,
            "max_healthy_percent": self.max_healthy_percent,
        }
        if self.uses_code_deploy:
            props["deployment_controller"] = ecs.DeploymentController(
                type=ecs.DeploymentControllerType.CODE_DEPLOY
            )
            return props
        props["circuit_breaker"] = ecs.DeploymentCircuitBreaker(enable=True, rollback=True)
        if self.kind in _NATIVE:
            props["deployment_strategy"] = {
                BLUE_GREEN: ecs.DeploymentStrategy.BLUE_GREEN,
                CANARY: ecs.DeploymentStrategy.CANARY,
                LINEAR: ecs.DeploymentStrategy.LINEAR,
            }[self.kind]
            props["bake_time"] = self.bake_time
            shift = ecs.TrafficShiftConfig(
                step_percent=self.step_percent, step_bake_time=self.step_bake_time
            )
            if self.kind == CANARY:
                props["canary_configuration"] = shift
            if self.kind == LINEAR:
                props["linear_configuration"] = shift
        return props


def _check_minutes(problems: Problems, argument: str, value: cdk.Duration | None) -> None:
    problems.minutes_in_range(argument, value, 0, _MAX_BAKE_MINUTES)


def _check_percent(problems: Problems, argument: str, value: float | None, low: float) -> None:
    if value is None or is_token(value):
        return
    if problems.in_range(argument, value, low, 100, "percent"):
        problems.require(
            abs(value * 10 - round(value * 10)) < 1e-9,
            argument,
            "must be a multiple of 0.1",
            value,
            "e.g. 10 or 12.5",
        )
