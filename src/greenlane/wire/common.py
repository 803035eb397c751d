"""Shapes shared by every part of the API."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec

T = TypeVar("T")

# The contract's list pages: ?limit= from 1 to MAX_LIMIT, DEFAULT_LIMIT when not given.
DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Alpha3 = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$", description="ISO 3166-1 alpha-3")]
PORT_CODE_PATTERN = "^[A-Z]{2}[A-Z0-9]{3}$"
PortCode = Annotated[
    str, msgspec.Meta(pattern=PORT_CODE_PATTERN, description="UN/LOCODE-shaped port code")
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of request bodies: an unknown field is an error, so typos never pass silently."""


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


class Health(msgspec.Struct, omit_defaults=True):
    """``/health/live`` and ``/health/ready``."""

    status: str
    checks: dict[str, str]
    verify_mode: str | None = None  # "degraded" while verifications go to the local spool
    spool_depth: int | None = None
    # Each peer agency's trust list, by country: ok, stale, refused or pending. Reported, not
    # counted against readiness: our own clearances verify whatever a peer's state.
    peers: dict[str, str] | None = None
