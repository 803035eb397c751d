"""What changed between two versions of a rule, line by line (difflib's unified diff)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from greenlane.wire.rules import RuleContent

LineKind = Literal["same", "added", "removed", "hunk"]


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: LineKind
    text: str


def _lines(version: RuleContent) -> list[str]:
    applies = version.applies_to
    return [
        f"name: {version.name}",
        f"effect: {version.effect}",
        f"reason_code: {version.reason_code}",
        f"message: {version.message}",
        f"enabled: {'yes' if version.enabled else 'no'}",
        f"categories: {', '.join(applies.categories or []) if applies else 'all'}",
        f"ports: {', '.join(applies.ports or []) if applies else 'all'}",
        f"valid_from: {version.valid_from or '—'}",
        f"valid_until: {version.valid_until or '—'}",
        "condition:",
        *version.condition.splitlines(),
        "description:",
        *version.description.splitlines(),
    ]


def diff(old: RuleContent, new: RuleContent) -> list[DiffLine]:
    found: list[DiffLine] = []
    for line in difflib.unified_diff(_lines(old), _lines(new), lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            found.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            found.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            found.append(DiffLine("removed", line[1:]))
        else:
            found.append(DiffLine("same", line[1:]))
    return found
