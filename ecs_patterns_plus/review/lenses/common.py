"""What the lenses share: resources paired by logical id, lists compared item by item."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from ..templates import Resource, canonical

Sign = Literal["+", "-"]
"""``+`` for what the change adds, ``-`` for what it takes away."""


def pairs(
    old: Mapping[str, Resource], new: Mapping[str, Resource], types: Iterable[str]
) -> list[tuple[str, Resource | None, Resource | None]]:
    """(logical id, old, new) of every resource of ``types`` in either set, by logical id."""
    wanted = set(types)
    result = []
    for logical_id in sorted(set(old) | set(new)):
        before, after = old.get(logical_id), new.get(logical_id)
        kinds = {item["Type"] for item in (before, after) if item is not None}
        if kinds & wanted:
            result.append((logical_id, before, after))
    return result


def multiset_diff(old: list[Any], new: list[Any]) -> list[tuple[Sign, Any]]:
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
