"""Crossing receipts owed to peer agencies: written with the crossing, sent by a worker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
import msgspec

from greenlane.db.pool import Connection

_ENCODE = msgspec.json.Encoder()


async def add(conn: Connection, owed: Sequence[tuple[str, dict[str, object]]]) -> None:
    """(issuer, receipt claims) pairs, in the caller's transaction."""
    await conn.execute(
        "INSERT INTO federation_outbox (issuer, receipt)"
        " SELECT o->>'issuer', o->'receipt' FROM jsonb_array_elements($1::jsonb) o",
        _ENCODE.encode(
            [{"issuer": issuer, "receipt": receipt} for issuer, receipt in owed]
        ).decode(),
    )


async def claim_due(conn: Connection, *, limit: int, lease: timedelta) -> list[asyncpg.Record]:
    """Receipts due to be sent, leased for ``lease``: another worker leaves them alone until
    then, and they come due again if this one dies before it is done."""
    return await conn.fetch(
        "UPDATE federation_outbox SET due_at = now() + $2::interval, attempts = attempts + 1"
        " WHERE id IN (SELECT id FROM federation_outbox WHERE due_at <= now()"
        "              ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, issuer, receipt, attempts",
        limit,
        lease,
    )


async def delivered(conn: Connection, outbox_id: int) -> None:
    await conn.execute("DELETE FROM federation_outbox WHERE id = $1", outbox_id)


async def retry_at(conn: Connection, outbox_id: int, at: datetime, error: str) -> None:
    await conn.execute(
        "UPDATE federation_outbox SET due_at = $2, last_error = $3 WHERE id = $1",
        outbox_id,
        at,
        error,
    )


async def depth(conn: Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM federation_outbox")
    return count
