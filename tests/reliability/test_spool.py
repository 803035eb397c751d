"""The spool keeps every record through failed drains and dead workers (found by make faults),
and drains what an older version wrote."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from greenlane.domain.verification import VerificationRecord
from greenlane.services.spool import Spool

CHECKED = datetime(2026, 12, 3, 9, 30, 0, 123456, tzinfo=UTC)


def record(n: int) -> VerificationRecord:
    """A degraded record told apart from the others by ``latency_us``."""
    return VerificationRecord(
        lane_client=uuid.UUID(int=1),
        event_id=uuid.UUID(int=1000 + n),
        request_sha="ab" * 32,
        port_code="CNPXG",
        lane_code="L1",
        direction="entry",
        decision="green",
        codes=(),
        single_entry=False,
        mode="degraded",
        latency_us=n,
        occurred_at=CHECKED,
        checked_at=CHECKED,
        clearance_id=uuid.UUID(int=2),
        crossing_id=uuid.UUID(int=3),
    )


class Database:
    """Stands in for PostgreSQL: away until ``back`` is set, then keeps what it is sent."""

    def __init__(self) -> None:
        self.back = False
        self.rows: list[VerificationRecord] = []

    async def write(self, records: Sequence[VerificationRecord]) -> None:
        if not self.back:
            raise ConnectionResetError("the database is away")
        self.rows.extend(records)


def drained(directory: Path) -> list[VerificationRecord]:
    async def scenario() -> list[VerificationRecord]:
        database = Database()
        database.back = True
        await Spool(directory).drain(database.write)
        return database.rows

    return asyncio.run(scenario())


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
            await spool.append(record(n))
            with pytest.raises(ConnectionResetError):
                await spool.drain(database.write)
        database.back = True
        await spool.drain(database.write)
        assert not spool.has_work()
        return sorted(row.latency_us for row in database.rows)

    assert asyncio.run(scenario()) == list(range(6))


@pytest.mark.parametrize("name", ["spool-{pid}.jsonl", "spool-{pid}.draining-{pid}"])
def test_a_dead_workers_file_is_drained(tmp_path: Path, name: str) -> None:
    left = tmp_path / name.format(pid=gone_pid())
    left.write_bytes(msgspec.json.encode(record(1)) + b"\n")
    assert Spool(tmp_path).has_work()
    assert drained(tmp_path) == [record(1)]
    assert not left.exists()


def test_a_live_workers_file_is_left_to_it(tmp_path: Path) -> None:
    theirs = tmp_path / f"spool-{os.getppid()}.jsonl"
    theirs.write_bytes(msgspec.json.encode(record(1)) + b"\n")

    async def scenario() -> int:
        database = Database()
        database.back = True
        return await Spool(tmp_path).drain(database.write)

    assert asyncio.run(scenario()) == 0
    assert theirs.exists()
    assert not Spool(tmp_path).has_work()  # so housekeeping does not keep trying to drain it


def test_a_line_is_a_tagged_record(tmp_path: Path) -> None:
    async def scenario() -> None:
        await Spool(tmp_path).append(record(1))

    asyncio.run(scenario())
    (line,) = (tmp_path / f"spool-{os.getpid()}.jsonl").read_bytes().split()
    assert msgspec.json.decode(line)["format"] == 2


def test_a_format_1_file_still_drains(tmp_path: Path) -> None:
    # Exactly what a worker before the typed record wrote: a dict, ISO timestamps, string ids.
    old = {
        "lane_client": str(uuid.UUID(int=1)),
        "event_id": str(uuid.UUID(int=1001)),
        "request_sha": "ab" * 32,
        "port_code": "CNPXG",
        "lane_code": "L1",
        "clearance_id": str(uuid.UUID(int=2)),
        "direction": "entry",
        "decision": "green",
        "codes": [],
        "single_entry": False,
        "crossing_id": str(uuid.UUID(int=3)),
        "mode": "degraded",
        "latency_us": 1,
        "occurred_at": CHECKED.isoformat(),
        "checked_at": CHECKED.isoformat(),
    }
    (tmp_path / f"spool-{gone_pid()}.jsonl").write_bytes(b"\n" + msgspec.json.encode(old) + b"\n")
    assert drained(tmp_path) == [record(1)]


def test_a_torn_line_is_skipped_and_an_unknown_format_set_aside(tmp_path: Path) -> None:
    future = msgspec.json.encode({"format": 3, "something": "else"})
    whole = msgspec.json.encode(record(1))
    left = tmp_path / f"spool-{gone_pid()}.jsonl"
    left.write_bytes(b"\n".join([whole, future, whole[:40]]) + b"\n")

    assert drained(tmp_path) == [record(1)]
    (rejected,) = tmp_path.glob("rejected-*.jsonl")
    assert rejected.read_bytes() == future + b"\n"
    assert not left.exists()
    assert not Spool(tmp_path).has_work()
