"""Construct scenarios: each builds one stack; all of them synthesize together, once per session.

Add a scenario with ``@scenario("PascalName")`` in any module of this package; it is
imported automatically, snapshotted, and run through every rule pack.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import aws_cdk as cdk

from ecs_patterns_plus import enable_compliance_checks

REGION = "ap-northeast-2"


@dataclass(frozen=True)
class Scenario:
    name: str
    build: Callable[[cdk.Stack], None]
    compliant: bool
    env: cdk.Environment


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str, *, compliant: bool = True, account: str | None = None
) -> Callable[[Callable[[cdk.Stack], None]], Callable[[cdk.Stack], None]]:
    """Register ``build(stack)`` as scenario ``name``.

    ``compliant=False`` marks a deliberate opt-out whose findings are the point.
    ``account`` gives the stack a concrete account (for example for 3 AZs).
    """

    def register(build: Callable[[cdk.Stack], None]) -> Callable[[cdk.Stack], None]:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} is registered twice")
        SCENARIOS[name] = Scenario(
            name, build, compliant, cdk.Environment(account=account, region=REGION)
        )
        return build

    return register


def load_all() -> dict[str, Scenario]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return SCENARIOS


def build_scenario_app(app: cdk.App, *, share: int = 0, shares: int = 1) -> dict[str, cdk.Stack]:
    """One stack per scenario in ``app`` (every ``shares``-th from ``share``), rule packs on."""
    enable_compliance_checks(app)
    stacks = {}
    for item in sorted(load_all().values(), key=lambda item: item.name)[share::shares]:
        stack = cdk.Stack(app, item.name, env=item.env)
        item.build(stack)
        stacks[item.name] = stack
    return stacks
