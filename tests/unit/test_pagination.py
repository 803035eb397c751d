"""Keyset cursors: what a client sends back is refused unless a query can bind it."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from greenlane.db.pagination import Cursor, decode_cursor, encode_cursor
from greenlane.errors import ValidationFailed

ROW_ID = uuid.UUID("0b7e9f7c-2f4e-4f43-9a57-0d6c1d4c8a10")


def forged(json_text: str) -> str:
    return base64.urlsafe_b64encode(json_text.encode()).rstrip(b"=").decode()


def test_a_cursor_comes_back_as_the_same_instant_in_utc() -> None:
    bangkok = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=7)))
    decoded = decode_cursor(encode_cursor(bangkok, ROW_ID))
    assert decoded == Cursor(bangkok, ROW_ID)
    assert decoded is not None
    assert decoded.created_at == bangkok
    assert decoded.created_at.utcoffset() == timedelta(0)


def test_no_cursor_is_the_first_page() -> None:
    assert decode_cursor(None) is None


@pytest.mark.parametrize(
    "text",
    [
        forged(f'["0001-01-01T00:00:00+14:00","{ROW_ID}"]'),  # year 0 in UTC
        forged(f'["9999-12-31T23:59:59-14:00","{ROW_ID}"]'),  # year 10000 in UTC
        forged(f'["2026-01-01T00:00:00","{ROW_ID}"]'),  # no offset: no instant
        forged('["2026-01-01T00:00:00Z","not-a-uuid"]'),
        forged('["2026-01-01T00:00:00Z"]'),
        forged("{}"),
        "garbage!",
        "",
    ],
    ids=["year-0", "year-10000", "naive", "bad-id", "short", "object", "not-base64", "empty"],
)
def test_a_cursor_the_api_never_issued_is_a_validation_failure(text: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_cursor(text)
    assert [error.field for error in raised.value.errors] == ["cursor"]


@pytest.mark.parametrize(
    "created_at",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
        datetime(2026, 1, 1),
    ],
    ids=["year-0", "year-10000", "naive"],
)
def test_no_cursor_holds_a_time_a_query_cannot_bind(created_at: datetime) -> None:
    with pytest.raises(ValueError, match="cursor's time"):
        Cursor(created_at, ROW_ID)


def test_the_edges_of_the_range_are_cursors() -> None:
    assert Cursor(datetime(1, 1, 1, tzinfo=UTC), ROW_ID).created_at.year == 1
    assert Cursor(datetime.max.replace(tzinfo=UTC), ROW_ID).created_at.year == 9999
