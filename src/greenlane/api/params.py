"""Query parameters shared by every list route."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

from greenlane.wire.common import DEFAULT_LIMIT, MAX_LIMIT

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "CursorParam", "Limit"]

Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size (1..{MAX_LIMIT})")
]
CursorParam = Annotated[
    str | None,
    QueryParameter(max_length=200, description="`next_cursor` of the previous page"),
]
