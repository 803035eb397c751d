"""Opaque keyset cursors over ``(created_at, id)``: stable under inserts, cheap at any depth."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import msgspec

from greenlane.domain.crypto import base64url
from greenlane.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the previous page ended, in a form every query can bind.

    Cursors come back from clients, who can write any JSON: a time is turned to UTC here, or
    refused with ValueError, so that a Cursor PostgreSQL cannot be sent does not exist. asyncpg
    sends a timestamptz as UTC through Python's datetime, years 1 to 9999 (well inside
    PostgreSQL's range); ``0001-01-01T00:00:00+14:00`` is in year 0 once in UTC, and was a 500
    at the query. A time without an offset names no instant.
    """

    created_at: datetime
    id: uuid.UUID

    def __post_init__(self) -> None:
        if self.created_at.utcoffset() is None:
            raise ValueError("a cursor's time needs an offset")
        try:
            in_utc = self.created_at.astimezone(UTC)
        except OverflowError:
            raise ValueError("a cursor's time is out of range") from None
        object.__setattr__(self, "created_at", in_utc)


class _CursorWire(msgspec.Struct, array_like=True):
    created_at: datetime
    id: uuid.UUID


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = msgspec.json.encode(_CursorWire(created_at, row_id))
    return base64url(raw)


def next_cursor(rows: Sequence[asyncpg.Record], limit: int) -> str | None:
    """The cursor after a full page of rows ordered by (created_at, id); None after the last."""
    if len(rows) < limit or not rows:
        return None
    return encode_cursor(rows[-1]["created_at"], rows[-1]["id"])


def decode_cursor(text: str | None) -> Cursor | None:
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        wire = msgspec.json.decode(raw, type=_CursorWire)
        return Cursor(wire.created_at, wire.id)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise ValidationFailed.one("cursor", "not a cursor this API returned") from None


def keyset_params(after: Cursor | None) -> tuple[datetime | None, uuid.UUID | None]:
    """The two parameters ``keyset_condition`` reads: where the previous page ended."""
    return (after.created_at, after.id) if after else (None, None)


def keyset_condition(first_param: int, alias: str = "") -> str:
    """The condition every list query adds to its filters: rows after the cursor held in
    parameters ``$first_param`` (created_at) and ``$first_param + 1`` (id)."""
    prefix = f"{alias}." if alias else ""
    return (
        f"(${first_param}::timestamptz IS NULL OR ({prefix}created_at, {prefix}id)"
        f" > (${first_param}::timestamptz, ${first_param + 1}::uuid))"
    )
