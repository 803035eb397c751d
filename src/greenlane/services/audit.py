"""The audit trail: who did what, chained so that an edited or deleted entry is detected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greenlane.db import audit as audit_db
from greenlane.db.pool import Connection, Database
from greenlane.domain.audit_chain import AuditEntry, ChainWalk
from greenlane.wire.identity import AuditVerification


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


async def page(db: Database, *, after_id: int, limit: int) -> list[AuditEntry]:
    async with db.connection() as conn:
        return await audit_db.page(conn, after_id=after_id, limit=limit)


# Entries read per query while verifying: memory stays flat however long the log grows.
VERIFY_CHUNK = 1000


async def verify(db: Database) -> AuditVerification:
    walk = ChainWalk()
    # Repeatable read: the walk sees one snapshot even while new entries are appended.
    async with db.connection() as conn, conn.transaction(isolation="repeatable_read"):
        async for chunk in audit_db.chained(conn, chunk=VERIFY_CHUNK):
            walk.feed(chunk)
    return AuditVerification(
        ok=walk.first_bad is None, entries=walk.entries, first_bad=walk.first_bad
    )
