"""Trips, their members and their tokens (migrations 0015_trips, 0016_trip_token_status)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from greenlane.db.locks import REVOCATION
from greenlane.db.pagination import Cursor, keyset_condition, keyset_params
from greenlane.db.pool import Connection

TRIP_COLUMNS = (
    "t.id, t.partner_id, t.vehicle_id, t.port_code, t.direction, t.expected_at,"
    " t.cargo_reference, t.status, t.reasons, t.amendments, t.cancelled_at, t.created_at,"
    " t.updated_at, k.token, k.not_before, k.expires_at"
)
# A trip with its live token (the newest one not revoked), if it has one.
_FROM = (
    "trips t LEFT JOIN LATERAL (SELECT token, not_before, expires_at FROM trip_tokens"
    " WHERE trip_id = t.id AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 1) k ON true"
)


async def insert(
    conn: Connection,
    *,
    trip_id: uuid.UUID,
    partner_id: uuid.UUID,
    vehicle_id: uuid.UUID,
    port_code: str,
    direction: str,
    expected_at: datetime,
    cargo_reference: str | None,
    status: str,
    reasons: str,
    actor: str,
) -> None:
    await conn.execute(
        "INSERT INTO trips (id, partner_id, vehicle_id, port_code, direction, expected_at,"
        " cargo_reference, status, reasons, created_by, updated_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $10)",
        trip_id,
        partner_id,
        vehicle_id,
        port_code,
        direction,
        expected_at,
        cargo_reference,
        status,
        reasons,
        actor,
    )


async def amend(
    conn: Connection,
    *,
    trip_id: uuid.UUID,
    vehicle_id: uuid.UUID,
    port_code: str,
    direction: str,
    expected_at: datetime,
    cargo_reference: str | None,
    status: str,
    reasons: str,
    actor: str,
    at: datetime,
) -> None:
    """Replace what the trip says, and its members, as decided again."""
    await conn.execute(
        "UPDATE trips SET vehicle_id = $2, port_code = $3, direction = $4, expected_at = $5,"
        " cargo_reference = $6, status = $7, reasons = $8::jsonb, amendments = amendments + 1,"
        " updated_at = $9, updated_by = $10 WHERE id = $1",
        trip_id,
        vehicle_id,
        port_code,
        direction,
        expected_at,
        cargo_reference,
        status,
        reasons,
        at,
        actor,
    )
    await conn.execute("DELETE FROM trip_members WHERE trip_id = $1", trip_id)


async def insert_members(
    conn: Connection,
    trip_id: uuid.UUID,
    members: Sequence[tuple[uuid.UUID, str, uuid.UUID]],  # (traveller, role, clearance)
) -> None:
    await conn.execute(
        "INSERT INTO trip_members (trip_id, position, traveller_id, role, clearance_id)"
        " SELECT $1, m.position - 1, m.traveller_id, m.role, m.clearance_id"
        " FROM unnest($2::uuid[], $3::text[], $4::uuid[])"
        " WITH ORDINALITY AS m(traveller_id, role, clearance_id, position)",
        trip_id,
        [traveller for traveller, _, _ in members],
        [role for _, role, _ in members],
        [clearance for _, _, clearance in members],
    )


async def insert_token(
    conn: Connection,
    *,
    jti: str,
    trip_id: uuid.UUID,
    kid: str,
    token: str,
    not_before: datetime,
    expires_at: datetime,
    status_list: int,
    status_idx: int,
) -> None:
    await conn.execute(
        "INSERT INTO trip_tokens (jti, trip_id, kid, token, not_before, expires_at, status_list,"
        " status_idx) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        jti,
        trip_id,
        kid,
        token,
        not_before,
        expires_at,
        status_list,
        status_idx,
    )


async def get(
    conn: Connection,
    trip_id: uuid.UUID,
    partner_id: uuid.UUID | None,
    *,
    for_update: bool = False,
) -> asyncpg.Record | None:
    lock = " FOR UPDATE OF t" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {TRIP_COLUMNS} FROM {_FROM}"
        f" WHERE t.id = $1 AND ($2::uuid IS NULL OR t.partner_id = $2){lock}",
        trip_id,
        partner_id,
    )


async def members(conn: Connection, trip_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT trip_id, traveller_id, role, clearance_id FROM trip_members"
        " WHERE trip_id = ANY($1::uuid[]) ORDER BY trip_id, position",
        list(trip_ids),
    )


async def vehicle_crossings(conn: Connection, trip_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, direction, port_code, lane_code, crossed_at, mode FROM crossings"
        " WHERE trip_id = $1 AND clearance_id IS NULL ORDER BY crossed_at",
        trip_id,
    )


async def page(
    conn: Connection, *, partner_id: uuid.UUID, after: Cursor | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {TRIP_COLUMNS} FROM {_FROM}"
        f" WHERE t.partner_id = $1 AND {keyset_condition(2, alias='t')}"
        " ORDER BY t.created_at, t.id LIMIT $4",
        partner_id,
        *keyset_params(after),
        limit,
    )


async def cancel(conn: Connection, trip_id: uuid.UUID, *, actor: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE trips SET status = 'cancelled', cancelled_at = $2, updated_at = $2,"
        " updated_by = $3 WHERE id = $1",
        trip_id,
        at,
        actor,
    )


async def revoke_tokens(
    conn: Connection, trip_id: uuid.UUID, *, actor: str, reason: str, at: datetime
) -> list[asyncpg.Record]:
    """Revoke the trip's tokens not yet revoked, numbered in the clearances' revocation order;
    returns their jtis and status list entries (none for a token issued before 0016)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", REVOCATION)
    return await conn.fetch(
        "UPDATE trip_tokens SET revoked_at = $2, revoked_by = $3, revocation_reason = $4,"
        " revocation_seq = nextval('revocation_seq')"
        " WHERE trip_id = $1 AND revoked_at IS NULL RETURNING jti, status_list, status_idx",
        trip_id,
        at,
        actor,
        reason,
    )


async def active_clearances(
    conn: Connection,
    *,
    partner_id: uuid.UUID,
    traveller_ids: Sequence[uuid.UUID],
    port_code: str,
    direction: str,
    at: datetime,
) -> list[asyncpg.Record]:
    """Each traveller's clearances that could carry them across ``port_code`` at ``at``: not
    revoked, valid then, for that port, not a single entry already used that way, and with a
    status list entry (a lane refuses a clearance issued before the lists, and a trip token
    names each member's entry). Newest first."""
    return await conn.fetch(
        "SELECT c.id, c.traveller_id, c.vehicle_id, c.entries, c.not_before, c.expires_at,"
        " c.status_list, c.status_idx FROM clearances c"
        " WHERE c.partner_id = $1 AND c.traveller_id = ANY($2::uuid[]) AND c.revoked_at IS NULL"
        " AND c.status_list IS NOT NULL"
        " AND $3 = ANY(c.ports) AND c.not_before <= $5 AND c.expires_at > $5"
        " AND NOT (c.entries = 'single' AND EXISTS (SELECT 1 FROM single_entry_uses u"
        "          WHERE u.clearance_id = c.id AND u.direction = $4))"
        " ORDER BY c.created_at DESC",
        partner_id,
        list(traveller_ids),
        port_code,
        direction,
        at,
    )


async def port_kinds(conn: Connection, port_code: str) -> list[str] | None:
    """The kinds of traffic the port handles; None if there is no such port."""
    kinds: list[str] | None = await conn.fetchval(
        "SELECT kinds FROM ports WHERE code = $1", port_code
    )
    return kinds
