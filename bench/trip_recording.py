"""PostgreSQL's cost of recording trips, measured the way the group commit records them.

``make bench`` gives what a 4-person trip costs PostgreSQL at saturation beside a single
verify; this says where it goes. On a fresh database with the bench's trips (``bench/trips.py``:
a driver and three passengers, all multiple entry, so every record is green and leaves five
crossings) and as many other clearances for single verifies, it calls
``db.verifications.record`` on one connection, as a worker's group commit does on its own
connections: batches of N trips, or of N single verifies, every record under a new event id,
each batch one statement and one commit.

For each batch size it reports, per record, the backend's CPU time (from ``/proc``, so
PostgreSQL must run on this machine) and the wall time of the call, as the median of rounds
that alternate trips and single verifies, and their ratio. ``--explain`` then runs a few more
trip batches under ``auto_explain`` (nested statements, analysed, sent to this client) and sums
each statement's executor time per trip: a statement's time includes the statements it calls,
and the timing itself inflates them all, so read their proportions. Planning, PL/pgSQL itself
and the commit are in the CPU figure only.

    PYTHONPATH=. .venv/bin/python bench/trip_recording.py [--explain]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from bench import trips
from bench.harness import (
    PORT_CODE,
    database_server,
    environment,
    free_port,
    fresh_database,
    seed,
    server,
)

from greenlane.db import verifications as verifications_db
from greenlane.domain.trip_token import Role
from greenlane.domain.verification import MemberRecord, VerificationRecord

LANE_CODE = "L1"  # the seeded lane's


class Member(msgspec.Struct, frozen=True):
    role: Role
    clearance_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Trip:
    id: uuid.UUID
    members: list[Member]  # in the trip's order


@dataclass(frozen=True, slots=True)
class Cost:
    cpu_us: float  # the backend's CPU per record
    wall_us: float  # the call's wall time per record


def backend_cpu_ns(pid: int) -> int:
    """CPU time of one process so far, in nanoseconds (``schedstat``: no 10 ms ticks)."""
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0])


async def load(conn: asyncpg.Connection[Any], singles: int) -> tuple[list[Trip], list[uuid.UUID]]:
    rows = await conn.fetch(
        "SELECT trip_id, jsonb_agg(jsonb_build_object('role', role, 'clearance_id', clearance_id)"
        "                          ORDER BY position)::text AS members"
        " FROM trip_members GROUP BY trip_id"
    )
    found = [Trip(r["trip_id"], msgspec.json.decode(r["members"], type=list[Member])) for r in rows]
    clearances = await conn.fetch(
        "SELECT c.id FROM clearances c WHERE c.revoked_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM trip_members m WHERE m.clearance_id = c.id) LIMIT $1",
        singles,
    )
    return found, [row["id"] for row in clearances]


class Records:
    """Green records as a worker builds them, each under a new event id."""

    def __init__(self, lane: uuid.UUID, trips: list[Trip], clearances: list[uuid.UUID]) -> None:
        self._lane = lane
        self._trips = trips
        self._clearances = clearances
        self._n = 0

    def _base(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        self._n += 1
        return {
            "lane_client": self._lane,
            "event_id": uuid.uuid4(),
            "request_sha": uuid.uuid4().hex * 2,
            "port_code": PORT_CODE,
            "lane_code": LANE_CODE,
            "direction": "entry",
            "decision": "green",
            "codes": (),
            "single_entry": False,
            "mode": "online",
            "latency_us": 500,
            "occurred_at": now,
            "checked_at": now,
            "crossing_id": uuid.uuid4(),
        }

    def trip(self) -> VerificationRecord:
        base = self._base()
        trip = self._trips[self._n % len(self._trips)]
        members = tuple(
            MemberRecord(
                role=member.role,
                clearance_id=member.clearance_id,
                decision="green",
                codes=(),
                single_entry=False,
                crossing_id=uuid.uuid4(),
            )
            for member in trip.members
        )
        return VerificationRecord(**base, trip_id=trip.id, members=members)

    def single(self) -> VerificationRecord:
        base = self._base()
        return VerificationRecord(
            **base, clearance_id=self._clearances[self._n % len(self._clearances)]
        )


async def cost(
    conn: asyncpg.Connection[Any],
    backend: int,
    make: Callable[[], VerificationRecord],
    batch: int,
    batches: int,
) -> Cost:
    cpu = wall = 0
    for _ in range(batches):
        records = [make() for _ in range(batch)]
        cpu_before = backend_cpu_ns(backend)
        started = time.perf_counter_ns()
        recorded = await verifications_db.record(conn, records)
        wall += time.perf_counter_ns() - started
        cpu += backend_cpu_ns(backend) - cpu_before
        if any(r.replayed or '"green"' not in r.reply for r in recorded):
            raise RuntimeError(f"a bench record was not recorded green: {recorded}")
    return Cost(cpu / 1000 / (batch * batches), wall / 1000 / (batch * batches))


def median(costs: list[Cost]) -> Cost:
    return Cost(
        statistics.median(c.cpu_us for c in costs), statistics.median(c.wall_us for c in costs)
    )


async def explain(
    conn: asyncpg.Connection[Any], records: Records, batch: int, batches: int
) -> None:
    """Each statement's executor time per trip, from auto_explain's plans sent to this client."""
    spent: dict[str, list[float]] = defaultdict(list)

    def heard(_: object, message: asyncpg.PostgresLogMessage) -> None:
        text = message.message or ""
        if "plan:" not in text:
            return
        plan = json.loads(text.split("plan:", 1)[1])
        query = " ".join(plan["Query Text"].split())
        spent[query].append(plan["Plan"]["Actual Total Time"] * 1000)

    await conn.execute("LOAD 'auto_explain'")
    settings = {
        "auto_explain.log_min_duration": "0",
        "auto_explain.log_nested_statements": "on",
        "auto_explain.log_analyze": "on",
        "auto_explain.log_timing": "on",
        "auto_explain.log_format": "json",
        "auto_explain.log_level": "notice",
    }
    for name, value in settings.items():
        await conn.execute(f"SET {name} = '{value}'")
    conn.add_log_listener(heard)
    try:
        for _ in range(batches):
            await verifications_db.record(conn, [records.trip() for _ in range(batch)])
    finally:
        conn.remove_log_listener(heard)
        await conn.execute("RESET auto_explain.log_min_duration")
    trips_recorded = batch * batches
    print(f"\nstatements, executor time per trip (batches of {batch}, inclusive of callees):")
    print("| µs per trip | runs per trip | statement |\n|---|---|---|")
    for query, times in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
        shown = query if len(query) <= 110 else query[:107] + "..."
        print(
            f"| {sum(times) / trips_recorded:,.1f} | {len(times) / trips_recorded:.2f} "
            f"| `{shown}` |"
        )


async def measure(url: str, lane: uuid.UUID, args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(url, server_settings={"timezone": "UTC"})
    try:
        found, clearances = await load(conn, args.trips * trips.PEOPLE)
        records = Records(lane, found, clearances)
        backend: int = await conn.fetchval("SELECT pg_backend_pid()")
        for make in (records.trip, records.single):  # the session's plans, made and kept
            await cost(conn, backend, make, 4, 20)
        print(f"rounds: {args.rounds}, each {args.batches} batches of trips then of singles")
        print("| batch | trip: CPU / wall µs | single: CPU / wall µs | trip ÷ single (CPU) |")
        print("|---|---|---|---|")
        for batch in args.batch:
            by_kind: dict[str, list[Cost]] = {"trip": [], "single": []}
            for _ in range(args.rounds):
                by_kind["trip"].append(await cost(conn, backend, records.trip, batch, args.batches))
                by_kind["single"].append(
                    await cost(conn, backend, records.single, batch, args.batches)
                )
            trip, single = median(by_kind["trip"]), median(by_kind["single"])
            print(
                f"| {batch} | {trip.cpu_us:,.0f} / {trip.wall_us:,.0f} "
                f"| {single.cpu_us:,.0f} / {single.wall_us:,.0f} "
                f"| {trip.cpu_us / single.cpu_us:.2f} |"
            )
        if args.explain:
            await explain(conn, records, max(args.batch), 20)
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trips", type=int, default=100, help="4-person trips filed")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4, 8, 16], help="sizes")
    parser.add_argument("--batches", type=int, default=100, help="per round and kind")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="then statement by statement")
    args = parser.parse_args()
    with (
        database_server() as server_url,
        fresh_database("bench_trip_recording", server_url) as url,
        tempfile.TemporaryDirectory(prefix="greenlane-bench-") as scratch,
    ):
        # The server files the trips through the API, then goes: nothing else writes meanwhile.
        env = environment(url, Path(scratch))
        with server(env, workers=1, port=free_port()) as base_url:
            seeded = seed(base_url, env, args.trips * trips.PEOPLE)
            trips.seed_trips(seeded, args.trips, Path(scratch) / "trips.txt")
        asyncio.run(measure(url, uuid.UUID(seeded.lane_id), args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
