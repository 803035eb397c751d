"""Eligibility rules and the watchlist on the wire (administrators only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from greenlane.domain.rules import MAX_EXPRESSION_LENGTH
from greenlane.wire.common import Alpha3, Name, PortCode, Request
from greenlane.wire.registration import Category

Effect = Literal["deny", "refer"]
Change = Literal["create", "update", "delete"]
WatchlistKind = Literal["document", "vehicle"]

ReasonCode = Annotated[
    str,
    msgspec.Meta(
        pattern="^[a-z][a-z0-9_]{1,63}$",
        description="Machine-readable reason reported when the rule does not pass",
    ),
]
Condition = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_EXPRESSION_LENGTH,
        description="CEL expression that must hold for the application to pass",
    ),
]
Description = Annotated[str, msgspec.Meta(max_length=4000)]
Message = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Moment = Annotated[datetime, msgspec.Meta(tz=True)]
# Raw numbers and plates may carry separators; their canonical forms are shorter.
RawNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
WatchlistReason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class AppliesTo(Request, omit_defaults=True):
    """Which applications a rule judges; a missing list means all of them."""

    categories: Annotated[list[Category], msgspec.Meta(min_length=1, max_length=7)] | None = None
    ports: Annotated[list[PortCode], msgspec.Meta(min_length=1, max_length=200)] | None = None


class RuleWrite(Request, kw_only=True):
    """The whole rule, for POST and PUT alike (PUT replaces every field)."""

    name: Name
    description: Description = ""
    condition: Condition
    effect: Effect
    reason_code: ReasonCode
    message: Message
    enabled: bool = True
    applies_to: AppliesTo | None = None
    valid_from: Moment | None = None
    valid_until: Moment | None = None


class RuleContent(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a version of a rule says; a missing window bound or applies_to means no limit."""

    name: str
    description: str
    condition: str
    effect: Effect
    reason_code: str
    message: str
    enabled: bool
    applies_to: AppliesTo | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class RuleVersion(RuleContent, kw_only=True):
    version: int
    change: Change
    written_at: datetime
    written_by: str


class Rule(RuleContent, kw_only=True):
    """The current version of a rule; ``history`` (oldest first) only when asked for."""

    id: uuid.UUID
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    history: list[RuleVersion] | None = None


class WatchlistCreate(Request, kw_only=True):
    """A document (``issuing_state`` and ``number``) or a vehicle (``registration_country``
    and ``plate``); the number or plate is kept only as a keyed hash."""

    kind: WatchlistKind
    issuing_state: Alpha3 | None = None
    number: RawNumber | None = None
    registration_country: Alpha3 | None = None
    plate: RawNumber | None = None
    reason: WatchlistReason


class WatchlistEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: uuid.UUID
    kind: WatchlistKind
    issuing_state: str | None = None
    registration_country: str | None = None
    hint: Annotated[
        str, msgspec.Meta(description="The number or plate, all but 3 characters masked")
    ]
    reason: str
    version: Annotated[
        int, msgspec.Meta(description="Goes up with every change; false-hit marks name one")
    ]
    created_at: datetime
    created_by: str
    updated_at: datetime | None = None
    updated_by: str | None = None
