"""Peer agencies: who they are, our agreement with each, their last good trust list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import asyncpg

from greenlane.db.pagination import Cursor, keyset_condition, keyset_params
from greenlane.db.pool import Connection

_AGENCY = (
    "a.id, a.country, a.issuer, a.trust_list_url, a.anchor_thumbprint, a.agreement_ports,"
    " a.agreement_categories, a.agreement_from, a.agreement_until, a.created_at, a.created_by,"
    " a.updated_at, a.updated_by"
)
_LIST = "t.token, t.expires_at, t.fetched_at, t.attempted_at, t.refused"
COLUMNS = f"{_AGENCY}, {_LIST}"
_FROM = "agencies a LEFT JOIN peer_trust_lists t ON t.agency_id = a.id"


async def insert(
    conn: Connection,
    *,
    agency_id: uuid.UUID,
    country: str,
    issuer: str,
    trust_list_url: str,
    anchor_thumbprint: str,
    actor: str,
) -> bool:
    """False when another agency has this issuer."""
    status = await conn.execute(
        "INSERT INTO agencies (id, country, issuer, trust_list_url, anchor_thumbprint,"
        " created_by, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $6)"
        " ON CONFLICT (issuer) DO NOTHING",
        agency_id,
        country,
        issuer,
        trust_list_url,
        anchor_thumbprint,
        actor,
    )
    return status.endswith(" 1")


async def get(conn: Connection, agency_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM {_FROM} WHERE a.id = $1", agency_id)


async def by_issuer(conn: Connection, issuer: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM {_FROM} WHERE a.issuer = $1", issuer)


async def page(conn: Connection, *, after: Cursor | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM {_FROM} WHERE {keyset_condition(1, 'a')}"
        " ORDER BY a.created_at, a.id LIMIT $3",
        *keyset_params(after),
        limit,
    )


async def everything(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {COLUMNS} FROM {_FROM} ORDER BY a.created_at, a.id")


async def update(
    conn: Connection,
    agency_id: uuid.UUID,
    *,
    country: str,
    issuer: str,
    trust_list_url: str,
    anchor_thumbprint: str,
    actor: str,
) -> bool | None:
    """None when there is no such agency, False when another one has this issuer. A changed
    pin or URL makes the list due for a fetch at once."""
    try:
        status = await conn.execute(
            "UPDATE agencies SET country = $2, issuer = $3, trust_list_url = $4,"
            " anchor_thumbprint = $5, updated_at = now(), updated_by = $6, refresh_due_at = now()"
            " WHERE id = $1",
            agency_id,
            country,
            issuer,
            trust_list_url,
            anchor_thumbprint,
            actor,
        )
    except asyncpg.UniqueViolationError:
        return False
    return True if status.endswith(" 1") else None


async def set_agreement(
    conn: Connection,
    agency_id: uuid.UUID,
    *,
    ports: Sequence[str],
    categories: Sequence[str],
    valid_from: date,
    valid_until: date,
    actor: str,
) -> bool:
    status = await conn.execute(
        "UPDATE agencies SET agreement_ports = $2, agreement_categories = $3,"
        " agreement_from = $4::date::timestamptz,"
        " agreement_until = ($5::date + 1)::timestamptz,"
        " updated_at = now(), updated_by = $6 WHERE id = $1",
        agency_id,
        list(ports),
        list(categories),
        valid_from,
        valid_until,
        actor,
    )
    return status.endswith(" 1")


async def delete(conn: Connection, agency_id: uuid.UUID) -> str | None:
    """The deleted agency's issuer, or None."""
    issuer: str | None = await conn.fetchval(
        "DELETE FROM agencies WHERE id = $1 RETURNING issuer", agency_id
    )
    return issuer


async def claim_due(conn: Connection, *, every: timedelta) -> list[asyncpg.Record]:
    """The agencies whose lists are due, with their due time moved ``every`` ahead: the worker
    that moves it fetches them, and no other worker will until then."""
    return await conn.fetch(
        "UPDATE agencies a SET refresh_due_at = now() + $1::interval"
        " WHERE a.id IN (SELECT id FROM agencies WHERE refresh_due_at <= now()"
        "                FOR UPDATE SKIP LOCKED)"
        f" RETURNING {_AGENCY}, (SELECT token FROM peer_trust_lists t WHERE t.agency_id = a.id)",
        every,
    )


async def due_soon(conn: Connection, agency_id: uuid.UUID, at: datetime) -> None:
    """Fetch this agency's list again no later than ``at`` (after a failure, to retry sooner)."""
    await conn.execute(
        "UPDATE agencies SET refresh_due_at = least(refresh_due_at, $2) WHERE id = $1",
        agency_id,
        at,
    )


async def store_list(
    conn: Connection, agency_id: uuid.UUID, *, token: str, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO peer_trust_lists (agency_id, token, expires_at, fetched_at, attempted_at)"
        " VALUES ($1, $2, $3, now(), now())"
        " ON CONFLICT (agency_id) DO UPDATE SET token = $2, expires_at = $3, fetched_at = now(),"
        " attempted_at = now(), refused = NULL",
        agency_id,
        token,
        expires_at,
    )


async def store_refusal(conn: Connection, agency_id: uuid.UUID, *, refused: str) -> None:
    """A fetch that failed or was refused: the last good list stays."""
    await conn.execute(
        "INSERT INTO peer_trust_lists (agency_id, attempted_at, refused) VALUES ($1, now(), $2)"
        " ON CONFLICT (agency_id) DO UPDATE SET attempted_at = now(), refused = $2",
        agency_id,
        refused,
    )


async def insert_foreign_crossing(
    conn: Connection,
    *,
    crossing_id: uuid.UUID,
    clearance_id: uuid.UUID,
    agency_id: uuid.UUID,
    country: str,
    direction: str,
    port_code: str,
    lane_code: str,
    decision: str,
    mode: str,
    crossed_at: datetime,
) -> bool:
    """False when this receipt was taken before."""
    status = await conn.execute(
        "INSERT INTO foreign_crossings (id, clearance_id, agency_id, country, direction,"
        " port_code, lane_code, decision, mode, crossed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        crossing_id,
        clearance_id,
        agency_id,
        country,
        direction,
        port_code,
        lane_code,
        decision,
        mode,
        crossed_at,
    )
    return status.endswith(" 1")


async def foreign_crossings(conn: Connection, clearance_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, country, direction, port_code, lane_code, decision, mode, crossed_at"
        " FROM foreign_crossings WHERE clearance_id = $1 ORDER BY crossed_at, id",
        clearance_id,
    )


async def store_status_list(
    conn: Connection, agency_id: uuid.UUID, *, uri: str, token: str, expires_at: datetime | None
) -> None:
    await conn.execute(
        "INSERT INTO peer_status_lists (agency_id, uri, token, expires_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (agency_id, uri)"
        " DO UPDATE SET token = $3, expires_at = $4, fetched_at = now()",
        agency_id,
        uri,
        token,
        expires_at,
    )


async def status_lists(conn: Connection) -> list[asyncpg.Record]:
    """Every peer status list held: (agency_id, uri, token)."""
    return await conn.fetch("SELECT agency_id, uri, token FROM peer_status_lists")
