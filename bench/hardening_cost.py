"""What the hardening costs: the README's table of one web service built with this library
against the same service from plain ``aws_ecs_patterns`` (``make bench``; not part of
``make test``).

Both stacks are the benchmark's (``bench.py``: same image, task size, count, port,
certificate and region), the library's with ``ServiceMonitoring`` as the README recommends.
Both templates go through ``ecs_patterns_plus.cost`` at its default assumptions, in the
benchmark's region and in us-east-1, and the table between ``<!-- hardening-cost:start -->``
and ``<!-- hardening-cost:end -->`` in README.md is rewritten.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import aws_cdk as cdk  # noqa: E402 - after the path

from bench import REGION, replace_block, web_service, web_service_plain  # noqa: E402
from ecs_patterns_plus import ServiceMonitoring  # noqa: E402
from ecs_patterns_plus.cost import CLASSES, estimate  # noqa: E402
from ecs_patterns_plus.money import money_range, signed_range  # noqa: E402

START = "<!-- hardening-cost:start -->"
END = "<!-- hardening-cost:end -->"
COMPARED_REGION = "us-east-1"

WHY = {
    "Fargate tasks": "same tasks; the library's auto scaling range reaches 10 tasks",
    "NAT gateways": "both put a NAT gateway in each AZ (`nat_gateways=1` halves it)",
    "Interface endpoints": "ECR api/dkr, Logs, Secrets Manager, SSM, KMS in each AZ: image pulls "
    "and logs never leave the VPC",
    "WAF": "web ACL with 3 AWS managed rule groups",
    "Logs": "flow logs (ALL traffic), ECS Exec audit and WAF logs, 1-year retention",
    "Container Insights": "the cluster's, per service and task family",
    "Alarms": "deployment rollback, CPU, memory, tasks below desired, 5xx, rejected "
    "connections, task failures (one composite), undelivered notifications",
    "KMS keys": "the stack's one key",
}
"""What each resource class pays for, beside its figures."""


def templates() -> tuple[dict[str, Any], dict[str, Any]]:
    """The plain and the library's template, synthesized in one app."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = cdk.App(context={**context, "aws:cdk:version-reporting": False})
    web_service_plain(app)
    web = web_service(app)
    ServiceMonitoring.for_service(web.node.scope, "Monitoring", service=web, service_name="web")
    assembly = app.synth()
    return (
        assembly.get_stack_by_name("WebServicePlain").template,
        assembly.get_stack_by_name("WebService").template,
    )


def _change(before: tuple[float, float], after: tuple[float, float]) -> str:
    return signed_range(after[0] - before[0], after[1] - before[1])


def table(plain: dict[str, Any], library: dict[str, Any]) -> str:
    """The comparison in the benchmark's region, with both totals in ``COMPARED_REGION``."""
    before = estimate({"aws_ecs_patterns": plain}, region=REGION)
    after = estimate({"library": library}, region=REGION)
    old, new = before.by_class(), after.by_class()
    lines = [
        "| Resource class | `aws_ecs_patterns` | this library | Change | Why |",
        "|---|---:|---:|---:|---|",
    ]
    for name in (name for name in CLASSES if name in old or name in new):
        cells = [
            name,
            money_range(*old[name]) if name in old else "—",
            money_range(*new[name]) if name in new else "—",
            _change(old.get(name, (0.0, 0.0)), new.get(name, (0.0, 0.0))),
            WHY.get(name, ""),
        ]
        lines.append(("| " + " | ".join(cells) + " |").replace("|  |", "| |"))
    compared = [
        money_range(*estimate({"t": t}, region=COMPARED_REGION).total) for t in (plain, library)
    ]
    lines.append(
        f"| **Total** | **{money_range(*before.total)}** | **{money_range(*after.total)}** "
        f"| **{_change(before.total, after.total)}** "
        f"| in {COMPARED_REGION}: {compared[0]} against {compared[1]} |"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    rendered = table(*templates())
    replace_block(rendered, START, END)
    sys.stdout.write(rendered)
