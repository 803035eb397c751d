"""Agency staff, their console sessions, and their claims on referred cases."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from greenlane.db.pool import Connection

TABLE = "staff"
STAFF_COLUMNS = (
    "id, email, role, password_hash, totp_secret_enc, totp_last_step, enrolment_expires_at,"
    " failed_logins, locked_until, enrolled_at, disabled_at, created_at, created_by"
)


async def insert(
    conn: Connection,
    *,
    staff_id: uuid.UUID,
    email: str,
    role: str,
    enrolment_hash: bytes,
    enrolment_expires_at: datetime,
    actor: str,
) -> asyncpg.Record | None:
    """The new member of staff, or None if the email is taken (in any letter case)."""
    return await conn.fetchrow(
        f"INSERT INTO staff (id, email, role, enrolment_hash, enrolment_expires_at, created_by)"
        f" VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING {STAFF_COLUMNS}",
        staff_id,
        email,
        role,
        enrolment_hash,
        enrolment_expires_at,
        actor,
    )


async def by_enrolment(
    conn: Connection, enrolment_hash: bytes, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {STAFF_COLUMNS} FROM staff WHERE enrolment_hash = $1{lock}", enrolment_hash
    )


async def by_email(conn: Connection, email: str) -> asyncpg.Record | None:
    """Locked for the rest of the transaction: two sign-ins at once count both failures."""
    return await conn.fetchrow(
        f"SELECT {STAFF_COLUMNS} FROM staff WHERE lower(email) = lower($1) FOR UPDATE", email
    )


async def enrol(
    conn: Connection,
    staff_id: uuid.UUID,
    *,
    password_hash: str,
    totp_secret_enc: bytes,
    totp_step: int,
    at: datetime,
) -> None:
    """Set the credentials and spend the link: it works once."""
    await conn.execute(
        "UPDATE staff SET password_hash = $2, totp_secret_enc = $3, totp_last_step = $4,"
        " enrolled_at = $5, enrolment_hash = NULL, enrolment_expires_at = NULL"
        " WHERE id = $1",
        staff_id,
        password_hash,
        totp_secret_enc,
        totp_step,
        at,
    )


async def record_failure(conn: Connection, staff_id: uuid.UUID) -> int:
    """Count a failed sign-in; returns how many there have been in a row."""
    failures: int = await conn.fetchval(
        "UPDATE staff SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
        staff_id,
    )
    return failures


async def lock(conn: Connection, staff_id: uuid.UUID, until: datetime) -> None:
    await conn.execute(
        "UPDATE staff SET locked_until = $2, failed_logins = 0 WHERE id = $1", staff_id, until
    )


async def signed_in(conn: Connection, staff_id: uuid.UUID, *, totp_step: int) -> None:
    await conn.execute(
        "UPDATE staff SET failed_logins = 0, locked_until = NULL, totp_last_step = $2"
        " WHERE id = $1",
        staff_id,
        totp_step,
    )


async def open_session(
    conn: Connection,
    *,
    id_hash: bytes,
    staff_id: uuid.UUID,
    csrf_token: str,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO staff_sessions (id_hash, staff_id, csrf_token, created_at, last_seen_at)"
        " VALUES ($1, $2, $3, $4, $4)",
        id_hash,
        staff_id,
        csrf_token,
        at,
    )


async def session(conn: Connection, id_hash: bytes) -> asyncpg.Record | None:
    """The session and who holds it (a disabled person's sessions are found, then refused)."""
    return await conn.fetchrow(
        "SELECT s.staff_id, s.csrf_token, s.created_at, s.last_seen_at,"
        " st.email, st.role, st.disabled_at"
        " FROM staff_sessions s JOIN staff st ON st.id = s.staff_id WHERE s.id_hash = $1",
        id_hash,
    )


async def touch_session(conn: Connection, id_hash: bytes, at: datetime) -> None:
    await conn.execute(
        "UPDATE staff_sessions SET last_seen_at = $2 WHERE id_hash = $1", id_hash, at
    )


async def close_session(conn: Connection, id_hash: bytes) -> None:
    await conn.execute("DELETE FROM staff_sessions WHERE id_hash = $1", id_hash)


async def disable(conn: Connection, email: str, *, at: datetime) -> uuid.UUID | None:
    staff_id: uuid.UUID | None = await conn.fetchval(
        "UPDATE staff SET disabled_at = $2 WHERE lower(email) = lower($1) RETURNING id",
        email,
        at,
    )
    return staff_id


async def close_sessions_of(conn: Connection, staff_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM staff_sessions WHERE staff_id = $1", staff_id)


async def claim(
    conn: Connection, application_id: uuid.UUID, staff_id: uuid.UUID, at: datetime
) -> uuid.UUID:
    """Claim the case unless someone has; returns whoever holds it now."""
    holder: uuid.UUID = await conn.fetchval(
        "WITH claimed AS ("
        " INSERT INTO review_claims (application_id, staff_id, claimed_at)"
        " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING staff_id)"
        " SELECT staff_id FROM claimed"
        " UNION ALL SELECT staff_id FROM review_claims WHERE application_id = $1 LIMIT 1",
        application_id,
        staff_id,
        at,
    )
    return holder


async def claimant(conn: Connection, application_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT c.staff_id, c.claimed_at, st.email FROM review_claims c"
        " JOIN staff st ON st.id = c.staff_id WHERE c.application_id = $1",
        application_id,
    )


async def release(conn: Connection, application_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM review_claims WHERE application_id = $1", application_id)
