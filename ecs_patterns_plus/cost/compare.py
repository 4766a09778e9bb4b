"""Fargate or EC2: what the app's services and jobs would cost on the configured EC2 capacity.

For each workload that can run on Fargate: its Fargate cost (On-Demand and Spot) and the cost
of the same tasks on EC2 instances (On-Demand and Spot) of the app's first general-purpose
capacity, or of the library's default type (``defaults.EC2_INSTANCE_TYPES[0]``) when the app
has none. An instance holds as many tasks as its vCPUs, its memory (less
``ec2_memory_overhead_mib``) and its network interfaces allow (each awsvpc task takes one
interface; the primary one is the instance's own, ENI trunking raises the limit): what the
instances offer beyond that is bin-packing waste. The break-even point is the task count (a
service) or the run length (a job) from which EC2 On-Demand costs no more than Fargate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .. import defaults
from ..review.templates import Template
from .assumptions import Assumptions
from .estimate import tasks_per_instance
from .prices import HOURS_PER_MONTH, InstanceSpec, PriceTable, load_prices
from .workloads import App, TaskSize, Workload, read_app

BREAK_EVEN_LIMIT = 100_000
"""Task counts searched for a break-even point."""

Pair = tuple[float, float]


@dataclass(frozen=True)
class Comparison:
    """One workload on Fargate and on EC2, at its minimum and maximum task count.

    Costs are USD a month, ``None`` where a price is missing. ``waste_cpu`` and
    ``waste_memory`` are the shares of the instances' vCPUs and memory no task uses.
    """

    stack: str
    workload: str
    kind: str
    size: str
    instance_type: str
    tasks_per_instance: int
    tasks: tuple[int, int]
    instances: tuple[int, int]
    fargate: Pair | None
    fargate_spot: Pair | None
    ec2: Pair | None
    ec2_spot: Pair | None
    waste_cpu: Pair
    waste_memory: Pair
    break_even: str
    runs_per_month: float = 0.0


def compare(
    templates: Mapping[str, Template],
    *,
    region: str,
    assumptions: Assumptions | None = None,
    table: PriceTable | None = None,
) -> tuple[Comparison, ...]:
    """The Fargate/EC2 comparison of every Fargate-capable service and job in ``templates``."""
    assumptions = assumptions or Assumptions()
    table = table or load_prices()
    app = read_app(templates)
    result = []
    for workload in app.workloads:
        size = workload.size
        if workload.kind == "daemon" or size is None or not size.fargate:
            continue
        item = _compare(workload, size, app, region, assumptions, table)
        if item:
            result.append(item)
    return tuple(result)


def _instance(app: App, size: TaskSize, table: PriceTable) -> tuple[InstanceSpec | None, float]:
    """The EC2 type to compare with and its root volume (GiB)."""
    architecture = "arm64" if size.arm else "x86_64"
    for capacity in app.capacities.values():
        spec = table.instance_type(capacity.instance_type or "")
        if spec and not spec.gpus and spec.architecture == architecture:
            return spec, capacity.volume_gib
    if size.arm:
        return None, 0.0
    return table.instance_type(defaults.EC2_INSTANCE_TYPES[0]), float(defaults.EC2_ROOT_VOLUME_GIB)


def _compare(
    workload: Workload,
    size: TaskSize,
    app: App,
    region: str,
    a: Assumptions,
    table: PriceTable,
) -> Comparison | None:
    spec, volume = _instance(app, size, table)
    if spec is None:
        return None
    prices = table.region(region)
    arm = "_arm" if size.arm else ""
    vcpu = prices.get(f"fargate{arm}_vcpu_hour") if prices else None
    gb = prices.get(f"fargate{arm}_gb_hour") if prices else None
    hourly = prices.instance(spec.name) if prices else None
    gp3 = prices.get("ebs_gp3_gb_month") if prices else None
    task_hour = vcpu.usd * size.vcpu + gb.usd * size.memory_gb if vcpu and gb else None
    instance_month = hourly.usd * HOURS_PER_MONTH + volume * gp3.usd if hourly and gp3 else None
    per = tasks_per_instance(spec, size, a)
    fargate_spot = 1 - a.fargate_spot_discount
    ec2_spot = 1 - a.ec2_spot_discount
    counts = (workload.min_tasks, workload.max_tasks)
    if per == 0:
        return Comparison(
            workload.stack,
            workload.name,
            workload.kind,
            size.describe(),
            spec.name,
            0,
            counts,
            (0, 0),
            None,
            None,
            None,
            None,
            (0.0, 0.0),
            (0.0, 0.0),
            f"a task does not fit on {spec.name}",
        )
    if workload.kind == "service":
        instances = (math.ceil(counts[0] / per), math.ceil(counts[1] / per))
        fargate = _both(task_hour, [n * HOURS_PER_MONTH for n in counts])
        ec2 = _both(instance_month, [float(i) for i in instances])
        break_even = _service_break_even(task_hour, instance_month, per)
    else:
        minutes = max(a.job_minutes, 1.0)
        instances = (math.ceil(counts[0] / per),) * 2
        task_hours = workload.runs_per_month * counts[0] * minutes / 60
        instance_hours = (
            workload.runs_per_month * instances[0] * (minutes + a.ec2_extra_minutes_per_run) / 60
        )
        fargate = _both(task_hour, [task_hours] * 2)
        ec2 = _both(instance_month, [instance_hours / HOURS_PER_MONTH] * 2)
        break_even = _job_break_even(task_hour, instance_month, counts[0], instances[0], a)
    cpu = spec.vcpu * 1024
    memory = spec.memory_gib * 1024
    waste_cpu = [
        _waste(n * size.cpu_units, i * cpu) for n, i in zip(counts, instances, strict=True)
    ]
    waste_memory = [
        _waste(n * size.memory_mib, i * memory) for n, i in zip(counts, instances, strict=True)
    ]
    return Comparison(
        stack=workload.stack,
        workload=workload.name,
        kind=workload.kind,
        size=size.describe(),
        instance_type=spec.name,
        tasks_per_instance=per,
        tasks=counts,
        instances=(instances[0], instances[1]),
        fargate=fargate,
        fargate_spot=_scale(fargate, fargate_spot),
        ec2=ec2,
        ec2_spot=_scale(ec2, ec2_spot),
        waste_cpu=(waste_cpu[0], waste_cpu[1]),
        waste_memory=(waste_memory[0], waste_memory[1]),
        break_even=break_even,
        runs_per_month=workload.runs_per_month,
    )


def _both(rate: float | None, quantities: list[float]) -> Pair | None:
    """``rate`` times each quantity, or ``None`` without a rate."""
    return None if rate is None else (rate * quantities[0], rate * quantities[1])


def _scale(pair: Pair | None, factor: float) -> Pair | None:
    return None if pair is None else (pair[0] * factor, pair[1] * factor)


def _waste(used: float, offered: float) -> float:
    return 0.0 if offered <= 0 else max(0.0, 1 - used / offered)


def _service_break_even(task_hour: float | None, instance_month: float | None, per: int) -> str:
    if task_hour is None or instance_month is None:
        return "no price"
    task_month = task_hour * HOURS_PER_MONTH
    if instance_month > per * task_month:
        return f"never: a full instance ({per} tasks) costs more than {per} Fargate tasks"
    last_failure = 0
    for tasks in range(1, BREAK_EVEN_LIMIT + 1):
        if math.ceil(tasks / per) * instance_month > tasks * task_month + 1e-9:
            last_failure = tasks
    if last_failure == BREAK_EVEN_LIMIT:
        return f"above {BREAK_EVEN_LIMIT:,} tasks"
    return f"EC2 On-Demand is cheaper from {last_failure + 1} tasks"


def _job_break_even(
    task_hour: float | None,
    instance_month: float | None,
    tasks: int,
    instances: int,
    a: Assumptions,
) -> str:
    if task_hour is None or instance_month is None:
        return "no price"
    fargate_minute = tasks * task_hour / 60
    ec2_minute = instances * instance_month / HOURS_PER_MONTH / 60
    if fargate_minute <= ec2_minute:
        return "never: an instance-minute costs more than the tasks' Fargate minute"
    minutes = a.ec2_extra_minutes_per_run * ec2_minute / (fargate_minute - ec2_minute)
    return f"EC2 On-Demand is cheaper for runs longer than {minutes:,.0f} min"
