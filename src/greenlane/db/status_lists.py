"""Status lists, the indices they hand out, and the status at each (revision 0010)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from greenlane.db.pool import Connection

# Held while a new list is created, so that two issuers finding every list full make one.
_NEW_LIST_LOCK = 0x73746C73  # "stls"
# A status kept this long past its token's expiry is still published: a lane whose clock is
# behind may still be asked about the token.
_EXPIRED_GRACE = "1 day"


async def open_list_for_update(conn: Connection) -> asyncpg.Record | None:
    """The lowest-numbered list with a free index, locked until the transaction ends."""
    return await conn.fetchrow(
        "SELECT id, size, allocated, permutation_key FROM status_lists"
        " WHERE allocated < size ORDER BY id LIMIT 1 FOR UPDATE"
    )


async def create_list(conn: Connection, *, size: int, bits: int, permutation_key: bytes) -> int:
    """A new list numbered after the last, unless another issuer has just made one with room;
    returns the number of the list to allocate from."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _NEW_LIST_LOCK)
    number = await conn.fetchval(
        "SELECT id FROM status_lists WHERE allocated < size ORDER BY id LIMIT 1"
    )
    if number is not None:
        return int(number)
    created = await conn.fetchval(
        "INSERT INTO status_lists (id, size, bits, permutation_key)"
        " SELECT coalesce(max(id), 0) + 1, $1, $2, $3 FROM status_lists RETURNING id",
        size,
        bits,
        permutation_key,
    )
    await conn.execute("INSERT INTO status_list_tokens (list_id) VALUES ($1)", created)
    return int(created)


async def take_position(conn: Connection, list_id: int) -> None:
    await conn.execute("UPDATE status_lists SET allocated = allocated + 1 WHERE id = $1", list_id)


async def insert_entry(conn: Connection, list_id: int, idx: int, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO token_statuses (list_id, idx, expires_at) VALUES ($1, $2, $3)",
        list_id,
        idx,
        expires_at,
    )


async def set_status(conn: Connection, list_id: int, idx: int, status: int) -> bool:
    """Set one status and count a new version of its list; False if it already was so."""
    changed = await conn.fetchval(
        "UPDATE token_statuses SET status = $3 WHERE list_id = $1 AND idx = $2 AND status <> $3"
        " RETURNING true",
        list_id,
        idx,
        status,
    )
    if changed:
        await conn.execute(
            "UPDATE status_list_tokens SET version = version + 1 WHERE list_id = $1", list_id
        )
    return bool(changed)


async def versions(conn: Connection) -> list[asyncpg.Record]:
    """Every list's version and signed version: the cheap check each worker makes often."""
    return await conn.fetch(
        "SELECT list_id AS id, version, signed_version, signed_at FROM status_list_tokens"
        " ORDER BY list_id"
    )


async def lock_for_signing(
    conn: Connection, list_id: int, *, signed_before: datetime
) -> asyncpg.Record | None:
    """The list, locked, if it needs signing (changed since, or signed before
    ``signed_before``) and no other worker is signing it right now."""
    return await conn.fetchrow(
        "SELECT l.id, l.bits, l.size, t.version FROM status_list_tokens t"
        " JOIN status_lists l ON l.id = t.list_id WHERE t.list_id = $1"
        " AND (t.signed_version < t.version OR t.signed_at IS NULL OR t.signed_at < $2)"
        " FOR UPDATE OF t SKIP LOCKED",
        list_id,
        signed_before,
    )


async def statuses_to_publish(
    conn: Connection, list_id: int, now: datetime
) -> list[asyncpg.Record]:
    """The indices whose status is not VALID, of tokens that could still be presented."""
    return await conn.fetch(
        "SELECT idx, status FROM token_statuses WHERE list_id = $1 AND status <> 0"
        f" AND expires_at > $2::timestamptz - interval '{_EXPIRED_GRACE}'",
        list_id,
        now,
    )


async def store_signed(
    conn: Connection,
    list_id: int,
    *,
    version: int,
    token: str,
    kid: str,
    signed_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "UPDATE status_list_tokens SET token = $2, kid = $3, signed_at = $4, expires_at = $5,"
        " signed_version = $6 WHERE list_id = $1",
        list_id,
        token,
        kid,
        signed_at,
        expires_at,
        version,
    )


async def signed(conn: Connection, list_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT list_id AS id, signed_version, token, expires_at FROM status_list_tokens"
        " WHERE list_id = $1 AND token IS NOT NULL",
        list_id,
    )
