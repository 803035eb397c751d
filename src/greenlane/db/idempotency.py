"""Idempotency keys: the first answer to each (partner, key), kept for 24 hours."""

from __future__ import annotations

import uuid

import asyncpg

from greenlane.db.pool import Connection

TTL = "24 hours"


async def claim(conn: Connection, partner_id: uuid.UUID, key: str, fingerprint: bytes) -> bool:
    """Take the key for this request, or learn that an earlier request holds it.

    A concurrent request with the same key blocks on the row until the first one's transaction
    ends: if it committed, this returns False and the caller replays its answer; if it rolled
    back, this request takes the key. An expired key is taken over as if it were new.
    """
    claimed = await conn.fetchval(
        "INSERT INTO idempotency_keys AS k (partner_id, key, fingerprint) VALUES ($1, $2, $3)"
        " ON CONFLICT (partner_id, key) DO UPDATE"
        f"   SET fingerprint = EXCLUDED.fingerprint, status = NULL, body_enc = NULL,"
        "        created_at = now()"
        f"   WHERE k.created_at < now() - interval '{TTL}'"
        " RETURNING true",
        partner_id,
        key,
        fingerprint,
    )
    return bool(claimed)


async def store(
    conn: Connection,
    partner_id: uuid.UUID,
    key: str,
    status: int,
    body_enc: bytes,
    resource_id: uuid.UUID,
) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET status = $3, body_enc = $4, resource_id = $5"
        " WHERE partner_id = $1 AND key = $2",
        partner_id,
        key,
        status,
        body_enc,
        resource_id,
    )


async def forget_resource(conn: Connection, partner_id: uuid.UUID, resource_id: uuid.UUID) -> None:
    """Delete the stored answers that created ``resource_id`` (it is being erased)."""
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE partner_id = $1 AND resource_id = $2",
        partner_id,
        resource_id,
    )


async def stored(conn: Connection, partner_id: uuid.UUID, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT fingerprint, status, body_enc FROM idempotency_keys"
        " WHERE partner_id = $1 AND key = $2",
        partner_id,
        key,
    )


async def purge_expired(conn: Connection) -> int:
    status: str = await conn.execute(
        f"DELETE FROM idempotency_keys WHERE created_at < now() - interval '{TTL}'"
    )
    return int(status.rsplit(" ", 1)[-1])
