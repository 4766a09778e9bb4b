"""What the estimate cannot read from a template: traffic, log volume, run times, Spot prices.

Each assumption is a named number with a default and the reason for it; the report prints the
ones it used beside the figures, and ``--assumption key=value`` (or ``Assumptions(...)``)
overrides them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Assumptions:
    """Traffic-dependent quantities the estimate uses; every field has a stated default.

    Fields:
        lcu_per_load_balancer: LCUs (NLCUs for a Network Load Balancer) each load balancer
            consumes every hour: the floor of a quiet one. Default: 1.
        nat_gb_per_gateway: GB each NAT gateway processes a month. Default: 10.
        endpoint_gb_per_endpoint: GB each interface endpoint processes a month. Default: 1.
        kms_requests_per_key: requests each KMS key serves a month (log groups, queues and
            ECS Exec call it). Default: 100,000.
        waf_million_requests: millions of requests each web ACL inspects a month. Default: 10.
        log_gb_per_task: GB of application logs each running task writes a month. Default: 1.
        flow_log_gb: GB each VPC flow log writes a month. Default: 10.
        other_log_gb: GB every other log group (ECS Exec audit, WAF) receives a month.
            Default: 0.5.
        log_months: the month after deployment the storage line describes; a log group keeps
            ``min(retention, log_months)`` months of logs, uncompressed (an upper bound: AWS
            bills compressed bytes). Default: 12.
        container_insights_gb_per_task: GB of Container Insights performance events each
            running task sends a month (one task and one container event a minute, about
            1 KB each). Default: 0.1.
        job_minutes: minutes each scheduled job run lasts. Default: 10.
        fargate_spot_discount: Fargate Spot's saving on the Fargate price; AWS says "up to
            70 %" and changes Spot prices over time. Default: 0.7.
        ec2_spot_discount: EC2 Spot's saving on the On-Demand price; it moves with supply and
            demand (AWS quotes an average of 70 %). Default: 0.7.
        ec2_memory_overhead_mib: memory of an EC2 instance ECS cannot give tasks (kernel,
            agent); AWS's example: an 8 GiB m4.large registers 7,985 MiB. Default: 256.
        ec2_eni_trunking: 1 when the account has turned on ENI trunking (more awsvpc tasks per
            instance), else 0. Default: 0.
        ec2_extra_minutes_per_run: instance minutes a job run on EC2 capacity adds to its own
            run time: launch, and the scale-in delay of managed scaling. Default: 15.
        availability_zones: AZs to count where a template does not say (an endpoint whose
            subnets come from another stack). Default: 2.
    """

    lcu_per_load_balancer: float = 1.0
    nat_gb_per_gateway: float = 10.0
    endpoint_gb_per_endpoint: float = 1.0
    kms_requests_per_key: float = 100_000.0
    waf_million_requests: float = 10.0
    log_gb_per_task: float = 1.0
    flow_log_gb: float = 10.0
    other_log_gb: float = 0.5
    log_months: float = 12.0
    container_insights_gb_per_task: float = 0.1
    job_minutes: float = 10.0
    fargate_spot_discount: float = 0.7
    ec2_spot_discount: float = 0.7
    ec2_memory_overhead_mib: float = 256.0
    ec2_eni_trunking: float = 0.0
    ec2_extra_minutes_per_run: float = 15.0
    availability_zones: float = 2.0

    def with_overrides(self, pairs: Iterable[str]) -> Assumptions:
        """A copy with ``key=value`` pairs applied; ``ValueError`` names a bad key or value."""
        known = {field.name for field in fields(self)}
        changes: dict[str, Any] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in known:
                raise ValueError(
                    f"assumption {pair!r}: expected key=value with a key of "
                    f"{', '.join(sorted(known))}"
                )
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"assumption {key}: {value!r} is not a number") from None
            if number < 0 or (key.endswith("_discount") and number >= 1):
                raise ValueError(
                    f"assumption {key}: {value} is out of range "
                    + ("(0 to below 1)" if key.endswith("_discount") else "(0 or more)")
                )
            changes[key] = number
        return replace(self, **changes)

    def items(self) -> list[tuple[str, float, str]]:
        """``(name, value, what it means)`` of every assumption, in declaration order."""
        return [
            (field.name, getattr(self, field.name), DESCRIPTIONS[field.name])
            for field in fields(self)
        ]

    def changed(self) -> list[str]:
        """The names whose value differs from the default."""
        default = Assumptions()
        return [
            field.name
            for field in fields(self)
            if getattr(self, field.name) != getattr(default, field.name)
        ]


DESCRIPTIONS = {
    "lcu_per_load_balancer": "LCUs (NLCUs) each load balancer uses every hour",
    "nat_gb_per_gateway": "GB each NAT gateway processes a month",
    "endpoint_gb_per_endpoint": "GB each interface endpoint processes a month",
    "kms_requests_per_key": "requests each KMS key serves a month",
    "waf_million_requests": "millions of requests each web ACL inspects a month",
    "log_gb_per_task": "GB of logs each running task writes a month",
    "flow_log_gb": "GB each VPC flow log writes a month",
    "other_log_gb": "GB every other log group receives a month",
    "log_months": "month after deployment the log storage line describes",
    "container_insights_gb_per_task": "GB of Container Insights events per running task a month",
    "job_minutes": "minutes each scheduled job run lasts",
    "fargate_spot_discount": "Fargate Spot saving on the Fargate price",
    "ec2_spot_discount": "EC2 Spot saving on the On-Demand price",
    "ec2_memory_overhead_mib": "MiB of each EC2 instance tasks cannot use",
    "ec2_eni_trunking": "1 when ENI trunking is on, else 0",
    "ec2_extra_minutes_per_run": "extra instance minutes per job run on EC2",
    "availability_zones": "AZs counted where a template does not say",
}
