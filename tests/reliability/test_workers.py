"""Two server processes on one database: changes reach both, the database arbitrates."""

from __future__ import annotations

from reliability.table import render
from reliability.workers import run_workers


def test_two_processes_agree() -> None:
    rows = run_workers()
    assert len(rows) == 5
    assert all(row.kept for row in rows), render(rows)
