"""OAuth 2.0 client credentials (RFC 6749 §4.4): a client id and secret for an access token.

Failures are counted per client id in the database, so the 10-a-minute throttle holds across
workers; the tenth failure in a window is written to the audit log as a burst.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from greenlane.db import identity as identity_db
from greenlane.db.pool import Database
from greenlane.domain.access_tokens import SCOPES, issue_access_token
from greenlane.domain.crypto import verify_client_secret
from greenlane.errors import RateLimited
from greenlane.services import audit
from greenlane.services.client_registry import ClientRegistry
from greenlane.settings import Settings
from greenlane.wire.identity import AccessToken

MAX_FAILURES_PER_MINUTE = 10
WINDOW = timedelta(minutes=1)
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
    db: Database, registry: ClientRegistry, settings: Settings, credentials: Credentials
) -> AccessToken:
    client_id = _as_uuid(credentials.client_id)
    # One spelling per id, so that variants of the same id share a counter.
    client_key = str(client_id) if client_id else credentials.client_id[:MAX_CLIENT_ID_LENGTH]
    now = datetime.now(UTC)
    async with db.connection() as conn:
        failures, window_start = await identity_db.signin_failures(conn, client_key, at=now)
        stored = await identity_db.client_secret_hash(conn, client_id) if client_id else None
        pepper = settings.secret_pepper.reveal()
        secret_ok = verify_client_secret(
            credentials.client_secret, stored[0] if stored else _DUMMY_HASH, pepper
        )
        if client_id is None or stored is None or not secret_ok or not stored[1]:
            # Only failures are throttled: anyone who knows a client id (it is no secret) could
            # otherwise lock the real client out by failing on purpose.
            if failures >= MAX_FAILURES_PER_MINUTE:
                retry_after = (window_start + WINDOW - now).total_seconds()
                raise RateLimited(max(1, math.ceil(retry_after)), "Too many failed sign-ins.")
            async with conn.transaction():
                count = await identity_db.record_signin_failure(conn, client_key, at=now)
                if count == MAX_FAILURES_PER_MINUTE:
                    await audit.record(
                        conn, "system", "auth.signin_throttled", client_key, {"failures": count}
                    )
            raise InvalidClient
        if failures:
            await identity_db.clear_signin_failures(conn, client_key)
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


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
