"""Partners, ports and API clients: the records that say who may call what."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from greenlane.db.pagination import Cursor, keyset_condition, keyset_params
from greenlane.db.pool import Connection, returning

PARTNER_COLUMNS = "id, name, country, contact_email, created_at, created_by, updated_at, updated_by"
PORT_COLUMNS = "code, name, country, kinds, created_at, created_by, updated_at, updated_by"
CLIENT_COLUMNS = (
    "id, role, name, partner_id, port_code, lane_code, disabled_at,"
    " created_at, created_by, updated_at, updated_by"
)
# Failed sign-ins are counted in windows of this length; a window that has ended is forgotten.
SIGNIN_WINDOW = timedelta(minutes=1)


async def insert_partner(
    conn: Connection,
    *,
    partner_id: uuid.UUID,
    name: str,
    country: str,
    contact_email: str,
    actor: str,
) -> asyncpg.Record:
    return await returning(
        conn,
        f"INSERT INTO partners (id, name, country, contact_email, created_by, updated_by)"
        f" VALUES ($1, $2, $3, $4, $5, $5) RETURNING {PARTNER_COLUMNS}",
        partner_id,
        name,
        country,
        contact_email,
        actor,
    )


async def list_partners(
    conn: Connection, *, after: Cursor | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {PARTNER_COLUMNS} FROM partners WHERE {keyset_condition(1)}"
        " ORDER BY created_at, id LIMIT $3",
        *keyset_params(after),
        limit,
    )


async def partner_exists(conn: Connection, partner_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM partners WHERE id = $1", partner_id))


async def insert_port(
    conn: Connection, *, code: str, name: str, country: str, kinds: Sequence[str], actor: str
) -> asyncpg.Record | None:
    """The new port, or None when the code is taken."""
    return await conn.fetchrow(
        f"INSERT INTO ports (code, name, country, kinds, created_by, updated_by)"
        f" VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (code) DO NOTHING RETURNING {PORT_COLUMNS}",
        code,
        name,
        country,
        list(kinds),
        actor,
    )


async def list_ports(
    conn: Connection, *, after_code: str | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {PORT_COLUMNS} FROM ports WHERE $1::text IS NULL OR code > $1"
        " ORDER BY code LIMIT $2",
        after_code,
        limit,
    )


async def port_exists(conn: Connection, code: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM ports WHERE code = $1", code))


async def insert_client(
    conn: Connection,
    *,
    client_id: uuid.UUID,
    role: str,
    name: str,
    partner_id: uuid.UUID | None,
    port_code: str | None,
    lane_code: str | None,
    secret_hash: bytes,
    actor: str,
) -> asyncpg.Record:
    return await returning(
        conn,
        f"INSERT INTO clients (id, role, name, partner_id, port_code, lane_code, secret_hash,"
        f" created_by, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
        f" RETURNING {CLIENT_COLUMNS}",
        client_id,
        role,
        name,
        partner_id,
        port_code,
        lane_code,
        secret_hash,
        actor,
    )


async def list_clients(
    conn: Connection, *, after: Cursor | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {CLIENT_COLUMNS} FROM clients WHERE {keyset_condition(1)}"
        " ORDER BY created_at, id LIMIT $3",
        *keyset_params(after),
        limit,
    )


async def all_clients(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {CLIENT_COLUMNS} FROM clients")


async def get_client(conn: Connection, client_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1", client_id)


async def client_secret_hash(conn: Connection, client_id: uuid.UUID) -> tuple[bytes, bool] | None:
    """The stored secret hash and whether the client is enabled."""
    row = await conn.fetchrow(
        "SELECT secret_hash, disabled_at IS NULL AS enabled FROM clients WHERE id = $1", client_id
    )
    return (bytes(row["secret_hash"]), row["enabled"]) if row else None


async def disable_client(
    conn: Connection, client_id: uuid.UUID, *, actor: str, at: datetime
) -> asyncpg.Record | None:
    """Disable the client (idempotently); None when it does not exist."""
    return await conn.fetchrow(
        f"UPDATE clients SET disabled_at = coalesce(disabled_at, $2), updated_at = $2,"
        f" updated_by = $3 WHERE id = $1 RETURNING {CLIENT_COLUMNS}",
        client_id,
        at,
        actor,
    )


async def record_signin_failure(
    conn: Connection, key: str, *, at: datetime, max_rows: int | None
) -> int | None:
    """Count a failed sign-in in the window open at ``at``; returns the count so far.

    With ``max_rows``, a key without a row gets one only while the table holds fewer rows than
    that; None when it was refused one (a key that has a row is always counted).
    """
    failures: int | None = await conn.fetchval(
        "INSERT INTO signin_failures AS f (client_id, window_start, failures)"
        " SELECT $1, $2, 1 WHERE $4::integer IS NULL"
        "   OR EXISTS (SELECT 1 FROM signin_failures WHERE client_id = $1)"
        "   OR (SELECT count(*) FROM signin_failures) < $4"
        " ON CONFLICT (client_id) DO UPDATE SET"
        "   failures = CASE WHEN f.window_start > $2::timestamptz - $3::interval"
        "                   THEN f.failures + 1 ELSE 1 END,"
        "   window_start = CASE WHEN f.window_start > $2::timestamptz - $3::interval"
        "                       THEN f.window_start ELSE $2 END"
        " RETURNING failures",
        key,
        at,
        SIGNIN_WINDOW,
        max_rows,
    )
    return failures


async def signin_failures(conn: Connection, key: str, *, at: datetime) -> tuple[int, datetime]:
    """Failures in the window that is still open at ``at``, and when that window started."""
    row = await conn.fetchrow(
        "SELECT failures, window_start FROM signin_failures"
        " WHERE client_id = $1 AND window_start > $2::timestamptz - $3::interval",
        key,
        at,
        SIGNIN_WINDOW,
    )
    return (row["failures"], row["window_start"]) if row else (0, at)


async def clear_signin_failures(conn: Connection, key: str) -> None:
    await conn.execute("DELETE FROM signin_failures WHERE client_id = $1", key)


async def prune_signin_failures(conn: Connection, *, at: datetime) -> int:
    """Forget the windows that have ended by ``at``; returns how many rows went."""
    pruned: int = await conn.fetchval(
        "WITH gone AS (DELETE FROM signin_failures"
        " WHERE window_start <= $1::timestamptz - $2::interval RETURNING 1)"
        " SELECT count(*) FROM gone",
        at,
        SIGNIN_WINDOW,
    )
    return pruned
