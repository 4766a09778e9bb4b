"""Read what runs from synthesized templates: services, jobs, their task sizes and placement.

Pure functions over template dicts. What they rely on (CloudFormation resource reference):

- ``AWS::ECS::Service``: ``DesiredCount`` defaults to 1; an Application Auto Scaling
  ``ScalableTarget`` whose ``ResourceId`` names the service sets the range of task counts
  (``MinCapacity`` .. ``MaxCapacity``); ``LaunchType`` or ``CapacityProviderStrategy`` (else the
  cluster's default strategy) says where tasks run; ``SchedulingStrategy: DAEMON`` runs one task
  per container instance, on EC2 capacity.
- A capacity provider strategy places the ``Base`` tasks on its provider first, then the rest in
  proportion to the ``Weight`` s.
- ``AWS::ECS::TaskDefinition``: task-level ``Cpu`` (units, 1,024 a vCPU) and ``Memory`` (MiB) are
  what Fargate bills; ``RuntimePlatform.CpuArchitecture: ARM64`` bills at the ARM rates.
- ``AWS::Scheduler::Schedule``: ``cron(min hour day-of-month month day-of-week year)``,
  ``rate(n unit)`` or ``at(...)`` (one run); ``Target.EcsParameters`` holds the task definition,
  ``TaskCount`` (default 1) and the placement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..review.templates import Template, references, resources, short_id
from .prices import HOURS_PER_MONTH

FARGATE = "FARGATE"
FARGATE_SPOT = "FARGATE_SPOT"
EC2_UNKNOWN = "EC2"
"""Placement on EC2 capacity these templates do not describe."""

Key = tuple[str, str]
"""(stack, logical id) of a resource."""


@dataclass(frozen=True)
class TaskSize:
    """What one task asks for, as Fargate bills it."""

    cpu_units: int
    memory_mib: int
    arm: bool = False
    gpu: bool = False
    fargate: bool = True
    """The task definition may run on Fargate (no GPU, FARGATE compatibility or none stated)."""

    @property
    def vcpu(self) -> float:
        return self.cpu_units / 1024

    @property
    def memory_gb(self) -> float:
        return self.memory_mib / 1024

    def describe(self) -> str:
        arch = " ARM64" if self.arm else ""
        return f"{_num(self.vcpu)} vCPU/{_num(self.memory_gb)} GB{arch}"


@dataclass(frozen=True)
class StrategyItem:
    provider: str
    """``FARGATE``, ``FARGATE_SPOT``, ``EC2`` (unknown capacity) or a capacity provider key."""
    weight: float = 1.0
    base: int = 0


@dataclass(frozen=True)
class Capacity:
    """An EC2 capacity: an Auto Scaling group behind an ECS capacity provider."""

    stack: str
    logical_id: str
    provider_id: str | None
    instance_type: str | None
    min_size: int
    max_size: int
    on_demand_base: int = 0
    on_demand_percent: float = 100.0
    volume_gib: float = 0.0


@dataclass(frozen=True)
class Workload:
    """A service or a scheduled job: how many tasks of which size run where."""

    stack: str
    logical_id: str
    kind: Literal["service", "job", "daemon"]
    size: TaskSize | None
    strategy: tuple[StrategyItem, ...]
    min_tasks: int = 0
    max_tasks: int = 0
    runs_per_month: float = 0.0
    schedule: str = ""
    log_groups: tuple[str, ...] = ()
    cluster: Key | None = None
    family: str = ""

    @property
    def name(self) -> str:
        return short_id(self.logical_id)


@dataclass(frozen=True)
class App:
    """Everything the estimate reads from a set of templates, by stack."""

    workloads: tuple[Workload, ...] = ()
    capacities: Mapping[str, Capacity] = field(default_factory=dict)
    """By capacity key ``stack/provider logical id``."""
    insights: Mapping[Key, str] = field(default_factory=dict)
    """Cluster -> its containerInsights setting (``enabled``, ``enhanced``, ``disabled``)."""


def split_tasks(tasks: float, strategy: Iterable[StrategyItem]) -> dict[str, float]:
    """Tasks per provider: each provider's ``base`` first, the rest in proportion to weight."""
    items = list(strategy) or [StrategyItem(FARGATE)]
    result: dict[str, float] = {}
    left = tasks
    for item in items:
        placed = min(float(item.base), left)
        if placed:
            result[item.provider] = result.get(item.provider, 0.0) + placed
            left -= placed
    weights = sum(item.weight for item in items)
    if left > 0:
        for item in items:
            share = item.weight / weights if weights else 1 / len(items)
            if share:
                result[item.provider] = result.get(item.provider, 0.0) + left * share
    return result


def read_app(templates: Mapping[str, Template]) -> App:
    """The workloads, EC2 capacities and clusters of ``templates`` (stack name -> template)."""
    by_stack = {name: resources(template) for name, template in templates.items()}
    clusters: dict[Key, Mapping[str, Any]] = {}
    defaults: dict[Key, tuple[StrategyItem, ...]] = {}
    providers: dict[Key, Mapping[str, Any]] = {}
    for stack, items in by_stack.items():
        for logical_id, resource in items.items():
            if resource["Type"] == "AWS::ECS::Cluster":
                clusters[(stack, logical_id)] = resource.get("Properties", {})
            elif resource["Type"] == "AWS::ECS::CapacityProvider":
                providers[(stack, logical_id)] = resource.get("Properties", {})
    for stack, items in by_stack.items():
        for resource in items.values():
            if resource["Type"] == "AWS::ECS::ClusterCapacityProviderAssociations":
                props = resource.get("Properties", {})
                cluster = _resolve(props.get("Cluster"), stack, clusters)
                if cluster:
                    defaults[cluster] = _strategy(
                        props.get("DefaultCapacityProviderStrategy"), stack, providers
                    )
    capacities = _capacities(by_stack, providers)
    insights = {key: _insights(props) for key, props in clusters.items()}
    workloads: list[Workload] = []
    for stack, items in by_stack.items():
        targets = _scalable_targets(items)
        for logical_id, resource in items.items():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::ECS::Service":
                workloads.append(
                    _service(
                        stack, logical_id, props, items, targets, clusters, providers, defaults
                    )
                )
            elif resource["Type"] == "AWS::Scheduler::Schedule":
                job = _job(stack, logical_id, props, items, clusters, providers, defaults)
                if job:
                    workloads.append(job)
    return App(tuple(workloads), capacities, insights)


def _service(
    stack: str,
    logical_id: str,
    props: Mapping[str, Any],
    items: Mapping[str, Any],
    targets: Mapping[str, tuple[int, int]],
    clusters: Mapping[Key, Any],
    providers: Mapping[Key, Any],
    defaults: Mapping[Key, tuple[StrategyItem, ...]],
) -> Workload:
    definition_id = _ref_id(props.get("TaskDefinition"), items)
    definition = items.get(definition_id, {}).get("Properties", {}) if definition_id else {}
    cluster = _resolve(props.get("Cluster"), stack, clusters)
    desired = _int(props.get("DesiredCount"), 1)
    low, high = targets.get(logical_id, (desired, desired))
    daemon = props.get("SchedulingStrategy") == "DAEMON"
    strategy = _placement(props, stack, providers, defaults.get(cluster, ()) if cluster else ())
    return Workload(
        stack=stack,
        logical_id=logical_id,
        kind="daemon" if daemon else "service",
        size=_task_size(definition) if definition else None,
        strategy=(StrategyItem(EC2_UNKNOWN),) if daemon else strategy,
        min_tasks=low,
        max_tasks=high,
        log_groups=_log_groups(definition, items),
        cluster=cluster,
        family=str(definition.get("Family", "")) or (definition_id or ""),
    )


def _job(
    stack: str,
    logical_id: str,
    props: Mapping[str, Any],
    items: Mapping[str, Any],
    clusters: Mapping[Key, Any],
    providers: Mapping[Key, Any],
    defaults: Mapping[Key, tuple[StrategyItem, ...]],
) -> Workload | None:
    target = props.get("Target", {})
    ecs = target.get("EcsParameters") if isinstance(target, dict) else None
    if not isinstance(ecs, dict):
        return None
    definition_id = _ref_id(ecs.get("TaskDefinitionArn"), items)
    definition = items.get(definition_id, {}).get("Properties", {}) if definition_id else {}
    cluster = _resolve(target.get("Arn"), stack, clusters)
    count = _int(ecs.get("TaskCount"), 1)
    expression = str(props.get("ScheduleExpression", ""))
    enabled = props.get("State", "ENABLED") != "DISABLED"
    runs = runs_per_month(expression) if enabled else 0.0
    return Workload(
        stack=stack,
        logical_id=logical_id,
        kind="job",
        size=_task_size(definition) if definition else None,
        strategy=_placement(ecs, stack, providers, defaults.get(cluster, ()) if cluster else ()),
        min_tasks=count,
        max_tasks=count,
        runs_per_month=runs or 0.0,
        schedule=expression if enabled else f"{expression} (disabled)",
        log_groups=_log_groups(definition, items),
        cluster=cluster,
        family=str(definition.get("Family", "")) or (definition_id or ""),
    )


def _placement(
    props: Mapping[str, Any],
    stack: str,
    providers: Mapping[Key, Any],
    cluster_default: tuple[StrategyItem, ...],
) -> tuple[StrategyItem, ...]:
    if props.get("CapacityProviderStrategy"):
        return _strategy(props["CapacityProviderStrategy"], stack, providers)
    launch_type = props.get("LaunchType")
    if launch_type == "FARGATE":
        return (StrategyItem(FARGATE),)
    if launch_type in ("EC2", "EXTERNAL"):
        ec2 = [item for item in cluster_default if item.provider not in (FARGATE, FARGATE_SPOT)]
        return (ec2[0],) if ec2 else (StrategyItem(EC2_UNKNOWN),)
    return cluster_default or (StrategyItem(FARGATE),)


def _strategy(value: Any, stack: str, providers: Mapping[Key, Any]) -> tuple[StrategyItem, ...]:
    if not isinstance(value, list):
        return ()
    result = []
    for item in value:
        if not isinstance(item, dict):
            continue
        name = item.get("CapacityProvider")
        if name in (FARGATE, FARGATE_SPOT):
            provider = str(name)
        else:
            key = _resolve(name, stack, providers)
            provider = f"{key[0]}/{key[1]}" if key else EC2_UNKNOWN
        result.append(
            StrategyItem(
                provider, weight=float(_int(item.get("Weight"), 0)), base=_int(item.get("Base"), 0)
            )
        )
    return tuple(result)


def _capacities(
    by_stack: Mapping[str, Mapping[str, Any]], providers: Mapping[Key, Mapping[str, Any]]
) -> dict[str, Capacity]:
    groups: dict[Key, str] = {}
    for (stack, provider_id), props in providers.items():
        group = props.get("AutoScalingGroupProvider", {}).get("AutoScalingGroupArn")
        for target, _ in references(group):
            groups[(stack, target)] = provider_id
    result: dict[str, Capacity] = {}
    for stack, items in by_stack.items():
        for logical_id, resource in items.items():
            if resource["Type"] != "AWS::AutoScaling::AutoScalingGroup":
                continue
            props = resource.get("Properties", {})
            provider = groups.get((stack, logical_id))
            capacity = _capacity(stack, logical_id, provider, props, items)
            result[f"{stack}/{provider or logical_id}"] = capacity
    return result


def _capacity(
    stack: str,
    logical_id: str,
    provider_id: str | None,
    props: Mapping[str, Any],
    items: Mapping[str, Any],
) -> Capacity:
    mixed = props.get("MixedInstancesPolicy") or {}
    template_spec = (mixed.get("LaunchTemplate") or {}).get("LaunchTemplateSpecification") or (
        props.get("LaunchTemplate") or {}
    )
    template_id = _ref_id(template_spec.get("LaunchTemplateId"), items)
    data = (
        items.get(template_id, {}).get("Properties", {}).get("LaunchTemplateData", {})
        if template_id
        else {}
    )
    overrides = (mixed.get("LaunchTemplate") or {}).get("Overrides") or []
    instance_type = next(
        (o["InstanceType"] for o in overrides if isinstance(o.get("InstanceType"), str)), None
    ) or (data.get("InstanceType") if isinstance(data.get("InstanceType"), str) else None)
    distribution = mixed.get("InstancesDistribution") or {}
    volume = sum(
        float(_int((mapping.get("Ebs") or {}).get("VolumeSize"), 0))
        for mapping in data.get("BlockDeviceMappings", [])
        if isinstance(mapping, dict)
    )
    return Capacity(
        stack=stack,
        logical_id=logical_id,
        provider_id=provider_id,
        instance_type=instance_type,
        min_size=_int(props.get("MinSize"), 0),
        max_size=_int(props.get("MaxSize"), 0),
        on_demand_base=_int(distribution.get("OnDemandBaseCapacity"), 0) if mixed else 0,
        on_demand_percent=float(
            _int(distribution.get("OnDemandPercentageAboveBaseCapacity"), 100) if mixed else 100
        ),
        volume_gib=volume,
    )


def _scalable_targets(items: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    result: dict[str, tuple[int, int]] = {}
    for resource in items.values():
        if resource["Type"] != "AWS::ApplicationAutoScaling::ScalableTarget":
            continue
        props = resource.get("Properties", {})
        if props.get("ScalableDimension") != "ecs:service:DesiredCount":
            continue
        for target, _ in references(props.get("ResourceId")):
            if items.get(target, {}).get("Type") == "AWS::ECS::Service":
                result[target] = (
                    _int(props.get("MinCapacity"), 0),
                    _int(props.get("MaxCapacity"), 0),
                )
    return result


def _task_size(definition: Mapping[str, Any]) -> TaskSize | None:
    containers = [c for c in definition.get("ContainerDefinitions", []) if isinstance(c, dict)]
    cpu = _int(definition.get("Cpu"), 0) or sum(_int(c.get("Cpu"), 0) for c in containers)
    memory = _int(definition.get("Memory"), 0) or sum(
        _int(c.get("MemoryReservation"), 0) or _int(c.get("Memory"), 0) for c in containers
    )
    if not cpu or not memory:
        return None
    platform = definition.get("RuntimePlatform") or {}
    gpu = any(
        isinstance(r, dict) and r.get("Type") == "GPU"
        for c in containers
        for r in c.get("ResourceRequirements", []) or []
    )
    compatibilities = definition.get("RequiresCompatibilities") or []
    fargate = not gpu and (not compatibilities or "FARGATE" in compatibilities)
    return TaskSize(cpu, memory, platform.get("CpuArchitecture") == "ARM64", gpu, fargate)


def _log_groups(definition: Mapping[str, Any], items: Mapping[str, Any]) -> tuple[str, ...]:
    found = []
    for container in definition.get("ContainerDefinitions", []):
        options = ((container or {}).get("LogConfiguration") or {}).get("Options") or {}
        for target, _ in references(options.get("awslogs-group")):
            if items.get(target, {}).get("Type") == "AWS::Logs::LogGroup" and target not in found:
                found.append(target)
    return tuple(found)


def _insights(props: Mapping[str, Any]) -> str:
    for setting in props.get("ClusterSettings", []) or []:
        if isinstance(setting, dict) and setting.get("Name") == "containerInsights":
            value = setting.get("Value")
            return value if isinstance(value, str) else "enabled"
    return "disabled"


def _resolve(value: Any, stack: str, candidates: Mapping[Key, Any]) -> Key | None:
    """The candidate ``value`` refers to: a Ref/GetAtt in ``stack``, or one whose logical id
    appears in a cross-stack read (CDK names outputs and exports after the resource)."""
    for target, _ in references(value):
        if (stack, target) in candidates:
            return (stack, target)
    if value is None or isinstance(value, str):
        return None
    text = json.dumps(value)
    matches = [key for key in candidates if key[1] in text]
    return max(matches, key=lambda key: len(key[1])) if matches else None


def _ref_id(value: Any, items: Mapping[str, Any]) -> str | None:
    if isinstance(value, str):
        return value if value in items else None
    for target, _ in references(value):
        if target in items:
            return target
    return None


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return default
    return default


def _num(value: float) -> str:
    return f"{value:g}"


# --- Schedules ------------------------------------------------------------------------------

DAYS_PER_MONTH = HOURS_PER_MONTH / 24
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7
_MONTHS = {
    name: index
    for index, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {
    name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)
}
_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


def runs_per_month(expression: str) -> float | None:
    """How often a schedule runs in an average month (730 hours); ``None`` if unreadable.

    ``at(...)`` runs once, not monthly: 0. Day-of-month values count once a month each
    (months shorter than the day are ignored), day-of-week values once a week.
    """
    expression = expression.strip()
    if expression.startswith("at("):
        return 0.0
    rate = _RATE.match(expression)
    if rate:
        minutes = int(rate.group(1)) * _UNIT_MINUTES[rate.group(2).rstrip("s")]
        return HOURS_PER_MONTH * 60 / minutes if minutes else None
    if not (expression.startswith("cron(") and expression.endswith(")")):
        return None
    fields = expression[5:-1].split()
    if len(fields) != 6:
        return None
    minute, hour, day, month, weekday, _year = fields
    try:
        minutes = _count(minute, 0, 59, {})
        hours = _count(hour, 0, 23, {})
        months = _count(month, 1, 12, _MONTHS)
        if day in ("*", "?") and weekday in ("*", "?"):
            days = DAYS_PER_MONTH
        elif day in ("*", "?"):
            monthly = sum(1 for part in weekday.split(",") if "#" in part or part.endswith("L"))
            weekly = [p for p in weekday.split(",") if "#" not in p and not p.endswith("L")]
            days = monthly + (
                _count(",".join(weekly), 1, 7, _DAYS) * WEEKS_PER_MONTH if weekly else 0
            )
        else:
            special = sum(1 for part in day.split(",") if part in ("L", "LW") or part.endswith("W"))
            plain = [p for p in day.split(",") if p not in ("L", "LW") and not p.endswith("W")]
            days = special + (_count(",".join(plain), 1, 31, {}) if plain else 0)
    except ValueError:
        return None
    return minutes * hours * days * months / 12


def _count(field: str, low: int, high: int, names: Mapping[str, int]) -> int:
    """How many values of [low, high] a cron field selects (``ValueError`` if unreadable)."""
    if field in ("*", "?"):
        return high - low + 1
    selected: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
            if step <= 0:
                raise ValueError(field)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(part, names)
            end = high if step > 1 else start
        if not low <= start <= end <= high:
            raise ValueError(field)
        selected.update(range(start, end + 1, step))
    return len(selected)


def _value(text: str, names: Mapping[str, int]) -> int:
    upper = text.upper()
    return names[upper] if upper in names else int(text)


# --- Other resources ------------------------------------------------------------------------

_SERVICE = re.compile(r"com\.amazonaws\.[a-z0-9-]+\.(.+)$")


def flow_log_groups(items: Mapping[str, Any]) -> set[str]:
    """Logical ids of the log groups a VPC flow log of the stack writes to."""
    found: set[str] = set()
    for resource in items.values():
        if resource["Type"] == "AWS::EC2::FlowLog":
            props = resource.get("Properties", {}) or {}
            for value in (props.get("LogGroupName"), props.get("LogDestination")):
                found.update(target for target, _ in references(value))
    return found


def paid_rule_groups(props: Mapping[str, Any]) -> str:
    """A note naming the web ACL's AWS managed rule groups that carry their own fees."""
    paid = {
        "AWSManagedRulesBotControlRuleSet",
        "AWSManagedRulesATPRuleSet",
        "AWSManagedRulesACFPRuleSet",
    }
    names = {
        (rule.get("Statement") or {}).get("ManagedRuleGroupStatement", {}).get("Name")
        for rule in props.get("Rules") or []
        if isinstance(rule, dict)
    }
    used = sorted(paid & {n for n in names if isinstance(n, str)})
    return f"subscription and request fees of {', '.join(used)} not included" if used else ""


def endpoint_service(value: Any) -> str | None:
    """``ecr.api`` for ``com.amazonaws.<region>.ecr.api``; ``None`` for an intrinsic."""
    if isinstance(value, str):
        match = _SERVICE.search(value)
        return match.group(1) if match else value
    return None
