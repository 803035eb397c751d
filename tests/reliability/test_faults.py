"""The short fault run (make faults --short): every fault keeps every promise."""

from __future__ import annotations

from reliability.faults import SHORT, run_faults
from reliability.table import render


def test_every_fault_keeps_its_promises() -> None:
    rows = run_faults(SHORT)
    assert [row.scenario for row in rows] == [
        "pass (baseline)",
        "latency 300 ms",
        "blackhole",
        "reset",
        "pg_ctl stop, start",
    ]
    assert all(row.kept for row in rows), render(rows)
