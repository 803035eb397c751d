"""Webhook endpoints, the event outbox, deliveries and their attempts.

Every statement a partner's call runs is scoped by ``partner_id``; the delivery workers' claim
is the one that reads across partners.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from greenlane.db.pagination import Cursor, keyset_condition, keyset_params
from greenlane.db.pool import Connection, returning

ENDPOINT_COLUMNS = (
    "id, partner_id, url, description, events, enabled, disabled_reason, disabled_at,"
    " secret_enc, previous_secret_enc, previous_secret_until, created_at, updated_at"
)
DELIVERY_COLUMNS = (
    "d.id, d.event_id, e.type AS event_type, d.status, d.attempts, d.next_attempt_at,"
    " d.delivered_at, d.replay_of, d.created_at"
)


# --- endpoints --------------------------------------------------------------------------------


async def insert_endpoint(
    conn: Connection,
    *,
    endpoint_id: uuid.UUID,
    partner_id: uuid.UUID,
    url: str,
    description: str | None,
    events: Sequence[str],
    secret_enc: bytes,
    actor: str,
) -> asyncpg.Record:
    return await returning(
        conn,
        "INSERT INTO webhook_endpoints (id, partner_id, url, description, events, secret_enc,"
        " created_by, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
        f" RETURNING {ENDPOINT_COLUMNS}",
        endpoint_id,
        partner_id,
        url,
        description,
        list(events),
        secret_enc,
        actor,
    )


async def get_endpoint(
    conn: Connection, endpoint_id: uuid.UUID, partner_id: uuid.UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND partner_id = $2"
        + lock,
        endpoint_id,
        partner_id,
    )


async def page_endpoints(
    conn: Connection, partner_id: uuid.UUID, *, after: Cursor | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE partner_id = $1"
        f" AND {keyset_condition(2)} ORDER BY created_at, id LIMIT $4",
        partner_id,
        *keyset_params(after),
        limit,
    )


async def update_endpoint(
    conn: Connection,
    endpoint_id: uuid.UUID,
    *,
    url: str,
    description: str | None,
    events: Sequence[str],
    enabled: bool,
    disabled_reason: str | None,
    disabled_at: datetime | None,
    actor: str,
) -> asyncpg.Record:
    return await returning(
        conn,
        "UPDATE webhook_endpoints SET url = $2, description = $3, events = $4, enabled = $5,"
        " disabled_reason = $6, disabled_at = $7, updated_at = now(), updated_by = $8"
        f" WHERE id = $1 RETURNING {ENDPOINT_COLUMNS}",
        endpoint_id,
        url,
        description,
        list(events),
        enabled,
        disabled_reason,
        disabled_at,
        actor,
    )


async def rotate_secret(
    conn: Connection,
    endpoint_id: uuid.UUID,
    *,
    secret_enc: bytes,
    previous_secret_enc: bytes | None,
    previous_until: datetime | None,
    actor: str,
) -> asyncpg.Record:
    return await returning(
        conn,
        "UPDATE webhook_endpoints SET secret_enc = $2, previous_secret_enc = $3,"
        " previous_secret_until = $4, updated_at = now(), updated_by = $5"
        f" WHERE id = $1 RETURNING {ENDPOINT_COLUMNS}",
        endpoint_id,
        secret_enc,
        previous_secret_enc,
        previous_until,
        actor,
    )


async def delete_endpoint(conn: Connection, endpoint_id: uuid.UUID, partner_id: uuid.UUID) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM webhook_endpoints WHERE id = $1 AND partner_id = $2 RETURNING id",
        endpoint_id,
        partner_id,
    )
    return deleted is not None


async def disable_endpoint(conn: Connection, endpoint_id: uuid.UUID, reason: str) -> None:
    await conn.execute(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2,"
        " disabled_at = now(), updated_at = now(), updated_by = 'webhook-delivery'"
        " WHERE id = $1 AND enabled",
        endpoint_id,
        reason,
    )


# --- the outbox ---------------------------------------------------------------------------


async def insert_event(
    conn: Connection,
    *,
    event_id: uuid.UUID,
    partner_id: uuid.UUID,
    event_type: str,
    body: str,
    occurred_at: datetime,
) -> int:
    """The event and a delivery to each enabled endpoint of the partner listening to its type;
    nothing when none listens. Returns the number of deliveries."""
    rows = await conn.fetch(
        "WITH targets AS (SELECT id FROM webhook_endpoints"
        "   WHERE partner_id = $2 AND enabled AND $3 = ANY (events)),"
        " event AS (INSERT INTO webhook_events (id, partner_id, type, body, occurred_at)"
        "   SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM targets) RETURNING id)"
        " INSERT INTO webhook_deliveries (id, event_id, endpoint_id, partner_id, next_attempt_at)"
        " SELECT gen_random_uuid(), event.id, targets.id, $2, now() FROM event, targets"
        " RETURNING id",
        event_id,
        partner_id,
        event_type,
        body,
        occurred_at,
    )
    return len(rows)


async def insert_event_for(
    conn: Connection,
    *,
    event_id: uuid.UUID,
    partner_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    event_type: str,
    body: str,
    occurred_at: datetime,
) -> uuid.UUID:
    """An event for one endpoint only (a test ping); returns its delivery's id."""
    await conn.execute(
        "INSERT INTO webhook_events (id, partner_id, type, body, occurred_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        event_id,
        partner_id,
        event_type,
        body,
        occurred_at,
    )
    return await _new_delivery(conn, event_id, endpoint_id, partner_id, replay_of=None)


async def _new_delivery(
    conn: Connection,
    event_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    partner_id: uuid.UUID,
    *,
    replay_of: uuid.UUID | None,
) -> uuid.UUID:
    delivery_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, partner_id, next_attempt_at,"
        " replay_of) VALUES ($1, $2, $3, $4, now(), $5)",
        delivery_id,
        event_id,
        endpoint_id,
        partner_id,
        replay_of,
    )
    return delivery_id


async def replay(
    conn: Connection, delivery_id: uuid.UUID, endpoint_id: uuid.UUID, partner_id: uuid.UUID
) -> uuid.UUID | None:
    """A new delivery of the same event to the same endpoint, due now; None if not found."""
    event_id = await conn.fetchval(
        "SELECT event_id FROM webhook_deliveries"
        " WHERE id = $1 AND endpoint_id = $2 AND partner_id = $3",
        delivery_id,
        endpoint_id,
        partner_id,
    )
    if event_id is None:
        return None
    return await _new_delivery(conn, event_id, endpoint_id, partner_id, replay_of=delivery_id)


# --- the delivery log -------------------------------------------------------------------------


async def page_deliveries(
    conn: Connection,
    endpoint_id: uuid.UUID,
    partner_id: uuid.UUID,
    *,
    status: str | None,
    after: Cursor | None,
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d"
        " JOIN webhook_events e ON e.id = d.event_id"
        " WHERE d.endpoint_id = $1 AND d.partner_id = $2 AND ($3::text IS NULL OR d.status = $3)"
        f" AND {keyset_condition(4, 'd')} ORDER BY d.created_at, d.id LIMIT $6",
        endpoint_id,
        partner_id,
        status,
        *keyset_params(after),
        limit,
    )


async def get_delivery(
    conn: Connection, delivery_id: uuid.UUID, partner_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d"
        " JOIN webhook_events e ON e.id = d.event_id WHERE d.id = $1 AND d.partner_id = $2",
        delivery_id,
        partner_id,
    )


async def attempts_of(conn: Connection, delivery_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT delivery_id, attempt, started_at, outcome, status_code, latency_ms"
        " FROM webhook_attempts WHERE delivery_id = ANY ($1::uuid[])"
        " ORDER BY delivery_id, attempt",
        list(delivery_ids),
    )


# --- the delivery workers ------------------------------------------------------------------


async def claim(conn: Connection, lease: timedelta) -> asyncpg.Record | None:
    """Take the most overdue delivery to an enabled endpoint, if any, for one attempt.

    Its ``next_attempt_at`` moves ``lease`` ahead (longer than an attempt can last), so no other
    worker takes it meanwhile, and it comes due again by itself if this worker dies. The attempt
    is logged as ``sending``; an earlier one still ``sending`` was cut off: ``interrupted``.
    Run in a transaction.
    """
    row = await conn.fetchrow(
        "UPDATE webhook_deliveries d SET attempts = d.attempts + 1,"
        " next_attempt_at = now() + $1::interval"
        " WHERE d.id = (SELECT c.id FROM webhook_deliveries c"
        "   JOIN webhook_endpoints p ON p.id = c.endpoint_id AND p.enabled"
        "   WHERE c.status = 'pending' AND c.next_attempt_at <= now()"
        "   ORDER BY c.next_attempt_at LIMIT 1 FOR UPDATE OF c SKIP LOCKED)"
        " RETURNING d.id, d.event_id, d.endpoint_id, d.attempts",
        lease,
    )
    if row is None:
        return None
    await conn.execute(
        "UPDATE webhook_attempts SET outcome = 'interrupted'"
        " WHERE delivery_id = $1 AND outcome = 'sending'",
        row["id"],
    )
    await conn.execute(
        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, outcome)"
        " VALUES ($1, $2, now(), 'sending')",
        row["id"],
        row["attempts"],
    )
    return await conn.fetchrow(
        "SELECT d.id, d.attempts, e.id AS event_id, e.body, p.id AS endpoint_id, p.url,"
        " p.secret_enc, p.previous_secret_enc, p.previous_secret_until"
        " FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
        " JOIN webhook_endpoints p ON p.id = d.endpoint_id WHERE d.id = $1",
        row["id"],
    )


async def finish_attempt(
    conn: Connection,
    delivery_id: uuid.UUID,
    attempt: int,
    *,
    outcome: str,
    status_code: int | None,
    latency_ms: int,
    next_attempt_at: datetime | None,
) -> bool:
    """Record the attempt's result; False if the delivery has since been claimed again (this
    worker outlived its lease), in which case nothing changes."""
    status = "delivered" if outcome == "delivered" else "pending" if next_attempt_at else "failed"
    updated = await conn.fetchval(
        "UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, last_status_code = $5,"
        " last_outcome = $6, delivered_at = CASE WHEN $3 = 'delivered' THEN now() END"
        " WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING id",
        delivery_id,
        attempt,
        status,
        next_attempt_at,
        status_code,
        outcome,
    )
    if updated is None:
        return False
    await conn.execute(
        "UPDATE webhook_attempts SET outcome = $3, status_code = $4, latency_ms = $5"
        " WHERE delivery_id = $1 AND attempt = $2",
        delivery_id,
        attempt,
        outcome,
        status_code,
        latency_ms,
    )
    return True


async def next_due(conn: Connection) -> datetime | None:
    """When the next delivery to an enabled endpoint comes due (a lease's end included)."""
    found: datetime | None = await conn.fetchval(
        "SELECT min(d.next_attempt_at) FROM webhook_deliveries d"
        " JOIN webhook_endpoints p ON p.id = d.endpoint_id AND p.enabled"
        " WHERE d.status = 'pending'"
    )
    return found


async def oldest_undelivered(conn: Connection) -> datetime | None:
    """When the oldest event still waiting for an enabled endpoint was written."""
    found: datetime | None = await conn.fetchval(
        "SELECT min(d.created_at) FROM webhook_deliveries d"
        " JOIN webhook_endpoints p ON p.id = d.endpoint_id AND p.enabled"
        " WHERE d.status = 'pending'"
    )
    return found


# --- clearance.expiring ---------------------------------------------------------------------


async def newly_expiring(conn: Connection, before: datetime, limit: int) -> list[asyncpg.Record]:
    """Live clearances expiring before ``before`` not yet announced; now marked announced.

    The rows are locked FOR SHARE, as of their latest commit: a suspension or revocation
    committing meanwhile is either seen here or waits for this announcement, so the notice
    never states a status older than the event that changed it."""
    return await conn.fetch(
        "WITH due AS (SELECT c.id, c.suspended_at FROM clearances c"
        "   WHERE c.revoked_at IS NULL AND c.expires_at > now() AND c.expires_at <= $1"
        "   AND NOT EXISTS (SELECT 1 FROM webhook_expiry_notices n WHERE n.clearance_id = c.id)"
        "   ORDER BY c.expires_at LIMIT $2 FOR SHARE OF c),"
        " noted AS (INSERT INTO webhook_expiry_notices (clearance_id) SELECT id FROM due"
        "   ON CONFLICT DO NOTHING RETURNING clearance_id)"
        " SELECT c.id, c.application_id, c.partner_id, c.expires_at, due.suspended_at"
        " FROM clearances c JOIN noted ON noted.clearance_id = c.id"
        " JOIN due ON due.id = c.id",
        before,
        limit,
    )
