"""Watchlist entries: a blind index per document or vehicle, never the number or plate."""

from __future__ import annotations

import uuid

import asyncpg

from greenlane.db.pagination import Cursor, keyset_condition, keyset_params
from greenlane.db.pool import Connection

ENTRY_COLUMNS = "id, kind, issuing_state_or_country, hint, reason, created_at, created_by"


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


async def all_lookups(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT kind, lookup FROM watchlist")
