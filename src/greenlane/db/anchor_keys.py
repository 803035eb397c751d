"""This agency's trust-anchor keys: public JWK in clear, private key sealed under the KEK."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from greenlane.db.pool import Connection

COLUMNS = "kid, state, public_jwk, private_enc, created_at, activated_at, retired_at"
# Serialises anchor rotations (and the first anchor a fresh database gets).
_ROTATION_LOCK = 0x616E6368  # "anch"


async def lock_rotation(conn: Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _ROTATION_LOCK)


async def insert(
    conn: Connection, *, kid: str, state: str, public_jwk: dict[str, str], private_enc: bytes
) -> None:
    await conn.execute(
        "INSERT INTO anchor_keys (kid, state, public_jwk, private_enc, activated_at)"
        " VALUES ($1, $2, $3::jsonb, $4, CASE WHEN $2 = 'active' THEN now() END)",
        kid,
        state,
        json.dumps(public_jwk),
        private_enc,
    )


async def in_state(conn: Connection, state: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM anchor_keys WHERE state = $1", state)


async def live(conn: Connection) -> list[asyncpg.Record]:
    """The active anchor, then the next one."""
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM anchor_keys WHERE state <> 'retired'"
        " ORDER BY state = 'next', created_at"
    )


async def retire_active(conn: Connection, at: datetime) -> None:
    await conn.execute(
        "UPDATE anchor_keys SET state = 'retired', retired_at = $1 WHERE state = 'active'", at
    )


async def activate(conn: Connection, kid: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE anchor_keys SET state = 'active', activated_at = $2 WHERE kid = $1", kid, at
    )
