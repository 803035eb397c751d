"""The record one lane verification leaves: built by the worker, group-committed, or spooled.

One Struct from the lane check to PostgreSQL. The worker builds it from the check's result; the
group commit sends a batch of them as one JSON array to ``gl_record_verifications()``, which reads
each as the composite type ``gl_verification`` (attribute names equal to these field names, so a
name that drifts fails loudly instead of reading NULL; a test holds the two together); in
degraded mode the spool writes it to disk as one JSON line.

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

Mode = Literal["online", "degraded"]
Direction = Literal["entry", "exit"]


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

    def degraded(self) -> VerificationRecord:
        """The record as the spool keeps it when PostgreSQL did not commit in time."""
        codes = self.codes
        if self.single_entry and self.decision != "deny":
            # Only the central record knows whether another lane let this clearance through:
            # an officer decides rather than a barrier opening twice.
            codes = (*codes, "single_entry_unconfirmed")
        decision = decision_of(codes)
        return msgspec.structs.replace(
            self,
            mode="degraded",
            decision=decision,
            codes=codes,
            crossing_id=self.crossing_id if decision == "green" else None,
        )
