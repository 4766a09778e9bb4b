"""The security group lens: ingress and egress rules added or removed, inline or standalone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..templates import Resource, render, security_group_rules
from .common import Sign, multiset_diff


@dataclass(frozen=True)
class SecurityGroupChange:
    """A security group rule added or removed (inline or as its own resource)."""

    stack: str
    group: str
    change: Sign
    direction: Literal["ingress", "egress"]
    rule: str
    flags: tuple[str, ...] = ()


_PEERS = (
    "CidrIp",
    "CidrIpv6",
    "SourceSecurityGroupId",
    "SourcePrefixListId",
    "DestinationSecurityGroupId",
    "DestinationPrefixListId",
    "SourceSecurityGroupName",
)
_WORLD = ("0.0.0.0/0", "::/0")
_CDK_NO_EGRESS = {
    "CidrIp": "255.255.255.255/32",
    "IpProtocol": "icmp",
    "FromPort": 252,
    "ToPort": 86,
}


def security_group_changes(
    stack: str, old: Mapping[str, Resource], new: Mapping[str, Resource]
) -> list[SecurityGroupChange]:
    """The rules added to or removed from each security group between ``old`` and ``new``.

    Added rules are flagged when open to the internet or to every protocol and port.
    """
    old_rules = security_group_rules(old)
    new_rules = security_group_rules(new)
    result = []
    for group in sorted(set(old_rules) | set(new_rules)):
        for sign, (direction, rule) in multiset_diff(
            old_rules.get(group, []), new_rules.get(group, [])
        ):
            result.append(
                SecurityGroupChange(
                    stack,
                    group,
                    sign,
                    direction,
                    _render_rule(direction, rule),
                    _rule_flags(direction, rule) if sign == "+" else (),
                )
            )
    return result


def _render_rule(direction: str, rule: Mapping[str, Any]) -> str:
    if direction == "egress" and _is_cdk_no_egress(rule):
        return "no outbound traffic (CDK placeholder rule)"
    protocol = str(rule.get("IpProtocol", "-1")).lower()
    low, high = rule.get("FromPort"), rule.get("ToPort")
    if protocol in ("-1", "all"):
        ports = "all traffic"
    elif protocol in ("icmp", "1", "icmpv6", "58"):
        ports = f"{protocol} type {render(low)} code {render(high)}"
    elif low is None or (low in (0, -1) and high in (65535, -1)):
        ports = f"{protocol} all ports"
    elif low == high:
        ports = f"{protocol} {render(low)}"
    else:
        ports = f"{protocol} {render(low)}-{render(high)}"
    peers = [render(rule[key]) for key in _PEERS if key in rule]
    preposition = "from" if direction == "ingress" else "to"
    return f"{ports} {preposition} {', '.join(peers) or 'anywhere'}"


def _is_cdk_no_egress(rule: Mapping[str, Any]) -> bool:
    return all(rule.get(key) == value for key, value in _CDK_NO_EGRESS.items())


def _rule_flags(direction: str, rule: Mapping[str, Any]) -> tuple[str, ...]:
    if direction == "egress" and _is_cdk_no_egress(rule):
        return ()
    flags = []
    world = rule.get("CidrIp") in _WORLD or rule.get("CidrIpv6") in _WORLD
    every_port = str(rule.get("IpProtocol", "-1")) in ("-1", "all")
    if direction == "ingress" and world:
        flags.append("open to the internet")
    if direction == "egress" and world and every_port:
        flags.append("all outbound traffic")
    elif every_port:
        flags.append("all protocols and ports")
    return tuple(flags)
