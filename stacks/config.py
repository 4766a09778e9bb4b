"""Example-app configuration, read from cdk.json context (override with ``cdk -c key=value``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import aws_cdk as cdk

from ecs_patterns_plus.errors import ValidationError

PREFIX = "ecs-patterns-plus"


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    """Where and as what the example app deploys.

    Context keys: ``ecs-patterns-plus:stage`` (e.g. ``dev``, ``prod``),
    ``ecs-patterns-plus:region`` (required), ``ecs-patterns-plus:account`` (empty for an
    environment-agnostic app; set it to use more than 2 AZs).
    """

    stage: str
    region: str
    account: str | None

    @classmethod
    def from_context(cls, app: cdk.App) -> AppConfig:
        def get(key: str) -> str:
            return str(app.node.try_get_context(f"{PREFIX}:{key}") or "").strip()

        config = cls(
            stage=get("stage") or "dev", region=get("region"), account=get("account") or None
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
        if problems:
            raise ValidationError("cdk.json context", problems)
        return config

    @property
    def env(self) -> cdk.Environment:
        return cdk.Environment(account=self.account, region=self.region)

    def stack_name(self, name: str) -> str:
        return f"{PREFIX}-{self.stage}-{name}"
