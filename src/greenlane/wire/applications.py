"""Applications, reviews and dry runs on the wire."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from greenlane.wire.case import Appeal, HistoryEntry, InformationRequest, Rejection
from greenlane.wire.common import PortCode, Request

# Re-exported: where they were defined before trips shared them (wire/reasons.py).
from greenlane.wire.reasons import Effect as Effect
from greenlane.wire.reasons import Reason as Reason
from greenlane.wire.trips import TripCreate

# Five ports keep the clearance token under 600 characters, small enough for a phone's QR code.
MAX_PORTS = 5
Status = Literal["approved", "referred", "rejected", "info_requested", "appealed"]


class ApplicationCreate(Request, kw_only=True):
    traveller_id: uuid.UUID
    vehicle_id: uuid.UUID | None = None
    ports: Annotated[list[PortCode], msgspec.Meta(min_length=1, max_length=MAX_PORTS)]
    valid_from: date
    valid_until: date
    entries: Literal["single", "multiple"]
    purpose: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class IssuedClearance(msgspec.Struct):
    id: uuid.UUID
    token: str
    expires_at: datetime


class Decision(msgspec.Struct):
    decision: Literal["approve", "reject"]
    note: str
    decided_by: str
    decided_at: datetime


class Application(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: uuid.UUID
    status: Status
    reasons: list[Reason]
    clearance: IssuedClearance | None = None
    traveller_id: uuid.UUID
    vehicle_id: uuid.UUID | None = None
    ports: list[str]
    valid_from: date
    valid_until: date
    entries: Literal["single", "multiple"]
    purpose: str
    decision: Decision | None = None
    partner_id: uuid.UUID | None = None  # shown to administrators only
    renews: uuid.UUID | None = None  # the clearance this application renews
    rejection: Rejection | None = None
    appeal: Appeal | None = None
    information_request: InformationRequest | None = None  # the latest
    history: list[HistoryEntry] | None = None  # with a single application, not in lists
    created_at: datetime
    updated_at: datetime


class DecisionRequest(Request):
    decision: Literal["approve", "reject"]
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class DryRunRequest(Request):
    """Exactly one of ``application`` (a body as for POST /v1/applications),
    ``application_id`` (an application already filed), ``trip`` (a body as for
    POST /v1/trips) and ``trip_id`` (a trip already filed)."""

    application: ApplicationCreate | None = None
    application_id: uuid.UUID | None = None
    trip: TripCreate | None = None
    trip_id: uuid.UUID | None = None


class RuleEvaluation(msgspec.Struct, omit_defaults=True):
    rule_id: str
    version: int
    name: str
    effect: Effect
    reason_code: str
    message: str
    result: Literal["pass", "fail", "error"]
    elapsed_us: Annotated[
        int, msgspec.Meta(description="How long the condition ran, in microseconds")
    ]
    cost: Annotated[
        int,
        msgspec.Meta(description="The condition's estimated cost in steps (docs/rules.md#cost)"),
    ]
    error: str | None = None


class DryRunResult(msgspec.Struct):
    status: Status
    reasons: list[Reason]
    results: list[RuleEvaluation]
    watchlist_hit: bool
