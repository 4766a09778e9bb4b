"""Which changes make CloudFormation replace a resource, read from the resource provider schemas.

The schemas are the CloudFormation registry's own (``createOnlyProperties``: changing one
replaces the resource), as shipped and kept current by cfn-lint. Nothing here is guessed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

DATA_TYPES = frozenset(
    {
        "AWS::Logs::LogGroup",
        "AWS::S3::Bucket",
        "AWS::S3Express::DirectoryBucket",
        "AWS::KMS::Key",
        "AWS::SecretsManager::Secret",
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::RDS::GlobalCluster",
        "AWS::DocDB::DBCluster",
        "AWS::Neptune::DBCluster",
        "AWS::Redshift::Cluster",
        "AWS::EFS::FileSystem",
        "AWS::FSx::FileSystem",
        "AWS::EC2::Volume",
        "AWS::SQS::Queue",
        "AWS::Kinesis::Stream",
        "AWS::ECR::Repository",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::CacheCluster",
        "AWS::OpenSearchService::Domain",
        "AWS::Elasticsearch::Domain",
        "AWS::Cognito::UserPool",
        "AWS::Backup::BackupVault",
        "AWS::Timestream::Table",
    }
)
"""Resource types that hold data (records, objects, messages, keys, secrets, images): deleting
or replacing one loses what it holds, or leaves it behind in an orphan."""

KEEPING_POLICIES = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})
"""DeletionPolicy / UpdateReplacePolicy values that keep the old physical resource (or a snapshot)."""

NEW_REVISION_TYPES = frozenset({"AWS::ECS::TaskDefinition"})
"""Immutable by design: every change registers a new revision and the service rolls to it."""

SCHEMA_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-2")
"""Regions whose schemas are consulted, in order, for a resource type."""


@dataclass(frozen=True)
class ResourceRules:
    """What the registry schema of one resource type says about updates."""

    resource_type: str
    create_only: tuple[str, ...]
    """Property paths (``Tags/*/Key`` style) whose change replaces the resource."""
    name_properties: tuple[str, ...]
    """Create-only properties that, all set, give the resource a fixed physical name: its
    primary identifier when the template sets it, else its ``Name``/``<Type>Name``."""
    known: bool
    """False when no schema describes the type (custom resources, retired types)."""

    @property
    def holds_data(self) -> bool:
        return holds_data(self.resource_type)


def holds_data(resource_type: str) -> bool:
    """True for resource types that hold data (see ``DATA_TYPES``)."""
    return resource_type in DATA_TYPES


@cache
def rules_for(resource_type: str) -> ResourceRules:
    """The replacement rules of ``resource_type`` (cached; unknown types have none)."""
    schema = _schema(resource_type)
    if schema is None:
        return ResourceRules(resource_type, (), (), known=False)
    create_only = tuple(
        _property_path(pointer) for pointer in schema.get("createOnlyProperties", [])
    )
    read_only = {_property_path(pointer) for pointer in schema.get("readOnlyProperties", [])}
    identifiers = tuple(_property_path(pointer) for pointer in schema.get("primaryIdentifier", []))
    suffix = resource_type.rsplit("::", 1)[-1]
    if identifiers and all(item in create_only and item not in read_only for item in identifiers):
        names = identifiers
    else:
        names = tuple(
            path
            for path in create_only
            if path in ("Name", f"{suffix}Name") and path not in read_only
        )
    return ResourceRules(resource_type, create_only, names, known=True)


def _property_path(pointer: str) -> str:
    return pointer.removeprefix("/properties/")


def _schema(resource_type: str) -> dict[str, Any] | None:
    if not re.fullmatch(r"[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+", resource_type):
        return None
    if (
        resource_type.startswith("Custom::")
        or resource_type == "AWS::CloudFormation::CustomResource"
    ):
        return None
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    except ImportError as error:  # pragma: no cover - cfn-lint is a dependency of the review extra
        raise RuntimeError(
            "the review needs cfn-lint for the CloudFormation resource schemas: "
            "pip install 'ecs-patterns-plus[review]'"
        ) from error
    for region in SCHEMA_REGIONS:
        try:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type)
        except Exception:  # cfn-lint raises ResourceNotFoundError for types a region lacks
            continue
        return dict(schema.schema)
    return None


_MISSING = object()


def values_at(properties: Any, path: str) -> list[Any]:
    """The values at ``path`` (``A/B``, ``Tags/*/Key``) in ``properties``; missing parts included.

    Two property sets agree on a create-only path when their value lists are equal.
    """
    found: list[Any] = [properties]
    for part in path.split("/"):
        step: list[Any] = []
        for value in found:
            if part == "*":
                step.extend(value if isinstance(value, list) else [])
            elif value is _MISSING:
                step.append(_MISSING)
            elif isinstance(value, dict) and part in value:
                step.append(value[part])
            else:
                step.append(_MISSING)
        found = step
    return [None if value is _MISSING else value for value in found]


@cache
def _iam_actions() -> dict[str, dict[str, Any]]:
    """Service prefix -> {action (lower case) -> {"Resources": [...]}}, from cfn-lint's data."""
    text = (resources.files("cfnlint.data.AdditionalSpecs") / "Policies.json").read_text()
    data: dict[str, dict[str, Any]] = json.loads(text)
    return {prefix: service.get("Actions", {}) for prefix, service in data.items()}


def resource_scoped(actions: list[Any]) -> bool:
    """True when one of ``actions`` can be limited to resources (so ``Resource: *`` widens it).

    Actions such as ``ecr:GetAuthorizationToken`` have no resource-level permissions:
    ``*`` is the only resource they take. Unknown actions count as scoped.
    """
    catalogue = _iam_actions()
    for action in actions:
        if not isinstance(action, str) or ":" not in action:
            return True
        prefix, _, name = action.lower().partition(":")
        known = catalogue.get(prefix)
        if known is None:
            return True
        matches = fnmatch.filter(known, name) if any(c in name for c in "*?") else [name]
        if not matches or any(known.get(item, {}).get("Resources") for item in matches):
            return True
    return False
