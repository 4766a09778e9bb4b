"""Example-app configuration, read from cdk.json context (override with ``cdk -c key=value``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import aws_cdk as cdk

from ecs_patterns_plus import DeploymentStrategy
from ecs_patterns_plus.errors import ValidationError

PREFIX = "ecs-patterns-plus"

DEPLOYMENTS: dict[str, Callable[[], DeploymentStrategy]] = {
    "canary": DeploymentStrategy.canary,
    "rolling": DeploymentStrategy.rolling,
    "blue_green": DeploymentStrategy.blue_green,
    "linear": DeploymentStrategy.linear,
    "code_deploy": DeploymentStrategy.code_deploy_blue_green,
}


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    """Where and as what the example app deploys.

    Context keys: ``ecs-patterns-plus:stage`` (e.g. ``dev``, ``prod``),
    ``ecs-patterns-plus:region`` (required), ``ecs-patterns-plus:account`` (empty for an
    environment-agnostic app), ``ecs-patterns-plus:domain`` (the web service's DNS name),
    ``ecs-patterns-plus:hosted-zone-id`` and ``ecs-patterns-plus:hosted-zone-name`` (the
    Route 53 zone that holds it and validates its certificate), ``ecs-patterns-plus:deployment``
    (how the web service deploys: ``canary`` (default, the brief's 10 % then promote),
    ``rolling``, ``blue_green``, ``linear`` or ``code_deploy``).
    """

    stage: str
    region: str
    account: str | None
    domain_name: str = "myapp.example.com"
    hosted_zone_id: str = "Z0123456789ABCDEFGHIJ"
    hosted_zone_name: str = "example.com"
    deployment: str = "canary"

    @classmethod
    def from_context(cls, app: cdk.App) -> AppConfig:
        def get(key: str) -> str:
            return str(app.node.try_get_context(f"{PREFIX}:{key}") or "").strip()

        config = cls(
            stage=get("stage") or "dev",
            region=get("region"),
            account=get("account") or None,
            domain_name=get("domain") or cls.domain_name,
            hosted_zone_id=get("hosted-zone-id") or cls.hosted_zone_id,
            hosted_zone_name=get("hosted-zone-name") or cls.hosted_zone_name,
            deployment=get("deployment") or cls.deployment,
        )
        problems = []
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,15}", config.stage):
            problems.append(
                f"{PREFIX}:stage: must be lower-case letters, digits and dashes (max 16); "
                f"got {config.stage!r}; e.g. 'dev' or 'prod'"
            )
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", config.region):
            problems.append(
                f"{PREFIX}:region: must be an AWS region; got {config.region!r}; "
                "e.g. 'ap-northeast-2'"
            )
        if config.account is not None and not re.fullmatch(r"\d{12}", config.account):
            problems.append(
                f"{PREFIX}:account: must be a 12-digit account id or empty; got {config.account!r}"
            )
        if config.deployment not in DEPLOYMENTS:
            problems.append(
                f"{PREFIX}:deployment: unknown strategy; got {config.deployment!r}; "
                f"use one of {', '.join(DEPLOYMENTS)}"
            )
        if not config.domain_name.endswith("." + config.hosted_zone_name):
            problems.append(
                f"{PREFIX}:domain: must be a name inside the hosted zone "
                f"{config.hosted_zone_name!r}; got {config.domain_name!r}"
            )
        if problems:
            raise ValidationError("cdk.json context", problems)
        return config

    @property
    def deployment_strategy(self) -> DeploymentStrategy:
        return DEPLOYMENTS[self.deployment]()

    @property
    def env(self) -> cdk.Environment:
        return cdk.Environment(account=self.account, region=self.region)

    def stack_name(self, name: str) -> str:
        return f"{PREFIX}-{self.stage}-{name}"
