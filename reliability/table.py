"""One row per scenario, every figure in one Markdown table (docs/figures/reliability.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.figures import Figures, markdown_table

COLUMNS = (
    "part",
    "scenario",
    "requests",
    "5xx",
    "p99 ms",
    "green = stored = crossings",
    "dup",
    "seconds (bound)",
    "notes",
    "kept",
)
FIGURES = Figures("reliability.md", "reliability/report.py", COLUMNS)


@dataclass(frozen=True, slots=True)
class Row:
    part: str  # faults | workers | shutdown
    scenario: str
    broken: tuple[str, ...]  # the promises this scenario did not keep; empty when all held
    requests: int | None = None
    server_errors: int | None = None
    p99_ms: float | None = None
    balance: str | None = None  # "greens = stored = crossings"
    duplicates: int | None = None
    seconds: float | None = None  # recovery, reach or exit time, against `bound`
    bound: float | None = None
    notes: str = ""

    @property
    def kept(self) -> bool:
        return not self.broken

    def cells(self) -> list[str]:
        return [
            self.part,
            self.scenario,
            _number(self.requests),
            _number(self.server_errors),
            "—" if self.p99_ms is None or math.isnan(self.p99_ms) else f"{self.p99_ms:,.0f}",
            self.balance or "—",
            _number(self.duplicates),
            _seconds(self.seconds, self.bound),
            self.notes,
            "yes" if self.kept else "NO: " + "; ".join(self.broken),
        ]


def _number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _seconds(value: float | None, bound: float | None) -> str:
    if value is None:
        return "—"
    shown = f"{value:.2f}" if math.isfinite(value) else "never"
    return shown if bound is None else f"{shown} (≤ {bound:g})"


def render(rows: Sequence[Row]) -> str:
    return markdown_table(COLUMNS, [row.cells() for row in rows])
