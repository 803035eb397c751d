"""The spool keeps every record through failed drains and dead workers (found by make faults)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from greenlane.services.spool import Spool


class Database:
    """Stands in for PostgreSQL: away until ``back`` is set, then keeps what it is sent."""

    def __init__(self) -> None:
        self.back = False
        self.rows: list[dict[str, Any]] = []

    async def write(self, records: Sequence[dict[str, Any]]) -> None:
        if not self.back:
            raise ConnectionResetError("the database is away")
        self.rows.extend(records)


def gone_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_failed_drains_lose_nothing(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        spool, database = Spool(tmp_path), Database()
        for n in range(6):
            await spool.append({"n": n})
            with pytest.raises(ConnectionResetError):
                await spool.drain(database.write)
        database.back = True
        await spool.drain(database.write)
        assert not spool.has_work()
        return sorted(row["n"] for row in database.rows)

    assert asyncio.run(scenario()) == list(range(6))


@pytest.mark.parametrize("name", ["spool-{pid}.jsonl", "spool-{pid}.draining-{pid}"])
def test_a_dead_workers_file_is_drained(tmp_path: Path, name: str) -> None:
    left = tmp_path / name.format(pid=gone_pid())
    left.write_bytes(msgspec.json.encode({"n": 1}) + b"\n")
    assert Spool(tmp_path).has_work()

    async def scenario() -> list[dict[str, Any]]:
        database = Database()
        database.back = True
        await Spool(tmp_path).drain(database.write)
        return database.rows

    assert asyncio.run(scenario()) == [{"n": 1}]
    assert not left.exists()


def test_a_live_workers_file_is_left_to_it(tmp_path: Path) -> None:
    theirs = tmp_path / f"spool-{os.getppid()}.jsonl"
    theirs.write_bytes(b'{"n":1}\n')

    async def scenario() -> int:
        database = Database()
        database.back = True
        return await Spool(tmp_path).drain(database.write)

    assert asyncio.run(scenario()) == 0
    assert theirs.exists()
    assert not Spool(tmp_path).has_work()  # so housekeeping does not keep trying to drain it
