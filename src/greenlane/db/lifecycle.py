"""A case after its first decision: requests for information, appeals and the history."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from greenlane.db.pool import Connection

REQUEST_COLUMNS = (
    "id, items, message, requested_by, requested_at, due_at, answered_at, answered_by,"
    " statement, updated, expired_at"
)
APPEAL_COLUMNS = "grounds, filed_by, filed_at, rejected_by, decision, note, decided_by, decided_at"


async def record(
    conn: Connection,
    application_id: uuid.UUID,
    *,
    actor: str,
    party: str,
    event: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """One step in the application's history (ids, states and codes only: no personal data)."""
    await conn.execute(
        "INSERT INTO application_history (application_id, actor, party, event, details)"
        " VALUES ($1, $2, $3, $4, $5::jsonb)",
        application_id,
        actor,
        party,
        event,
        json.dumps(details or {}),
    )


async def history(conn: Connection, application_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT at, actor, party, event, details FROM application_history"
        " WHERE application_id = $1 ORDER BY id",
        application_id,
    )


async def open_request(
    conn: Connection,
    *,
    application_id: uuid.UUID,
    items: Sequence[str],
    message: str,
    actor: str,
    at: datetime,
    due_at: datetime,
) -> uuid.UUID:
    request_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO information_requests (id, application_id, items, message, requested_by,"
        " requested_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        request_id,
        application_id,
        list(items),
        message,
        actor,
        at,
        due_at,
    )
    return request_id


async def pending_request(conn: Connection, application_id: uuid.UUID) -> asyncpg.Record | None:
    """The application's unanswered, unexpired request, locked."""
    return await conn.fetchrow(
        f"SELECT {REQUEST_COLUMNS} FROM information_requests"
        " WHERE application_id = $1 AND answered_at IS NULL AND expired_at IS NULL FOR UPDATE",
        application_id,
    )


async def latest_request(conn: Connection, application_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {REQUEST_COLUMNS} FROM information_requests WHERE application_id = $1"
        " ORDER BY requested_at DESC LIMIT 1",
        application_id,
    )


async def answer_request(
    conn: Connection,
    request_id: uuid.UUID,
    *,
    statement: str,
    updated: Sequence[str],
    actor: str,
    at: datetime,
) -> None:
    await conn.execute(
        "UPDATE information_requests SET answered_at = $2, answered_by = $3, statement = $4,"
        " updated = $5 WHERE id = $1",
        request_id,
        at,
        actor,
        statement,
        list(updated),
    )


async def overdue(conn: Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Requests past their due date and still open, oldest first, locked; another worker's
    sweep skips them rather than waiting."""
    return await conn.fetch(
        "SELECT r.id, r.application_id, a.traveller_id FROM information_requests r"
        " JOIN applications a ON a.id = r.application_id"
        " WHERE r.answered_at IS NULL AND r.expired_at IS NULL AND r.due_at <= $1"
        " ORDER BY r.due_at LIMIT $2 FOR UPDATE OF r, a SKIP LOCKED",
        now,
        limit,
    )


async def expire_request(conn: Connection, request_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE information_requests SET expired_at = $2 WHERE id = $1", request_id, at
    )


async def file_appeal(
    conn: Connection,
    application_id: uuid.UUID,
    *,
    grounds: str,
    actor: str,
    at: datetime,
    rejected_by: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO appeals (application_id, grounds, filed_by, filed_at, rejected_by)"
        " VALUES ($1, $2, $3, $4, $5)",
        application_id,
        grounds,
        actor,
        at,
        rejected_by,
    )


async def appeal(conn: Connection, application_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {APPEAL_COLUMNS} FROM appeals WHERE application_id = $1", application_id
    )


async def decide_appeal(
    conn: Connection,
    application_id: uuid.UUID,
    *,
    decision: str,
    note: str,
    actor: str,
    at: datetime,
) -> None:
    await conn.execute(
        "UPDATE appeals SET decision = $2, note = $3, decided_by = $4, decided_at = $5"
        " WHERE application_id = $1",
        application_id,
        decision,
        note,
        actor,
        at,
    )
