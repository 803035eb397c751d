"""The lane hot path: decide from memory, record durably, answer.

Keys, revocations, the watchlist and lane identities are in this worker's memory; the only I/O
is the group-committed write that makes a green answer durable before it is sent. When
PostgreSQL does not commit within the budget, the answer is still given from memory in
``degraded`` mode once the record is fsynced to the local spool, and the spool drains later.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from prometheus_client import Counter, Histogram

from greenlane.db import verifications as verifications_db
from greenlane.db.codecs import jsonb
from greenlane.db.pool import Database
from greenlane.domain.clearance_token import LANE_AUDIENCE
from greenlane.domain.crypto import BlindIndex
from greenlane.domain.lane_checks import (
    LaneCheck,
    check,
    decision_of,
    ordered,
)
from greenlane.domain.lookups import document_index, vehicle_index
from greenlane.errors import ServiceUnavailable, ValidationFailed
from greenlane.services.background import stop_tasks
from greenlane.services.clearances import RevocationList
from greenlane.services.client_registry import ClientIdentity
from greenlane.services.group_commit import CommitFailed, GroupCommitter
from greenlane.services.keyring import KeyRing
from greenlane.services.spool import Spool, SpoolUnavailable
from greenlane.services.watchlist import Watchlist
from greenlane.wire.verify import (
    Holder,
    VehicleSeen,
    VerifyAnswer,
    VerifyReason,
    VerifyRequest,
    presented,
    reasons,
    token_holder,
)

DECISIONS = Counter(
    "greenlane_verify_decisions_total", "Verify answers by decision and code", ["decision", "code"]
)
VERIFY_LATENCY = Histogram(
    "greenlane_verify_seconds",
    "Time to decide and record one verification",
    ["mode"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
MAX_CLOCK_SKEW = timedelta(minutes=5)
DRAIN_TIMEOUT = 30.0
# At exit, how long writes that missed their budget get to finish cancelling.
ATTEMPTS_STOP_TIMEOUT = 1.0
MAX_LATE_REPORT = timedelta(days=30)
_CACHE_SIZE = 50_000
_FINGERPRINT = msgspec.json.Encoder()


def fingerprint(request: VerifyRequest) -> str:
    return hashlib.sha256(_FINGERPRINT.encode(request)).hexdigest()


class _Lru(OrderedDict[Any, Any]):
    def remember(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > _CACHE_SIZE:
            self.popitem(last=False)


class LaneVerifier:
    def __init__(
        self,
        *,
        db: Database,
        keyring: KeyRing,
        revocations: RevocationList,
        watchlist: Watchlist,
        index: BlindIndex,
        spool: Spool,
        issuer: str,
        commit_budget: float,
    ) -> None:
        self._db = db
        self._keyring = keyring
        self._revocations = revocations
        self._watchlist = watchlist
        self._index = index
        self._spool = spool
        self._issuer = issuer
        self._budget = commit_budget
        self.committer: GroupCommitter[dict[str, Any], asyncpg.Record] = GroupCommitter(self._write)
        self._people: _Lru = _Lru()  # clearance id -> (holder, vehicle), for degraded answers
        self._degraded_replies: _Lru = _Lru()  # (lane, event) -> answer given while degraded
        self.degraded_since: float | None = None
        self._attempts: set[asyncio.Task[list[asyncpg.Record]]] = set()

    async def _write(self, items: Sequence[dict[str, Any]]) -> list[asyncpg.Record]:
        # Past the budget the lanes get their degraded answers at once. Cancelling the
        # statement and giving the connection back to the pool takes round trips to a database
        # that is slow or away (seconds, up to the command timeout), so the attempt finishes
        # that on its own. Should it have committed after all, the spool's drain of the same
        # event ids records nothing twice.
        attempt = asyncio.create_task(self._record(items))
        self._attempts.add(attempt)
        attempt.add_done_callback(_forget_attempt(self._attempts))
        try:
            async with asyncio.timeout(self._budget):
                rows = await asyncio.shield(attempt)
        except TimeoutError:
            attempt.cancel()
            raise
        return sorted(rows, key=lambda row: row["item_index"])

    async def _record(self, items: Sequence[dict[str, Any]]) -> list[asyncpg.Record]:
        async with self._db.connection() as conn:
            return await verifications_db.record(conn, list(items))

    async def close(self) -> None:
        """Let the batches in flight finish, then end the attempts still cancelling."""
        await self.committer.close()
        await stop_tasks(self._attempts, within=ATTEMPTS_STOP_TIMEOUT)

    def _watchlisted(
        self, document: tuple[str, str] | None, plate: str | None, country: str | None
    ) -> bool:
        if document is not None and self._watchlist.hit_document(
            document_index(self._index, *document)
        ):
            return True
        return (
            plate is not None
            and country is not None
            and self._watchlist.hit_vehicle(vehicle_index(self._index, country, plate))
        )

    async def verify(self, lane: ClientIdentity, request: VerifyRequest) -> VerifyAnswer:
        started = time.perf_counter()
        now = datetime.now(UTC)
        occurred = _occurred_at(request, now)
        assert lane.port_code is not None  # the guard admits lane clients only
        assert lane.lane_code is not None
        result = check(
            request.token,
            lane_port=lane.port_code,
            presented=presented(request),
            keys=self._keyring.verification,
            issuer=self._issuer,
            audience=LANE_AUDIENCE,
            revoked=self._revocations.revoked,
            now=int(now.timestamp()),
            today=now.date(),
            watchlisted=self._watchlisted,
        )
        item = _item(lane, request, result, now, occurred, started)
        try:
            row = await self.committer.submit(item)
        except CommitFailed:
            answer = await self._degraded(item, result, now)
        else:
            if row["replayed"] and row["differs"]:
                raise _event_reused()
            answer = _answer(jsonb(row["reply"]))
            if answer.holder is not None and answer.clearance_id is not None:
                self._people.remember(answer.clearance_id, (answer.holder, answer.vehicle))
            self.degraded_since = None
        _observe(answer, started)
        return answer

    async def _degraded(
        self, item: dict[str, Any], result: LaneCheck, now: datetime
    ) -> VerifyAnswer:
        key = (item["lane_client"], item["event_id"])
        earlier: tuple[str, VerifyAnswer] | None = self._degraded_replies.get(key)
        if earlier is not None:
            if earlier[0] != item["request_sha"]:
                raise _event_reused()
            return earlier[1]
        if self.degraded_since is None:
            self.degraded_since = time.monotonic()
        codes = list(item["codes"])
        if item["single_entry"] and item["decision"] != "deny":
            # Only the central record knows whether another lane let this clearance through:
            # an officer decides rather than a barrier opening twice.
            codes.append("single_entry_unconfirmed")
        decision = decision_of(tuple(codes))
        spooled = {
            **item,
            "mode": "degraded",
            "decision": decision,
            "codes": codes,
            "crossing_id": item["crossing_id"] if decision == "green" else None,
        }
        try:
            await self._spool.append(spooled)
        except SpoolUnavailable:
            raise ServiceUnavailable(
                retry_after=5, detail="The verification could not be recorded; try again."
            ) from None
        holder, vehicle = self._people.get(item["clearance_id"], (None, None))
        if holder is None and result.claims is not None and decision != "deny":
            holder = token_holder(result.claims)
        answer = _answer(
            {
                "decision": decision,
                "codes": codes,
                "clearance_id": item["clearance_id"],
                "crossing_id": spooled["crossing_id"],
                "holder": msgspec.to_builtins(holder) if decision != "deny" else None,
                "vehicle": msgspec.to_builtins(vehicle) if decision != "deny" else None,
                "mode": "degraded",
                "checked_at": item["checked_at"],
            }
        )
        self._degraded_replies.remember(key, (item["request_sha"], answer))
        return answer

    def spool_has_work(self) -> bool:
        return self._spool.has_work()

    @property
    def spool_depth(self) -> int:
        return self._spool.depth

    async def drain_spool(self) -> int:
        """Send spooled verifications to PostgreSQL (idempotent by event id)."""

        async def write(records: Sequence[dict[str, Any]]) -> None:
            async with asyncio.timeout(DRAIN_TIMEOUT):
                await self._record(records)

        return await self._spool.drain(write)


def _event_reused() -> ValidationFailed:
    return ValidationFailed.one(
        "event_id", "already used by this lane for a different verification"
    )


def _forget_attempt(
    attempts: set[asyncio.Task[list[asyncpg.Record]]],
) -> Callable[[asyncio.Task[list[asyncpg.Record]]], None]:
    def forget(attempt: asyncio.Task[list[asyncpg.Record]]) -> None:
        attempts.discard(attempt)
        if not attempt.cancelled():
            attempt.exception()  # seen, so asyncio does not report it: the lanes had answers

    return forget


def _occurred_at(request: VerifyRequest, now: datetime) -> datetime:
    observed = request.observed_at
    if observed is None:
        return now
    if observed.tzinfo is None:
        raise ValidationFailed.one("observed_at", "must carry a time zone (RFC 3339)")
    if not now - MAX_LATE_REPORT <= observed <= now + MAX_CLOCK_SKEW:
        raise ValidationFailed.one("observed_at", "must be within the last 30 days")
    return observed.astimezone(UTC)


def _item(
    lane: ClientIdentity,
    request: VerifyRequest,
    result: LaneCheck,
    now: datetime,
    occurred: datetime,
    started: float,
) -> dict[str, Any]:
    claims = result.claims
    return {
        "lane_client": str(lane.client_id),
        "event_id": str(request.event_id),
        "request_sha": fingerprint(request),
        "port_code": lane.port_code,
        "lane_code": lane.lane_code,
        "clearance_id": claims.clearance_id if claims else None,
        "direction": request.direction,
        "decision": result.decision,
        "codes": list(result.codes),
        "single_entry": claims is not None and claims.entries == "single",
        "crossing_id": str(uuid.uuid4()) if result.decision == "green" else None,
        "mode": "online",
        "latency_us": int((time.perf_counter() - started) * 1_000_000),
        "occurred_at": occurred.isoformat(),
        "checked_at": now.isoformat(),
    }


def _answer(parts: dict[str, Any]) -> VerifyAnswer:
    """The answer, built the same way from fresh and from stored parts (so replays match)."""
    return VerifyAnswer(
        decision=parts["decision"],
        reasons=reasons(ordered(parts["codes"])),
        mode=parts["mode"],
        checked_at=datetime.fromisoformat(parts["checked_at"]),
        clearance_id=uuid.UUID(parts["clearance_id"]) if parts.get("clearance_id") else None,
        crossing_id=uuid.UUID(parts["crossing_id"]) if parts.get("crossing_id") else None,
        holder=msgspec.convert(parts["holder"], Holder) if parts.get("holder") else None,
        vehicle=msgspec.convert(parts["vehicle"], VehicleSeen) if parts.get("vehicle") else None,
    )


def _observe(answer: VerifyAnswer, started: float) -> None:
    VERIFY_LATENCY.labels(answer.mode).observe(time.perf_counter() - started)
    for reason in answer.reasons or [VerifyReason("none", "")]:
        DECISIONS.labels(answer.decision, reason.code).inc()
