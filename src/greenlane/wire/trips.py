"""Trips on the wire: what a partner files, and what a lane asks and is told at
``POST /v1/verify/trip``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from greenlane.domain.lane_checks import Decision, Presented, ordered
from greenlane.domain.trip_token import Role
from greenlane.domain.verification import Direction, Mode
from greenlane.wire.clearances import Crossing
from greenlane.wire.common import Alpha3, PortCode, Request
from greenlane.wire.reasons import Reason
from greenlane.wire.verify import Holder, VehicleSeen, VerifyReason, reasons

# The most people a trip can name whatever GREENLANE_TRIP_MAX_PEOPLE says: each costs the token
# about 76 characters, and 20 need a QR code of version 39 at level M
# (docs/figures/trip_tokens.md).
MAX_CREW = 20
TripStatus = Literal["approved", "referred", "rejected", "cancelled"]
Moment = Annotated[datetime, msgspec.Meta(tz=True)]


class CrewMember(Request):
    traveller_id: uuid.UUID
    role: Role


class TripCreate(Request, kw_only=True):
    """A filing, and an amendment (``PUT``), which replaces every field."""

    vehicle_id: uuid.UUID
    port_code: PortCode
    direction: Direction
    expected_at: Moment
    crew: Annotated[list[CrewMember], msgspec.Meta(min_length=1, max_length=MAX_CREW)]
    cargo_reference: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


class TripMember(msgspec.Struct):
    traveller_id: uuid.UUID
    role: Role
    clearance_id: uuid.UUID


class Trip(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: uuid.UUID
    status: TripStatus
    reasons: list[Reason]
    members: list[TripMember]
    token: str | None = None  # only while approved
    not_before: datetime | None = None
    expires_at: datetime | None = None
    vehicle_id: uuid.UUID
    port_code: str
    direction: Direction
    expected_at: datetime
    cargo_reference: str | None = None
    crossings: list[Crossing] = msgspec.field(default_factory=list)  # the vehicle's
    amendments: int = 0
    cancelled_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class CancelRequest(Request):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


# --- the lane ---------------------------------------------------------------------------------


class ScannedDocument(Request, omit_defaults=True):
    """One document read in the vehicle: typed (``number`` and ``issuing_state``) or its
    machine-readable zone (``mrz``), never both."""

    number: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    issuing_state: Alpha3 | None = None
    mrz: Annotated[str, msgspec.Meta(max_length=100)] | None = None

    @property
    def typed(self) -> bool:
        return self.number is not None or self.issuing_state is not None

    def presented(self) -> Presented:
        return Presented(
            document_number=self.number, issuing_state=self.issuing_state, mrz=self.mrz
        )


class TripVerifyRequest(Request, kw_only=True):
    token: str  # unbounded for the reason VerifyRequest.token is
    direction: Direction
    event_id: uuid.UUID
    plate: Annotated[str, msgspec.Meta(max_length=20)]
    documents: Annotated[list[ScannedDocument], msgspec.Meta(max_length=2 * MAX_CREW)]
    observed_at: datetime | None = None


class MemberAnswer(msgspec.Struct, omit_defaults=True):
    role: Role
    decision: Decision
    reasons: list[VerifyReason]
    clearance_id: uuid.UUID | None = None
    crossing_id: uuid.UUID | None = None
    holder: Holder | None = None


class TripVerifyAnswer(msgspec.Struct, kw_only=True, omit_defaults=True):
    decision: Decision
    reasons: list[VerifyReason]
    trip_id: uuid.UUID | None = None
    crossing_id: uuid.UUID | None = None  # the vehicle's
    members: list[MemberAnswer]  # empty only when the token itself failed
    vehicle: VehicleSeen | None = None
    mode: Mode
    checked_at: datetime


class MemberReply(msgspec.Struct, frozen=True, kw_only=True):
    role: Role
    decision: Decision
    codes: Sequence[str]
    clearance_id: uuid.UUID
    crossing_id: uuid.UUID | None = None
    holder: Holder | None = None


class TripReply(msgspec.Struct, frozen=True, kw_only=True):
    """What ``gl_record_trips()`` returns for a trip (names added as it answers), and
    what a degraded or offline trip answer is made of."""

    decision: Decision
    codes: Sequence[str]  # the trip's own
    mode: Mode
    checked_at: datetime
    trip_id: uuid.UUID | None = None
    crossing_id: uuid.UUID | None = None
    members: Sequence[MemberReply] = ()
    vehicle: VehicleSeen | None = None


def trip_answer(reply: TripReply) -> TripVerifyAnswer:
    """The one place a trip answer is built, so a replay is byte for byte the first answer.
    The trip's reasons are its own codes and every member's, so a lane that shows only the top
    line still sees why."""
    every: Iterable[str] = (
        *reply.codes,
        *(code for member in reply.members for code in member.codes),
    )
    return TripVerifyAnswer(
        decision=reply.decision,
        reasons=reasons(ordered(set(every))),
        trip_id=reply.trip_id,
        crossing_id=reply.crossing_id,
        members=[
            MemberAnswer(
                role=member.role,
                decision=member.decision,
                reasons=reasons(ordered(member.codes)),
                clearance_id=member.clearance_id,
                crossing_id=member.crossing_id,
                holder=member.holder,
            )
            for member in reply.members
        ],
        vehicle=reply.vehicle,
        mode=reply.mode,
        checked_at=reply.checked_at,
    )
