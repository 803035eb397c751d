"""Clearances and their revocations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from greenlane.db.locks import REVOCATION
from greenlane.db.pool import Connection

COLUMNS = (
    "id, application_id, partner_id, traveller_id, vehicle_id, jti, kid, token, ports, entries,"
    " not_before, expires_at, created_at, revoked_at, revoked_by, revocation_reason,"
    " status_list, status_idx, suspended_at, suspension_reason"
)


async def insert(
    conn: Connection,
    *,
    clearance_id: uuid.UUID,
    application_id: uuid.UUID,
    partner_id: uuid.UUID,
    traveller_id: uuid.UUID,
    vehicle_id: uuid.UUID | None,
    jti: str,
    kid: str,
    token: str,
    ports: Sequence[str],
    entries: str,
    not_before: datetime,
    expires_at: datetime,
    status_list: int,
    status_idx: int,
    actor: str,
) -> None:
    await conn.execute(
        "INSERT INTO clearances (id, application_id, partner_id, traveller_id, vehicle_id, jti,"
        " kid, token, ports, entries, not_before, expires_at, created_by, status_list, status_idx)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        clearance_id,
        application_id,
        partner_id,
        traveller_id,
        vehicle_id,
        jti,
        kid,
        token,
        list(ports),
        entries,
        not_before,
        expires_at,
        actor,
        status_list,
        status_idx,
    )


async def get(
    conn: Connection, clearance_id: uuid.UUID, partner_id: uuid.UUID | None
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS}, (SELECT renews_clearance_id FROM applications a"
        " WHERE a.id = application_id) AS renews"
        " FROM clearances WHERE id = $1 AND ($2::uuid IS NULL OR partner_id = $2)",
        clearance_id,
        partner_id,
    )


async def revoke(
    conn: Connection, clearance_ids: Sequence[uuid.UUID], *, actor: str, reason: str, at: datetime
) -> list[asyncpg.Record]:
    """Revoke those not yet revoked (revoking twice changes nothing); returns their ids, jtis,
    applications, partners, expiry times and status list entries.

    The rows are locked first, then the revocation lock is taken (``db/locks.py``): a
    transaction that already holds the rows (a new travel document) and one that revokes
    them by id cannot then wait for each other crosswise."""
    await conn.execute(
        "SELECT 1 FROM clearances WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        list(clearance_ids),
    )
    await conn.execute("SELECT pg_advisory_xact_lock($1)", REVOCATION)
    return await conn.fetch(
        "UPDATE clearances SET revoked_at = $2, revoked_by = $3, revocation_reason = $4,"
        " revocation_seq = nextval('revocation_seq')"
        " WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL"
        " RETURNING id, jti, application_id, partner_id, expires_at, status_list, status_idx",
        list(clearance_ids),
        at,
        actor,
        reason,
    )


async def active_of_traveller(
    conn: Connection, traveller_id: uuid.UUID, at: datetime
) -> list[asyncpg.Record]:
    """The traveller's clearances neither revoked nor expired at ``at``, locked."""
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM clearances WHERE traveller_id = $1 AND revoked_at IS NULL"
        " AND expires_at > $2 ORDER BY created_at, id FOR UPDATE",
        traveller_id,
        at,
    )


async def flag_second_line(
    conn: Connection, clearance_id: uuid.UUID, *, actor: str, at: datetime
) -> datetime:
    """Ask for a second-line check at the next verification; a flag already set stays as it
    was. Returns when it was asked for. ``gl_record_verifications()`` clears it."""
    requested: datetime = await conn.fetchval(
        "UPDATE clearances SET second_line_requested_at = coalesce(second_line_requested_at, $2),"
        " second_line_requested_by = coalesce(second_line_requested_by, $3)"
        " WHERE id = $1 RETURNING second_line_requested_at",
        clearance_id,
        at,
        actor,
    )
    return requested


async def get_for_update(conn: Connection, clearance_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM clearances WHERE id = $1 FOR UPDATE", clearance_id
    )


async def suspend(
    conn: Connection, clearance_id: uuid.UUID, *, actor: str, reason: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE clearances SET suspended_at = $2, suspended_by = $3, suspension_reason = $4"
        " WHERE id = $1",
        clearance_id,
        at,
        actor,
        reason,
    )


async def reinstate(conn: Connection, clearance_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE clearances SET suspended_at = NULL, suspended_by = NULL, suspension_reason = NULL"
        " WHERE id = $1",
        clearance_id,
    )


async def unrevoked_of_traveller(conn: Connection, traveller_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT id FROM clearances WHERE traveller_id = $1 AND revoked_at IS NULL", traveller_id
    )
    return [row["id"] for row in rows]


async def carry_entries(conn: Connection, application_id: uuid.UUID) -> None:
    """Count the single entries used under the application's revoked clearances as used under
    its live one: a clearance issued again is not a new entry."""
    await conn.execute(
        "INSERT INTO single_entry_uses (clearance_id, direction, event_id, used_at)"
        " SELECT live.id, u.direction, u.event_id, u.used_at"
        " FROM clearances live, clearances old JOIN single_entry_uses u ON u.clearance_id = old.id"
        " WHERE live.application_id = $1 AND live.revoked_at IS NULL"
        " AND old.application_id = $1 AND old.revoked_at IS NOT NULL"
        " ON CONFLICT DO NOTHING",
        application_id,
    )


async def revocations(conn: Connection, *, after_seq: int, limit: int) -> list[asyncpg.Record]:
    """Clearance and trip tokens in one revocation order; a clearance's names its id too, which
    is how a trip token names its members."""
    return await conn.fetch(
        "(SELECT jti, revoked_at, expires_at, revocation_seq, id AS clearance_id FROM clearances"
        "  WHERE revocation_seq > $1 ORDER BY revocation_seq LIMIT $2)"
        " UNION ALL"
        " (SELECT jti, revoked_at, expires_at, revocation_seq, NULL FROM trip_tokens"
        "  WHERE revocation_seq > $1 ORDER BY revocation_seq LIMIT $2)"
        " ORDER BY revocation_seq LIMIT $2",
        after_seq,
        limit,
    )


async def revoked_jtis(conn: Connection, *, not_expired_at: datetime) -> list[str]:
    """Revoked tokens that could still be presented (not yet expired): the jtis of clearance
    and trip tokens, and the ids of revoked clearances, which trip tokens name their members by
    (a UUID's text is never a jti)."""
    rows = await conn.fetch(
        "SELECT jti FROM clearances WHERE revoked_at IS NOT NULL AND expires_at > $1"
        " UNION ALL SELECT id::text FROM clearances"
        " WHERE revoked_at IS NOT NULL AND expires_at > $1"
        " UNION ALL SELECT jti FROM trip_tokens WHERE revoked_at IS NOT NULL AND expires_at > $1",
        not_expired_at,
    )
    return [row["jti"] for row in rows]
