"""``Idempotency-Key`` for the creating POSTs: one answer per key, replayed byte for byte.

The key is claimed in the same transaction that creates the record, so a request that fails
(422, 409, a crash) leaves nothing behind and may be retried with the same key. Stored answers
hold personal data and are encrypted like it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import msgspec

from greenlane.db import idempotency as idempotency_db
from greenlane.db.pool import Connection
from greenlane.domain.crypto import BlindIndex, FieldCipher
from greenlane.errors import ValidationFailed


class Created(Protocol):
    """Every answer a creating POST gives names what it created."""

    @property
    def id(self) -> uuid.UUID: ...


T = TypeVar("T", bound=Created)
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise ValidationFailed.one("Idempotency-Key", "1 to 255 visible ASCII characters")
    return key


def fingerprint(route: str, body: msgspec.Struct) -> bytes:
    """What makes two requests "the same": the route and the decoded body, canonically encoded
    (so key order and white space do not matter)."""
    return hashlib.sha256(route.encode() + b"\0" + msgspec.json.encode(body)).digest()


async def create_once(
    conn: Connection,
    cipher: FieldCipher,
    index: BlindIndex,
    *,
    partner_id: uuid.UUID,
    key: str | None,
    route: str,
    request: msgspec.Struct,
    answer_type: type[T],
    create: Callable[[], Awaitable[T]],
) -> tuple[T, bool]:
    """``create()`` once per key (every time without one), inside the caller's transaction;
    returns (answer, replayed).

    The key is stored only as a keyed hash: clients choose keys, and some will put a document
    number or a name in one.
    """
    if key is None:
        return await create(), False
    request_fingerprint = fingerprint(route, request)
    key = index.digest("idempotency-key", key).hex()
    row_id = f"{partner_id}:{key}"
    if await idempotency_db.claim(conn, partner_id, key, request_fingerprint):
        answer = await create()
        body = cipher.encrypt(
            msgspec.json.encode(answer).decode(),
            table="idempotency_keys",
            column="body_enc",
            row_id=row_id,
        )
        await idempotency_db.store(conn, partner_id, key, 201, body, answer.id)
        return answer, False
    previous = await idempotency_db.stored(conn, partner_id, key)
    assert previous is not None
    assert previous["body_enc"] is not None
    if bytes(previous["fingerprint"]) != request_fingerprint:
        raise ValidationFailed.one("Idempotency-Key", "already used with a different request body")
    text = cipher.decrypt(
        bytes(previous["body_enc"]), table="idempotency_keys", column="body_enc", row_id=row_id
    )
    return msgspec.json.decode(text, type=answer_type), True
