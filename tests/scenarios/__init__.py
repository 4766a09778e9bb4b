"""Construct scenarios: each builds one stack; those a test session declares synthesize together.

Add a scenario with ``@scenario("PascalName")`` in any module of this package; it is
imported automatically, snapshotted, and run through every rule pack.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
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
    name: str, *, compliant: bool = True
) -> Callable[[Callable[[cdk.Stack], None]], Callable[[cdk.Stack], None]]:
    """Register ``build(stack)`` as scenario ``name``.

    ``compliant=False`` marks a deliberate opt-out whose findings are the point.
    """

    def register(build: Callable[[cdk.Stack], None]) -> Callable[[cdk.Stack], None]:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} is registered twice")
        SCENARIOS[name] = Scenario(name, build, compliant, cdk.Environment(region=REGION))
        return build

    return register


def load_all() -> dict[str, Scenario]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return SCENARIOS


def build_scenario_app(
    app: cdk.App, names: Iterable[str] | None = None, *, rule_packs: bool = True
) -> dict[str, cdk.Stack]:
    """One stack per scenario in ``app`` (those in ``names``; default: all), with the rule
    packs on unless ``rule_packs`` is False (the templates are the same either way)."""
    if rule_packs:
        enable_compliance_checks(app)
    scenarios = load_all()
    stacks = {}
    for name in sorted(scenarios) if names is None else names:
        stack = cdk.Stack(app, name, env=scenarios[name].env)
        scenarios[name].build(stack)
        stacks[name] = stack
    return stacks
