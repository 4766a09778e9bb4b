"""The monthly cost change of a template change, by resource class, for the review report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..review.templates import Template
from .assumptions import Assumptions
from .estimate import CLASSES, Estimate, estimate
from .prices import PriceTable, detect_region

DEFAULT_REGION = "us-east-1"
"""Priced when the templates name no region and none is given."""

DEFAULT_THRESHOLD = 50.0
"""USD a month: a class whose estimate changes by this much or more is flagged."""

Pair = tuple[float, float]


def _flags(change: Pair, threshold: float) -> tuple[str, ...]:
    if max(abs(change[0]), abs(change[1])) >= threshold:
        return (f"change of ${threshold:,.0f} a month or more",)
    return ()


@dataclass(frozen=True)
class ClassDelta:
    """One resource class before and after the change (USD a month, min and max task count)."""

    resource_class: str
    before: Pair
    after: Pair
    stacks: tuple[str, ...]
    """The stacks whose estimate for this class changed."""
    threshold: float

    @property
    def change(self) -> Pair:
        return (self.after[0] - self.before[0], self.after[1] - self.before[1])

    @property
    def flags(self) -> tuple[str, ...]:
        return _flags(self.change, self.threshold)


@dataclass(frozen=True)
class CostDelta:
    """What the change does to the monthly estimate."""

    region: str
    region_note: str
    classes: tuple[ClassDelta, ...]
    before: Pair
    after: Pair
    threshold: float
    assumptions: Assumptions
    missing: tuple[str, ...] = ()

    @property
    def change(self) -> Pair:
        return (self.after[0] - self.before[0], self.after[1] - self.before[1])

    @property
    def flagged(self) -> tuple[ClassDelta, ...]:
        return tuple(item for item in self.classes if item.flags)

    @property
    def total_flags(self) -> tuple[str, ...]:
        return _flags(self.change, self.threshold)

    @property
    def increase_over_threshold(self) -> bool:
        """Whether the change adds ``threshold`` dollars a month or more (at either count)."""
        return max(self.change) >= self.threshold


def resolve_region(templates: Iterable[Mapping[str, Any]], region: str | None) -> tuple[str, str]:
    """``(region, note)``: the given region, else the one the templates name, else the default."""
    if region:
        return region, ""
    found = detect_region(templates)
    if found:
        return found, ""
    return DEFAULT_REGION, f"the templates name no region: priced as {DEFAULT_REGION}"


def cost_delta(
    base: Mapping[str, Template],
    new: Mapping[str, Template],
    *,
    region: str | None = None,
    assumptions: Assumptions | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    table: PriceTable | None = None,
) -> CostDelta:
    """The estimate of ``new`` against that of ``base``, by resource class."""
    region, note = resolve_region([*new.values(), *base.values()], region)
    assumptions = assumptions or Assumptions()
    before = estimate(base, region=region, assumptions=assumptions, table=table)
    after = estimate(new, region=region, assumptions=assumptions, table=table)
    classes = []
    for name in CLASSES:
        stacks = sorted(set(_stacks(before, name)) | set(_stacks(after, name)))
        changed = tuple(
            stack
            for stack in stacks
            if _class_total(before, name, stack) != _class_total(after, name, stack)
        )
        if changed:
            classes.append(
                ClassDelta(
                    name,
                    _class_total(before, name),
                    _class_total(after, name),
                    changed,
                    threshold,
                )
            )
    return CostDelta(
        region=region,
        region_note=note,
        classes=tuple(classes),
        before=before.total,
        after=after.total,
        threshold=threshold,
        assumptions=assumptions,
        missing=tuple(dict.fromkeys([*before.missing, *after.missing])),
    )


def _stacks(result: Estimate, resource_class: str) -> list[str]:
    return [item.stack for item in result.items if item.resource_class == resource_class]


def _class_total(result: Estimate, resource_class: str, stack: str | None = None) -> Pair:
    low = high = 0.0
    for item in result.items:
        if item.resource_class == resource_class and (stack is None or item.stack == stack):
            low += item.monthly_min or 0.0
            high += item.monthly_max or 0.0
    return (round(low, 6), round(high, 6))
