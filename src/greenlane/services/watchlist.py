"""The watchlist: documents and vehicles to refer to an officer, matched by blind index.

An entry is the keyed hash of the canonical document (issuing state and number) or vehicle
(registration country and plate), computed exactly as registration and verification compute
theirs, so a match needs no plaintext on either side. The number itself is never stored,
logged or answered; only a masked hint is kept so that administrators can tell entries apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import asyncpg

from greenlane.db import false_hits as false_hits_db
from greenlane.db import watchlist as watchlist_db
from greenlane.db.pagination import decode_cursor, next_cursor
from greenlane.db.pool import Database
from greenlane.domain.countries import CountryError, canonical_state, is_country
from greenlane.domain.crypto import BlindIndex
from greenlane.domain.documents import (
    DocumentFieldError,
    canonical_document_number,
    canonical_plate,
    mask_number,
)
from greenlane.domain.lookups import document_index, vehicle_index
from greenlane.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from greenlane.services import audit
from greenlane.services.live_state import notify
from greenlane.wire.common import Page
from greenlane.wire.rules import WatchlistCreate, WatchlistEntry, WatchlistKind

# Per kind: the field naming the state or country, and the field holding the number or plate.
_FIELDS: dict[WatchlistKind, tuple[str, str]] = {
    "document": ("issuing_state", "number"),
    "vehicle": ("registration_country", "plate"),
}


@dataclass(frozen=True, slots=True)
class _Target:
    kind: WatchlistKind
    place: str  # canonical issuing state or registration country
    code: str  # canonical number or plate: never stored, never shown

    def lookup(self, index: BlindIndex) -> bytes:
        if self.kind == "document":
            return document_index(index, self.place, self.code)
        return vehicle_index(index, self.place, self.code)


def _place(kind: WatchlistKind, raw: str) -> str:
    if kind == "document":
        return canonical_state(raw)
    if not is_country(raw):
        raise CountryError("is not an ISO 3166-1 alpha-3 country code")
    return raw


def _code(kind: WatchlistKind, raw: str) -> str:
    return canonical_document_number(raw) if kind == "document" else canonical_plate(raw)


def _target(data: WatchlistCreate) -> _Target:
    """The canonical document or vehicle, or 422 naming every field that is wrong."""
    problems: list[FieldProblem] = []
    for kind, fields in _FIELDS.items():
        for field in fields:
            given = getattr(data, field) is not None
            if kind == data.kind and not given:
                problems.append(FieldProblem(field, f"required for kind '{kind}'"))
            elif kind != data.kind and given:
                problems.append(FieldProblem(field, f"only for kind '{kind}'"))
    if problems:
        raise ValidationFailed(problems)
    place_field, code_field = _FIELDS[data.kind]
    place = code = ""
    try:
        place = _place(data.kind, getattr(data, place_field))
    except CountryError as error:
        problems.append(FieldProblem(place_field, error.message))
    try:
        code = _code(data.kind, getattr(data, code_field))
    except DocumentFieldError as error:
        problems.append(FieldProblem(code_field, error.message))
    if problems:
        raise ValidationFailed(problems)
    return _Target(data.kind, place, code)


def entry_from_row(row: asyncpg.Record) -> WatchlistEntry:
    place_field, _ = _FIELDS[row["kind"]]
    return WatchlistEntry(
        id=row["id"],
        kind=row["kind"],
        hint=row["hint"],
        reason=row["reason"],
        version=row["version"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        **{place_field: row["issuing_state_or_country"]},
    )


async def add_entry(
    db: Database, data: WatchlistCreate, *, index: BlindIndex, actor: str
) -> WatchlistEntry:
    target = _target(data)
    lookup = target.lookup(index)
    async with db.transaction() as conn:
        row = await watchlist_db.insert_entry(
            conn,
            entry_id=uuid.uuid4(),
            kind=target.kind,
            lookup=lookup,
            issuing_state_or_country=target.place,
            hint=mask_number(target.code),
            reason=data.reason,
            actor=actor,
        )
        if row is None:
            existing = await watchlist_db.find_id(conn, kind=target.kind, lookup=lookup)
            raise Conflict(
                f"this {target.kind} is already on the watchlist",
                existing_id=str(existing) if existing else None,
            )
        await audit.record(conn, actor, "watchlist.add", str(row["id"]), {"kind": target.kind})
        await notify(conn, "watchlist", str(row["id"]))
    return entry_from_row(row)


async def change_entry(
    db: Database, entry_id: uuid.UUID, data: WatchlistCreate, *, index: BlindIndex, actor: str
) -> WatchlistEntry:
    """Change an entry in place; its version goes up, so false-hit marks on it lapse."""
    target = _target(data)
    lookup = target.lookup(index)
    async with db.transaction() as conn:
        existing = await watchlist_db.find_id(conn, kind=target.kind, lookup=lookup)
        if existing is not None and existing != entry_id:
            raise Conflict(
                f"this {target.kind} is already on the watchlist", existing_id=str(existing)
            )
        try:
            row = await watchlist_db.update_entry(
                conn,
                entry_id,
                kind=target.kind,
                lookup=lookup,
                issuing_state_or_country=target.place,
                hint=mask_number(target.code),
                reason=data.reason,
                actor=actor,
            )
        except asyncpg.UniqueViolationError:  # another edit or addition got there first
            raise Conflict(f"this {target.kind} is already on the watchlist") from None
        if row is None:
            raise NotFound("no such watchlist entry")
        details = {"kind": target.kind, "version": row["version"]}
        await audit.record(conn, actor, "watchlist.change", str(entry_id), details)
        await notify(conn, "watchlist", str(entry_id))
    return entry_from_row(row)


async def list_entries(db: Database, *, cursor: str | None, limit: int) -> Page[WatchlistEntry]:
    async with db.connection() as conn:
        rows = await watchlist_db.list_entries(conn, after=decode_cursor(cursor), limit=limit)
    return Page([entry_from_row(row) for row in rows], next_cursor(rows, limit))


async def delete_entry(db: Database, entry_id: uuid.UUID, *, actor: str) -> None:
    async with db.transaction() as conn:
        kind = await watchlist_db.delete_entry(conn, entry_id)
        if kind is None:
            raise NotFound("no such watchlist entry")
        await audit.record(conn, actor, "watchlist.delete", str(entry_id), {"kind": kind})
        await notify(conn, "watchlist", str(entry_id))


class _Watched(NamedTuple):
    entry_id: str
    version: int


class Watchlist:
    """Each worker's watched (kind, blind index) pairs and the false-hit marks that clear an
    entry for one person: a hit costs no query.

    A person is known here by their document's blind index (a lane has nothing else to go by,
    and the token's binding has already tied that document to the clearance). A mark holds the
    entry's version: once the entry is edited, the mark no longer matches and lapses.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._entries: dict[tuple[str, bytes], _Watched] = {}
        self._cleared: frozenset[tuple[bytes, str, int]] = frozenset()

    async def reload_all(self) -> None:
        async with self._db.connection() as conn:
            rows = await watchlist_db.all_lookups(conn)
            marks = await false_hits_db.in_force(conn)
        self._entries = {
            (row["kind"], bytes(row["lookup"])): _Watched(str(row["id"]), row["version"])
            for row in rows
        }
        self._cleared = frozenset(
            (bytes(mark["document_index"]), str(mark["entry_id"]), mark["entry_version"])
            for mark in marks
        )

    def hit_document(self, lookup: bytes) -> bool:
        """``lookup`` is ``document_index`` of the canonical issuing state and number."""
        return ("document", lookup) in self._entries

    def hit_vehicle(self, lookup: bytes) -> bool:
        """``lookup`` is ``vehicle_index`` of the registration country and canonical plate."""
        return ("vehicle", lookup) in self._entries

    def referring(self, documents: Sequence[bytes], vehicle: bytes | None) -> list[str]:
        """The ids of the entries that match the ``documents`` (their blind indexes) or the
        ``vehicle`` (its index, or None) and that no false-hit mark clears for the person
        holding those documents. On the lane's hot path: a miss costs a lookup per key."""
        entries = self._entries
        referring: list[str] = []
        for key in self._keys(documents, vehicle):
            watched = entries.get(key)
            if watched is not None and not self._cleared_for(documents, watched):
                referring.append(watched.entry_id)
        return referring

    @staticmethod
    def _keys(documents: Sequence[bytes], vehicle: bytes | None) -> list[tuple[str, bytes]]:
        keys = [("document", document) for document in documents]
        if vehicle is not None:
            keys.append(("vehicle", vehicle))
        return keys

    def _cleared_for(self, documents: Sequence[bytes], watched: _Watched) -> bool:
        return any(
            (document, watched.entry_id, watched.version) in self._cleared for document in documents
        )
