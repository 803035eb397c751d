"""Lane verifications: one call records a whole group-commit batch (see migrations 0006 to 0008,
and 0015 and 0017 for trips)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from greenlane.db import federation_outbox
from greenlane.db.pool import Connection
from greenlane.domain.verification import VerificationRecord

_ENCODE = msgspec.json.Encoder()


class Recorded(NamedTuple):
    """What the database made of one record: its reply (jsonb text), and whether the event id
    was answered before (``replayed``) for a different request (``differs``)."""

    replayed: bool
    differs: bool
    reply: str


class _Crossed(msgspec.Struct):
    """A clearance's part of a stored reply: the reply of one, or a trip member's."""

    decision: str
    crossing_id: str | None = None
    clearance_id: str | None = None


class _Outcome(_Crossed):
    members: list[_Crossed] = msgspec.field(default_factory=list)  # a trip's


_OUTCOME = msgspec.json.Decoder(_Outcome)


async def record(conn: Connection, records: Sequence[VerificationRecord]) -> list[Recorded]:
    """One statement, one transaction, one commit for every record; results in their order.

    A batch that holds a peer agency's clearance or trip (``issuer`` set) also owes that agency
    a receipt of each new crossing of one of its clearances: written to the outbox in the same
    transaction, so a crossing is never recorded without its receipt, nor a receipt sent for a
    crossing that was not. The caller bounds the time (asyncio.timeout): asyncpg then cancels
    the statement.
    """
    if all(item.issuer is None for item in records):
        return await _record(conn, records)
    async with conn.transaction():
        recorded = await _record(conn, records)
        owed = [
            (item.issuer, receipt)
            for item, result in zip(records, recorded, strict=True)
            if item.issuer is not None and not result.replayed
            for receipt in _receipts(item, _OUTCOME.decode(result.reply))
        ]
        if owed:
            await federation_outbox.add(conn, owed)
    return recorded


def _receipts(item: VerificationRecord, outcome: _Outcome) -> list[dict[str, object]]:
    """What the receipts of a record's crossings say, but who signs them and when: one for a
    clearance that crossed, and one for each member of a trip that did, on their own clearance
    (what the issuer keeps crossings of; the vehicle's crossing, under the trip, stays here)."""
    crossed = outcome.members if item.trip_id is not None else [outcome]
    return [
        {
            "jti": clearance.crossing_id,
            "sub": clearance.clearance_id,
            "port": item.port_code,
            "lane": item.lane_code,
            "dir": item.direction,
            "at": int(item.occurred_at.timestamp()),
            "decision": clearance.decision,
            "mode": item.mode,
        }
        for clearance in crossed
        if clearance.crossing_id is not None and clearance.clearance_id is not None
    ]


async def _record(conn: Connection, records: Sequence[VerificationRecord]) -> list[Recorded]:
    """A batch with trips in it records them with ``gl_record_trips()`` in the same statement,
    after the clearances; a batch without (every batch of single verifies) is the one call it
    always was."""
    trips = [i for i, record in enumerate(records) if record.trip_id is not None]
    if not trips:
        rows = await conn.fetch(
            "SELECT replayed, differs, reply::text FROM gl_record_verifications($1::jsonb)"
            " ORDER BY item_index",
            _ENCODE.encode(records).decode(),
        )
        return [Recorded(*row) for row in rows]
    singles = [i for i, record in enumerate(records) if record.trip_id is None]
    rows = await conn.fetch(
        "SELECT * FROM (SELECT false AS trip, item_index, replayed, differs, reply::text"
        "  FROM gl_record_verifications($1::jsonb)"
        " UNION ALL SELECT true, item_index, replayed, differs, reply::text"
        "  FROM gl_record_trips($2::jsonb)) recorded ORDER BY trip, item_index",
        _ENCODE.encode([records[i] for i in singles]).decode(),
        _ENCODE.encode([records[i] for i in trips]).decode(),
    )
    answers: list[Recorded | None] = [None] * len(records)
    for position, row in zip([*singles, *trips], rows, strict=True):
        answers[position] = Recorded(row["replayed"], row["differs"], row["reply"])
    return [answer for answer in answers if answer is not None]
