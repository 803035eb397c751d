"""``POST /v1/verify`` on the wire: what a lane asks and what it is told."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated

import msgspec

from greenlane.domain.clearance_token import ClearanceClaims
from greenlane.domain.lane_checks import REASONS, Decision, Presented, ordered
from greenlane.domain.verification import Direction, Mode
from greenlane.wire.common import Alpha3, Request


class PresentedDocument(Request):
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    issuing_state: Alpha3


class VerifyRequest(Request, kw_only=True):
    # No length bound here: an oversized token is a valid question with the answer
    # "deny token_malformed"; the 64 KiB body limit still applies.
    token: str
    direction: Direction
    event_id: uuid.UUID
    document: PresentedDocument | None = None
    mrz: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    plate: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    observed_at: datetime | None = None


class VerifyReason(msgspec.Struct):
    code: str
    message: str


class Holder(msgspec.Struct, omit_defaults=True):
    given_names: str | None = None
    surname: str | None = None
    nationality: str | None = None
    category: str | None = None


class VehicleSeen(msgspec.Struct):
    plate: str
    kind: str


class VerifyAnswer(msgspec.Struct, omit_defaults=True):
    decision: Decision
    reasons: list[VerifyReason]
    mode: Mode
    checked_at: datetime
    clearance_id: uuid.UUID | None = None
    crossing_id: uuid.UUID | None = None
    holder: Holder | None = None
    vehicle: VehicleSeen | None = None


# --- between the wire and the checks: shared by the server and the offline lane --------------


def presented(request: VerifyRequest) -> Presented:
    """What the lane scanned, as the checks take it."""
    document = request.document
    return Presented(
        document_number=document.number if document else None,
        issuing_state=document.issuing_state if document else None,
        mrz=request.mrz,
        plate=request.plate,
    )


def reasons(codes: Iterable[str]) -> list[VerifyReason]:
    """The answer's reasons for ``codes`` (already in order), each with its message."""
    return [VerifyReason(code, REASONS[code][1]) for code in codes]


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """The parts an answer is built from: what ``gl_record_verifications()`` returns for a fresh
    or a replayed event (holder and vehicle read as it answers), and what a degraded or an
    offline answer is made of."""

    decision: Decision
    codes: Sequence[str]
    mode: Mode
    checked_at: datetime
    clearance_id: uuid.UUID | None = None
    crossing_id: uuid.UUID | None = None
    holder: Holder | None = None
    vehicle: VehicleSeen | None = None


def answer(reply: Reply) -> VerifyAnswer:
    """The one place an answer is built, so a replay is byte for byte the first answer."""
    return VerifyAnswer(
        decision=reply.decision,
        reasons=reasons(ordered(reply.codes)),
        mode=reply.mode,
        checked_at=reply.checked_at,
        clearance_id=reply.clearance_id,
        crossing_id=reply.crossing_id,
        holder=reply.holder,
        vehicle=reply.vehicle,
    )


def token_holder(claims: ClearanceClaims) -> Holder:
    """All that a token says of its holder: names never travel in it."""
    return Holder(nationality=claims.nationality, category=claims.category)
