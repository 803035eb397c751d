"""What the use cases of every record a partner registers (travellers, vehicles) share.

Each statement is scoped by the caller's partner id, so another partner's record is "not found"
like a missing one. A partner registers a document or a plate once: a second registration of
it is a 409 naming the first, whether a check finds it or the unique index does.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg
import msgspec

from greenlane.db import idempotency as idempotency_db
from greenlane.db.partner_scoped import PartnerRow, PartnerTable
from greenlane.db.pool import Connection, Database
from greenlane.errors import Conflict, NotFound
from greenlane.services import audit
from greenlane.services.context import Caller, Protection
from greenlane.services.idempotency import Created, create_once

T = TypeVar("T")
A = TypeVar("A", bound=Created)  # an answer that names what it created


@dataclass(frozen=True, slots=True)
class PartnerRecords:
    """One kind of record partners register, and the words its answers use for it."""

    table: PartnerTable
    name: str  # "no such traveller"; the audit action "traveller.erase"
    route: str  # the route an Idempotency-Key is claimed for
    registers: str  # what a partner registers only once: "document", "vehicle"

    def not_found(self) -> NotFound:
        return NotFound(f"no such {self.name}")

    def duplicate(self, existing: uuid.UUID | None) -> Conflict:
        return Conflict(
            f"this partner already registered that {self.registers}",
            existing_id=str(existing) if existing else None,
        )


def merged(current: msgspec.Struct, patch: msgspec.Struct, result: type[T]) -> T:
    """Top-level merge patch: fields present in ``patch`` replace those of ``current``."""
    changes = {
        name: getattr(patch, name)
        for name in patch.__struct_fields__
        if getattr(patch, name) is not msgspec.UNSET
    }
    base = msgspec.structs.asdict(current)
    base.update(changes)
    return msgspec.convert(msgspec.to_builtins({**base}), result)


async def create_idempotent(
    db: Database,
    p: Protection,
    caller: Caller,
    records: PartnerRecords,
    idempotency_key: str | None,
    data: msgspec.Struct,
    answer_type: type[A],
    create: Callable[[Connection], Awaitable[A]],
) -> tuple[A, bool]:
    """``create`` in one transaction, once per Idempotency-Key; returns (answer, replayed)."""
    async with db.transaction() as conn:
        return await create_once(
            conn,
            p.cipher,
            p.index,
            partner_id=caller.partner_id,
            key=idempotency_key,
            route=records.route,
            request=data,
            answer_type=answer_type,
            create=lambda: create(conn),
        )


async def own(
    conn: Connection,
    records: PartnerRecords,
    caller: Caller,
    row_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> asyncpg.Record:
    """The caller's live record, or 404."""
    row = await records.table.get(conn, row_id, caller.partner_id, for_update=for_update)
    if row is None:
        raise records.not_found()
    return row


async def insert_unique(
    conn: Connection,
    records: PartnerRecords,
    caller: Caller,
    row_id: uuid.UUID,
    row: PartnerRow,
) -> asyncpg.Record:
    """Insert, or 409 naming the partner's record that already has this document or plate."""
    existing = await records.table.find(conn, caller.partner_id, row.lookup)
    if existing is not None:
        raise records.duplicate(existing)
    async with _unique(conn, records, caller, row.lookup):  # a race lost after the check
        record: asyncpg.Record = await records.table.insert(
            conn, row_id, caller.partner_id, row.values(), caller.actor
        )
    return record


async def update_unique(
    conn: Connection,
    records: PartnerRecords,
    caller: Caller,
    row_id: uuid.UUID,
    row: PartnerRow,
) -> asyncpg.Record:
    """Update, or 409 naming the partner's other registration of the same document or plate
    (the unique index decides, so a concurrent write cannot slip between check and update)."""
    async with _unique(conn, records, caller, row.lookup):
        record = await records.table.update(
            conn, row_id, caller.partner_id, row.values(), caller.actor
        )
    assert record is not None  # the row is locked by the caller
    return record


@asynccontextmanager
async def _unique(
    conn: Connection, records: PartnerRecords, caller: Caller, lookup: bytes
) -> AsyncIterator[None]:
    """A savepoint (a violation leaves the outer transaction usable) whose unique violation
    becomes a 409 naming the partner's record that already has this document or plate."""
    try:
        async with conn.transaction():
            yield
    except asyncpg.UniqueViolationError:
        existing = await records.table.find(conn, caller.partner_id, lookup)
        raise records.duplicate(existing) from None


async def erase(
    db: Database,
    records: PartnerRecords,
    caller: Caller,
    row_id: uuid.UUID,
    *,
    then: Callable[[Connection], Awaitable[None]] | None = None,
) -> None:
    """Clear the record's personal data, run ``then`` (what the erasure implies elsewhere),
    forget its stored idempotent answer and audit only that it happened: one transaction."""
    async with db.transaction() as conn:
        erased = await records.table.erase(
            conn, row_id, caller.partner_id, actor=caller.actor, at=datetime.now(UTC)
        )
        if not erased:
            raise records.not_found()
        if then is not None:
            await then(conn)
        await idempotency_db.forget_resource(conn, caller.partner_id, row_id)
        await audit.record(conn, caller.actor, f"{records.name}.erase", str(row_id))
