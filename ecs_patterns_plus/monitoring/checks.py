"""The checks of monitoring arguments: load balancer and target group, interfaces, names."""

from __future__ import annotations

import re
from typing import Any

from constructs import Construct

from ..errors import Problems, is_token

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_LOAD_BALANCER_ARN = re.compile(
    r"^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:loadbalancer/app/[^/]+/[^/]+$"
)
_TARGET_GROUP_ARN = re.compile(
    r"^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:targetgroup/[^/]+/[^/]+$"
)


def check_load_balancing(
    problems: Problems,
    load_balancer: Any,
    target_group: Any,
    *,
    required: bool,
) -> None:
    """Record problems with a load balancer and target group, which go together."""
    if load_balancer is None and target_group is None:
        if required:
            problems.add(
                "load_balancer",
                "is required with target_group for the golden signals",
                None,
                "pass the service's application load balancer and target group",
            )
        return
    if target_group is None:
        problems.add(
            "target_group",
            "is needed with load_balancer: target metrics are per load balancer and target group",
            None,
            "pass the service's target group too",
        )
    if load_balancer is None:
        problems.add(
            "load_balancer",
            "is needed with target_group: target metrics are per load balancer and target group",
            None,
            "pass the load balancer that routes to the target group too",
        )
    _check_arn(
        problems,
        "load_balancer",
        load_balancer,
        "load_balancer_arn",
        _LOAD_BALANCER_ARN,
        "an application load balancer (elbv2.IApplicationLoadBalancer)",
        "pass an ApplicationLoadBalancer or one imported with its ARN",
    )
    _check_arn(
        problems,
        "target_group",
        target_group,
        "target_group_arn",
        _TARGET_GROUP_ARN,
        "an application target group (elbv2.IApplicationTargetGroup)",
        "pass an ApplicationTargetGroup or one imported with its ARN",
    )


def _check_arn(
    problems: Problems,
    argument: str,
    value: Any,
    attribute: str,
    pattern: re.Pattern[str],
    expected: str,
    fix: str,
) -> None:
    """Record a problem unless ``value`` (when given) has an ARN ``attribute`` like ``pattern``."""
    if value is None:
        return
    arn = getattr(value, attribute, None)
    problems.require(
        isinstance(arn, str) and (is_token(arn) or bool(pattern.match(arn))),
        argument,
        f"must be {expected}",
        arn if isinstance(arn, str) else type(value).__name__,
        fix,
    )


def problems_at(scope: Construct) -> Problems:
    """Problems reported at ``scope``'s own path (for functions that add to a scope)."""
    problems = Problems(scope, "")
    problems.path = scope.node.path
    return problems


def check_interface(
    problems: Problems, argument: str, value: Any, attribute: str, expected: str
) -> None:
    """Record a problem unless ``value`` (when given) looks like ``expected`` (has ``attribute``)."""
    problems.require(
        hasattr(value, attribute),
        argument,
        f"must be {expected}",
        value if isinstance(value, (str, int, float)) or value is None else type(value).__name__,
        f"pass {expected}",
    )


def check_service_name(problems: Problems, service_name: str | None) -> None:
    if service_name is None or (isinstance(service_name, str) and is_token(service_name)):
        return
    problems.require(
        isinstance(service_name, str) and bool(_NAME_PATTERN.match(service_name)),
        "service_name",
        "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit",
        service_name,
        "pass e.g. 'orders-api'",
    )
