"""False-hit marks: a watchlist entry's hit on one traveller, found by a reviewer not to be them."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from greenlane.db.pool import Connection


async def mark(
    conn: Connection,
    *,
    traveller_id: uuid.UUID,
    entry_id: uuid.UUID,
    entry_version: int,
    application_id: uuid.UUID,
    note: str,
    actor: str,
    at: datetime,
) -> None:
    """Mark (or mark again, for the entry's current version) the entry a false hit."""
    await conn.execute(
        "INSERT INTO false_hits (traveller_id, entry_id, entry_version, application_id, note,"
        " marked_by, marked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (traveller_id, entry_id) DO UPDATE SET entry_version = $3,"
        " application_id = $4, note = $5, marked_by = $6, marked_at = $7",
        traveller_id,
        entry_id,
        entry_version,
        application_id,
        note,
        actor,
        at,
    )


async def in_force(conn: Connection) -> list[asyncpg.Record]:
    """Every mark whose entry has not changed since, with the document its traveller holds now
    (a lane knows a person by the document presented)."""
    return await conn.fetch(
        "SELECT t.document_index, f.entry_id, f.entry_version FROM false_hits f"
        " JOIN travellers t ON t.id = f.traveller_id AND t.erased_at IS NULL"
        " JOIN watchlist w ON w.id = f.entry_id AND w.version = f.entry_version"
    )
