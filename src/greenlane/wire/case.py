"""What an application shows of its life after the first decision: grounds of a rejection, its
appeal, the latest request for information, and its history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec

Party = Literal["partner", "agency", "lane", "system"]


class Ground(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    rule_id: str | None = None
    watchlist_entry_id: uuid.UUID | None = None  # shown to administrators only


class Rejection(msgspec.Struct, kw_only=True, omit_defaults=True):
    grounds: list[Ground]
    rejected_at: datetime
    note: str | None = None
    appeal_until: datetime | None = None  # absent once appealed: an appeal's outcome is final


class Appeal(msgspec.Struct, kw_only=True, omit_defaults=True):
    grounds: str
    filed_at: datetime
    decision: Literal["approve", "reject"] | None = None
    note: str | None = None
    decided_at: datetime | None = None


class InformationRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    items: list[str]
    message: str
    requested_at: datetime
    due_at: datetime
    answered_at: datetime | None = None
    statement: str | None = None
    updated: list[str] | None = None  # the registrations the answer changed
    expired_at: datetime | None = None


class HistoryEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    at: datetime
    event: str
    party: Party
    actor: str | None = None  # the client, shown to administrators only
    details: dict[str, Any] = msgspec.field(default_factory=dict)
