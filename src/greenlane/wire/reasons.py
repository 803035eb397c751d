"""Why an application or a trip was not approved, as its partner is told."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

Effect = Literal["deny", "refer"]


class Reason(msgspec.Struct, omit_defaults=True):
    rule_id: str | None
    reason_code: str
    message: str
    effect: Effect
    watchlist_entry_id: uuid.UUID | None = None  # the entry a hit matched: administrators only
