"""Opaque keyset cursors over ``(created_at, id)``: stable under inserts, cheap at any depth."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

import msgspec

from greenlane.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: datetime
    id: uuid.UUID


class _CursorWire(msgspec.Struct, array_like=True):
    created_at: datetime
    id: uuid.UUID


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = msgspec.json.encode(_CursorWire(created_at, row_id))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None) -> Cursor | None:
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        wire = msgspec.json.decode(raw, type=_CursorWire)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise ValidationFailed.one("cursor", "not a cursor this API returned") from None
    return Cursor(wire.created_at, wire.id)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed.one("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


# The keyset condition every list query uses after its own filters (parameters $n and $n+1).
def keyset_condition(first_param: int) -> str:
    return (
        f"(${first_param}::timestamptz IS NULL "
        f"OR (created_at, id) > (${first_param}::timestamptz, ${first_param + 1}::uuid))"
    )
