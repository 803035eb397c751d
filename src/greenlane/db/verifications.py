"""Lane verifications: one call records a whole group-commit batch (see migrations 0006, 0007)."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from greenlane.db.pool import Connection

_ENCODE = msgspec.json.Encoder()


async def record(conn: Connection, items: list[dict[str, Any]]) -> list[asyncpg.Record]:
    """One statement, one transaction, one commit for every item, in order.

    The caller bounds the time (asyncio.timeout): asyncpg then cancels the statement.
    """
    return await conn.fetch(
        "SELECT item_index, replayed, differs, reply FROM gl_record_verifications($1::jsonb)",
        _ENCODE.encode(items).decode(),
    )
