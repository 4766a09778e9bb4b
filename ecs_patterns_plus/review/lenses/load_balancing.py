"""The load balancing lens: load balancer, listener, rule, certificate and target group settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..templates import Resource, canonical, render
from .common import pairs


@dataclass(frozen=True)
class LoadBalancingChange:
    """A load balancer, listener, rule, certificate or target group setting that changed."""

    stack: str
    logical_id: str
    resource_type: str
    setting: str
    old: str
    new: str
    flags: tuple[str, ...] = ()


LOAD_BALANCING_TYPES = (
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::ListenerCertificate",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
)
_ATTRIBUTE_LISTS = ("LoadBalancerAttributes", "TargetGroupAttributes", "ListenerAttributes")
_RISKY_ATTRIBUTES = {
    "deletion_protection.enabled": ("false", "deletion protection off"),
    "routing.http.drop_invalid_header_fields.enabled": ("false", "invalid headers not dropped"),
    "access_logs.s3.enabled": ("false", "access logs off"),
}


def load_balancing_changes(
    stack: str, old: Mapping[str, Resource], new: Mapping[str, Resource]
) -> list[LoadBalancingChange]:
    """Every load-balancing setting (attributes one by one) that differs between ``old`` and ``new``.

    Flags what weakens the setup: internet-facing, plain HTTP, no TLS 1.3, protections off,
    a rule or listener that authenticated users before and no longer does.
    """
    result = []
    for logical_id, before, after in pairs(old, new, LOAD_BALANCING_TYPES):
        resource_type = (after or before or {})["Type"]
        for setting, was, now, flags in _load_balancing_settings(before, after):
            result.append(
                LoadBalancingChange(stack, logical_id, resource_type, setting, was, now, flags)
            )
    return result


def _load_balancing_settings(
    before: Resource | None, after: Resource | None
) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(setting, old, new, flags) for every load-balancing setting that differs."""
    old = (before or {}).get("Properties", {})
    new = (after or {}).get("Properties", {})
    resource_type = (after or before or {})["Type"]
    if before is not None and after is not None and before["Type"] != after["Type"]:
        old = {}
    result = []
    for key in sorted(set(old) | set(new)):
        if key in _ATTRIBUTE_LISTS:
            old_attributes = _attributes(old.get(key))
            new_attributes = _attributes(new.get(key))
            for name in sorted(set(old_attributes) | set(new_attributes)):
                was, now = old_attributes.get(name, ""), new_attributes.get(name, "")
                if was != now:
                    result.append((name, was, now, _attribute_flags(name, now)))
            continue
        was, now = _lb_value(key, old.get(key)), _lb_value(key, new.get(key))
        if canonical(old.get(key)) != canonical(new.get(key)):
            flags = _lb_flags(resource_type, key, now, new)
            removed = _authenticates(old.get(key)) and not _authenticates(new.get(key))
            if removed and after is not None:  # a rule deleted whole is a route gone
                flags = (*flags, "authentication removed")
            result.append((key, was, now, flags))
    return result


def _attributes(value: Any) -> dict[str, str]:
    if not isinstance(value, list):
        return {}
    return {
        render(item.get("Key")): render(item.get("Value"))
        for item in value
        if isinstance(item, dict)
    }


def _attribute_flags(name: str, value: str) -> tuple[str, ...]:
    if name in _RISKY_ATTRIBUTES and value == _RISKY_ATTRIBUTES[name][0]:
        return (_RISKY_ATTRIBUTES[name][1],)
    if name == "routing.http.desync_mitigation_mode" and value and value != "strictest":
        return ("desync mitigation below strictest",)
    return ()


def _lb_value(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key in ("DefaultActions", "Actions") and isinstance(value, list):
        return "; ".join(_render_action(action) for action in value)
    if key == "Certificates" and isinstance(value, list):
        return ", ".join(render(item.get("CertificateArn")) for item in value)
    return render(value)


def _render_action(action: Any) -> str:
    if not isinstance(action, dict):
        return render(action)
    kind = action.get("Type", "")
    if kind == "forward":
        groups = action.get("ForwardConfig", {}).get("TargetGroups")
        if groups:
            return "forward " + ", ".join(
                f"{render(group.get('TargetGroupArn'))}"
                + (f" weight {group['Weight']}" if "Weight" in group else "")
                for group in groups
            )
        return f"forward {render(action.get('TargetGroupArn'))}"
    if kind == "redirect":
        config = action.get("RedirectConfig", {})
        return (
            f"redirect {config.get('Protocol', '#{protocol}')}:{config.get('Port', '#{port}')} "
            f"({config.get('StatusCode', '')})"
        )
    if kind == "fixed-response":
        return f"fixed-response {render(action.get('FixedResponseConfig', {}).get('StatusCode'))}"
    if kind in _AUTHENTICATE:
        config = action.get(_AUTHENTICATE[kind], {})
        return " ".join(
            [kind, *(f"{key}={_auth_value(key, config[key])}" for key in sorted(config))]
        )
    return f"{kind} {render({k: v for k, v in action.items() if k != 'Type'})}".strip()


_AUTHENTICATE = {
    "authenticate-oidc": "AuthenticateOidcConfig",
    "authenticate-cognito": "AuthenticateCognitoConfig",
}
"""The actions that sign users in before a rule's routing action, with their config key."""


def _auth_value(key: str, value: Any) -> str:
    """A setting of an authenticate action; a client secret only as its Secrets Manager reference."""
    shown = render(value)
    if key == "ClientSecret" and not shown.startswith("{{resolve:"):
        return "(plain text, not shown)"
    return shown


def _authenticates(actions: Any) -> bool:
    """True when a rule's (or listener's default) actions include an authenticate action."""
    return isinstance(actions, list) and any(
        isinstance(action, dict) and action.get("Type") in _AUTHENTICATE for action in actions
    )


def _lb_flags(
    resource_type: str, key: str, value: str, properties: Mapping[str, Any]
) -> tuple[str, ...]:
    if key == "Scheme" and value == "internet-facing":
        return ("internet-facing",)
    listener = resource_type == "AWS::ElasticLoadBalancingV2::Listener"
    if listener and key == "Protocol" and value == "HTTP":
        actions = properties.get("DefaultActions", [])
        only_redirects = bool(actions) and all(
            isinstance(action, dict) and action.get("Type") == "redirect" for action in actions
        )
        if not only_redirects:
            return ("plain HTTP",)
    if key == "SslPolicy" and value and "TLS13" not in value:
        return ("no TLS 1.3",)
    return ()
