"""The IAM lens: policy statements and managed policy attachments added or removed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..schemas import resource_scoped, values_at
from ..templates import Resource, canonical, render
from .common import Sign, multiset_diff, pairs


@dataclass(frozen=True)
class IamChange:
    """An IAM policy statement (or attached managed policy) added or removed."""

    stack: str
    logical_id: str
    resource_type: str
    document: str
    change: Sign
    statement: str
    flags: tuple[str, ...] = ()


POLICY_DOCUMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "AWS::IAM::Policy": (("policy", "PolicyDocument"),),
    "AWS::IAM::ManagedPolicy": (("policy", "PolicyDocument"),),
    "AWS::IAM::Role": (
        ("trust policy", "AssumeRolePolicyDocument"),
        ("inline policy", "Policies/*/PolicyDocument"),
        ("managed policies", "ManagedPolicyArns/*"),
    ),
    "AWS::IAM::User": (
        ("inline policy", "Policies/*/PolicyDocument"),
        ("managed policies", "ManagedPolicyArns/*"),
    ),
    "AWS::IAM::Group": (
        ("inline policy", "Policies/*/PolicyDocument"),
        ("managed policies", "ManagedPolicyArns/*"),
    ),
    "AWS::S3::BucketPolicy": (("bucket policy", "PolicyDocument"),),
    "AWS::KMS::Key": (("key policy", "KeyPolicy"),),
    "AWS::SQS::QueuePolicy": (("queue policy", "PolicyDocument"),),
    "AWS::SNS::TopicPolicy": (("topic policy", "PolicyDocument"),),
    "AWS::SecretsManager::ResourcePolicy": (("resource policy", "ResourcePolicy"),),
    "AWS::ECR::Repository": (("repository policy", "RepositoryPolicyText"),),
    "AWS::Logs::ResourcePolicy": (("resource policy", "PolicyDocument"),),
}
"""Where each resource type keeps its policy documents (property paths)."""

_LIST_FIELDS = ("Action", "NotAction", "Resource", "NotResource")


def iam_changes(
    stack: str, old: Mapping[str, Resource], new: Mapping[str, Resource]
) -> list[IamChange]:
    """The statements added to or removed from the policy documents of ``old`` and ``new``.

    Added Allow statements are flagged where they widen access: wildcards, ``Not*``, any principal.
    """
    result = []
    for logical_id, before, after in pairs(old, new, POLICY_DOCUMENTS):
        resource_type = (after or before or {})["Type"]
        old_statements = _statements(before)
        new_statements = _statements(after)
        for document in sorted(set(old_statements) | set(new_statements)):
            for sign, statement in multiset_diff(
                old_statements.get(document, []), new_statements.get(document, [])
            ):
                flags = _widening(statement, document) if sign == "+" else ()
                result.append(
                    IamChange(
                        stack,
                        logical_id,
                        resource_type,
                        document,
                        sign,
                        _render_statement(statement),
                        flags,
                    )
                )
    return result


def _statements(resource: Resource | None) -> dict[str, list[Any]]:
    if resource is None:
        return {}
    result: dict[str, list[Any]] = {}
    properties = resource.get("Properties", {})
    for document, path in POLICY_DOCUMENTS.get(resource["Type"], ()):
        for value in values_at(properties, path):
            if value is None:
                continue
            if document == "managed policies":
                result.setdefault(document, []).append({"ManagedPolicyArn": value})
                continue
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    continue
            statements = value.get("Statement", []) if isinstance(value, dict) else []
            if isinstance(statements, dict):
                statements = [statements]
            result.setdefault(document, []).extend(
                _normalise_statement(item) for item in statements
            )
    return result


def _normalise_statement(statement: Any) -> Any:
    if not isinstance(statement, dict):
        return statement
    result = dict(statement)
    for key in _LIST_FIELDS:
        if key in result:
            result[key] = _sorted_list(result[key])
    principal = result.get("Principal")
    if isinstance(principal, dict):
        result["Principal"] = {key: _sorted_list(value) for key, value in principal.items()}
    return result


def _sorted_list(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return sorted(items, key=canonical)


def _render_statement(statement: Any) -> str:
    if not isinstance(statement, dict):
        return render(statement)
    if "ManagedPolicyArn" in statement:
        return f"attach {render(statement['ManagedPolicyArn'])}"
    parts = [statement.get("Effect", "Allow")]
    if "Action" in statement:
        parts.append(", ".join(render(item) for item in statement["Action"]))
    if "NotAction" in statement:
        parts.append("all actions except " + ", ".join(render(i) for i in statement["NotAction"]))
    if "Resource" in statement:
        parts.append("on " + ", ".join(render(item) for item in statement["Resource"]))
    if "NotResource" in statement:
        parts.append(
            "on all resources except " + ", ".join(render(i) for i in statement["NotResource"])
        )
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        parts.append(
            "for "
            + "; ".join(
                f"{kind} " + ", ".join(render(item) for item in values)
                for kind, values in sorted(principal.items())
            )
        )
    elif principal is not None:
        parts.append(f"for {render(principal)}")
    if "Condition" in statement:
        parts.append(f"when {render(statement['Condition'])}")
    return " ".join(parts)


def _widening(statement: Any, document: str) -> tuple[str, ...]:
    """What makes an added Allow statement broad: wildcards, Not* elements, any principal.

    In a key policy ``Resource: *`` means the key itself, and ``kms:*`` for the account
    root is the standard delegation to IAM: neither widens anything there.
    """
    if not isinstance(statement, dict) or statement.get("Effect", "Allow") != "Allow":
        return ()
    if document == "key policy":
        principal = statement.get("Principal")
        to_root = isinstance(principal, dict) and all(
            render(item).endswith(":root") for item in principal.get("AWS", [None])
        )
        statement = {
            key: value
            for key, value in statement.items()
            if key != "Resource" and not (key == "Action" and to_root)
        }
    if "ManagedPolicyArn" in statement:
        arn = render(statement["ManagedPolicyArn"])
        broad = arn.endswith(("/AdministratorAccess", "/PowerUserAccess", "FullAccess"))
        return (f"managed policy {arn.rsplit('/', 1)[-1]}",) if broad else ()
    flags = []
    for action in statement.get("Action", []):
        if action == "*" or (isinstance(action, str) and action.endswith(":*")):
            flags.append(f"Action {action}")
    if "*" in statement.get("Resource", []) and resource_scoped(statement.get("Action", ["*"])):
        flags.append("Resource *")
    for key in ("NotAction", "NotResource"):
        if key in statement:
            flags.append(key)
    principal = statement.get("Principal")
    if principal == "*" or (isinstance(principal, dict) and ["*"] in principal.values()):
        flags.append("Principal *")
    return tuple(flags)
