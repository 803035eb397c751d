"""The Today page: what the lanes are doing and what waits for people, read in one snapshot,
with the trips expected at the ports in the coming hours and how fresh the peers' data is."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from greenlane.db import overview as overview_db
from greenlane.db.pool import Database
from greenlane.services import federation, keyring
from greenlane.wire.clearances import SigningKey
from greenlane.wire.federation import Agency

LANES_WINDOW = timedelta(minutes=10)
CHART_MINUTES = 60
DECISIONS = ("green", "refer", "deny")
TRIPS_AHEAD = timedelta(hours=6)
TRIPS_SHOWN = 50
PEERS_SHOWN = 200


@dataclass(frozen=True, slots=True)
class LaneSeen:
    port_code: str
    lane_code: str
    last_seen: datetime
    mode: str  # of its latest verification: "online" or "degraded"
    verifications: int


@dataclass(frozen=True, slots=True)
class ExpectedTrip:
    trip_id: uuid.UUID
    port_code: str
    direction: str
    expected_at: datetime
    status: str  # approved or referred
    partner_name: str
    people: int
    crossed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Minute:
    start: datetime
    counts: dict[str, int]  # by decision, every decision present

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Overview:
    now: datetime
    lanes: list[LaneSeen]
    minutes: list[Minute]  # the last hour, oldest first, one per minute
    verify_mode: str  # this worker's: "online" or "degraded"
    spool_depth: int  # verifications this worker holds on disk for PostgreSQL
    keys: list[SigningKey]
    queue_size: int
    oldest_case: datetime | None
    trips: list[ExpectedTrip]  # expected within TRIPS_AHEAD, the soonest first
    peers: list[Agency]  # each peer agency with its trust list's state

    @property
    def degraded_lanes(self) -> list[LaneSeen]:
        return [lane for lane in self.lanes if lane.mode == "degraded"]


def _minutes(rows: list[asyncpg.Record], first: datetime) -> list[Minute]:
    starts = [first + timedelta(minutes=n) for n in range(CHART_MINUTES)]
    counts = {start: dict.fromkeys(DECISIONS, 0) for start in starts}
    for row in rows:
        bucket = counts.get(row["minute"])
        if bucket is not None:
            bucket[row["decision"]] = row["n"]
    return [Minute(start, counts[start]) for start in starts]


async def today(db: Database, *, verify_mode: str, spool_depth: int) -> Overview:
    now = datetime.now(UTC)
    chart_from = now.replace(second=0, microsecond=0) - timedelta(minutes=CHART_MINUTES - 1)
    async with db.connection() as conn, conn.transaction(isolation="repeatable_read"):
        lanes = await overview_db.lanes_seen(conn, now - LANES_WINDOW)
        minutes = await overview_db.per_minute(conn, chart_from)
        queue = await overview_db.review_queue_summary(conn)
        trips = await overview_db.trips_expected(conn, now, now + TRIPS_AHEAD, limit=TRIPS_SHOWN)
    peers = await federation.list_agencies(db, cursor=None, limit=PEERS_SHOWN)
    return Overview(
        now=now,
        lanes=[
            LaneSeen(r["port_code"], r["lane_code"], r["last_seen"], r["mode"], r["verifications"])
            for r in lanes
        ],
        minutes=_minutes(minutes, chart_from),
        verify_mode=verify_mode,
        spool_depth=spool_depth,
        keys=await keyring.list_keys(db),
        queue_size=queue["size"],
        oldest_case=queue["oldest"],
        trips=[
            ExpectedTrip(
                r["id"],
                r["port_code"],
                r["direction"],
                r["expected_at"],
                r["status"],
                r["partner_name"],
                r["people"],
                r["crossed_at"],
            )
            for r in trips
        ],
        peers=peers.items,
    )
