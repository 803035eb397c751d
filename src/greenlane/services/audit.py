"""The audit trail: who did what, chained so that an edited or deleted entry is detected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greenlane.db import audit as audit_db
from greenlane.db.pool import Connection, Database
from greenlane.domain.audit_chain import AuditEntry, ChainWalk
from greenlane.wire import identity as wire
from greenlane.wire.common import Page


async def record(
    conn: Connection,
    actor: str,
    action: str,
    subject: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction. ``details`` never holds secrets or personal
    data: ids, codes and counts only."""
    return await audit_db.append(
        conn, actor=actor, action=action, subject=subject, details=details or {}
    )


async def page(db: Database, *, cursor: str | None, limit: int) -> Page[wire.AuditEntry]:
    """Entries after ``cursor`` (the last id of the previous page), oldest first."""
    async with db.connection() as conn:
        entries = await audit_db.page(conn, after_id=int(cursor or 0), limit=limit)
    items = [_wire(e) for e in entries]
    return Page(items, str(items[-1].id) if len(items) == limit else None)


def _wire(e: AuditEntry) -> wire.AuditEntry:
    return wire.AuditEntry(
        id=e.id, at=e.at, actor=e.actor, action=e.action, subject=e.subject, details=dict(e.details)
    )


async def search(
    db: Database,
    *,
    actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
    before_id: int | None = None,
    limit: int,
) -> list[wire.AuditEntry]:
    """The newest entries matching the filters, older than ``before_id`` when given."""
    async with db.connection() as conn:
        entries = await audit_db.search(
            conn, actor=actor, action=action, subject=subject, before_id=before_id, limit=limit
        )
    return [_wire(e) for e in entries]


# Entries read per query while verifying: memory stays flat however long the log grows.
VERIFY_CHUNK = 1000


async def verify(db: Database) -> wire.AuditVerification:
    walk = ChainWalk()
    # Repeatable read: the walk sees one snapshot even while new entries are appended.
    async with db.connection() as conn, conn.transaction(isolation="repeatable_read"):
        async for chunk in audit_db.chained(conn, chunk=VERIFY_CHUNK):
            walk.feed(chunk)
    return wire.AuditVerification(
        ok=walk.first_bad is None, entries=walk.entries, first_bad=walk.first_bad
    )
