"""Clearance signing keys: made here, rotated by administrators, held in memory by each worker.

A key moves through ``next`` (published in the JWKS, not yet signing, so lanes have it before
it is used) → ``active`` (signing) → ``retiring`` (verifying until the last token it signed
has expired) → ``retired`` (gone from the JWKS and from verification). Rotation promotes the
next key and makes a new next one; every worker hears of it by NOTIFY and reloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.db import signing_keys as keys_db
from greenlane.db.codecs import jsonb
from greenlane.db.pool import Connection, Database
from greenlane.domain.clearance_token import public_keys
from greenlane.domain.signing_keys import (
    new_signing_key,
    public_jwk,
    thumbprint_kid,
    unwrap_private_key,
    wrap_private_key,
)
from greenlane.services import audit
from greenlane.services.live_state import notify
from greenlane.wire.clearances import Rotation, SigningKey

JWKS_CONTENT_TYPE = "application/jwk-set+json"


@dataclass(frozen=True, slots=True)
class Signer:
    kid: str
    private_key: ec.EllipticCurvePrivateKey


async def _make_key(conn: Connection, kek: bytes, state: str) -> str:
    private_key = new_signing_key()
    kid = thumbprint_kid(private_key.public_key())
    await keys_db.insert(
        conn,
        kid=kid,
        state=state,
        public_jwk=public_jwk(private_key.public_key()),
        private_enc=wrap_private_key(private_key, kek, kid),
    )
    return kid


async def rotate(conn: Connection, kek: bytes, *, actor: str) -> tuple[str, str]:
    """Promote the next key (or a new one) to active and publish a new next key.

    Runs in the caller's transaction; returns (active kid, next kid).
    """
    await keys_db.lock_rotation(conn)
    now = datetime.now(UTC)
    upcoming = await keys_db.in_state(conn, "next")
    previous = await keys_db.in_state(conn, "active")
    await keys_db.retire_active(conn, now)
    if upcoming is not None:
        await keys_db.activate(conn, upcoming["kid"], now)
        active = str(upcoming["kid"])
    else:
        active = await _make_key(conn, kek, "active")
    following = await _make_key(conn, kek, "next")
    retired = await keys_db.retire_expired(conn, now)
    await audit.record(
        conn,
        actor,
        "keys.rotate",
        active,
        {
            "previous": previous["kid"] if previous else None,
            "next": following,
            "retired": retired,
        },
    )
    await notify(conn, "keys")
    return active, following


async def ensure_signing_key(db: Database, kek: bytes) -> None:
    """A fresh database gets its first keys at start, so that approval can sign at once."""
    async with db.transaction() as conn:
        await keys_db.lock_rotation(conn)
        if await keys_db.in_state(conn, "active") is None:
            await rotate(conn, kek, actor="system")


async def rotate_keys(db: Database, kek: bytes, *, actor: str) -> Rotation:
    """The rotation use case, for an administrator or the command line."""
    async with db.transaction() as conn:
        active, following = await rotate(conn, kek, actor=actor)
    return Rotation(active=active, next=following)


async def list_keys(db: Database) -> list[SigningKey]:
    async with db.connection() as conn:
        return [key_from_row(row) for row in await keys_db.everything(conn)]


def key_from_row(row: asyncpg.Record) -> SigningKey:
    return SigningKey(
        kid=row["kid"],
        state=row["state"],
        created_at=row["created_at"],
        activated_at=row["activated_at"],
        retiring_at=row["retiring_at"],
        retire_after=row["retire_after"],
        retired_at=row["retired_at"],
    )


class KeyRing:
    """This worker's view of the keys: the signer, the verification keys and the JWKS body."""

    def __init__(self, db: Database, kek: bytes) -> None:
        self._db = db
        self._kek = kek
        self.signer: Signer | None = None
        self.verification: dict[str, ec.EllipticCurvePublicKey] = {}
        self.jwks = b'{"keys":[]}'

    async def reload_all(self) -> None:
        async with self._db.connection() as conn:
            rows = await keys_db.published(conn)
        now = datetime.now(UTC)
        live = [r for r in rows if r["state"] != "retiring" or r["retire_after"] >= now]
        jwks: list[dict[str, str]] = [jsonb(row["public_jwk"]) for row in live]
        self.signer = _signer(live, self._kek)
        # Every published key verifies, the next one too: another worker may already sign with
        # it while this one has not yet heard of the rotation.
        self.verification = public_keys(jwks)
        self.jwks = msgspec.json.encode({"keys": jwks})

    async def on_change(self, _key: str) -> None:
        await self.reload_all()


def _signer(rows: list[asyncpg.Record], kek: bytes) -> Signer | None:
    """The active key, the only one whose private half is unwrapped."""
    for row in rows:
        if row["state"] == "active":
            kid = row["kid"]
            return Signer(kid, unwrap_private_key(bytes(row["private_enc"]), kek, kid))
    return None
