"""Clearance signing keys: public JWK in clear, private key sealed under the KEK."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from greenlane.db.pool import Connection

COLUMNS = (
    "kid, state, public_jwk, private_enc, created_at, activated_at, retiring_at, retire_after,"
    " retired_at"
)
# Serialises rotations so that two admins rotating at once cannot leave two active keys.
_ROTATION_LOCK = 0x6B657973  # "keys"


async def lock_rotation(conn: Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _ROTATION_LOCK)


async def insert(
    conn: Connection, *, kid: str, state: str, public_jwk: dict[str, str], private_enc: bytes
) -> None:
    await conn.execute(
        "INSERT INTO signing_keys (kid, state, public_jwk, private_enc, activated_at)"
        " VALUES ($1, $2, $3::jsonb, $4, CASE WHEN $2 = 'active' THEN now() END)",
        kid,
        state,
        json.dumps(public_jwk),
        private_enc,
    )


async def published(conn: Connection) -> list[asyncpg.Record]:
    """Every key a lane may need: next, active and retiring ones."""
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM signing_keys WHERE state <> 'retired' ORDER BY created_at"
    )


async def everything(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {COLUMNS} FROM signing_keys ORDER BY created_at")


async def in_state(conn: Connection, state: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM signing_keys WHERE state = $1", state)


async def retire_active(conn: Connection, at: datetime) -> None:
    """The active key stops signing and verifies until its last token has expired."""
    await conn.execute(
        "UPDATE signing_keys k SET state = 'retiring', retiring_at = $1,"
        " retire_after = greatest($1, (SELECT max(expires_at) FROM clearances c"
        "                              WHERE c.kid = k.kid))"
        " WHERE state = 'active'",
        at,
    )


async def activate(conn: Connection, kid: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE signing_keys SET state = 'active', activated_at = $2 WHERE kid = $1", kid, at
    )


async def retire_expired(conn: Connection, at: datetime) -> list[str]:
    """Retiring keys whose every token has expired become retired; returns their kids."""
    rows = await conn.fetch(
        "UPDATE signing_keys SET state = 'retired', retired_at = $1"
        " WHERE state = 'retiring' AND retire_after < $1 RETURNING kid",
        at,
    )
    return [row["kid"] for row in rows]


async def extend_retirement(conn: Connection, kid: str, expires_at: datetime) -> None:
    """A token signed by a key that is retiring meanwhile pushes its retirement back."""
    await conn.execute(
        "UPDATE signing_keys SET retire_after = greatest(retire_after, $2)"
        " WHERE kid = $1 AND state = 'retiring'",
        kid,
        expires_at,
    )
