"""The audit trail: who did what, chained so that an edited or deleted entry is detected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greenlane.db import audit as audit_db
from greenlane.db.pool import Database
from greenlane.domain.audit_chain import AuditEntry, first_bad_entry
from greenlane.wire.identity import AuditVerification


async def record(
    conn: Any,
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


async def verify(db: Database) -> AuditVerification:
    # Repeatable read: the walk sees one snapshot even while new entries are appended.
    async with db.connection() as conn, conn.transaction(isolation="repeatable_read"):
        entries = await audit_db.everything(conn)
    first_bad = first_bad_entry(entries)
    return AuditVerification(ok=first_bad is None, entries=len(entries), first_bad=first_bad)
