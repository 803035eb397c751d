"""Eligibility rules: written and versioned by administrators, compiled once, run from memory.

A condition is compiled when it is written, so a rule that cannot run, or whose cost cannot be
bounded, is refused with the compiler's message and position instead of being stored. Every
write makes a new version (``rule_versions`` keeps them all), is audited in the same
transaction, and tells every worker to reload its ``RuleBook``. PUT and DELETE are conditional
on the version the writer read (``If-Match``), so that two administrators cannot silently
overwrite each other.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from greenlane.db import rules as rules_db
from greenlane.db.pagination import decode_cursor, next_cursor
from greenlane.db.pool import Connection, Database
from greenlane.domain.rules import (
    RULE_ERROR,
    RULE_TIMEOUT,
    WATCHLIST_HIT,
    Rule,
    RuleCompileError,
    check_cost,
    compile_condition,
    compile_rule,
)
from greenlane.errors import (
    FieldProblem,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from greenlane.services import audit
from greenlane.services.live_state import notify
from greenlane.wire import rules as wire
from greenlane.wire.common import Page

# Reason codes the engine itself reports; a rule using one would make them ambiguous.
RESERVED_REASON_CODES = frozenset({RULE_ERROR, RULE_TIMEOUT, WATCHLIST_HIT})

# One entity tag of an If-Match list: "3", W/"3", or a bare 3 as careless clients send it.
_ENTITY_TAG = re.compile(r'\s*(?:W/)?(?:"(\d{1,9})"|(\d{1,9}))\s*')


def etag(version: int) -> str:
    return f'"{version}"'


def _applies_to(row: asyncpg.Record) -> wire.AppliesTo | None:
    categories, ports = row["applies_categories"], row["applies_ports"]
    if categories is None and ports is None:
        return None
    return wire.AppliesTo(
        categories=list(categories) if categories is not None else None,
        ports=list(ports) if ports is not None else None,
    )


def _columns(data: wire.RuleWrite) -> rules_db.RuleColumns:
    applies_to = data.applies_to
    categories = applies_to.categories if applies_to else None
    ports = applies_to.ports if applies_to else None
    return rules_db.RuleColumns(
        name=data.name,
        description=data.description,
        condition=data.condition,
        effect=data.effect,
        reason_code=data.reason_code,
        message=data.message,
        enabled=data.enabled,
        applies_categories=sorted(set(categories)) if categories else None,
        applies_ports=sorted(set(ports)) if ports else None,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
    )


def _content(row: asyncpg.Record) -> dict[str, Any]:
    """The fields a rule and each of its versions share, from either table's row."""
    return {
        "name": row["name"],
        "description": row["description"],
        "condition": row["condition"],
        "effect": row["effect"],
        "reason_code": row["reason_code"],
        "message": row["message"],
        "enabled": row["enabled"],
        "applies_to": _applies_to(row),
        "valid_from": row["valid_from"],
        "valid_until": row["valid_until"],
    }


def rule_from_row(row: asyncpg.Record, history: list[asyncpg.Record] | None = None) -> wire.Rule:
    return wire.Rule(
        id=row["id"],
        version=row["version"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        history=None if history is None else [_version_from_row(v) for v in history],
        **_content(row),
    )


def _version_from_row(row: asyncpg.Record) -> wire.RuleVersion:
    return wire.RuleVersion(
        version=row["version"],
        change=row["change"],
        written_at=row["written_at"],
        written_by=row["written_by"],
        **_content(row),
    )


def condition_problem(condition: str) -> FieldProblem | None:
    """Why ``condition`` could not run (compiler's message and position, or its cost)."""
    try:
        check_cost(compile_condition(condition))
    except RuleCompileError as error:
        return FieldProblem("condition", str(error), error.code)
    return None


def _check(data: wire.RuleWrite) -> None:
    """Refuse a rule that could not run as written, naming every problem at once."""
    problems: list[FieldProblem] = []
    if (problem := condition_problem(data.condition)) is not None:
        problems.append(problem)
    if data.reason_code in RESERVED_REASON_CODES:
        problems.append(FieldProblem("reason_code", "is reserved for the rules engine"))
    if data.valid_from and data.valid_until and data.valid_from >= data.valid_until:
        problems.append(FieldProblem("valid_until", "must be later than valid_from"))
    if problems:
        raise ValidationFailed(problems)


def _require_version(if_match: str | None, current: int) -> None:
    """Go on only if ``if_match`` names the current version (428 without one, 412 if stale)."""
    if if_match is None:
        raise PreconditionRequired(
            f"Send If-Match with the rule's ETag (currently {etag(current)})."
        )
    for tag in if_match.split(","):
        found = _ENTITY_TAG.fullmatch(tag)
        if found and int(found[1] or found[2]) == current:
            return
    raise PreconditionFailed(
        f"The rule has changed: its version is now {current}; read it again before writing."
    )


async def _written(conn: Connection, row: asyncpg.Record, change: wire.Change, actor: str) -> None:
    """What every write does after changing the row: history, audit, and the workers told."""
    await rules_db.record_version(conn, row["id"], change)
    await audit.record(conn, actor, f"rule.{change}", str(row["id"]), {"version": row["version"]})
    await notify(conn, "rules", str(row["id"]))


async def _lock_current(conn: Connection, rule_id: uuid.UUID, if_match: str | None) -> None:
    current = await rules_db.lock_version(conn, rule_id)
    if current is None:
        raise NotFound("no such rule")
    _require_version(if_match, current)


async def create_rule(db: Database, data: wire.RuleWrite, *, actor: str) -> wire.Rule:
    _check(data)
    async with db.transaction() as conn:
        row = await rules_db.insert_rule(
            conn, rule_id=uuid.uuid4(), content=_columns(data), actor=actor
        )
        await _written(conn, row, "create", actor)
    return rule_from_row(row)


async def get_rule(db: Database, rule_id: uuid.UUID, *, history: bool = False) -> wire.Rule:
    async with db.connection() as conn:
        row = await rules_db.get_rule(conn, rule_id)
        if row is None:
            raise NotFound("no such rule")
        versions = await rules_db.versions(conn, rule_id, up_to=row["version"]) if history else None
    return rule_from_row(row, versions)


async def list_rules(db: Database, *, cursor: str | None, limit: int) -> Page[wire.Rule]:
    async with db.connection() as conn:
        rows = await rules_db.list_rules(conn, after=decode_cursor(cursor), limit=limit)
    return Page([rule_from_row(row) for row in rows], next_cursor(rows, limit))


async def update_rule(
    db: Database, rule_id: uuid.UUID, data: wire.RuleWrite, *, if_match: str | None, actor: str
) -> wire.Rule:
    """Replace the rule with ``data`` as its next version."""
    _check(data)
    async with db.transaction() as conn:
        await _lock_current(conn, rule_id, if_match)
        row = await rules_db.update_rule(conn, rule_id, content=_columns(data), actor=actor)
        await _written(conn, row, "update", actor)
    return rule_from_row(row)


async def delete_rule(
    db: Database, rule_id: uuid.UUID, *, if_match: str | None, actor: str
) -> None:
    """Retire the rule; its versions stay, and the deletion is a version of its own."""
    async with db.transaction() as conn:
        await _lock_current(conn, rule_id, if_match)
        row = await rules_db.mark_deleted(conn, rule_id, actor=actor)
        await _written(conn, row, "delete", actor)


@dataclass(frozen=True, slots=True)
class _Scheduled:
    """A compiled rule and the window in which it is in force (``valid_until`` excluded)."""

    rule: Rule
    valid_from: datetime | None
    valid_until: datetime | None

    def in_force(self, now: datetime) -> bool:
        started = self.valid_from is None or self.valid_from <= now
        return started and (self.valid_until is None or now < self.valid_until)


def _compile_row(row: asyncpg.Record) -> Rule:
    categories, ports = row["applies_categories"], row["applies_ports"]
    return compile_rule(
        id=str(row["id"]),
        version=row["version"],
        name=row["name"],
        condition=row["condition"],
        effect=row["effect"],
        reason_code=row["reason_code"],
        message=row["message"],
        categories=frozenset(categories) if categories is not None else None,
        ports=frozenset(ports) if ports is not None else None,
    )


class RulesInForce(Protocol):
    def active(self, now: datetime) -> list[Rule]: ...


class RuleBook:
    """Each worker's compiled copy of the enabled rules, current versions only.

    A reload compiles only the (id, version) pairs it has not seen, so a change to one rule
    costs one compilation, and drops the programs of versions that are no longer current.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._compiled: dict[tuple[str, int], Rule] = {}
        self._scheduled: tuple[_Scheduled, ...] = ()

    async def reload_all(self) -> None:
        async with self._db.connection() as conn:
            rows = await rules_db.enabled_rules(conn)
        compiled: dict[tuple[str, int], Rule] = {}
        scheduled = []
        for row in rows:
            key = (str(row["id"]), row["version"])
            rule = self._compiled.get(key) or _compile_row(row)
            compiled[key] = rule
            scheduled.append(_Scheduled(rule, row["valid_from"], row["valid_until"]))
        self._compiled, self._scheduled = compiled, tuple(scheduled)

    def active(self, now: datetime) -> list[Rule]:
        """The rules in force at ``now`` (timezone-aware), in a stable order."""
        return [entry.rule for entry in self._scheduled if entry.in_force(now)]


class WithDraft:
    """The rules in force with one more: a rule's current version as if it were in force
    (enabled or not, whatever its window), replacing the version in force if there is one.
    What a dry run of a rule being written evaluates."""

    def __init__(self, book: RulesInForce, draft: Rule) -> None:
        self._book = book
        self._draft = draft

    def active(self, now: datetime) -> list[Rule]:
        others = [rule for rule in self._book.active(now) if rule.id != self._draft.id]
        return [*others, self._draft]


async def draft(db: Database, rule_id: uuid.UUID) -> Rule:
    """The rule's current version, compiled, for a dry run before it is switched on."""
    async with db.connection() as conn:
        row = await rules_db.get_rule(conn, rule_id)
    if row is None:
        raise NotFound("no such rule")
    return _compile_row(row)
