"""Agency staff: accounts, enrolment, sign-in with a second factor, and console sessions.

Staff are created from the command line with a one-time enrolment link (only its hash is
stored). Enrolment sets an argon2id password and a TOTP secret; both are required to sign in.
A session is a random value in a cookie; the database keeps its SHA-256 and a CSRF token that
every state-changing request must send back. Each step is audited under the person's email.

Failed sign-ins are counted on the account, in the database, so the lockout holds across
workers; the answer is the same whether the email, the password or the code was wrong, or the
account is locked, so that nobody learns which emails have accounts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from greenlane.db import staff as staff_db
from greenlane.db.pool import Connection, Database
from greenlane.domain.crypto import FieldCipher
from greenlane.domain.staff import (
    ENROLMENT_LIFETIME,
    LOCKOUT,
    MAX_FAILED_SIGN_INS,
    StaffRole,
    accepted_step,
    actor,
    hash_password,
    locked,
    password_matches,
    password_problem,
    session_expired,
)
from greenlane.errors import Conflict, NotFound, ValidationFailed
from greenlane.services import audit

MAX_EMAIL_LENGTH = 254
_TOTP_SECRET_COLUMN = "totp_secret_enc"


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _seal(cipher: FieldCipher, staff_id: uuid.UUID, secret: str) -> bytes:
    return cipher.encrypt(
        secret, table=staff_db.TABLE, column=_TOTP_SECRET_COLUMN, row_id=str(staff_id)
    )


def _unseal(cipher: FieldCipher, staff_id: uuid.UUID, blob: bytes) -> str:
    return cipher.decrypt(
        blob, table=staff_db.TABLE, column=_TOTP_SECRET_COLUMN, row_id=str(staff_id)
    )


@dataclass(frozen=True, slots=True)
class NewStaff:
    staff_id: uuid.UUID
    email: str
    role: StaffRole
    enrolment_token: str  # shown once, in the link; only its hash is kept
    expires_at: datetime


def _check_email(email: str) -> str:
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > MAX_EMAIL_LENGTH:
        raise ValidationFailed.one("email", "is not an email address")
    if any(c.isspace() or not c.isprintable() for c in email):
        raise ValidationFailed.one("email", "is not an email address")
    return email


async def create_staff(db: Database, email: str, role: StaffRole, *, by: str) -> NewStaff:
    email = _check_email(email)
    token = secrets.token_urlsafe(32)
    expires_at = _now() + ENROLMENT_LIFETIME
    async with db.transaction() as conn:
        row = await staff_db.insert(
            conn,
            staff_id=uuid.uuid4(),
            email=email,
            role=role,
            enrolment_hash=_digest(token),
            enrolment_expires_at=expires_at,
            actor=by,
        )
        if row is None:
            raise Conflict("a member of staff already has this email")
        await audit.record(conn, by, "staff.create", str(row["id"]), {"role": role})
    return NewStaff(row["id"], email, role, token, expires_at)


@dataclass(frozen=True, slots=True)
class PendingEnrolment:
    email: str
    role: StaffRole


async def pending_enrolment(db: Database, token: str) -> PendingEnrolment:
    """Who a link enrols (404 if it was used, has expired or never existed)."""
    async with db.connection() as conn:
        row = await staff_db.by_enrolment(conn, _digest(token))
    if row is None or row["enrolment_expires_at"] <= _now():
        raise NotFound("This enrolment link has been used or has expired.")
    return PendingEnrolment(row["email"], row["role"])


def _check_totp_secret(secret: str) -> None:
    try:
        if len(base64.b32decode(secret, casefold=False)) < 20:  # RFC 4226: at least 160 bits
            raise ValueError
    except (binascii.Error, ValueError):
        raise ValidationFailed.one("totp_secret", "is not the secret this page offered") from None


async def enrol(
    db: Database, cipher: FieldCipher, token: str, *, password: str, totp_secret: str, code: str
) -> None:
    """Set the password and the second factor; the first code proves the app holds the secret."""
    _check_totp_secret(totp_secret)
    now = _now()
    async with db.transaction() as conn:
        row = await staff_db.by_enrolment(conn, _digest(token), for_update=True)
        if row is None or row["enrolment_expires_at"] <= now:
            raise NotFound("This enrolment link has been used or has expired.")
        problem = password_problem(password, row["email"])
        if problem is not None:
            raise ValidationFailed.one("password", problem)
        step = accepted_step(totp_secret, code, now=now, last_step=0)
        if step is None:
            raise ValidationFailed.one("code", "is not the current code of your authenticator")
        await staff_db.enrol(
            conn,
            row["id"],
            password_hash=hash_password(password),
            totp_secret_enc=_seal(cipher, row["id"], totp_secret),
            totp_step=step,
            at=now,
        )
        await audit.record(conn, actor(row["email"]), "staff.enrol", str(row["id"]), {})


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A signed-in person, as each console request sees them."""

    staff_id: uuid.UUID
    email: str
    role: StaffRole
    csrf_token: str

    @property
    def actor(self) -> str:
        return actor(self.email)


@dataclass(frozen=True, slots=True)
class NewSession:
    session_id: str  # the cookie's value; only its hash is kept
    staff: StaffSession


class SignInRefused(Exception):
    """Wrong email, password or code, or a locked or disabled account: one answer for all."""


async def sign_in(
    db: Database, cipher: FieldCipher, *, email: str, password: str, code: str
) -> NewSession:
    """A new session (a new id every time: nothing from before sign-in is reused).

    A refusal is raised only after the transaction has committed what it counted.
    """
    now = _now()
    opened: NewSession | None = None
    async with db.transaction() as conn:
        row = await staff_db.by_email(conn, email.strip()[:MAX_EMAIL_LENGTH])
        # argon2 runs whether or not the account exists, so timing does not tell.
        password_ok = password_matches(row["password_hash"] if row else None, password)
        if row is None or row["password_hash"] is None or row["disabled_at"] is not None:
            raise SignInRefused
        who = actor(row["email"])
        if locked(row["locked_until"], now):
            await audit.record(conn, who, "staff.sign_in_locked", str(row["id"]))
        else:
            secret = _unseal(cipher, row["id"], bytes(row["totp_secret_enc"]))
            step = accepted_step(secret, code, now=now, last_step=row["totp_last_step"])
            if password_ok and step is not None:
                opened = await _open(conn, row["id"], row["email"], row["role"], step, now)
            else:
                await _count_failure(conn, row["id"], who, now)
    if opened is None:
        raise SignInRefused
    return opened


async def _open(
    conn: Connection, staff_id: uuid.UUID, email: str, role: StaffRole, step: int, now: datetime
) -> NewSession:
    await staff_db.signed_in(conn, staff_id, totp_step=step)
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    await staff_db.open_session(
        conn, id_hash=_digest(session_id), staff_id=staff_id, csrf_token=csrf, at=now
    )
    await audit.record(conn, actor(email), "staff.sign_in", str(staff_id))
    return NewSession(session_id, StaffSession(staff_id, email, role, csrf))


async def _count_failure(conn: Connection, staff_id: uuid.UUID, who: str, now: datetime) -> None:
    failures = await staff_db.record_failure(conn, staff_id)
    await audit.record(conn, who, "staff.sign_in_failed", str(staff_id))
    if failures >= MAX_FAILED_SIGN_INS:
        await staff_db.lock(conn, staff_id, now + LOCKOUT)
        await audit.record(conn, who, "staff.locked", str(staff_id))


async def session(db: Database, session_id: str) -> StaffSession | None:
    """The session's holder, or None if it ended, timed out, or its holder was disabled.

    Each request that finds it counts as activity for the idle timeout.
    """
    id_hash = _digest(session_id)
    now = _now()
    async with db.transaction() as conn:
        row = await staff_db.session(conn, id_hash)
        if row is None:
            return None
        expired = session_expired(
            created_at=row["created_at"], last_seen_at=row["last_seen_at"], now=now
        )
        if expired or row["disabled_at"] is not None:
            await staff_db.close_session(conn, id_hash)
            return None
        await staff_db.touch_session(conn, id_hash, now)
    return StaffSession(row["staff_id"], row["email"], row["role"], row["csrf_token"])


async def sign_out(db: Database, session_id: str, staff: StaffSession) -> None:
    async with db.transaction() as conn:
        await staff_db.close_session(conn, _digest(session_id))
        await audit.record(conn, staff.actor, "staff.sign_out", str(staff.staff_id))


async def disable_staff(db: Database, email: str, *, by: str) -> None:
    """Refuse the person's sign-ins from now on and end their sessions at once."""
    async with db.transaction() as conn:
        staff_id = await staff_db.disable(conn, email, at=_now())
        if staff_id is None:
            raise NotFound("no member of staff has this email")
        await staff_db.close_sessions_of(conn, staff_id)
        await audit.record(conn, by, "staff.disable", str(staff_id))


class SignInThrottle:
    """At most ``per_minute`` sign-in attempts a minute from one address, in this worker.

    The lockout protects each account; this slows one source trying many accounts.
    """

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._attempts: dict[str, deque[float]] = {}

    def allow(self, source: str) -> bool:
        now = time.monotonic()
        if len(self._attempts) > 10_000:  # bounded memory whatever the sources
            self._attempts.clear()
        attempts = self._attempts.setdefault(source, deque())
        while attempts and attempts[0] <= now - 60:
            attempts.popleft()
        if len(attempts) >= self._per_minute:
            return False
        attempts.append(now)
        return True
