"""What the console reads for its overviews: lanes, verifications by minute, the review queue,
the cases waiting for information, and the trips expected at the ports."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from greenlane.db.pool import Connection

# What waits for a reviewer: a referral, or an appeal against a rejection (case lifecycle).
_WAITING = "('referred', 'appealed')"


async def lanes_seen(conn: Connection, since: datetime) -> list[asyncpg.Record]:
    """Each lane that verified since ``since``: when last, how many, and its last mode."""
    return await conn.fetch(
        "SELECT DISTINCT ON (port_code, lane_code) port_code, lane_code,"
        " occurred_at AS last_seen, mode,"
        " count(*) OVER (PARTITION BY port_code, lane_code) AS verifications"
        " FROM verification_events WHERE occurred_at >= $1"
        " ORDER BY port_code, lane_code, occurred_at DESC",
        since,
    )


async def per_minute(conn: Connection, since: datetime) -> list[asyncpg.Record]:
    """Verifications per minute and decision since ``since`` (minutes with none are absent)."""
    return await conn.fetch(
        "SELECT date_trunc('minute', occurred_at) AS minute, decision, count(*) AS n"
        " FROM verification_events WHERE occurred_at >= $1"
        " GROUP BY 1, 2 ORDER BY 1",
        since,
    )


async def review_queue_summary(conn: Connection) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT count(*) AS size, min(created_at) AS oldest FROM applications"
        f" WHERE status IN {_WAITING}"
    )
    assert row is not None
    return row


async def review_queue(conn: Connection, *, limit: int) -> list[asyncpg.Record]:
    """Referred and appealed applications, oldest first, with who has claimed each."""
    return await conn.fetch(
        "SELECT a.id, a.created_at, a.status, a.reasons, a.ports, a.partner_id,"
        " p.name AS partner_name, st.email AS claimed_by"
        " FROM applications a JOIN partners p ON p.id = a.partner_id"
        " LEFT JOIN review_claims c ON c.application_id = a.id"
        " LEFT JOIN staff st ON st.id = c.staff_id"
        f" WHERE a.status IN {_WAITING} ORDER BY a.created_at, a.id LIMIT $1",
        limit,
    )


async def waiting_for_information(conn: Connection, *, limit: int) -> list[asyncpg.Record]:
    """Applications whose request for information is open, the soonest due first."""
    return await conn.fetch(
        "SELECT a.id, a.ports, p.name AS partner_name, r.items, r.requested_at,"
        " r.requested_by, r.due_at"
        " FROM information_requests r JOIN applications a ON a.id = r.application_id"
        " JOIN partners p ON p.id = a.partner_id"
        " WHERE r.answered_at IS NULL AND r.expired_at IS NULL"
        " ORDER BY r.due_at, a.id LIMIT $1",
        limit,
    )


async def trips_expected(
    conn: Connection, since: datetime, until: datetime, *, limit: int
) -> list[asyncpg.Record]:
    """Approved and referred trips expected at a port between ``since`` and ``until``, the
    soonest first, with how many people each carries and when it crossed, if it has."""
    return await conn.fetch(
        "SELECT t.id, t.port_code, t.direction, t.expected_at, t.status,"
        " p.name AS partner_name,"
        " (SELECT count(*) FROM trip_members m WHERE m.trip_id = t.id) AS people,"
        " (SELECT max(c.crossed_at) FROM crossings c WHERE c.trip_id = t.id) AS crossed_at"
        " FROM trips t JOIN partners p ON p.id = t.partner_id"
        " WHERE t.status IN ('approved', 'referred') AND t.expected_at >= $1"
        " AND t.expected_at < $2 ORDER BY t.expected_at, t.id LIMIT $3",
        since,
        until,
        limit,
    )
