"""OAuth 2.0 client credentials (RFC 6749 §4.4): a client id and secret for an access token.

Failures are counted per client id in the database, so the 10-a-minute throttle holds across
workers. Anyone may call this with any text as a client id, so nothing they send is kept as
they sent it:

- the throttle's rows are keyed by a keyed hash of the id, never the text, and a window that
  has ended is forgotten (pruned here when the table is full, and by the hourly maintenance);
- ids that no client has may hold at most ``MAX_TRACKED_CLIENT_IDS`` rows: beyond that, a
  failure for another one is answered 429 without a row; a real client's failures are always
  counted;
- the tenth failure in a window is audited only for a client that exists, by its id. A burst
  against an id no client has threatens nobody, and auditing it would let anyone append what
  they like to the permanent, undeletable log.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from greenlane.db import identity as identity_db
from greenlane.db.identity import SIGNIN_WINDOW
from greenlane.db.pool import Connection, Database
from greenlane.domain.access_tokens import SCOPES, issue_access_token
from greenlane.domain.crypto import BlindIndex, verify_client_secret
from greenlane.errors import RateLimited
from greenlane.services import audit
from greenlane.services.client_registry import ClientRegistry
from greenlane.settings import Settings
from greenlane.wire.identity import AccessToken

MAX_FAILURES_PER_MINUTE = 10
# About a megabyte of live windows: far more ids than one deployment has clients.
MAX_TRACKED_CLIENT_IDS = 10_000
MAX_CLIENT_ID_LENGTH = 64
# Compared against when the client id is unknown, so both paths cost one HMAC.
_DUMMY_HASH = bytes(32)


class InvalidClient(Exception):
    """Unknown client, wrong secret or disabled client: one answer for all three."""


@dataclass(frozen=True, slots=True)
class Credentials:
    client_id: str
    client_secret: str


async def sign_in(
    db: Database,
    registry: ClientRegistry,
    settings: Settings,
    index: BlindIndex,
    credentials: Credentials,
) -> AccessToken:
    client_id = _as_uuid(credentials.client_id)
    # One spelling per id, so that variants of the same id share a counter.
    spelling = str(client_id) if client_id else credentials.client_id[:MAX_CLIENT_ID_LENGTH]
    throttle_key = index.digest("signin-client-id", spelling).hex()
    now = datetime.now(UTC)
    async with db.connection() as conn:
        failures, window_start = await identity_db.signin_failures(conn, throttle_key, at=now)
        stored = await identity_db.client_secret_hash(conn, client_id) if client_id else None
        pepper = settings.secret_pepper.reveal()
        secret_ok = verify_client_secret(
            credentials.client_secret, stored[0] if stored else _DUMMY_HASH, pepper
        )
        if client_id is None or stored is None or not secret_ok or not stored[1]:
            # Only failures are throttled: anyone who knows a client id (it is no secret) could
            # otherwise lock the real client out by failing on purpose.
            if failures >= MAX_FAILURES_PER_MINUTE:
                raise _throttled(window_start + SIGNIN_WINDOW - now)
            await _count_failure(conn, throttle_key, client_id if stored else None, now)
            raise InvalidClient
        if failures:
            await identity_db.clear_signin_failures(conn, throttle_key)
    identity = await registry.get(client_id)
    if identity is None or not identity.enabled:
        raise InvalidClient
    ttl = settings.access_token_ttl
    token = issue_access_token(
        key=settings.access_token_key.reveal(),
        issuer=settings.issuer,
        client_id=str(client_id),
        role=identity.role,
        now=int(time.time()),
        ttl=ttl,
    )
    return AccessToken(
        access_token=token, token_type="Bearer", expires_in=ttl, scope=SCOPES[identity.role]
    )


async def _count_failure(
    conn: Connection, key: str, client_id: uuid.UUID | None, now: datetime
) -> None:
    """Count one failure (``client_id`` is the client's when one exists) and audit its burst."""
    cap = None if client_id else MAX_TRACKED_CLIENT_IDS
    async with conn.transaction():
        count = await identity_db.record_signin_failure(conn, key, at=now, max_rows=cap)
        if count is None and await identity_db.prune_signin_failures(conn, at=now):
            count = await identity_db.record_signin_failure(conn, key, at=now, max_rows=cap)
        if count == MAX_FAILURES_PER_MINUTE and client_id:
            await audit.record(
                conn, "system", "auth.signin_throttled", str(client_id), {"failures": count}
            )
    if count is None:  # as many unknown ids as the table may hold, all in open windows
        raise _throttled(SIGNIN_WINDOW)


def _throttled(retry_after: timedelta) -> RateLimited:
    seconds = max(1, math.ceil(retry_after.total_seconds()))
    return RateLimited(seconds, "Too many failed sign-ins.")


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
