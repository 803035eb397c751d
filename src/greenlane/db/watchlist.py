"""Watchlist entries: a blind index per document or vehicle, never the number or plate."""

from __future__ import annotations

import uuid

import asyncpg

from greenlane.db.pagination import Cursor, keyset_condition, keyset_params
from greenlane.db.pool import Connection

ENTRY_COLUMNS = (
    "id, kind, issuing_state_or_country, hint, reason, version, created_at, created_by,"
    " updated_at, updated_by"
)


async def insert_entry(
    conn: Connection,
    *,
    entry_id: uuid.UUID,
    kind: str,
    lookup: bytes,
    issuing_state_or_country: str,
    hint: str,
    reason: str,
    actor: str,
) -> asyncpg.Record | None:
    """The new entry, or None when the document or vehicle is already listed."""
    return await conn.fetchrow(
        f"INSERT INTO watchlist (id, kind, lookup, issuing_state_or_country, hint, reason,"
        f" created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        f" ON CONFLICT (kind, lookup) DO NOTHING RETURNING {ENTRY_COLUMNS}",
        entry_id,
        kind,
        lookup,
        issuing_state_or_country,
        hint,
        reason,
        actor,
    )


async def find_id(conn: Connection, *, kind: str, lookup: bytes) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT id FROM watchlist WHERE kind = $1 AND lookup = $2", kind, lookup
    )
    return found


async def list_entries(
    conn: Connection, *, after: Cursor | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {ENTRY_COLUMNS} FROM watchlist WHERE {keyset_condition(1)}"
        " ORDER BY created_at, id LIMIT $3",
        *keyset_params(after),
        limit,
    )


async def delete_entry(conn: Connection, entry_id: uuid.UUID) -> str | None:
    """The deleted entry's kind, or None when there was no such entry."""
    kind: str | None = await conn.fetchval(
        "DELETE FROM watchlist WHERE id = $1 RETURNING kind", entry_id
    )
    return kind


async def update_entry(
    conn: Connection,
    entry_id: uuid.UUID,
    *,
    kind: str,
    lookup: bytes,
    issuing_state_or_country: str,
    hint: str,
    reason: str,
    actor: str,
) -> asyncpg.Record | None:
    """The entry as changed, its version one higher (false-hit marks of the old version lapse);
    None when there is no such entry. A unique violation means another entry watches that."""
    return await conn.fetchrow(
        f"UPDATE watchlist SET kind = $2, lookup = $3, issuing_state_or_country = $4, hint = $5,"
        f" reason = $6, version = version + 1, updated_at = now(), updated_by = $7"
        f" WHERE id = $1 RETURNING {ENTRY_COLUMNS}",
        entry_id,
        kind,
        lookup,
        issuing_state_or_country,
        hint,
        reason,
        actor,
    )


async def version_of(conn: Connection, entry_id: uuid.UUID) -> int | None:
    """The entry's version, locked against an edit until the caller commits."""
    version: int | None = await conn.fetchval(
        "SELECT version FROM watchlist WHERE id = $1 FOR SHARE", entry_id
    )
    return version


async def all_lookups(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT id, kind, lookup, version FROM watchlist")
