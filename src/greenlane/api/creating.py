"""What every creating POST shares: the ``Idempotency-Key`` header and the 201 answer."""

from __future__ import annotations

from typing import Annotated, TypeVar

from litestar import Response
from litestar.params import HeaderParameter

from greenlane.services.idempotency import check_key

T = TypeVar("T")

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=255,
        description="Replays the first answer for the same key and body (24 hours)",
    ),
]


def created(answer: T, replayed: bool) -> Response[T]:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(answer, status_code=201, headers=headers)


def key_of(idempotency_key: str | None) -> str | None:
    return None if idempotency_key is None else check_key(idempotency_key)
