"""Render a review Report as Markdown fit for a pull-request comment."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..money import money_range, signed_range
from .report import Replacement, Report, ResourceChange
from .schemas import KEEPING_POLICIES, NEW_REVISION_TYPES

if TYPE_CHECKING:
    from ..cost.delta import CostDelta

T = TypeVar("T")

TITLE = "Template review"

FOLD_ROWS = 20
"""Longer tables fold into ``<details>``; their flagged rows stay in view above them."""


def replace_block(path: Path, start_marker: str, end_marker: str, text: str) -> bool:
    """Put ``text`` between the two marker lines of the Markdown file ``path`` (a generated
    block of a README); True if the file changed. ValueError without the markers."""
    current = path.read_text(encoding="utf-8")
    start, end = current.find(start_marker), current.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"{path}: no {start_marker} ... {end_marker} block")
    updated = current[: start + len(start_marker)] + "\n" + text + current[end:]
    if updated == current:
        return False
    path.write_text(updated, encoding="utf-8")
    return True


def render_markdown(
    report: Report,
    *,
    diagrams: Mapping[str, str] | None = None,
    title: str = TITLE,
    max_chars: int | None = None,
) -> str:
    """The report as Markdown: summary, data at risk, replacements, then the changes by kind.

    ``diagrams`` (stack name -> Mermaid source) are appended, folded, for changed stacks.
    ``max_chars`` bounds the length (a pull-request comment holds 65,536 characters): over
    it, the diagrams go first, then the unflagged rows of long tables and the list of
    resources; flagged rows, replacements and the data-at-risk block always stay.
    """
    full = _render(report, diagrams, title, compact=False)
    if max_chars is None or len(full) <= max_chars:
        return full
    note = "\n_Shortened to fit one comment: run the review locally for every row._\n"
    if diagrams:
        shorter = _render(report, None, title, compact=False)
        if len(shorter) + len(note) <= max_chars:
            return shorter + note
    compact = _render(report, None, title, compact=True) + note
    if len(compact) <= max_chars:
        return compact
    cut = compact.rfind("\n", 0, max_chars - len(note) - 1)
    return compact[: cut + 1] + note


def _render(
    report: Report, diagrams: Mapping[str, str] | None, title: str, *, compact: bool
) -> str:
    lines = [f"## {title}", ""]
    changed = report.changed
    if not changed:
        lines += [f"No changes in {_plural(len(report.stacks), 'template')}.", ""]
        return "\n".join(lines)
    lines += _summary(report)
    lines += _data_alert(report)
    lines += _cost(report.cost, compact)
    lines += _section(
        "Preflight",
        "Run-time failures found at synth time (`enable_preflight`), new with this change.",
        report.preflight,
        ("Stack", "Construct", "Check", "Finding", "Flags"),
        lambda item: (
            item.stack,
            _code(item.path),
            _code(item.check),
            item.message,
            _flags(item.flags),
        ),
        compact,
    )
    lines += _section(
        "Replacements",
        "CloudFormation creates a new resource, then deletes the old one (or keeps it, by policy).",
        report.replacements,
        ("Stack", "Resource", "Type", "Why", "Old resource"),
        _replacement_row,
        compact,
    )
    lines += _section(
        "IAM statement changes",
        "",
        report.iam,
        ("Stack", "Resource", "Document", "", "Statement", "Flags"),
        lambda item: (
            item.stack,
            _code(item.logical_id),
            item.document,
            _sign(item.change),
            _code(item.statement),
            _flags(item.flags),
        ),
        compact,
    )
    lines += _section(
        "Security group rule changes",
        "",
        report.security_groups,
        ("Stack", "Group", "", "Direction", "Rule", "Flags"),
        lambda item: (
            item.stack,
            _code(item.group),
            _sign(item.change),
            item.direction,
            _code(item.rule),
            _flags(item.flags),
        ),
        compact,
    )
    lines += _section(
        "Load balancer, listener and TLS changes",
        "",
        report.load_balancing,
        ("Stack", "Resource", "Type", "Setting", "Before", "After", "Flags"),
        lambda item: (
            item.stack,
            _code(item.logical_id),
            _short_type(item.resource_type),
            _code(item.setting),
            _code(item.old),
            _code(item.new),
            _flags(item.flags),
        ),
        compact,
    )
    lines += _section(
        "Task definition changes",
        "Any change registers a new task definition revision and rolls the service to it.",
        report.task_definitions,
        ("Stack", "Task definition", "Container", "Setting", "Before", "After", "Flags"),
        lambda item: (
            item.stack,
            _code(item.logical_id),
            _code(item.container) if item.container else "(task)",
            item.setting,
            _code(item.old),
            _code(item.new),
            _flags(item.flags),
        ),
        compact,
    )
    lines += _resource_details(report.changes, compact)
    if diagrams:
        for stack in changed:
            if stack.name in diagrams:
                lines += [
                    "<details>",
                    f"<summary>Architecture of {stack.name} after the change</summary>",
                    "",
                    "```mermaid",
                    diagrams[stack.name].rstrip(),
                    "```",
                    "",
                    "</details>",
                    "",
                ]
    return "\n".join(lines)


def _summary(report: Report) -> list[str]:
    lines = [
        f"{_plural(len(report.changed), 'stack')} changed of {len(report.stacks)}.",
        "",
        "| Stack | Status | Added | Removed | Modified | Replaced |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for stack in report.changed:
        lines.append(
            _row(
                (
                    stack.name,
                    stack.status,
                    str(stack.count("added")),
                    str(stack.count("removed")),
                    str(stack.count("modified")),
                    str(len(stack.replacements)),
                )
            )
        )
    return [*lines, ""]


def _data_alert(report: Report) -> list[str]:
    replaced, removed = report.data_replaced, report.data_removed
    conflicts = [item for item in report.replacements if item.name_conflict]
    exports = report.exports
    if not (replaced or removed or conflicts or exports):
        return []
    lines = ["> [!CAUTION]"]
    if replaced:
        lines.append(
            f"> **{_plural(len(replaced), 'resource')} holding data will be replaced**: the new "
            "one starts empty. "
            + ", ".join(
                f"`{item.logical_id}` ({_short_type(item.resource_type)})" for item in replaced
            )
        )
        lines.append(">")
    if removed:
        lines.append(
            f"> **{_plural(len(removed), 'resource')} holding data will be removed**: "
            + ", ".join(
                f"`{item.logical_id}` ({_short_type(item.resource_type)}, "
                + ("kept as an orphan" if item.policy in KEEPING_POLICIES else "**deleted**")
                + ")"
                for item in removed
            )
        )
        lines.append(">")
    if conflicts:
        lines.append(
            "> **The update will fail**: a replaced resource keeps its fixed name, which the "
            "old one still holds: "
            + ", ".join(f"`{item.logical_id}` (`{item.name_conflict}`)" for item in conflicts)
        )
        lines.append(">")
    if exports:
        lines.append(
            "> **The update will fail**: CloudFormation cannot delete or change an export that "
            "another stack imports (the deadly embrace). Weaken the reference first "
            "(`CrossStackReferences.of(consumer).consume(ReferenceStrength.WEAK)`) or keep "
            "exporting the old value (`stack.export_value(...)`), deploy, then change it: "
            + ", ".join(
                f"`{item.export}` ({item.change}, imported by {', '.join(item.imported_by)})"
                for item in exports
            )
        )
        lines.append(">")
    return [*lines[:-1], ""]


def _cost(delta: CostDelta | None, compact: bool) -> list[str]:
    """The monthly cost change by resource class, flagged above the threshold."""
    if delta is None:
        return []
    note = (
        f"List prices in {delta.region}, USD a month at the minimum and the maximum task count"
        + (f" ({delta.region_note})" if delta.region_note else "")
        + "; `python -m ecs_patterns_plus.cost` prints every line, price and source."
    )
    lines = ["### Monthly cost", "", note, ""]
    if not delta.classes:
        lines += [f"No change to the estimate ({money_range(*delta.after)}).", ""]
    else:
        total_flags = delta.total_flags
        lines += [
            _row(("Resource class", "Stacks", "Before", "After", "Change", "Flags")),
            "|---|---|---:|---:|---:|---|",
            *(
                _row(
                    (
                        item.resource_class,
                        ", ".join(item.stacks),
                        money_range(*item.before),
                        money_range(*item.after),
                        signed_range(*item.change),
                        _flags(item.flags),
                    )
                )
                for item in delta.classes
            ),
            _row(
                (
                    "**Total**",
                    "",
                    money_range(*delta.before),
                    money_range(*delta.after),
                    f"**{signed_range(*delta.change)}**",
                    _flags(total_flags),
                )
            ),
            "",
        ]
    lines += [f"_Not priced: {message}._" for message in delta.missing]
    if delta.missing:
        lines.append("")
    if not compact:
        lines += [
            "<details>",
            "<summary>Assumptions</summary>",
            "",
            *(
                f"- `{name}` = {value:g}: {meaning}"
                for name, value, meaning in delta.assumptions.items()
            ),
            "",
            "</details>",
            "",
        ]
    return lines


def _replacement_row(item: Replacement) -> Sequence[str]:
    why = {
        "renamed": "logical id changed, was {}",
        "property": "create-only {} changed",
        "reference": "refers to replaced {}",
        "type": "resource type changed, was {}",
    }[item.cause].format(", ".join(_code(part) for part in item.because))
    if item.resource_type in NEW_REVISION_TYPES:
        why += " (new revision)"
    fate = "kept (" + item.policy + ")" if item.keeps_old else "deleted"
    if item.resource_type in NEW_REVISION_TYPES and not item.keeps_old:
        fate = "old revision deregistered"
    if item.holds_data:
        fate = f"**holds data**, {fate}"
    if item.name_conflict:
        fate += f"; **fails: name `{item.name_conflict}` is taken**"
    return (item.stack, _code(item.logical_id), _short_type(item.resource_type), why, fate)


def _resource_details(changes: Iterable[ResourceChange], compact: bool) -> list[str]:
    items = list(changes)
    if not items:
        return []
    if compact:
        return [f"{_plural(len(items), 'resource')} added, removed or modified in place.", ""]
    lines = [
        "<details>",
        f"<summary>{_plural(len(items), 'resource')} added, removed or modified in place</summary>",
        "",
        "| Stack | | Resource | Type | Properties |",
        "|---|---|---|---|---|",
    ]
    signs = {"added": "+", "removed": "-", "modified": "~"}
    for item in items:
        detail = ", ".join(item.properties)
        if item.action == "removed" and item.holds_data:
            detail = "**holds data**, " + (
                f"kept ({item.policy})" if item.policy in KEEPING_POLICIES else "deleted"
            )
        lines.append(
            _row(
                (
                    item.stack,
                    signs[item.action],
                    _code(item.logical_id),
                    _short_type(item.resource_type),
                    detail,
                )
            )
        )
    return [*lines, "", "</details>", ""]


def _section(
    title: str,
    note: str,
    items: Sequence[T],
    header: Sequence[str],
    row: Callable[[T], Sequence[str]],
    compact: bool,
) -> list[str]:
    if not items:
        return []
    lines = [f"### {title}", ""]
    if note:
        lines += [note, ""]
    table = [_row(header), "|" + "---|" * len(header), *(_row(row(item)) for item in items)]
    if len(items) <= FOLD_ROWS:
        return [*lines, *table, ""]
    flagged = [item for item in items if _is_flagged(item)]
    if flagged:
        lines += [_row(header), "|" + "---|" * len(header)]
        lines += [_row(row(item)) for item in flagged]
        lines.append("")
    if compact:
        return [*lines, f"{len(items) - len(flagged)} more without flags.", ""]
    summary = f"All {len(items)} ({len(flagged)} flagged above)" if flagged else f"All {len(items)}"
    return [*lines, "<details>", f"<summary>{summary}</summary>", "", *table, "", "</details>", ""]


def _is_flagged(item: object) -> bool:
    return bool(getattr(item, "flags", ())) or bool(getattr(item, "holds_data", False))


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"


def _code(text: str) -> str:
    if not text:
        return ""
    fence = "``" if "`" in text else "`"
    padding = " " if fence == "``" else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def _sign(change: str) -> str:
    return "added" if change == "+" else "removed"


def _flags(flags: Iterable[str]) -> str:
    return ", ".join(f"⚠️ {flag}" for flag in flags)


def _short_type(resource_type: str) -> str:
    return resource_type.removeprefix("AWS::")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
