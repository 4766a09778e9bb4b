"""The price table shipped with the package (``prices.json``): public list prices by region.

Every price carries the date it was last confirmed and its public source. A region not in the
table, or a price the table does not hold, is reported as such by the estimate, never guessed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

HOURS_PER_MONTH = 730
"""AWS's convention for a month of hours (365 x 24 / 12)."""

_REGION = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d\b")


@dataclass(frozen=True)
class Price:
    """One list price: ``usd`` per ``per``, confirmed on ``date`` from ``source``."""

    key: str
    usd: float
    per: str
    date: str
    source: str
    evidence: str


@dataclass(frozen=True)
class InstanceSpec:
    """What an EC2 instance type offers tasks: vCPUs, memory and awsvpc network interfaces."""

    name: str
    vcpu: int
    memory_gib: float
    enis: int
    """Network interfaces, the primary one included: awsvpc tasks get ``enis - 1``."""
    trunk_enis: int | None
    """awsvpc tasks with ENI trunking; ``None`` where the table does not confirm it."""
    architecture: str
    gpus: int

    def awsvpc_tasks(self, *, trunking: bool) -> int:
        """How many awsvpc tasks the type can hold by network interfaces alone."""
        if trunking and self.trunk_enis:
            return self.trunk_enis
        return max(self.enis - 1, 0)


@dataclass(frozen=True)
class RegionPrices:
    """The prices of one region; ``get`` returns ``None`` for a price the table lacks."""

    region: str
    prices: Mapping[str, Price]

    def get(self, key: str) -> Price | None:
        return self.prices.get(key)

    def instance(self, instance_type: str) -> Price | None:
        return self.prices.get(f"ec2:{instance_type}")


@dataclass(frozen=True)
class PriceTable:
    """Regions, their prices and the instance types the table describes."""

    currency: str
    regions: Mapping[str, RegionPrices]
    instance_types: Mapping[str, InstanceSpec]
    about: str

    def region(self, name: str) -> RegionPrices | None:
        """The prices of ``name``, or ``None`` when the table has none for it."""
        return self.regions.get(name)

    def instance_type(self, name: str) -> InstanceSpec | None:
        return self.instance_types.get(name)


def parse_table(data: Mapping[str, Any]) -> PriceTable:
    """A ``PriceTable`` from the JSON structure of ``prices.json``."""
    regions = {
        region: RegionPrices(
            region,
            {
                key: Price(
                    key=key,
                    usd=float(entry["usd"]),
                    per=str(entry["per"]),
                    date=str(entry["date"]),
                    source=str(entry["source"]),
                    evidence=str(entry.get("evidence", "")),
                )
                for key, entry in prices.items()
            },
        )
        for region, prices in data["regions"].items()
    }
    instance_types = {
        name: InstanceSpec(
            name=name,
            vcpu=int(spec["vcpu"]),
            memory_gib=float(spec["memory_gib"]),
            enis=int(spec["enis"]),
            trunk_enis=spec.get("trunk_enis"),
            architecture=str(spec.get("architecture", "x86_64")),
            gpus=int(spec.get("gpus", 0)),
        )
        for name, spec in data.get("instance_types", {}).items()
    }
    return PriceTable(
        currency=str(data.get("currency", "USD")),
        regions=regions,
        instance_types=instance_types,
        about=str(data.get("about", "")),
    )


@cache
def load_prices() -> PriceTable:
    """The price table shipped with the package."""
    text = resources.files(__package__).joinpath("prices.json").read_text(encoding="utf-8")
    return parse_table(json.loads(text))


def detect_region(templates: Iterable[Mapping[str, Any]]) -> str | None:
    """The region the templates name most often (endpoint service names, cross-stack reads).

    Environment-agnostic templates name none: ``None``.
    """
    found: Counter[str] = Counter()
    for template in templates:
        found.update(_REGION.findall(json.dumps(template.get("Resources", {}))))
    return found.most_common(1)[0][0] if found else None
