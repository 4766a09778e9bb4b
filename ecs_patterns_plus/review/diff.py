"""Compare two sets of synthesized templates and say what CloudFormation will do with the change."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .schemas import KEEPING_POLICIES, holds_data, resource_scoped, rules_for, values_at
from .templates import (
    Template,
    canonical,
    cdk_path,
    leaves,
    references,
    rename_references,
    render,
    resources,
)

Resource = dict[str, Any]
Sign = Literal["+", "-"]

RENAME_SIMILARITY = 0.5
"""Share of equal property values above which a removed and an added resource of the same
type are one resource under a new logical id (a renamed or moved construct)."""

BODY_KEYS = ("Properties", "DeletionPolicy", "UpdateReplacePolicy", "Condition", "UpdatePolicy")
"""The parts of a resource whose change updates it (Metadata and DependsOn do not)."""


# --- Findings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceChange:
    """A resource added, removed or modified in place (replacements are listed apart)."""

    stack: str
    logical_id: str
    resource_type: str
    action: Literal["added", "removed", "modified"]
    properties: tuple[str, ...] = ()
    """For ``modified``: the top-level properties (and policies) that changed."""
    holds_data: bool = False
    policy: str = ""
    """For ``removed``: the DeletionPolicy that decides the fate of the old resource."""


@dataclass(frozen=True)
class Replacement:
    """A resource CloudFormation will replace: create a new one, then delete (or keep) the old.

    ``cause`` is ``renamed`` (new logical id; ``because`` holds the old id), ``property``
    (``because`` holds the create-only properties that changed), ``reference`` (a create-only
    property refers to resources in ``because`` that are themselves replaced) or ``type``.
    """

    stack: str
    logical_id: str
    resource_type: str
    cause: Literal["renamed", "property", "reference", "type"]
    because: tuple[str, ...]
    holds_data: bool
    policy: str
    """The policy (UpdateReplacePolicy, or DeletionPolicy for a renamed resource) that
    decides whether the old physical resource is kept (Retain, Snapshot) or deleted."""
    name_conflict: str = ""
    """A fixed physical name the new resource would share with the old one: the update fails."""

    @property
    def keeps_old(self) -> bool:
        return self.policy in KEEPING_POLICIES


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


@dataclass(frozen=True)
class SecurityGroupChange:
    """A security group rule added or removed (inline or as its own resource)."""

    stack: str
    group: str
    change: Sign
    direction: Literal["ingress", "egress"]
    rule: str
    flags: tuple[str, ...] = ()


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


@dataclass(frozen=True)
class TaskDefinitionChange:
    """A task definition setting that changed: image, cpu/memory, environment or secret names."""

    stack: str
    logical_id: str
    container: str
    setting: str
    old: str
    new: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportChange:
    """A cross-stack export removed or changed while another stack imports it: the update fails.

    CloudFormation refuses to delete or change an export that a deployed stack imports
    (``Fn::ImportValue``), and CDK deploys the exporting stack first.
    """

    stack: str
    export: str
    change: Literal["removed", "changed"]
    imported_by: tuple[str, ...]


@dataclass(frozen=True)
class StackReview:
    """Everything the change does to one stack."""

    name: str
    status: Literal["added", "removed", "modified", "unchanged"]
    changes: tuple[ResourceChange, ...] = ()
    replacements: tuple[Replacement, ...] = ()
    iam: tuple[IamChange, ...] = ()
    security_groups: tuple[SecurityGroupChange, ...] = ()
    load_balancing: tuple[LoadBalancingChange, ...] = ()
    task_definitions: tuple[TaskDefinitionChange, ...] = ()
    exports: tuple[ExportChange, ...] = ()

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)


@dataclass(frozen=True)
class Report:
    """The review of every stack, in name order."""

    stacks: tuple[StackReview, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> tuple[StackReview, ...]:
        return tuple(stack for stack in self.stacks if stack.status != "unchanged")

    @property
    def replacements(self) -> tuple[Replacement, ...]:
        return tuple(item for stack in self.stacks for item in stack.replacements)

    @property
    def iam(self) -> tuple[IamChange, ...]:
        return tuple(item for stack in self.stacks for item in stack.iam)

    @property
    def security_groups(self) -> tuple[SecurityGroupChange, ...]:
        return tuple(item for stack in self.stacks for item in stack.security_groups)

    @property
    def load_balancing(self) -> tuple[LoadBalancingChange, ...]:
        return tuple(item for stack in self.stacks for item in stack.load_balancing)

    @property
    def task_definitions(self) -> tuple[TaskDefinitionChange, ...]:
        return tuple(item for stack in self.stacks for item in stack.task_definitions)

    @property
    def exports(self) -> tuple[ExportChange, ...]:
        return tuple(item for stack in self.stacks for item in stack.exports)

    @property
    def changes(self) -> tuple[ResourceChange, ...]:
        return tuple(item for stack in self.stacks for item in stack.changes)

    @property
    def data_replaced(self) -> tuple[Replacement, ...]:
        """Replacements of resources that hold data: the new one starts empty."""
        return tuple(item for item in self.replacements if item.holds_data)

    @property
    def data_removed(self) -> tuple[ResourceChange, ...]:
        """Removed resources that hold data (deleted, or kept as orphans by their policy)."""
        return tuple(item for item in self.changes if item.action == "removed" and item.holds_data)


# --- The review ------------------------------------------------------------------------------


def review(base: Mapping[str, Template], new: Mapping[str, Template]) -> Report:
    """Compare ``base`` and ``new`` templates (by stack name) and collect every finding.

    A stack only in ``new`` is compared with an empty template (everything is added); a
    stack only in ``base`` is removed with all its resources.
    """
    names = sorted(set(base) | set(new))
    imports: dict[str, list[str]] = {}
    for name, template in sorted(base.items()):
        for export in sorted(set(_imported_exports(template))):
            imports.setdefault(export, []).append(name)
    return Report(
        tuple(review_stack(name, base.get(name), new.get(name), imports=imports) for name in names)
    )


def review_stack(
    name: str,
    base: Template | None,
    new: Template | None,
    *,
    imports: Mapping[str, Sequence[str]] | None = None,
) -> StackReview:
    """The findings for one stack; ``None`` stands for a stack that does not exist.

    ``imports`` maps export names to the stacks that import them before the change.
    """
    diff = _StackDiff(name, resources(base or {}), resources(new or {}))
    exports = tuple(_export_changes(name, base or {}, new or {}, diff, imports or {}))
    has_changes = bool(diff.changes or diff.replacements or exports)
    status: Literal["added", "removed", "modified", "unchanged"]
    if base is None:
        status = "added"
    elif new is None:
        status = "removed"
    else:
        status = "modified" if has_changes else "unchanged"
    return StackReview(
        name=name,
        status=status,
        changes=tuple(diff.changes),
        replacements=tuple(diff.replacements),
        iam=tuple(diff.iam_changes()),
        security_groups=tuple(diff.security_group_changes()),
        load_balancing=tuple(diff.load_balancing_changes()),
        task_definitions=tuple(diff.task_definition_changes()),
        exports=exports,
    )


def _imported_exports(template: Template) -> Iterable[str]:
    """The names of the exports ``template`` imports with ``Fn::ImportValue``."""

    def walk(value: Any) -> Iterable[str]:
        if isinstance(value, dict):
            if len(value) == 1 and "Fn::ImportValue" in value:
                yield render(value["Fn::ImportValue"])
                return
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    yield from walk(template.get("Resources", {}))
    yield from walk(template.get("Outputs", {}))


def _exports(template: Template) -> dict[str, Any]:
    """Export name -> exported value."""
    return {
        render(output["Export"]["Name"]): output.get("Value")
        for output in template.get("Outputs", {}).values()
        if isinstance(output, dict) and isinstance(output.get("Export"), dict)
    }


def _export_changes(
    stack: str,
    base: Template,
    new: Template,
    diff: _StackDiff,
    imports: Mapping[str, Sequence[str]],
) -> Iterable[ExportChange]:
    old_exports, new_exports = _exports(base), _exports(new)
    replaced = {item.logical_id for item in diff.replacements}
    for export, value in sorted(old_exports.items()):
        importers = tuple(name for name in imports.get(export, ()) if name != stack)
        if not importers:
            continue
        if export not in new_exports:
            yield ExportChange(stack, export, "removed", importers)
            continue
        now = new_exports[export]
        before = rename_references(value, diff.renamed)
        if canonical(before) != canonical(now) or any(
            target in replaced for target, _ in references(now)
        ):
            yield ExportChange(stack, export, "changed", importers)


class _StackDiff:
    """One stack's old and new resources, matched up, with the changes between them."""

    def __init__(self, stack: str, old: dict[str, Resource], new: dict[str, Resource]) -> None:
        self.stack = stack
        self.new = new
        self.renamed = _pair_renames(old, new)
        """old logical id -> new logical id, for resources that moved to a new id."""
        # The old resources as the new template names them: references to renamed
        # resources point to their new ids, so only real changes remain.
        self.old = {
            self.renamed.get(logical_id, logical_id): rename_references(resource, self.renamed)
            for logical_id, resource in old.items()
        }
        self.old_ids = {new_id: old_id for old_id, new_id in self.renamed.items()}
        self.changes: list[ResourceChange] = []
        self.replacements: list[Replacement] = []
        self._compare()

    # -- resources and replacements --

    def _compare(self) -> None:
        renamed_new = set(self.renamed.values())
        replaced: dict[str, Replacement] = {}
        for logical_id in sorted(set(self.old) | set(self.new)):
            before, after = self.old.get(logical_id), self.new.get(logical_id)
            if after is None:
                assert before is not None
                policy = _policy(before, "DeletionPolicy")
                self.changes.append(
                    ResourceChange(
                        self.stack,
                        self.old_ids.get(logical_id, logical_id),
                        before["Type"],
                        "removed",
                        holds_data=holds_data(before["Type"]),
                        policy=policy,
                    )
                )
                continue
            if before is None:
                self.changes.append(
                    ResourceChange(
                        self.stack,
                        logical_id,
                        after["Type"],
                        "added",
                        holds_data=holds_data(after["Type"]),
                    )
                )
                continue
            if logical_id in renamed_new:
                replaced[logical_id] = self._replacement(
                    logical_id, "renamed", (self.old_ids[logical_id],), before, after
                )
                continue
            if before["Type"] != after["Type"]:
                replaced[logical_id] = self._replacement(
                    logical_id, "type", (before["Type"],), before, after
                )
                continue
            forcing = _create_only_changes(before, after)
            if forcing:
                replaced[logical_id] = self._replacement(
                    logical_id, "property", forcing, before, after
                )
            changed = _changed_keys(before, after)
            if changed and not forcing:
                self.changes.append(
                    ResourceChange(
                        self.stack,
                        logical_id,
                        after["Type"],
                        "modified",
                        properties=changed,
                        holds_data=holds_data(after["Type"]),
                    )
                )
        self._cascade(replaced)
        self._follow_replaced(replaced)
        self.replacements = [replaced[key] for key in sorted(replaced)]

    def _cascade(self, replaced: dict[str, Replacement]) -> None:
        """Replace what refers to a replaced resource in a create-only property, to a fixpoint."""
        changed = True
        while changed:
            changed = False
            for logical_id in sorted(set(self.old) & set(self.new)):
                if logical_id in replaced:
                    continue
                after = self.new[logical_id]
                properties = after.get("Properties", {})
                targets = sorted(
                    {
                        target
                        for path in rules_for(after["Type"]).create_only
                        for value in values_at(properties, path)
                        for target, _ in references(value)
                        if target in replaced
                    }
                )
                if targets:
                    replaced[logical_id] = self._replacement(
                        logical_id, "reference", tuple(targets), self.old[logical_id], after
                    )
                    self.changes = [
                        change
                        for change in self.changes
                        if not (change.logical_id == logical_id and change.action == "modified")
                    ]
                    changed = True

    def _follow_replaced(self, replaced: Mapping[str, Replacement]) -> None:
        """Mark as modified what refers to a replaced resource: CloudFormation updates it."""
        modified = {
            change.logical_id: change for change in self.changes if change.action == "modified"
        }
        for logical_id in sorted(set(self.old) & set(self.new)):
            after = self.new[logical_id]
            if logical_id in replaced or after["Type"] != self.old[logical_id]["Type"]:
                continue
            following = {
                key
                for key, value in after.get("Properties", {}).items()
                if any(target in replaced for target, _ in references(value))
            }
            if not following:
                continue
            known = modified.get(logical_id)
            properties = tuple(sorted(following | set(known.properties if known else ())))
            modified[logical_id] = ResourceChange(
                self.stack,
                logical_id,
                after["Type"],
                "modified",
                properties=properties,
                holds_data=holds_data(after["Type"]),
            )
        self.changes = sorted(
            [change for change in self.changes if change.action != "modified"]
            + list(modified.values()),
            key=lambda change: change.logical_id,
        )

    def _replacement(
        self,
        logical_id: str,
        cause: Literal["renamed", "property", "reference", "type"],
        because: tuple[str, ...],
        before: Resource,
        after: Resource,
    ) -> Replacement:
        if cause == "renamed":
            policy = _policy(before, "DeletionPolicy")
        else:
            policy = _policy(after, "UpdateReplacePolicy")
        conflict = ""
        names = rules_for(after["Type"]).name_properties
        if before["Type"] == after["Type"] and names:
            old_names = [before.get("Properties", {}).get(name) for name in names]
            new_names = [after.get("Properties", {}).get(name) for name in names]
            fixed = all(
                value is not None and not any(True for _ in references(value))
                for value in new_names
            )
            if fixed and canonical(old_names) == canonical(new_names):
                conflict = " ".join(render(value) for value in new_names)
        return Replacement(
            stack=self.stack,
            logical_id=logical_id,
            resource_type=after["Type"],
            cause=cause,
            because=because,
            holds_data=holds_data(after["Type"]) or holds_data(before["Type"]),
            policy=policy,
            name_conflict=conflict,
        )

    def pairs(self, types: Iterable[str]) -> list[tuple[str, Resource | None, Resource | None]]:
        """(logical id, old, new) of every resource of ``types`` in either template."""
        wanted = set(types)
        result = []
        for logical_id in sorted(set(self.old) | set(self.new)):
            before, after = self.old.get(logical_id), self.new.get(logical_id)
            kinds = {item["Type"] for item in (before, after) if item is not None}
            if kinds & wanted:
                result.append((logical_id, before, after))
        return result

    # -- IAM --

    def iam_changes(self) -> list[IamChange]:
        result = []
        for logical_id, before, after in self.pairs(POLICY_DOCUMENTS):
            resource_type = (after or before or {})["Type"]
            old = _statements(before)
            new = _statements(after)
            for document in sorted(set(old) | set(new)):
                for sign, statement in _multiset_diff(old.get(document, []), new.get(document, [])):
                    flags = _widening(statement, document) if sign == "+" else ()
                    result.append(
                        IamChange(
                            self.stack,
                            logical_id,
                            resource_type,
                            document,
                            sign,
                            _render_statement(statement),
                            flags,
                        )
                    )
        return result

    # -- security groups --

    def security_group_changes(self) -> list[SecurityGroupChange]:
        old = _security_group_rules(self.old)
        new = _security_group_rules(self.new)
        result = []
        for group in sorted(set(old) | set(new)):
            for sign, (direction, rule) in _multiset_diff(old.get(group, []), new.get(group, [])):
                result.append(
                    SecurityGroupChange(
                        self.stack,
                        group,
                        sign,
                        direction,
                        _render_rule(direction, rule),
                        _rule_flags(direction, rule) if sign == "+" else (),
                    )
                )
        return result

    # -- load balancing --

    def load_balancing_changes(self) -> list[LoadBalancingChange]:
        result = []
        for logical_id, before, after in self.pairs(LOAD_BALANCING_TYPES):
            resource_type = (after or before or {})["Type"]
            for setting, old, new, flags in _load_balancing_settings(before, after):
                result.append(
                    LoadBalancingChange(
                        self.stack, logical_id, resource_type, setting, old, new, flags
                    )
                )
        return result

    # -- task definitions --

    def task_definition_changes(self) -> list[TaskDefinitionChange]:
        result = []
        for logical_id, before, after in self.pairs(("AWS::ECS::TaskDefinition",)):
            old = (before or {}).get("Properties", {})
            new = (after or {}).get("Properties", {})
            for container, setting, old_value, new_value, flags in _task_definition_settings(
                old, new
            ):
                result.append(
                    TaskDefinitionChange(
                        self.stack, logical_id, container, setting, old_value, new_value, flags
                    )
                )
        return result


# --- Matching renamed resources ------------------------------------------------------------


def _pair_renames(old: dict[str, Resource], new: dict[str, Resource]) -> dict[str, str]:
    """Old logical id -> new logical id for resources that only changed their logical id.

    A removed and an added resource of the same type are one resource under a new id when
    CDK recorded the same construct path for both, when their properties are equal once
    references to other renamed resources are followed, or, failing both, when most of
    their property values are equal (a renamed construct that also changed a little).
    """
    renamed: dict[str, str] = {}
    removed = sorted(set(old) - set(new))
    added = sorted(set(new) - set(old))

    def unpaired() -> tuple[list[str], list[str]]:
        taken = set(renamed.values())
        return (
            [item for item in removed if item not in renamed],
            [item for item in added if item not in taken],
        )

    by_path = {cdk_path(new[item]): item for item in added if cdk_path(new[item])}
    for item in removed:
        match = by_path.get(cdk_path(old[item]))
        if match and old[item]["Type"] == new[match]["Type"]:
            renamed[item] = match

    while True:
        progress = False
        while _pair_equal(old, new, renamed, *unpaired()):
            progress = True
        if _pair_similar(old, new, renamed, *unpaired()):
            progress = True
        if not progress:
            return renamed


def _pair_equal(
    old: dict[str, Resource],
    new: dict[str, Resource],
    renamed: dict[str, str],
    removed: list[str],
    added: list[str],
) -> bool:
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for item in removed:
        key = old[item]["Type"] + canonical(_body(rename_references(old[item], renamed)))
        groups.setdefault(key, ([], []))[0].append(item)
    for item in added:
        key = new[item]["Type"] + canonical(_body(new[item]))
        groups.setdefault(key, ([], []))[1].append(item)
    found = False
    for olds, news in groups.values():
        for old_id, new_id in zip(olds, news, strict=False):
            renamed[old_id] = new_id
            found = True
    return found


def _pair_similar(
    old: dict[str, Resource],
    new: dict[str, Resource],
    renamed: dict[str, str],
    removed: list[str],
    added: list[str],
) -> bool:
    scored = []
    added_leaves = {new_id: Counter(leaves(_body(new[new_id]))) for new_id in added}
    for old_id in removed:
        old_leaves = Counter(leaves(rename_references(_body(old[old_id]), renamed)))
        for new_id, new_leaves in added_leaves.items():
            if old[old_id]["Type"] != new[new_id]["Type"]:
                continue
            union = sum((old_leaves | new_leaves).values())
            score = sum((old_leaves & new_leaves).values()) / union if union else 0.0
            if score >= RENAME_SIMILARITY:
                scored.append((-score, old_id, new_id))
    found = False
    taken: set[str] = set()
    for _, old_id, new_id in sorted(scored):
        if old_id in renamed or new_id in taken:
            continue
        renamed[old_id] = new_id
        taken.add(new_id)
        found = True
    return found


def _body(resource: Resource) -> dict[str, Any]:
    return {key: resource[key] for key in BODY_KEYS if key in resource}


def _changed_keys(before: Resource, after: Resource) -> tuple[str, ...]:
    old_properties = before.get("Properties", {})
    new_properties = after.get("Properties", {})
    changed = [
        key
        for key in sorted(set(old_properties) | set(new_properties))
        if canonical(old_properties.get(key)) != canonical(new_properties.get(key))
    ]
    changed += [
        key for key in BODY_KEYS[1:] if canonical(before.get(key)) != canonical(after.get(key))
    ]
    return tuple(changed)


def _create_only_changes(before: Resource, after: Resource) -> tuple[str, ...]:
    old_properties = before.get("Properties", {})
    new_properties = after.get("Properties", {})
    return tuple(
        path
        for path in rules_for(after["Type"]).create_only
        if canonical(values_at(old_properties, path)) != canonical(values_at(new_properties, path))
    )


def _policy(resource: Resource, attribute: str) -> str:
    value = resource.get(attribute)
    if isinstance(value, str):
        return value
    # CloudFormation's own default: snapshots for RDS clusters and instances, else delete.
    if resource["Type"] in ("AWS::RDS::DBCluster", "AWS::RDS::DBInstance"):
        return "Snapshot"
    return "Delete"


def _multiset_diff(old: list[Any], new: list[Any]) -> list[tuple[Sign, Any]]:
    """``-`` for items only in ``old``, then ``+`` for items only in ``new`` (with multiplicity)."""
    old_count = Counter(canonical(item) for item in old)
    new_count = Counter(canonical(item) for item in new)
    result: list[tuple[Sign, Any]] = []
    for sign, items, mine, theirs in (
        ("-", old, old_count, new_count),
        ("+", new, new_count, old_count),
    ):
        extra = mine - theirs
        for item in items:
            key = canonical(item)
            if extra[key] > 0:
                extra[key] -= 1
                result.append((sign, item))  # type: ignore[arg-type]
    return result


# --- IAM -------------------------------------------------------------------------------------

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


# --- Security groups -------------------------------------------------------------------------

_RULE_TYPES = {
    "AWS::EC2::SecurityGroupIngress": "ingress",
    "AWS::EC2::SecurityGroupEgress": "egress",
}
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


def _security_group_rules(
    resources_by_id: Mapping[str, Resource],
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Group -> [(direction, rule without its description)], inline and standalone rules."""
    result: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for logical_id, resource in resources_by_id.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            result.setdefault(logical_id, [])
            for key, direction in (
                ("SecurityGroupIngress", "ingress"),
                ("SecurityGroupEgress", "egress"),
            ):
                for rule in properties.get(key, []):
                    result[logical_id].append((direction, _rule(rule)))
        elif resource["Type"] in _RULE_TYPES:
            group_ref = properties.get("GroupId")
            targets = [target for target, _ in references(group_ref)]
            group = targets[0] if len(targets) == 1 else render(group_ref)
            result.setdefault(group, []).append((_RULE_TYPES[resource["Type"]], _rule(properties)))
    return result


def _rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in rule.items() if key not in ("Description", "GroupId")}


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


# --- Load balancing --------------------------------------------------------------------------

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
            result.append((key, was, now, _lb_flags(resource_type, key, now, new)))
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
    return f"{kind} {render({k: v for k, v in action.items() if k != 'Type'})}".strip()


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


# --- Task definitions ------------------------------------------------------------------------

_TASK_SETTINGS = ("Cpu", "Memory")
_CONTAINER_SETTINGS = ("Image", "Cpu", "Memory", "MemoryReservation")


def _task_definition_settings(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    """(container, setting, old, new, flags); container is empty for task-level settings."""
    result: list[tuple[str, str, str, str, tuple[str, ...]]] = []
    for key in _TASK_SETTINGS:
        if canonical(old.get(key)) != canonical(new.get(key)):
            result.append(("", key.lower(), render(old.get(key)), render(new.get(key)), ()))
    old_containers = _containers(old)
    new_containers = _containers(new)
    for name in sorted(set(old_containers) | set(new_containers)):
        before = old_containers.get(name, {})
        after = new_containers.get(name, {})
        for key in _CONTAINER_SETTINGS:
            if canonical(before.get(key)) != canonical(after.get(key)):
                flags = _image_flags(after.get(key)) if key == "Image" else ()
                setting = "memoryReservation" if key == "MemoryReservation" else key.lower()
                result.append(
                    (name, setting, render(before.get(key)), render(after.get(key)), flags)
                )
        for setting, field_name, change_flag in (
            ("environment", "Environment", "value changed"),
            ("secrets", "Secrets", "source changed"),
        ):
            was = _named(
                before.get(field_name), "Value" if field_name == "Environment" else "ValueFrom"
            )
            now = _named(
                after.get(field_name), "Value" if field_name == "Environment" else "ValueFrom"
            )
            for variable in sorted(set(was) | set(now)):
                if variable not in now:
                    result.append((name, setting, variable, "", ()))
                elif variable not in was:
                    result.append((name, setting, "", variable, ()))
                elif was[variable] != now[variable]:
                    result.append((name, setting, variable, variable, (change_flag,)))
        result.extend(_container_security(name, before, after))
    return result


def _containers(properties: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    containers = properties.get("ContainerDefinitions", [])
    if not isinstance(containers, list):
        return {}
    return {render(item.get("Name")): item for item in containers if isinstance(item, dict)}


def _named(entries: Any, value_key: str) -> dict[str, str]:
    if not isinstance(entries, list):
        return {}
    return {
        render(item.get("Name")): canonical(item.get(value_key))
        for item in entries
        if isinstance(item, dict)
    }


def _image_flags(image: Any) -> tuple[str, ...]:
    if not isinstance(image, str) or "@sha256:" in image:
        return ()
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    if tag in ("", "latest"):
        return ("mutable tag",)
    return ()


def _container_security(
    name: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    result: list[tuple[str, str, str, str, tuple[str, ...]]] = []
    checks = (
        ("Privileged", "privileged", lambda value: value is True, "privileged container"),
        (
            "ReadonlyRootFilesystem",
            "readonlyRootFilesystem",
            lambda value: value is not True,
            "writable root filesystem",
        ),
        (
            "User",
            "user",
            lambda value: value in (None, "root", "0") or str(value).startswith(("0:", "root:")),
            "runs as root",
        ),
    )
    for key, setting, risky, flag in checks:
        was, now = before.get(key), after.get(key)
        if canonical(was) == canonical(now):
            continue
        flags = (flag,) if risky(now) and after else ()
        result.append((name, setting, render(was), render(now), flags))
    return result
