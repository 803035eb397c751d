"""Rules (their current versions) and every version ever written.

Each write changes ``rules`` and then copies the resulting row into ``rule_versions`` with
``record_version``, so the history is the rules table's own rows, never a second rendering.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

import asyncpg

from greenlane.db.pagination import Cursor, keyset_condition, keyset_params
from greenlane.db.pool import Connection, returning

CONTENT_COLUMNS = (
    "name, description, condition, effect, reason_code, message, enabled,"
    " applies_categories, applies_ports, valid_from, valid_until"
)
RULE_COLUMNS = (
    f"id, version, {CONTENT_COLUMNS}, deleted_at, created_at, created_by, updated_at, updated_by"
)
VERSION_COLUMNS = f"rule_id, version, change, {CONTENT_COLUMNS}, written_at, written_by"

# Inserts and updates bind the id as $1, the content as $2..$12 (the order of
# CONTENT_COLUMNS, as ``RuleColumns`` holds it) and the actor as $13.
_CONTENT_PARAMETERS = {
    column.strip(): f"${number}"
    for number, column in enumerate(CONTENT_COLUMNS.split(","), start=2)
}
_ACTOR = "$13"
_CONTENT_VALUES = ", ".join(_CONTENT_PARAMETERS.values())
_CONTENT_ASSIGNMENTS = ", ".join(f"{c} = {p}" for c, p in _CONTENT_PARAMETERS.items())


class RuleColumns(NamedTuple):
    """A rule's content as stored, in the order of CONTENT_COLUMNS."""

    name: str
    description: str
    condition: str
    effect: str
    reason_code: str
    message: str
    enabled: bool
    applies_categories: list[str] | None
    applies_ports: list[str] | None
    valid_from: datetime | None
    valid_until: datetime | None


async def insert_rule(
    conn: Connection, *, rule_id: uuid.UUID, content: RuleColumns, actor: str
) -> asyncpg.Record:
    return await returning(
        conn,
        f"INSERT INTO rules (id, version, {CONTENT_COLUMNS}, created_by, updated_by)"
        f" VALUES ($1, 1, {_CONTENT_VALUES}, {_ACTOR}, {_ACTOR})"
        f" RETURNING {RULE_COLUMNS}",
        rule_id,
        *content,
        actor,
    )


async def lock_version(conn: Connection, rule_id: uuid.UUID) -> int | None:
    """The current version of a live rule, locked until the transaction ends; None if none."""
    version: int | None = await conn.fetchval(
        "SELECT version FROM rules WHERE id = $1 AND deleted_at IS NULL FOR UPDATE", rule_id
    )
    return version


async def update_rule(
    conn: Connection, rule_id: uuid.UUID, *, content: RuleColumns, actor: str
) -> asyncpg.Record:
    return await returning(
        conn,
        f"UPDATE rules SET version = version + 1, {_CONTENT_ASSIGNMENTS},"
        f" updated_at = now(), updated_by = {_ACTOR} WHERE id = $1 RETURNING {RULE_COLUMNS}",
        rule_id,
        *content,
        actor,
    )


async def mark_deleted(conn: Connection, rule_id: uuid.UUID, *, actor: str) -> asyncpg.Record:
    return await returning(
        conn,
        f"UPDATE rules SET version = version + 1, deleted_at = now(), updated_at = now(),"
        f" updated_by = $2 WHERE id = $1 RETURNING {RULE_COLUMNS}",
        rule_id,
        actor,
    )


async def record_version(conn: Connection, rule_id: uuid.UUID, change: str) -> None:
    """Copy the rule's current row into its history as a ``change`` version."""
    await conn.execute(
        f"INSERT INTO rule_versions ({VERSION_COLUMNS})"
        f" SELECT id, version, $2, {CONTENT_COLUMNS}, updated_at, updated_by"
        f" FROM rules WHERE id = $1",
        rule_id,
        change,
    )


async def get_rule(conn: Connection, rule_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {RULE_COLUMNS} FROM rules WHERE id = $1 AND deleted_at IS NULL", rule_id
    )


async def versions(conn: Connection, rule_id: uuid.UUID, *, up_to: int) -> list[asyncpg.Record]:
    """The versions up to ``up_to``, oldest first (bounded so that they agree with a row read
    a moment before, whatever was written since)."""
    return await conn.fetch(
        f"SELECT {VERSION_COLUMNS} FROM rule_versions WHERE rule_id = $1 AND version <= $2"
        " ORDER BY version",
        rule_id,
        up_to,
    )


async def list_rules(conn: Connection, *, after: Cursor | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {RULE_COLUMNS} FROM rules WHERE deleted_at IS NULL AND {keyset_condition(1)}"
        " ORDER BY created_at, id LIMIT $3",
        *keyset_params(after),
        limit,
    )


async def enabled_rules(conn: Connection) -> list[asyncpg.Record]:
    """Every enabled, undeleted rule, scheduled or not, in a stable order."""
    return await conn.fetch(
        f"SELECT {RULE_COLUMNS} FROM rules WHERE deleted_at IS NULL AND enabled"
        " ORDER BY created_at, id"
    )
