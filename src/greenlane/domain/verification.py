"""The record one lane verification leaves: built by the worker, group-committed, or spooled.

One Struct from the lane check to PostgreSQL. The worker builds it from the check's result; the
group commit sends a batch of them as one JSON array to ``gl_record_verifications()``, which reads
each as the composite type ``gl_verification`` (attribute names equal to these field names, so a
name that drifts fails loudly instead of reading NULL; a test holds the two together); in
degraded mode the spool writes it to disk as one JSON line.

A trip verification is one record too: ``trip_id`` names the trip, ``codes`` are the trip's own
(its token, port, vehicle and occupants), ``crossing_id`` is the vehicle's crossing and
``members`` holds each member's decision as a :class:`MemberRecord`; the function records a
crossing for every member and the vehicle, or none. A clearance's record leaves both empty.

Spool lines carry ``"format": 2``. Format 1 (before this Struct) wrote the same fields without a
format key, and a standalone tagged Struct accepts a missing tag: a spool file left by an older
worker still drains.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

from greenlane.domain.lane_checks import Decision, decision_of
from greenlane.domain.trip_token import Role

Mode = Literal["online", "degraded"]
Direction = Literal["entry", "exit"]


class MemberRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One member of a trip: the member's own checks, as a single verification would make them."""

    role: Role
    clearance_id: uuid.UUID
    decision: Decision
    codes: tuple[str, ...]
    single_entry: bool
    crossing_id: uuid.UUID | None = None  # drawn when the whole trip is green

    def degraded(self) -> MemberRecord:
        codes = _unconfirmed(self.codes, self.single_entry, self.decision)
        return msgspec.structs.replace(self, decision=decision_of(codes), codes=codes)


def _unconfirmed(codes: tuple[str, ...], single_entry: bool, decision: Decision) -> tuple[str, ...]:
    if single_entry and decision != "deny":
        # Only the central record knows whether another lane let this clearance through:
        # an officer decides rather than a barrier opening twice.
        return (*codes, "single_entry_unconfirmed")
    return codes


class VerificationRecord(msgspec.Struct, frozen=True, kw_only=True, tag_field="format", tag=2):
    lane_client: uuid.UUID
    event_id: uuid.UUID
    request_sha: str  # hex SHA-256 of the request: a repeated event id must ask the same
    port_code: str
    lane_code: str
    direction: Direction
    decision: Decision
    codes: tuple[str, ...]
    single_entry: bool
    mode: Mode
    latency_us: int
    occurred_at: datetime
    checked_at: datetime
    clearance_id: uuid.UUID | None = None
    crossing_id: uuid.UUID | None = None  # drawn for a green answer, recorded if it stays green
    issuer: str | None = None  # a peer agency's clearance: its crossing is owed a receipt
    trip_id: uuid.UUID | None = None
    members: tuple[MemberRecord, ...] = ()

    def degraded(self) -> VerificationRecord:
        """The record as the spool keeps it when PostgreSQL did not commit in time."""
        codes = _unconfirmed(self.codes, self.single_entry, self.decision)
        members = tuple(member.degraded() for member in self.members)
        decision = decision_of((*codes, *(code for m in members for code in m.codes)))
        green = decision == "green"
        return msgspec.structs.replace(
            self,
            mode="degraded",
            decision=decision,
            codes=codes,
            crossing_id=self.crossing_id if green else None,
            members=tuple(
                m if green else msgspec.structs.replace(m, crossing_id=None) for m in members
            ),
        )
