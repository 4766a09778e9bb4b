"""The acknowledgement table of docs/compliance.md, as the compliance tests enforce it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from tests.synth import ROOT

TABLE = ROOT / "docs" / "compliance.md"
_CELL = re.compile(r"(?<!\\)\|")
_CODE = re.compile(r"`([^`]*)`")


@dataclass(frozen=True)
class Row:
    """One acknowledgement: its catalogue name, the ids it covers, where it may sit."""

    name: str
    rules: frozenset[str]
    checkov: frozenset[str]
    cfn_lint: frozenset[str]
    path: re.Pattern[str]


@cache
def rows() -> tuple[Row, ...]:
    """Every row of both tables (aws-cdk-lib's own acknowledgements have no catalogue name)."""
    found = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip().replace("\\|", "|") for cell in _CELL.split(line.strip())[1:-1]]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        if len(cells) == 4:  # Acknowledgement | Rules | Path | Why
            name, ids, path = _CODE.findall(cells[0])[0], _CODE.findall(cells[1]), cells[2]
        else:  # Rule | Path | Why
            name, ids, path = "", _CODE.findall(cells[0]), cells[1]
        found.append(
            Row(
                name=name,
                rules=frozenset(i for i in ids if ":" not in i or "::" in i or "[" in i),
                checkov=frozenset(
                    i.removeprefix("checkov:") for i in ids if i.startswith("checkov:")
                ),
                cfn_lint=frozenset(
                    i.removeprefix("cfn-lint:") for i in ids if i.startswith("cfn-lint:")
                ),
                path=re.compile(_CODE.findall(path)[0] if "`" in path else path),
            )
        )
    return tuple(found)


def allowed(rule: str, path: str) -> bool:
    """True when some row covers ``rule`` on the construct at ``path``."""
    return any(rule in row.rules and row.path.search(path) for row in rows())
