"""The lane hot path: decide from memory, record durably, answer.

Keys, revocations, status lists, the watchlist and lane identities are in this worker's
memory; the only I/O is the group-committed write that makes a green answer durable before it
is sent. When PostgreSQL does not commit within the budget, the answer is still given from
memory in ``degraded`` mode once the record is fsynced to the local spool, and the spool drains
later.
Every answer, fresh, replayed or degraded, is built by ``wire.verify.answer`` from a ``Reply``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

import msgspec

from greenlane.db import verifications as verifications_db
from greenlane.db.pool import Database
from greenlane.domain.clearance_token import LANE_AUDIENCE
from greenlane.domain.crypto import BlindIndex
from greenlane.domain.lane_checks import (
    OUTSIDE_VALIDITY,
    Document,
    LaneCheck,
    check,
    observed_in_validity,
)
from greenlane.domain.lookups import document_index, vehicle_index
from greenlane.domain.verification import VerificationRecord
from greenlane.errors import ServiceUnavailable, ValidationFailed
from greenlane.services.clearances import RevocationList
from greenlane.services.client_registry import ClientIdentity
from greenlane.services.dedicated import Connect, DedicatedConnections
from greenlane.services.federation import Peers
from greenlane.services.group_commit import CommitFailed, GroupCommitter
from greenlane.services.keyring import KeyRing
from greenlane.services.spool import Spool, SpoolUnavailable
from greenlane.services.status_lists import PublishedLists
from greenlane.services.watchlist import Watchlist
from greenlane.tally import TalliedCounter, TalliedHistogram
from greenlane.wire.verify import (
    Holder,
    Reply,
    VehicleSeen,
    VerifyAnswer,
    VerifyReason,
    VerifyRequest,
    answer,
    presented,
    token_holder,
)

DECISIONS = TalliedCounter(
    "greenlane_verify_decisions_total", "Verify answers by decision and code", ["decision", "code"]
)
VERIFY_LATENCY = TalliedHistogram(
    "greenlane_verify_seconds",
    "Time to decide and record one verification",
    ["mode"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
MAX_CLOCK_SKEW = timedelta(minutes=5)
DRAIN_TIMEOUT = 30.0
# Batches written at once, each on a connection of its own. A second one starts beside a batch
# in flight once it has lingered (GREENLANE_VERIFY_LINGER_US) without that batch finishing: a
# request arriving just after a commit has started then waits at most that long for its own to
# start, not for the whole of a slow commit.
COMMITS_IN_FLIGHT = 2
MAX_LATE_REPORT = timedelta(days=30)
_CACHE_SIZE = 50_000
_FINGERPRINT = msgspec.json.Encoder()
_REPLY = msgspec.json.Decoder(Reply)

K = TypeVar("K")
V = TypeVar("V")
Recorded = verifications_db.Recorded
Event = tuple[uuid.UUID, uuid.UUID]  # (lane client, event id)


def fingerprint(request: msgspec.Struct) -> str:
    return hashlib.sha256(_FINGERPRINT.encode(request)).hexdigest()


class Lru(OrderedDict[K, V], Generic[K, V]):
    def remember(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > _CACHE_SIZE:
            self.popitem(last=False)


class LaneVerifier:
    def __init__(
        self,
        *,
        db: Database,
        connect: Connect,
        keyring: KeyRing,
        revocations: RevocationList,
        status_lists: PublishedLists,
        watchlist: Watchlist,
        peers: Peers,
        index: BlindIndex,
        spool: Spool,
        issuer: str,
        commit_budget: float,
        linger: float,
    ) -> None:
        self._db = db
        self._keyring = keyring
        self._revocations = revocations
        self._status_lists = status_lists
        self._watchlist = watchlist
        self._peers = peers
        self._index = index
        self._spool = spool
        self._issuer = issuer
        self._budget = commit_budget
        self._connections = DedicatedConnections(connect, size=COMMITS_IN_FLIGHT)
        self.committer: GroupCommitter[VerificationRecord, Recorded] = GroupCommitter(
            self._write, max_in_flight=COMMITS_IN_FLIGHT, linger=linger
        )
        # For degraded answers: who a clearance names, and what each event was answered.
        self._people: Lru[uuid.UUID, tuple[Holder | None, VehicleSeen | None]] = Lru()
        self._degraded_replies: Lru[Event, tuple[str, VerifyAnswer]] = Lru()
        self.degraded_since: float | None = None

    def start(self) -> None:
        """Open the group commit's connections, in the background."""
        self._connections.open()

    async def _write(self, records: Sequence[VerificationRecord]) -> list[Recorded]:
        # Past the budget the lanes get their degraded answers at once: the statement is left
        # behind with its connection, which is terminated without a round trip to a database
        # that is slow or away. Should it have committed after all, the spool's drain of the
        # same event ids records nothing twice.
        async with asyncio.timeout(self._budget):
            return await self._record(records)

    async def _record(self, records: Sequence[VerificationRecord]) -> list[Recorded]:
        async with self._connections.connection() as conn:
            return await verifications_db.record(conn, records)

    async def close(self) -> None:
        """Let the batches in flight finish, then close their connections."""
        await self.committer.close()
        await self._connections.close()

    def watchlisted(
        self, documents: Sequence[Document], plate: str | None, country: str | None
    ) -> bool:
        vehicle = (
            vehicle_index(self._index, country, plate)
            if plate is not None and country is not None
            else None
        )
        people = [document_index(self._index, *document) for document in documents]
        return bool(self._watchlist.referring(people, vehicle))

    async def verify(
        self, lane: ClientIdentity, request: VerifyRequest
    ) -> tuple[VerifyAnswer, bool]:
        """The answer, and whether it is the stored answer to this event, given again."""
        started = time.perf_counter()
        now = datetime.now(UTC)
        occurred = occurred_at(request.observed_at, now)
        port_code, lane_code = lane.port_code, lane.lane_code
        assert port_code is not None  # the route admits lane clients only, which have both
        assert lane_code is not None
        result = check(
            request.token,
            lane_port=port_code,
            presented=presented(request),
            keys=self._keyring.verification,
            issuer=self._issuer,
            audience=LANE_AUDIENCE,
            revoked=self._revocations.revoked,
            status_of=self._status_lists.status_of,
            now=int(now.timestamp()),
            today=now.date(),
            watchlisted=self.watchlisted,
            peers=self._peers.trust,
        )
        if request.observed_at is not None and not observed_in_validity(
            result, int(occurred.timestamp())
        ):
            raise ValidationFailed.one("observed_at", OUTSIDE_VALIDITY)
        record = _record(lane, port_code, lane_code, request, result, now, occurred, started)
        try:
            recorded = await self.committer.submit(record)
        except CommitFailed:
            given, replayed = await self._degraded(record, result)
        else:
            replayed = recorded.replayed
            if replayed and recorded.differs:
                raise event_reused()
            given = answer(_REPLY.decode(recorded.reply))
            if given.holder is not None and given.clearance_id is not None:
                self._people.remember(given.clearance_id, (given.holder, given.vehicle))
            self.degraded_since = None
        _observe(given, started)
        return given, replayed

    async def _degraded(
        self, record: VerificationRecord, result: LaneCheck
    ) -> tuple[VerifyAnswer, bool]:
        event = (record.lane_client, record.event_id)
        earlier = self._degraded_replies.get(event)
        if earlier is not None:
            if earlier[0] != record.request_sha:
                raise event_reused()
            return earlier[1], True
        spooled = await self.spool_degraded(record)
        holder: Holder | None = None
        vehicle: VehicleSeen | None = None
        if spooled.decision != "deny":
            if record.clearance_id is not None:
                holder, vehicle = self._people.get(record.clearance_id, (None, None))
            if holder is None and result.claims is not None:
                holder = token_holder(result.claims)
        given = answer(
            Reply(
                decision=spooled.decision,
                codes=spooled.codes,
                mode=spooled.mode,
                checked_at=spooled.checked_at,
                clearance_id=spooled.clearance_id,
                crossing_id=spooled.crossing_id,
                holder=holder,
                vehicle=vehicle,
            )
        )
        self._degraded_replies.remember(event, (record.request_sha, given))
        return given, False

    async def spool_degraded(self, record: VerificationRecord) -> VerificationRecord:
        """Keep ``record`` in the local spool in degraded mode; 503 if even that fails."""
        if self.degraded_since is None:
            self.degraded_since = time.monotonic()
        spooled = record.degraded()
        try:
            await self._spool.append(spooled)
        except SpoolUnavailable:
            raise ServiceUnavailable(
                retry_after=5, detail="The verification could not be recorded; try again."
            ) from None
        return spooled

    def spool_has_work(self) -> bool:
        return self._spool.has_work()

    @property
    def spool_depth(self) -> int:
        return self._spool.depth

    async def drain_spool(self) -> int:
        """Send spooled verifications to PostgreSQL (idempotent by event id)."""

        async def write(records: Sequence[VerificationRecord]) -> None:
            async with asyncio.timeout(DRAIN_TIMEOUT), self._db.connection() as conn:
                await verifications_db.record(conn, records)

        return await self._spool.drain(write)


def event_reused() -> ValidationFailed:
    return ValidationFailed.one(
        "event_id", "already used by this lane for a different verification"
    )


def occurred_at(observed: datetime | None, now: datetime) -> datetime:
    """When the lane says the crossing happened (now if it does not say), within bounds."""
    if observed is None:
        return now
    if observed.tzinfo is None:
        raise ValidationFailed.one("observed_at", "must carry a time zone (RFC 3339)")
    if not now - MAX_LATE_REPORT <= observed <= now + MAX_CLOCK_SKEW:
        raise ValidationFailed.one("observed_at", "must be within the last 30 days")
    return observed.astimezone(UTC)


def _record(
    lane: ClientIdentity,
    port_code: str,
    lane_code: str,
    request: VerifyRequest,
    result: LaneCheck,
    now: datetime,
    occurred: datetime,
    started: float,
) -> VerificationRecord:
    claims = result.claims
    return VerificationRecord(
        lane_client=lane.client_id,
        event_id=request.event_id,
        request_sha=fingerprint(request),
        port_code=port_code,
        lane_code=lane_code,
        direction=request.direction,
        decision=result.decision,
        codes=result.codes,
        single_entry=claims is not None and claims.entries == "single",
        mode="online",
        latency_us=int((time.perf_counter() - started) * 1_000_000),
        occurred_at=occurred,
        checked_at=now,
        clearance_id=uuid.UUID(claims.clearance_id) if claims else None,
        crossing_id=uuid.uuid4() if result.decision == "green" else None,
        issuer=result.issuer,
    )


def _observe(answer: VerifyAnswer, started: float) -> None:
    VERIFY_LATENCY.observe(time.perf_counter() - started, answer.mode)
    for reason in answer.reasons or [VerifyReason("none", "")]:
        DECISIONS.inc(answer.decision, reason.code)
