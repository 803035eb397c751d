"""``POST /v1/verify/trip``: a vehicle and everyone in it, decided from memory and recorded in
the lanes' group commit.

The single verify's machinery, not a copy of it: the worker's keys, revocations, status lists,
peer agencies and watchlist decide (``domain.trip_checks``, built from ``lane_checks``); the
decision goes to PostgreSQL as one :class:`VerificationRecord` (its ``members`` holding each
person's part) through the same :class:`GroupCommitter`, where ``gl_record_trips()`` records a
crossing for every member and the vehicle, or none, before a green answer is sent; a replayed
event id gets the stored answer; and when PostgreSQL does not commit in time the record goes to
the same spool in degraded mode. A peer agency's trip owes it a receipt for each member who
crossed, as a peer's clearance does (``db/verifications.py``).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import msgspec

from greenlane.domain.clearance_token import LANE_AUDIENCE
from greenlane.domain.lane_checks import Presented
from greenlane.domain.trip_checks import DocumentScannedTwice, TripCheck, check_trip
from greenlane.domain.trip_token import valid_at
from greenlane.domain.verification import MemberRecord, VerificationRecord
from greenlane.errors import FieldProblem, ValidationFailed
from greenlane.services.clearances import RevocationList
from greenlane.services.client_registry import ClientIdentity
from greenlane.services.federation import Peers
from greenlane.services.group_commit import CommitFailed
from greenlane.services.keyring import KeyRing
from greenlane.services.status_lists import PublishedLists
from greenlane.services.verify import (
    Event,
    LaneVerifier,
    Lru,
    event_reused,
    fingerprint,
    occurred_at,
)
from greenlane.tally import TalliedCounter, TalliedHistogram
from greenlane.wire.trips import (
    MemberReply,
    ScannedDocument,
    TripReply,
    TripVerifyAnswer,
    TripVerifyRequest,
    trip_answer,
)
from greenlane.wire.verify import VerifyReason

# Apart from the single verify's: a trip is one answer for several people and records several
# crossings, and dashboards (and make bench) count the two apart.
TRIP_DECISIONS = TalliedCounter(
    "greenlane_verify_trip_decisions_total", "Trip verify answers by decision and code",
    ["decision", "code"],
)  # fmt: skip
TRIP_LATENCY = TalliedHistogram(
    "greenlane_verify_trip_seconds",
    "Time to decide and record one trip verification",
    ["mode"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
_REPLY = msgspec.json.Decoder(TripReply)
_OUTSIDE_VALIDITY = "must fall within the trip token's validity (nbf to exp)"


class TripVerifier:
    def __init__(
        self,
        lanes: LaneVerifier,
        *,
        keyring: KeyRing,
        revocations: RevocationList,
        status_lists: PublishedLists,
        peers: Peers,
        issuer: str,
    ) -> None:
        self._lanes = lanes
        self._keyring = keyring
        self._revocations = revocations
        self._status_lists = status_lists
        self._peers = peers
        self._issuer = issuer
        self._degraded_replies: Lru[Event, tuple[str, TripVerifyAnswer]] = Lru()

    async def verify(
        self, lane: ClientIdentity, request: TripVerifyRequest
    ) -> tuple[TripVerifyAnswer, bool]:
        """The answer, and whether it is the stored answer to this event, given again."""
        started = time.perf_counter()
        now = datetime.now(UTC)
        occurred = occurred_at(request.observed_at, now)
        port_code, lane_code = lane.port_code, lane.lane_code
        assert port_code is not None  # the route admits lane clients only, which have both
        assert lane_code is not None
        try:
            result = check_trip(
                request.token,
                lane_port=port_code,
                direction=request.direction,
                plate=request.plate,
                documents=_documents(request),
                keys=self._keyring.verification,
                issuer=self._issuer,
                audience=LANE_AUDIENCE,
                revoked=self._revocations.revoked,
                status_of=self._status_lists.status_of,
                now=int(now.timestamp()),
                today=now.date(),
                watchlisted=self._lanes.watchlisted,
                peers=self._peers.trust,
            )
        except DocumentScannedTwice as twice:
            raise ValidationFailed.one(
                f"documents[{twice.index}]", "is a document already scanned in this vehicle"
            ) from None
        if (
            request.observed_at is not None
            and result.claims is not None
            and not valid_at(result.claims, int(occurred.timestamp()))
        ):
            raise ValidationFailed.one("observed_at", _OUTSIDE_VALIDITY)
        record = _record(lane, port_code, lane_code, request, result, now, occurred, started)
        try:
            recorded = await self._lanes.committer.submit(record)
        except CommitFailed:
            given, replayed = await self._degraded(record)
        else:
            replayed = recorded.replayed
            if replayed and recorded.differs:
                raise event_reused()
            given = trip_answer(_REPLY.decode(recorded.reply))
            self._lanes.degraded_since = None
        TRIP_LATENCY.observe(time.perf_counter() - started, given.mode)
        for reason in given.reasons or [VerifyReason("none", "")]:
            TRIP_DECISIONS.inc(given.decision, reason.code)
        return given, replayed

    async def _degraded(self, record: VerificationRecord) -> tuple[TripVerifyAnswer, bool]:
        """As a single verify's degraded answer, but naming nobody: the names of a trip's
        members are only read from the database as it answers."""
        event = (record.lane_client, record.event_id)
        earlier = self._degraded_replies.get(event)
        if earlier is not None:
            if earlier[0] != record.request_sha:
                raise event_reused()
            return earlier[1], True
        spooled = await self._lanes.spool_degraded(record)
        given = trip_answer(
            TripReply(
                decision=spooled.decision,
                codes=spooled.codes,
                mode=spooled.mode,
                checked_at=spooled.checked_at,
                trip_id=spooled.trip_id,
                crossing_id=spooled.crossing_id,
                members=[
                    MemberReply(
                        role=member.role,
                        decision=member.decision,
                        codes=member.codes,
                        clearance_id=member.clearance_id,
                        crossing_id=member.crossing_id,
                    )
                    for member in spooled.members
                ],
            )
        )
        self._degraded_replies.remember(event, (record.request_sha, given))
        return given, False


def _documents(request: TripVerifyRequest) -> list[Presented]:
    """Each scanned document as the checks take it; one that is both typed and scanned, or
    typed in half, is a malformed question."""
    problems = [
        FieldProblem(f"documents[{index}]", problem)
        for index, document in enumerate(request.documents)
        if (problem := _malformed(document)) is not None
    ]
    if problems:
        raise ValidationFailed(problems)
    return [document.presented() for document in request.documents]


def _malformed(document: ScannedDocument) -> str | None:
    if document.typed and document.mrz is not None:
        return "give number and issuing_state, or mrz, not both"
    if document.typed and (document.number is None or document.issuing_state is None):
        return "a typed document needs number and issuing_state"
    if not document.typed and document.mrz is None:
        return "give number and issuing_state, or mrz"
    return None


def _record(
    lane: ClientIdentity,
    port_code: str,
    lane_code: str,
    request: TripVerifyRequest,
    result: TripCheck,
    now: datetime,
    occurred: datetime,
    started: float,
) -> VerificationRecord:
    claims = result.claims
    green = result.decision == "green"
    return VerificationRecord(
        lane_client=lane.client_id,
        event_id=request.event_id,
        request_sha=fingerprint(request),
        port_code=port_code,
        lane_code=lane_code,
        direction=request.direction,
        decision=result.decision,
        codes=result.codes,
        single_entry=False,  # the members' own, each in its MemberRecord
        mode="online",
        latency_us=int((time.perf_counter() - started) * 1_000_000),
        occurred_at=occurred,
        checked_at=now,
        crossing_id=uuid.uuid4() if green else None,
        issuer=result.issuer,
        trip_id=uuid.UUID(claims.trip_id) if claims is not None else None,
        members=tuple(
            MemberRecord(
                role=member.role,
                clearance_id=uuid.UUID(member.clearance_id),
                decision=member.decision,
                codes=member.codes,
                single_entry=member.single_entry,
                crossing_id=uuid.uuid4() if green else None,
            )
            for member in result.members
        ),
    )
