"""The audit log table: append under a lock so that concurrent writers extend one chain."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from greenlane.db.codecs import jsonb
from greenlane.db.locks import AUDIT_CHAIN
from greenlane.db.pool import Connection
from greenlane.domain.audit_chain import GENESIS, AuditEntry, chain_hash


async def append(
    conn: Connection, *, actor: str, action: str, subject: str | None, details: Mapping[str, Any]
) -> AuditEntry:
    """Add one entry inside the caller's transaction; it commits or rolls back with the change.
    It holds the chain's lock until then: take it in its place in ``db/locks.py``'s order."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", AUDIT_CHAIN)
    last = await conn.fetchrow("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
    previous_id, previous_hash = (last["id"], bytes(last["hash"])) if last else (0, GENESIS)
    entry = AuditEntry(
        id=previous_id + 1,
        at=datetime.now(UTC),
        actor=actor,
        action=action,
        subject=subject,
        details=dict(details),
    )
    await conn.execute(
        "INSERT INTO audit_log (id, at, actor, action, subject, details, hash)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
        entry.id,
        entry.at,
        entry.actor,
        entry.action,
        entry.subject,
        json.dumps(entry.details),
        chain_hash(previous_hash, entry),
    )
    return entry


def _entry(row: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        subject=row["subject"],
        details=jsonb(row["details"]),
    )


async def _rows(conn: Connection, *, after_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, at, actor, action, subject, details, hash FROM audit_log"
        " WHERE id > $1 ORDER BY id LIMIT $2",
        after_id,
        limit,
    )


async def page(conn: Connection, *, after_id: int, limit: int) -> list[AuditEntry]:
    return [_entry(row) for row in await _rows(conn, after_id=after_id, limit=limit)]


async def search(
    conn: Connection,
    *,
    actor: str | None,
    action: str | None,
    subject: str | None,
    before_id: int | None,
    limit: int,
) -> list[AuditEntry]:
    """Newest first: entries whose actor contains ``actor`` (any case), whose action starts
    with ``action`` and whose subject is ``subject``, each filter only when given."""
    rows = await conn.fetch(
        "SELECT id, at, actor, action, subject, details FROM audit_log"
        " WHERE ($1::text IS NULL OR strpos(lower(actor), lower($1)) > 0)"
        " AND ($2::text IS NULL OR left(action, length($2)) = $2)"
        " AND ($3::text IS NULL OR subject = $3)"
        " AND ($4::bigint IS NULL OR id < $4)"
        " ORDER BY id DESC LIMIT $5",
        actor,
        action,
        subject,
        before_id,
        limit,
    )
    return [_entry(row) for row in rows]


async def chained(conn: Connection, *, chunk: int) -> AsyncIterator[list[tuple[AuditEntry, bytes]]]:
    """Every entry in id order with its stored hash, ``chunk`` at a time (one snapshot if the
    caller's transaction is repeatable read)."""
    after_id = 0
    while rows := await _rows(conn, after_id=after_id, limit=chunk):
        yield [(_entry(row), bytes(row["hash"])) for row in rows]
        after_id = rows[-1]["id"]
