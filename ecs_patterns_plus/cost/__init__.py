"""What synthesized templates will cost a month, before ``cdk deploy``: offline, from a price table.

``python -m ecs_patterns_plus.cost cdk.out`` prints the estimate by stack and resource class,
with its assumptions and the date and source of every price; ``estimate``, ``compare`` and
``cost_delta`` are the same, as code, over template dicts.
"""

from .assumptions import Assumptions
from .compare import Comparison, compare
from .delta import ClassDelta, CostDelta, cost_delta, resolve_region
from .estimate import CLASSES, Estimate, LineItem, estimate, tasks_per_instance
from .prices import HOURS_PER_MONTH, Price, PriceTable, RegionPrices, load_prices
from .render import render_text, to_json
from .workloads import runs_per_month

__all__ = [
    "CLASSES",
    "HOURS_PER_MONTH",
    "Assumptions",
    "ClassDelta",
    "Comparison",
    "CostDelta",
    "Estimate",
    "LineItem",
    "Price",
    "PriceTable",
    "RegionPrices",
    "compare",
    "cost_delta",
    "estimate",
    "load_prices",
    "render_text",
    "resolve_region",
    "runs_per_month",
    "tasks_per_instance",
    "to_json",
]
