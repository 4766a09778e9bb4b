"""Compare two sets of synthesized templates and say what CloudFormation will do with the change.

The diff matches stacks by name and resources by logical id (pairing renamed ones), and
finds what is added, removed, modified and replaced, and the exports in use that change;
the lenses (``lenses``) then read IAM, security group, load-balancing and task-definition
changes from the matched resources.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from .lenses import (
    iam_changes,
    load_balancing_changes,
    security_group_changes,
    task_definition_changes,
)
from .report import (
    ExportChange,
    PreflightFinding,
    Replacement,
    Report,
    ResourceChange,
    StackReview,
)
from .schemas import holds_data, rules_for, values_at
from .templates import (
    Resource,
    Template,
    calls,
    canonical,
    cdk_path,
    leaves,
    references,
    rename_references,
    render,
    resources,
)

RENAME_SIMILARITY = 0.5
"""Share of equal property values above which a removed and an added resource of the same
type are one resource under a new logical id (a renamed or moved construct)."""

BODY_KEYS = ("Properties", "DeletionPolicy", "UpdateReplacePolicy", "Condition", "UpdatePolicy")
"""The parts of a resource whose change updates it (Metadata and DependsOn do not)."""


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
        iam=tuple(iam_changes(name, diff.old, diff.new)),
        security_groups=tuple(security_group_changes(name, diff.old, diff.new)),
        load_balancing=tuple(load_balancing_changes(name, diff.old, diff.new)),
        task_definitions=tuple(task_definition_changes(name, diff.old, diff.new)),
        exports=exports,
        preflight=tuple(_new_preflight(name, base or {}, new or {})),
    )


def _new_preflight(name: str, base: Template, new: Template) -> Iterable[PreflightFinding]:
    """The preflight findings of ``new`` that ``base`` did not have (by id and construct)."""
    from ..preflight import METADATA_KEY

    def findings(template: Template) -> list[dict[str, Any]]:
        found = template.get("Metadata", {}).get(METADATA_KEY, [])
        return found if isinstance(found, list) else []

    known = {(item.get("id"), item.get("path")) for item in findings(base)}
    for item in findings(new):
        if (item.get("id"), item.get("path")) not in known:
            yield PreflightFinding(
                stack=name,
                check=str(item.get("id", "")).removeprefix("ecs-patterns-plus:preflight-"),
                path=str(item.get("path", "")),
                message=str(item.get("message", "")),
                error=bool(item.get("error")),
            )


def _imported_exports(template: Template) -> Iterable[str]:
    """The names of the exports ``template`` imports with ``Fn::ImportValue``."""
    for section in ("Resources", "Outputs"):
        for _, name in calls(template.get(section, {}), ("Fn::ImportValue",)):
            yield render(name)


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
