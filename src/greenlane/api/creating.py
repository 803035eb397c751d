"""What every creating POST shares: the ``Idempotency-Key`` header and the 201 answer, and the
header that marks a replayed answer (which ``POST /v1/verify`` sends for a repeated event too)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, TypeVar

from litestar import Response
from litestar.datastructures import ResponseHeader
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


# The answer is the stored first answer to a repeated request, sent again unchanged.
REPLAYED_HEADER = ResponseHeader(
    name="Idempotent-Replayed",
    value="true",
    documentation_only=True,  # for the OpenAPI document: only a replay carries it
    description="Present when the answer is the stored first answer to a repeated request",
)
REPLAYED = MappingProxyType({REPLAYED_HEADER.name: "true"})


def created(answer: T, replayed: bool) -> Response[T]:
    return Response(answer, status_code=201, headers=REPLAYED if replayed else None)


def key_of(idempotency_key: str | None) -> str | None:
    return None if idempotency_key is None else check_key(idempotency_key)
