"""Applications: filed by partners, decided by the rules or by an administrator's review."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

from greenlane.db.pagination import Cursor, keyset_condition, keyset_params
from greenlane.db.pool import Connection

COLUMNS = (
    "a.id, a.partner_id, a.traveller_id, a.vehicle_id, a.ports, a.valid_from, a.valid_until,"
    " a.entries, a.purpose, a.status, a.reasons, a.decided_by, a.decision_note, a.decided_at,"
    " a.created_at, a.updated_at, a.renews_clearance_id, a.grounds, a.rejected_at,"
    " a.rejected_by, a.appeal_until, c.id AS clearance_id, c.token, c.expires_at"
)
# The clearance of the application's current approval: its latest, unrevoked first. A change of
# the traveller's identity revokes it and, if the application is approved again, issues another.
FROM = (
    "applications a LEFT JOIN LATERAL (SELECT id, token, expires_at FROM clearances"
    " WHERE application_id = a.id AND a.status = 'approved'"
    " ORDER BY revoked_at IS NULL DESC, created_at DESC LIMIT 1) c ON true"
)


async def insert(
    conn: Connection,
    *,
    application_id: uuid.UUID,
    partner_id: uuid.UUID,
    traveller_id: uuid.UUID,
    vehicle_id: uuid.UUID | None,
    ports: Sequence[str],
    valid_from: date,
    valid_until: date,
    entries: str,
    purpose: str,
    status: str,
    reasons: list[dict[str, Any]],
    actor: str,
    renews: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO applications (id, partner_id, traveller_id, vehicle_id, ports, valid_from,"
        " valid_until, entries, purpose, status, reasons, created_by, updated_by,"
        " renews_clearance_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $12, $13)",
        application_id,
        partner_id,
        traveller_id,
        vehicle_id,
        list(ports),
        valid_from,
        valid_until,
        entries,
        purpose,
        status,
        json.dumps(reasons),
        actor,
        renews,
    )


async def get(
    conn: Connection, application_id: uuid.UUID, partner_id: uuid.UUID | None
) -> asyncpg.Record | None:
    """A partner's application, or (``partner_id`` None, for administrators) anyone's."""
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM {FROM} WHERE a.id = $1 AND ($2::uuid IS NULL OR a.partner_id = $2)",
        application_id,
        partner_id,
    )


async def lock(
    conn: Connection, application_id: uuid.UUID, partner_id: uuid.UUID | None = None
) -> str | None:
    """Lock the application for a step of its life; returns its status (None when it does not
    exist, or is not ``partner_id``'s).

    Its traveller is locked first: a change of identity locks the traveller, then their
    applications, and taking both in the same order cannot deadlock.
    """
    await conn.execute(
        "SELECT 1 FROM travellers WHERE id = (SELECT traveller_id FROM applications"
        " WHERE id = $1 AND ($2::uuid IS NULL OR partner_id = $2)) FOR UPDATE",
        application_id,
        partner_id,
    )
    status: str | None = await conn.fetchval(
        "SELECT status FROM applications WHERE id = $1 AND ($2::uuid IS NULL OR partner_id = $2)"
        " FOR UPDATE",
        application_id,
        partner_id,
    )
    return status


async def set_status(
    conn: Connection,
    application_id: uuid.UUID,
    *,
    status: str,
    actor: str,
    at: datetime,
    reasons: list[dict[str, Any]] | None = None,
) -> None:
    """Move the application to ``status``; ``reasons``, when given, replace its reasons."""
    await conn.execute(
        "UPDATE applications SET status = $2, reasons = coalesce($5::jsonb, reasons),"
        " updated_at = $4, updated_by = $3 WHERE id = $1",
        application_id,
        status,
        actor,
        at,
        json.dumps(reasons) if reasons is not None else None,
    )


async def reject(
    conn: Connection,
    application_id: uuid.UUID,
    *,
    grounds: list[dict[str, Any]],
    actor: str | None,
    at: datetime,
    appeal_until: datetime | None,
) -> None:
    """Record a rejection's grounds, who rejected (None: the rules or the system) and until
    when it may be appealed (None: it may not)."""
    await conn.execute(
        "UPDATE applications SET status = 'rejected', grounds = $2::jsonb, rejected_by = $3,"
        " rejected_at = $4, appeal_until = $5 WHERE id = $1",
        application_id,
        json.dumps(grounds),
        actor,
        at,
        appeal_until,
    )


async def renewal_of(conn: Connection, clearance_id: uuid.UUID) -> uuid.UUID | None:
    """The application renewing the clearance that is not (yet) rejected, if there is one."""
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT id FROM applications WHERE renews_clearance_id = $1 AND status <> 'rejected'"
        " ORDER BY created_at DESC LIMIT 1",
        clearance_id,
    )
    return found


async def decide(
    conn: Connection, application_id: uuid.UUID, *, status: str, note: str, actor: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE applications SET status = $2, decision_note = $3, decided_by = $4,"
        " decided_at = $5, updated_at = $5, updated_by = $4 WHERE id = $1",
        application_id,
        status,
        note,
        actor,
        at,
    )


async def live_of_traveller(
    conn: Connection, traveller_id: uuid.UUID, at: datetime
) -> list[uuid.UUID]:
    """Lock and return the traveller's applications that a change of identity decides again:
    those waiting for a review, and the approved ones whose clearance still holds at ``at``.
    A rejection is final, and a clearance revoked or expired is over."""
    rows = await conn.fetch(
        "SELECT a.id FROM applications a WHERE a.traveller_id = $1 AND (a.status = 'referred'"
        " OR (a.status = 'approved' AND EXISTS (SELECT 1 FROM clearances c"
        " WHERE c.application_id = a.id AND c.revoked_at IS NULL AND c.expires_at > $2)))"
        " ORDER BY a.created_at, a.id FOR UPDATE",
        traveller_id,
        at,
    )
    return [row["id"] for row in rows]


async def redecide(
    conn: Connection,
    application_id: uuid.UUID,
    *,
    status: str,
    reasons: list[dict[str, Any]],
    actor: str,
    at: datetime,
) -> None:
    """The rules' new outcome; an administrator's decision, about who the traveller was, goes."""
    await conn.execute(
        "UPDATE applications SET status = $2, reasons = $3::jsonb, decided_by = NULL,"
        " decision_note = NULL, decided_at = NULL, updated_at = $5, updated_by = $4,"
        " grounds = NULL, rejected_by = NULL, rejected_at = NULL, appeal_until = NULL"
        " WHERE id = $1",
        application_id,
        status,
        json.dumps(reasons),
        actor,
        at,
    )


async def page(
    conn: Connection,
    *,
    partner_id: uuid.UUID | None,
    status: str | None,
    after: Cursor | None,
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM {FROM}"
        " WHERE ($1::uuid IS NULL OR a.partner_id = $1) AND ($2::text IS NULL OR a.status = $2)"
        f" AND {keyset_condition(3, 'a')}"
        " ORDER BY a.created_at, a.id LIMIT $5",
        partner_id,
        status,
        *keyset_params(after),
        limit,
    )
