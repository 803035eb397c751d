"""Lane verifications: one call records a whole group-commit batch (see migrations 0006 to 0008)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from greenlane.db.pool import Connection
from greenlane.domain.verification import VerificationRecord

_ENCODE = msgspec.json.Encoder()


class Recorded(NamedTuple):
    """What the database made of one record: its reply (jsonb text), and whether the event id
    was answered before (``replayed``) for a different request (``differs``)."""

    replayed: bool
    differs: bool
    reply: str


async def record(conn: Connection, records: Sequence[VerificationRecord]) -> list[Recorded]:
    """One statement, one transaction, one commit for every record; results in their order.

    The caller bounds the time (asyncio.timeout): asyncpg then cancels the statement.
    """
    rows = await conn.fetch(
        "SELECT replayed, differs, reply::text FROM gl_record_verifications($1::jsonb)"
        " ORDER BY item_index",
        _ENCODE.encode(records).decode(),
    )
    return [Recorded(*row) for row in rows]
