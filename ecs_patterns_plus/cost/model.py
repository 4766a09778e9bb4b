"""What an estimate is made of: line items by stack and resource class, and the price lookups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .assumptions import Assumptions
from .prices import Price, RegionPrices

FARGATE_CLASS = "Fargate tasks"
EC2_CLASS = "EC2 capacity"
LB_CLASS = "Load balancers"
NAT_CLASS = "NAT gateways"
ENDPOINT_CLASS = "Interface endpoints"
IPV4_CLASS = "Public IPv4"
KMS_CLASS = "KMS keys"
SECRET_CLASS = "Secrets"
WAF_CLASS = "WAF"
ALARM_CLASS = "Alarms"
DASHBOARD_CLASS = "Dashboards"
INSIGHTS_CLASS = "Container Insights"
LOG_CLASS = "Logs"
CLASSES = (
    FARGATE_CLASS,
    EC2_CLASS,
    LB_CLASS,
    NAT_CLASS,
    ENDPOINT_CLASS,
    IPV4_CLASS,
    KMS_CLASS,
    SECRET_CLASS,
    WAF_CLASS,
    ALARM_CLASS,
    DASHBOARD_CLASS,
    INSIGHTS_CLASS,
    LOG_CLASS,
)
"""Resource classes, in report order."""

INSIGHTS_METRICS_PER_CLUSTER = 11
"""Container Insights metrics with the ClusterName dimension alone (3 cluster counts, 8 usage)."""
INSIGHTS_METRICS_PER_SERVICE = 13
"""Metrics with ClusterName and ServiceName (5 task and deployment counts, 8 usage)."""
INSIGHTS_METRICS_PER_FAMILY = 8
"""Metrics with ClusterName and TaskDefinitionFamily (8 usage: CPU, memory, network, storage)."""

NOT_ESTIMATED = (
    "data transfer (internet, cross-AZ), S3 buckets (access logs), ECR, SQS, SNS, EventBridge and "
    "Scheduler requests, Route 53, ACM (public certificates are free), Cloud Map; free tiers, "
    "Savings Plans and taxes are not deducted"
)


@dataclass(frozen=True)
class LineItem:
    """One billed resource (or group of them) of one stack."""

    stack: str
    resource_class: str
    resource: str
    basis: str
    monthly_min: float | None
    monthly_max: float | None
    note: str = ""

    @property
    def priced(self) -> bool:
        return self.monthly_min is not None and self.monthly_max is not None


@dataclass(frozen=True)
class Estimate:
    """The line items of every stack, with the region, prices and assumptions they used."""

    region: str
    items: tuple[LineItem, ...]
    assumptions: Assumptions
    prices: tuple[Price, ...] = ()
    missing: tuple[str, ...] = ()
    """What could not be priced: a region without prices, a price the table lacks."""
    region_known: bool = True

    @property
    def total(self) -> tuple[float, float]:
        return _sum(self.items)

    def by_stack(self) -> dict[str, tuple[float, float]]:
        stacks = sorted({item.stack for item in self.items})
        return {stack: _sum(i for i in self.items if i.stack == stack) for stack in stacks}

    def by_class(self, stack: str | None = None) -> dict[str, tuple[float, float]]:
        items = [i for i in self.items if stack is None or i.stack == stack]
        return {
            name: _sum(i for i in items if i.resource_class == name)
            for name in CLASSES
            if any(i.resource_class == name for i in items)
        }


def _sum(items: Iterable[LineItem]) -> tuple[float, float]:
    low = high = 0.0
    for item in items:
        low += item.monthly_min or 0.0
        high += item.monthly_max or 0.0
    return low, high


class Pricer:
    """Looks prices up and remembers which were used and which were missing."""

    def __init__(self, prices: RegionPrices | None, region: str) -> None:
        self.prices = prices
        self.region = region
        self.used: dict[str, Price] = {}
        self.missing: list[str] = []

    def __call__(self, key: str) -> float | None:
        if self.prices is None:
            return None
        price = self.prices.get(key)
        if price is None:
            self.missing.append(f"no price for {key.removeprefix('ec2:')} in {self.region}")
            return None
        self.used[key] = price
        return price.usd

    def all(self, *keys: str) -> list[float] | None:
        found = [self(key) for key in keys]
        return (
            None if any(value is None for value in found) else [v for v in found if v is not None]
        )
