"""Housekeeping that keeps the tables the lanes write bounded: partitions and retention.

Crossings and verification events are partitioned by month. Partitions for this month and the
next two are created ahead of time (a row never waits for one: the DEFAULT partition takes
anything outside them), and months older than the retention setting are dropped whole. Stored
verify replies are kept as long as a lane may report late (30 days); idempotency keys 24 hours;
failed sign-ins until their one-minute window ends (anyone can make those rows).
One worker at a time does this, under an advisory lock.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import asyncpg

from greenlane.db import idempotency as idempotency_db
from greenlane.db import identity as identity_db
from greenlane.db.pool import Connection, Database

PARTITIONED = ("crossings", "verification_events")
MONTHS_AHEAD = 2
REPLY_RETENTION = "30 days"
_LOCK = 0x686F7573  # "hous"
_logger = logging.getLogger("greenlane.maintenance")


def _month(day: date, offset: int) -> date:
    index = day.year * 12 + day.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_{month:%Y%m}"


async def ensure_partitions(conn: Connection, today: date) -> list[str]:
    created = []
    for table in PARTITIONED:
        for offset in range(MONTHS_AHEAD + 1):
            start, end = _month(today, offset), _month(today, offset + 1)
            name = partition_name(table, start)
            exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
            if exists:
                continue
            try:
                await conn.execute(
                    f"CREATE TABLE {name} PARTITION OF {table}"
                    f" FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                )
                created.append(name)
            except asyncpg.PostgresError as exc:
                # Rows for that month already sit in the DEFAULT partition; they stay there.
                _logger.warning(
                    "partition not created",
                    extra={"fields": {"partition": name}},
                    exc_info=(type(exc), exc, None),
                )
    return created


async def drop_expired_partitions(
    conn: Connection, today: date, retention_months: int
) -> list[str]:
    oldest_kept = _month(today, -retention_months)
    dropped = []
    for table in PARTITIONED:
        rows = await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = $1::regclass",
            table,
        )
        for row in rows:
            name: str = row["relname"]
            suffix = name.removeprefix(f"{table}_")
            if not (suffix.isdigit() and len(suffix) == 6):
                continue
            month = date(int(suffix[:4]), int(suffix[4:]), 1)
            if month < oldest_kept:
                await conn.execute(f"DROP TABLE {name}")
                dropped.append(name)
    return dropped


async def run_once(db: Database, today: date, retention_months: int) -> None:
    async with db.connection() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK):
            return
        try:
            created = await ensure_partitions(conn, today)
            dropped = await drop_expired_partitions(conn, today, retention_months)
            await conn.execute(
                "DELETE FROM verify_replies"
                f" WHERE created_at < now() - interval '{REPLY_RETENTION}'"
            )
            await idempotency_db.purge_expired(conn)
            await identity_db.prune_signin_failures(conn, at=datetime.now(UTC))
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK)
    if created or dropped:
        _logger.info("partitions", extra={"fields": {"created": created, "dropped": dropped}})
