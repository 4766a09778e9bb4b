"""A monthly estimate of synthesized templates: one line per billed resource, by stack and class.

Pure functions over template dicts and the shipped price table. The figures are list prices
for a month of 730 hours, at the minimum and at the maximum task count; whatever depends on
traffic comes from ``Assumptions``. What is billed, and how (AWS pricing pages):

- Fargate: vCPU-hours and GB-hours of each running task (ARM64 at the ARM rates, Fargate Spot
  at ``fargate_spot_discount`` off); scheduled jobs for their runs.
- EC2 capacity: instance-hours of the Auto Scaling group (Spot share at ``ec2_spot_discount``
  off) and its EBS gp3 volumes; managed scaling keeps as many instances as the tasks need,
  within the group's MinSize and MaxSize.
- Load balancers: hours plus LCUs (NLCUs); NAT gateways: hours plus GB processed; interface
  endpoints: hours per Availability Zone plus GB processed; public IPv4: address-hours (EIPs and
  the nodes of internet-facing load balancers, one per subnet).
- KMS: key-months plus requests; Secrets Manager: secret-months; WAF: web ACLs, rules and
  requests.
- CloudWatch: alarms per metric they watch (metric math alarms count every metric, anomaly
  detection three), composite alarms and dashboards per month; Container Insights metrics as
  custom metrics (11 per cluster, 13 per service and 8 per task family: the metrics and
  dimensions table of "Amazon ECS Container Insights metrics") plus its performance events as
  log ingestion; log groups for ingestion and storage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..review.templates import Template, resources, short_id
from .assumptions import Assumptions
from .model import (
    ALARM_CLASS,
    CLASSES,
    DASHBOARD_CLASS,
    EC2_CLASS,
    ENDPOINT_CLASS,
    FARGATE_CLASS,
    INSIGHTS_CLASS,
    INSIGHTS_METRICS_PER_CLUSTER,
    INSIGHTS_METRICS_PER_FAMILY,
    INSIGHTS_METRICS_PER_SERVICE,
    IPV4_CLASS,
    KMS_CLASS,
    LB_CLASS,
    LOG_CLASS,
    NAT_CLASS,
    NOT_ESTIMATED,
    SECRET_CLASS,
    WAF_CLASS,
    Estimate,
    LineItem,
    Pricer,
)
from .prices import HOURS_PER_MONTH, InstanceSpec, PriceTable, load_prices
from .workloads import (
    EC2_UNKNOWN,
    FARGATE,
    FARGATE_SPOT,
    App,
    Capacity,
    Key,
    TaskSize,
    Workload,
    endpoint_service,
    flow_log_groups,
    paid_rule_groups,
    read_app,
    split_tasks,
)


def estimate(
    templates: Mapping[str, Template],
    *,
    region: str,
    assumptions: Assumptions | None = None,
    table: PriceTable | None = None,
) -> Estimate:
    """The monthly estimate of ``templates`` (stack name -> template) in ``region``."""
    assumptions = assumptions or Assumptions()
    table = table or load_prices()
    prices = table.region(region)
    pricer = Pricer(prices, region)
    if prices is None:
        known = ", ".join(sorted(table.regions))
        pricer.missing.append(f"no prices for region {region} (the table has {known})")
    app = read_app(templates)
    builder = _Builder(templates, app, pricer, table, assumptions)
    order = {name: index for index, name in enumerate(CLASSES)}
    items = sorted(
        builder.build(), key=lambda i: (i.stack, order[i.resource_class], i.resource.lower())
    )
    return Estimate(
        region=region,
        items=tuple(items),
        assumptions=assumptions,
        prices=tuple(sorted(pricer.used.values(), key=lambda price: price.key)),
        missing=tuple(dict.fromkeys(pricer.missing)),
        region_known=prices is not None,
    )


class _Builder:
    def __init__(
        self,
        templates: Mapping[str, Template],
        app: App,
        price: Pricer,
        table: PriceTable,
        assumptions: Assumptions,
    ) -> None:
        self.templates = templates
        self.app = app
        self.price = price
        self.table = table
        self.a = assumptions
        self.items: list[LineItem] = []

    def add(
        self,
        stack: str,
        resource_class: str,
        resource: str,
        basis: str,
        low: float | None,
        high: float | None = None,
        note: str = "",
    ) -> None:
        self.items.append(
            LineItem(
                stack, resource_class, resource, basis, low, low if high is None else high, note
            )
        )

    def build(self) -> list[LineItem]:
        for workload in self.app.workloads:
            self.fargate(workload)
        for key, capacity in self.app.capacities.items():
            self.capacity(key, capacity)
        for stack, template in self.templates.items():
            self.resources(stack, resources(template))
        self.insights()
        return self.items

    # --- Compute ------------------------------------------------------------------------

    def task_rate(self, size: TaskSize) -> float | None:
        arm = "_arm" if size.arm else ""
        rates = self.price.all(f"fargate{arm}_vcpu_hour", f"fargate{arm}_gb_hour")
        return None if rates is None else size.vcpu * rates[0] + size.memory_gb * rates[1]

    def fargate(self, workload: Workload) -> None:
        if workload.kind == "daemon":
            return
        size = workload.size
        on_fargate = [
            i.provider for i in workload.strategy if i.provider in (FARGATE, FARGATE_SPOT)
        ]
        if any(i.provider == EC2_UNKNOWN for i in workload.strategy):
            self.add(
                workload.stack,
                EC2_CLASS,
                workload.name,
                "tasks on EC2 capacity these templates do not hold",
                None,
                note="priced with the capacity, where its template is estimated",
            )
        if not on_fargate:
            return
        if size is None:
            self.add(
                workload.stack, FARGATE_CLASS, workload.name, "task size not in the template", None
            )
            return
        rate = self.task_rate(size)
        spot = 1 - self.a.fargate_spot_discount
        placement = _placement_text(workload)
        if workload.kind == "service":
            costs = []
            for tasks in (workload.min_tasks, workload.max_tasks):
                split = split_tasks(tasks, workload.strategy)
                billed = split.get(FARGATE, 0.0) + split.get(FARGATE_SPOT, 0.0) * spot
                costs.append(None if rate is None else billed * rate * HOURS_PER_MONTH)
            count = _range(workload.min_tasks, workload.max_tasks)
            basis = f"{count} tasks x {size.describe()} x {HOURS_PER_MONTH} h{placement}"
            self.add(workload.stack, FARGATE_CLASS, workload.name, basis, costs[0], costs[1])
            return
        split = split_tasks(workload.min_tasks, workload.strategy)
        billed = split.get(FARGATE, 0.0) + split.get(FARGATE_SPOT, 0.0) * spot
        minutes = max(self.a.job_minutes, 1.0)
        cost = None if rate is None else workload.runs_per_month * billed * minutes / 60 * rate
        basis = (
            f"{_num(workload.runs_per_month)} runs ({workload.schedule}) x "
            f"{workload.min_tasks} task x {_num(minutes)} min x {size.describe()}{placement}"
        )
        note = "one run, not a monthly cost" if workload.schedule.startswith("at(") else ""
        self.add(workload.stack, FARGATE_CLASS, workload.name, basis, cost, cost, note)

    def capacity(self, key: str, capacity: Capacity) -> None:
        spec = self.table.instance_type(capacity.instance_type or "")
        hourly = self.price(f"ec2:{capacity.instance_type}") if capacity.instance_type else None
        needed = [0.0, 0.0]
        job_hours = 0.0
        for workload in self.app.workloads:
            if workload.size is None or workload.kind == "daemon":
                continue
            per = tasks_per_instance(spec, workload.size, self.a) if spec else 1
            if workload.kind == "service":
                for index, tasks in enumerate((workload.min_tasks, workload.max_tasks)):
                    placed = split_tasks(tasks, workload.strategy).get(key, 0.0)
                    needed[index] += placed / max(per, 1)
            else:
                placed = split_tasks(workload.min_tasks, workload.strategy).get(key, 0.0)
                if placed:
                    minutes = max(self.a.job_minutes, 1.0) + self.a.ec2_extra_minutes_per_run
                    instances = math.ceil(placed / max(per, 1))
                    job_hours += workload.runs_per_month * instances * minutes / 60
        counts = [
            min(
                max(capacity.min_size, math.ceil(n - 1e-9)),
                max(capacity.max_size, capacity.min_size),
            )
            for n in needed
        ]
        gp3 = self.price("ebs_gp3_gb_month") if capacity.volume_gib else 0.0
        costs: list[float | None] = []
        for count in counts:
            if hourly is None or gp3 is None:
                costs.append(None)
                continue
            on_demand = _on_demand(count, capacity)
            rate = hourly * (on_demand + (count - on_demand) * (1 - self.a.ec2_spot_discount))
            job_rate = hourly * (
                1 - self.a.ec2_spot_discount if capacity.on_demand_percent < 100 else 1
            )
            instance_hours = count * HOURS_PER_MONTH + job_hours
            storage = capacity.volume_gib * gp3 * instance_hours / HOURS_PER_MONTH
            costs.append(rate * HOURS_PER_MONTH + job_rate * job_hours + storage)
        spot = (
            ""
            if capacity.on_demand_percent >= 100
            else f", {100 - capacity.on_demand_percent:g} % Spot"
        )
        basis = (
            f"{_range(*counts)} x {capacity.instance_type or 'unknown type'} x {HOURS_PER_MONTH} h"
            f" (group {capacity.min_size}-{capacity.max_size}{spot})"
        )
        if job_hours:
            basis += f" + {_num(job_hours)} instance-hours of job runs"
        if capacity.volume_gib:
            basis += f"; {_num(capacity.volume_gib)} GiB gp3 each"
        note = (
            "no instance type in the template"
            if not capacity.instance_type
            else ""
            if spec
            else f"{capacity.instance_type} is not in the price table: one task an instance assumed"
        )
        self.add(
            capacity.stack,
            EC2_CLASS,
            short_id(capacity.logical_id),
            basis,
            costs[0],
            costs[1],
            note,
        )

    # --- Resources read one by one -------------------------------------------------------

    def resources(self, stack: str, items: Mapping[str, Any]) -> None:
        flow_logs = flow_log_groups(items)
        task_logs = _task_log_volume(self.app, stack, self.a)
        for logical_id, resource in items.items():
            kind = resource["Type"]
            props = resource.get("Properties", {}) or {}
            name = short_id(logical_id)
            if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
                self.load_balancer(stack, name, props)
            elif kind == "AWS::EC2::NatGateway":
                self.per_month(
                    stack,
                    NAT_CLASS,
                    name,
                    ("nat_gateway_hour", HOURS_PER_MONTH),
                    ("nat_gateway_gb", self.a.nat_gb_per_gateway),
                    basis=f"{HOURS_PER_MONTH} h + {_num(self.a.nat_gb_per_gateway)} GB processed",
                )
            elif kind == "AWS::EC2::EIP":
                self.per_month(
                    stack,
                    IPV4_CLASS,
                    name,
                    ("public_ipv4_hour", HOURS_PER_MONTH),
                    basis=f"1 address x {HOURS_PER_MONTH} h",
                )
            elif kind == "AWS::EC2::VPCEndpoint":
                self.endpoint(stack, name, props)
            elif kind in ("AWS::KMS::Key", "AWS::KMS::ReplicaKey"):
                self.per_month(
                    stack,
                    KMS_CLASS,
                    name,
                    ("kms_key_month", 1.0),
                    ("kms_request", self.a.kms_requests_per_key),
                    basis=f"1 key + {_num(self.a.kms_requests_per_key)} requests",
                )
            elif kind == "AWS::SecretsManager::Secret":
                self.per_month(stack, SECRET_CLASS, name, ("secret_month", 1.0), basis="1 secret")
            elif kind == "AWS::WAFv2::WebACL":
                rules = len(props.get("Rules") or [])
                self.per_month(
                    stack,
                    WAF_CLASS,
                    name,
                    ("waf_web_acl_month", 1.0),
                    ("waf_rule_month", rules),
                    ("waf_million_requests", self.a.waf_million_requests),
                    basis=f"1 web ACL + {rules} rules + {_num(self.a.waf_million_requests)} M requests",
                    note=paid_rule_groups(props),
                )
            elif kind == "AWS::WAFv2::RuleGroup":
                rules = len(props.get("Rules") or [])
                self.per_month(
                    stack,
                    WAF_CLASS,
                    name,
                    ("waf_rule_month", rules),
                    basis=f"{rules} rules",
                    note="each rule of a rule group you own priced as a rule (an upper bound)",
                )
            elif kind == "AWS::CloudWatch::Alarm":
                self.alarm(stack, name, props)
            elif kind == "AWS::CloudWatch::CompositeAlarm":
                self.per_month(
                    stack,
                    ALARM_CLASS,
                    name,
                    ("composite_alarm_month", 1.0),
                    basis="composite alarm",
                )
            elif kind == "AWS::CloudWatch::Dashboard":
                self.per_month(
                    stack,
                    DASHBOARD_CLASS,
                    name,
                    ("dashboard_month", 1.0),
                    basis="1 dashboard",
                    note="the first 3 dashboards of an account are free (not deducted)",
                )
            elif kind == "AWS::Logs::LogGroup":
                if logical_id in flow_logs:
                    volume, what = (self.a.flow_log_gb,) * 2, "flow log"
                elif logical_id in task_logs:
                    volume, what = task_logs[logical_id], "task logs"
                else:
                    volume, what = (self.a.other_log_gb,) * 2, "other"
                self.log_group(stack, name, props, volume, what)

    def per_month(
        self,
        stack: str,
        resource_class: str,
        name: str,
        *charges: tuple[str, float],
        basis: str,
        note: str = "",
    ) -> None:
        rates = self.price.all(*(key for key, _ in charges))
        cost = (
            None if rates is None else sum(r * q for r, (_, q) in zip(rates, charges, strict=True))
        )
        self.add(stack, resource_class, name, basis, cost, cost, note)

    def load_balancer(self, stack: str, name: str, props: Mapping[str, Any]) -> None:
        kind = props.get("Type", "application")
        prefix = {"application": "alb", "network": "nlb"}.get(kind)
        lcu = self.a.lcu_per_load_balancer
        if prefix is None:
            self.add(
                stack, LB_CLASS, name, f"{kind} load balancer", None, None, "no price in the table"
            )
        else:
            unit = "LCU" if prefix == "alb" else "NLCU"
            self.per_month(
                stack,
                LB_CLASS,
                name,
                (f"{prefix}_hour", HOURS_PER_MONTH),
                (f"{prefix}_lcu_hour", lcu * HOURS_PER_MONTH),
                basis=f"{HOURS_PER_MONTH} h + {_num(lcu)} {unit} x {HOURS_PER_MONTH} h ({kind})",
            )
        if props.get("Scheme") == "internet-facing":
            subnets = props.get("Subnets") or props.get("SubnetMappings")
            count = len(subnets) if isinstance(subnets, list) else self.a.availability_zones
            self.per_month(
                stack,
                IPV4_CLASS,
                name,
                ("public_ipv4_hour", count * HOURS_PER_MONTH),
                basis=f"{_num(count)} addresses (one per subnet) x {HOURS_PER_MONTH} h",
            )

    def endpoint(self, stack: str, name: str, props: Mapping[str, Any]) -> None:
        if props.get("VpcEndpointType", "Gateway") != "Interface":
            return
        subnets = props.get("SubnetIds")
        azs = len(subnets) if isinstance(subnets, list) else self.a.availability_zones
        service = props.get("ServiceName")
        label = endpoint_service(service) or name
        gb = self.a.endpoint_gb_per_endpoint
        self.per_month(
            stack,
            ENDPOINT_CLASS,
            label,
            ("interface_endpoint_az_hour", azs * HOURS_PER_MONTH),
            ("interface_endpoint_gb", gb),
            basis=f"{_num(azs)} AZ x {HOURS_PER_MONTH} h + {_num(gb)} GB",
        )

    def alarm(self, stack: str, name: str, props: Mapping[str, Any]) -> None:
        metrics = props.get("Metrics")
        if isinstance(metrics, list) and any(
            "SELECT" in str(m.get("Expression", "")).upper() for m in metrics if isinstance(m, dict)
        ):
            self.add(
                stack,
                ALARM_CLASS,
                name,
                "Metrics Insights query alarm",
                None,
                None,
                "priced by metrics analysed: not estimated",
            )
            return
        count, periods = 1, [props.get("Period")]
        if isinstance(metrics, list):
            stats = [m for m in metrics if isinstance(m, dict) and "MetricStat" in m]
            bands = sum(
                1
                for m in metrics
                if isinstance(m, dict) and "ANOMALY_DETECTION_BAND" in str(m.get("Expression", ""))
            )
            count = len(stats) + 2 * bands
            periods = [m["MetricStat"].get("Period") for m in stats]
        high = any(isinstance(p, (int, float)) and p < 60 for p in periods)
        key = "high_resolution_alarm_metric_month" if high else "alarm_metric_month"
        label = "high-resolution " if high else ""
        self.per_month(
            stack,
            ALARM_CLASS,
            name,
            (key, count),
            basis=f"{count} {label}metric{'s' if count != 1 else ''}",
        )

    def log_group(
        self,
        stack: str,
        name: str,
        props: Mapping[str, Any],
        volume: tuple[float, float],
        what: str,
    ) -> None:
        retention = props.get("RetentionInDays")
        months = self.a.log_months
        if isinstance(retention, (int, float)):
            months = min(months, retention / (365 / 12))
        rates = self.price.all("logs_ingest_gb", "logs_storage_gb_month")
        costs = [None if rates is None else gb * rates[0] + gb * months * rates[1] for gb in volume]
        kept = f"{retention} days" if isinstance(retention, (int, float)) else "never expires"
        basis = (
            f"{_range(*(round(v, 2) for v in volume))} GB a month ({what}) ingested; "
            f"{_num(round(months, 2))} months stored ({kept})"
        )
        self.add(stack, LOG_CLASS, name, basis, costs[0], costs[1])

    # --- Container Insights ---------------------------------------------------------------

    def insights(self) -> None:
        clusters = self.app.insights
        enabled_everywhere = bool(clusters) and all(v != "disabled" for v in clusters.values())
        metric = self.price("custom_metric_month") if clusters else None
        ingest = self.price("logs_ingest_gb") if clusters else None
        for (stack, logical_id), cluster_setting in clusters.items():
            if cluster_setting == "disabled":
                continue
            if cluster_setting == "enhanced":
                self.add(
                    stack,
                    INSIGHTS_CLASS,
                    short_id(logical_id),
                    "enhanced observability",
                    None,
                    None,
                    "enhanced observability has no price in the table",
                )
                continue
            cost = None if metric is None else INSIGHTS_METRICS_PER_CLUSTER * metric
            self.add(
                stack,
                INSIGHTS_CLASS,
                short_id(logical_id),
                f"{INSIGHTS_METRICS_PER_CLUSTER} cluster metrics",
                cost,
            )
        gb = self.a.container_insights_gb_per_task
        for workload in self.app.workloads:
            setting = clusters.get(workload.cluster) if workload.cluster else None
            if setting is None and enabled_everywhere:
                setting = "enabled"
            if setting != "enabled" or workload.size is None:
                continue
            if workload.kind == "job":
                share = workload.runs_per_month * max(self.a.job_minutes, 1) / 60 / HOURS_PER_MONTH
                share = min(share, 1.0)
                metrics = INSIGHTS_METRICS_PER_FAMILY * share
                tasks = (workload.min_tasks * share,) * 2
            else:
                metrics = INSIGHTS_METRICS_PER_SERVICE + INSIGHTS_METRICS_PER_FAMILY
                tasks = (float(workload.min_tasks), float(workload.max_tasks))
            costs = [
                None if metric is None or ingest is None else metrics * metric + n * gb * ingest
                for n in tasks
            ]
            basis = f"{_num(round(metrics, 2))} metrics + {_range(*(round(n * gb, 2) for n in tasks))} GB of events"
            self.add(workload.stack, INSIGHTS_CLASS, workload.name, basis, costs[0], costs[1])


def tasks_per_instance(spec: InstanceSpec, size: TaskSize, assumptions: Assumptions) -> int:
    """Tasks of ``size`` one instance of ``spec`` holds: by CPU, memory and network interfaces."""
    by_cpu = spec.vcpu * 1024 // size.cpu_units
    usable = spec.memory_gib * 1024 - assumptions.ec2_memory_overhead_mib
    by_memory = int(usable // size.memory_mib)
    by_eni = spec.awsvpc_tasks(trunking=assumptions.ec2_eni_trunking >= 1)
    return int(max(min(by_cpu, by_memory, by_eni), 0))


def _on_demand(count: int, capacity: Capacity) -> float:
    base = min(count, capacity.on_demand_base)
    return base + (count - base) * capacity.on_demand_percent / 100


def _task_log_volume(app: App, stack: str, a: Assumptions) -> dict[str, tuple[float, float]]:
    volume: dict[str, list[float]] = {}
    for workload in app.workloads:
        if workload.stack != stack:
            continue
        if workload.kind == "job":
            share = workload.runs_per_month * max(a.job_minutes, 1) / 60 / HOURS_PER_MONTH
            tasks = (workload.min_tasks * share,) * 2
        else:
            tasks = (float(workload.min_tasks), float(workload.max_tasks))
        for group in workload.log_groups:
            entry = volume.setdefault(group, [0.0, 0.0])
            entry[0] += tasks[0] * a.log_gb_per_task
            entry[1] += tasks[1] * a.log_gb_per_task
    return {group: (low, high) for group, (low, high) in volume.items()}


def _placement_text(workload: Workload) -> str:
    providers = [i.provider for i in workload.strategy]
    if providers == [FARGATE]:
        return ""
    parts = []
    for item in workload.strategy:
        base = f", base {item.base}" if item.base else ""
        parts.append(f"{item.provider.rsplit('/', 1)[-1]} {item.weight:g}{base}")
    return f" ({'; '.join(parts)})"


def _range(low: float, high: float) -> str:
    return _num(low) if low == high else f"{_num(low)}-{_num(high)}"


def _num(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:,.0f}"


__all__ = [
    "CLASSES",
    "NOT_ESTIMATED",
    "Estimate",
    "Key",
    "LineItem",
    "estimate",
    "tasks_per_instance",
]
