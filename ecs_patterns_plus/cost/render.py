"""The estimate as Markdown (readable in a terminal) and as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from ..money import money_range
from .compare import Comparison
from .estimate import NOT_ESTIMATED, Estimate, LineItem
from .prices import HOURS_PER_MONTH


def render_text(
    result: Estimate,
    comparisons: Sequence[Comparison] = (),
    *,
    region_note: str = "",
    title: str = "Monthly estimate",
) -> str:
    """The estimate: totals by stack and class, every line, the Fargate/EC2 comparison, the
    assumptions and the prices used, with their dates and sources."""
    low, high = result.total
    lines = [f"## {title}", ""]
    lines.append(
        f"Region {result.region}; USD a month ({HOURS_PER_MONTH} hours) at list prices, "
        "at the minimum and at the maximum task count."
    )
    if region_note:
        lines.append(f"Note: {region_note}.")
    for message in result.missing:
        lines.append(f"Note: {message}.")
    lines.append("")
    if not result.region_known:
        lines += ["No figures: " + result.missing[0] + ".", ""]
    unpriced = [item for item in result.items if not item.priced]
    more = " + lines without a price" if unpriced else ""
    lines += [f"**Total: {money_range(low, high)}{more}**", ""]
    stacks = result.by_stack()

    def plus(stack: str | None = None, name: str | None = None) -> str:
        missing = any(
            (stack is None or i.stack == stack) and (name is None or i.resource_class == name)
            for i in unpriced
        )
        return " + ?" if missing else ""

    lines += _table(
        ("Stack", "Monthly"),
        [(stack, money_range(*pair) + plus(stack=stack)) for stack, pair in stacks.items()],
        right=(1,),
    )
    lines += _table(
        ("Resource class", "Monthly", "Stacks"),
        [
            (
                name,
                money_range(*pair) + plus(name=name),
                ", ".join(s for s in stacks if name in result.by_class(s)),
            )
            for name, pair in result.by_class().items()
        ],
        right=(1,),
    )
    lines += ["### Lines", ""]
    lines += _table(
        ("Stack", "Resource class", "Resource", "Quantity", "Monthly", "Note"),
        [_line(item) for item in result.items],
        right=(4,),
    )
    if comparisons:
        lines += _comparison(comparisons)
    lines += ["### Assumptions", ""]
    changed = set(result.assumptions.changed())
    lines += _table(
        ("Assumption", "Value", "Meaning"),
        [
            (f"`{name}`" + (" (overridden)" if name in changed else ""), f"{value:g}", meaning)
            for name, value, meaning in result.assumptions.items()
        ],
    )
    lines.append("Override one with `--assumption name=value`.")
    lines.append("")
    if result.prices:
        lines += ["### Prices used", ""]
        lines += _table(
            ("Price", "USD", "Per", "Confirmed", "Source"),
            [
                (
                    p.key,
                    f"{p.usd:g}",
                    p.per,
                    p.date,
                    f"{p.source} ({p.evidence})" if p.evidence else p.source,
                )
                for p in result.prices
            ],
        )
    lines += [f"Not estimated: {NOT_ESTIMATED}.", ""]
    return "\n".join(lines)


def _line(item: LineItem) -> tuple[str, ...]:
    monthly = money_range(item.monthly_min, item.monthly_max)
    return (item.stack, item.resource_class, item.resource, item.basis, monthly, item.note)


def _comparison(comparisons: Sequence[Comparison]) -> list[str]:
    lines = [
        "### Fargate or EC2",
        "",
        "The same tasks on EC2 instances: as many per instance as vCPUs, memory and network "
        "interfaces allow; waste is the share of the instances' vCPUs and memory no task uses.",
        "",
    ]
    rows = []
    for item in comparisons:
        tasks = (
            f"{item.tasks[0]}-{item.tasks[1]}"
            if item.kind == "service" and item.tasks[0] != item.tasks[1]
            else str(item.tasks[0])
        )
        if item.kind == "job":
            tasks += f" x {item.runs_per_month:,.1f} runs"
        waste = (
            f"CPU {_percent(item.waste_cpu)}, memory {_percent(item.waste_memory)}"
            if item.tasks_per_instance
            else "—"
        )
        rows.append(
            (
                item.stack,
                item.workload,
                f"{tasks} x {item.size}",
                money_range(*(item.fargate or (None, None))),
                money_range(*(item.fargate_spot or (None, None))),
                f"{item.tasks_per_instance} per {item.instance_type}",
                money_range(*(item.ec2 or (None, None))),
                money_range(*(item.ec2_spot or (None, None))),
                waste,
                item.break_even,
            )
        )
    lines += _table(
        (
            "Stack",
            "Workload",
            "Tasks",
            "Fargate",
            "Fargate Spot",
            "EC2 packing",
            "EC2 On-Demand",
            "EC2 Spot",
            "EC2 waste (min / max)",
            "Break-even",
        ),
        rows,
        right=(3, 4, 6, 7),
    )
    return lines


def _percent(pair: tuple[float, float]) -> str:
    low, high = (round(value * 100) for value in pair)
    return f"{low} %" if low == high else f"{low} % / {high} %"


def _usd(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()
) -> list[str]:
    if not rows:
        return ["(none)", ""]
    align = ["---:" if index in right else "---" for index in range(len(header))]
    return [
        _row(header),
        "|" + "|".join(align) + "|",
        *(_row(row) for row in rows),
        "",
    ]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"


def to_json(
    result: Estimate, comparisons: Sequence[Comparison] = (), *, region_note: str = ""
) -> dict[str, Any]:
    """The estimate as plain data."""
    low, high = result.total
    return {
        "region": result.region,
        "region_note": region_note,
        "priced": result.region_known,
        "currency": "USD",
        "hours_per_month": HOURS_PER_MONTH,
        "total": {"min": low, "max": high},
        "stacks": {
            stack: {
                "total": {"min": pair[0], "max": pair[1]},
                "classes": {
                    name: {"min": value[0], "max": value[1]}
                    for name, value in result.by_class(stack).items()
                },
            }
            for stack, pair in result.by_stack().items()
        },
        "items": [asdict(item) for item in result.items],
        "comparison": [asdict(item) for item in comparisons],
        "assumptions": {name: value for name, value, _ in result.assumptions.items()},
        "prices": [asdict(price) for price in result.prices],
        "missing": list(result.missing),
        "not_estimated": NOT_ESTIMATED,
    }
