"""A lane that keeps deciding when its link to the centre is cut, and says how old its data is.

:class:`OfflineVerifier` keeps the signing keys (JWKS), the revocation feed and the signed
status lists (draft-ietf-oauth-status-list), fetched with a :class:`LaneClient` and written
atomically to a state file, so a lane restarted without network still verifies. It decides
with ``greenlane.domain.lane_checks.check``, the function the server's ``POST /v1/verify``
runs, so the two cannot disagree about a token, a port, a revocation, a status or a document
or plate binding. What it decides differently, and why:

- **Single entry** is checked against this lane's own record of the single-entry clearances it
  let through (persisted), not against every lane's: another lane's crossing is unknown here.
- **No watchlist**: watchlist entries are kept only as keyed hashes on the server and never
  leave it, so an offline lane cannot refer a watchlist hit; the server still checks the
  watchlist when the decision is synced.
- **Stale data is never silent**: when the keys and revocations are older than ``max_age``
  (default 24 hours), or were never fetched, every answer carries ``lane_data_stale``
  (``refer``) on top of the check's own codes; so does the answer for a token whose status
  list the lane does not hold, or holds past its ``exp``.
- **Status lists are fetched only when they changed** (``If-None-Match`` with the ETag last
  seen: 304 costs a few hundred bytes) and each is verified with the key set before it is
  used. One that does not verify (tampered, signed by an unknown key, expired, not the list
  asked for) is refused: the lane keeps its last good copy of that list, and
  :meth:`OfflineVerifier.refresh` says so in its :class:`RefreshReport` (and
  :attr:`OfflineVerifier.refused_lists` until a good copy arrives).
- **Peer agencies' clearances** (federation) are decided as the server decides them: the lane
  keeps each trusted peer's signed trust list and the agreement (``GET /v1/federation/peers``),
  verifies the list against the anchors its server trusts for that peer before using it, and
  refers the peer's clearances ``issuer_data_stale`` past the list's ``exp``. A peer's trip
  token too.
- **Answers are ``mode="degraded"``**, the contract's mode for an answer not yet recorded
  centrally; ``crossing_id`` is absent (the server assigns it when the decision is synced) and
  ``holder`` holds only what the token says (nationality and category), since names never
  leave the server.

Trips are decided the same way by :meth:`OfflineVerifier.verify_trip`, with
``greenlane.domain.trip_checks.check_trip``, the function of ``POST /v1/verify/trip``: the trip
token's status and each member's clearance's are read from the status lists held here (a trip
token names its members' entries), the revocations are checked too (the feed names a revoked
clearance's id, which is how a trip token names its members), single entry against the lane's
own record, and the trip goes into a spool of its own (``<spool>.trips``), synced the same way.

Each decision is appended (fsynced) to a spool before it is returned. :meth:`sync` sends the
spooled requests to ``POST /v1/verify`` with their original event ids and ``observed_at`` set to
when the lane decided; the server answers a repeated event id from its record, so a sync that
was interrupted (even after the server recorded an event but before the lane heard back) is
simply run again: nothing is lost and nothing is recorded twice. The server decides each synced
request afresh; :class:`SyncReport` lists where it disagreed with the lane.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.client.durable import write_atomically
from greenlane.client.errors import ValidationError
from greenlane.client.operations import question, trip_question
from greenlane.client.spool import E, SingleEntryUse, Spool, SpoolEntry, TripSpoolEntry
from greenlane.client.sync import LaneClient
from greenlane.domain.clearance_token import CLOCK_LEEWAY, LANE_AUDIENCE, public_keys
from greenlane.domain.federation import (
    DocumentRefused,
    PeerTrust,
    claimed_subject,
    peer_lists,
    peer_status,
    peer_trust,
    read_trust_list,
)
from greenlane.domain.jws import TokenFailure
from greenlane.domain.lane_checks import (
    OUTSIDE_VALIDITY,
    LaneCheck,
    check,
    decision_of,
    observed_in_validity,
    ordered,
)
from greenlane.domain.status_list import (
    StatusListReference,
    VerifiedStatusList,
    list_number,
    verify_status_list,
)
from greenlane.domain.trip_checks import TripCheck, check_trip
from greenlane.domain.trip_token import valid_at as trip_valid_at
from greenlane.wire.federation import LanePeer
from greenlane.wire.trips import (
    MemberReply,
    ScannedDocument,
    TripReply,
    TripVerifyAnswer,
    TripVerifyRequest,
    trip_answer,
)
from greenlane.wire.verify import (
    PresentedDocument,
    Reply,
    VerifyAnswer,
    VerifyRequest,
    answer,
    presented,
    token_holder,
)

DEFAULT_MAX_AGE = timedelta(hours=24)
STALE = "lane_data_stale"
ALREADY_USED = "already_used"
# Acknowledged entries are removed from the spool in batches of this size (and whenever a sync
# stops): a crash re-sends at most this many, which the server answers as replays.
CHECKPOINT_EVERY = 100
_REMEMBERED_ANSWERS = 10_000


class CachedStatusList(msgspec.Struct):
    """A status list as fetched (the signed token, verified again when it is loaded)."""

    token: str
    etag: str | None = None


class LaneState(msgspec.Struct, kw_only=True):
    """What the lane keeps between runs (the state file)."""

    keys: list[dict[str, Any]] = msgspec.field(default_factory=list)
    # Revoked token id -> the token's expiry (Unix seconds); forgotten once it cannot pass.
    revoked: dict[str, int] = msgspec.field(default_factory=dict)
    revocations_cursor: str = "0"
    refreshed_at: datetime | None = None
    # The last good copy of each status list, by its URI.
    status_lists: dict[str, CachedStatusList] = msgspec.field(default_factory=dict)
    # Single-entry uses already moved out of the spool by a sync.
    used: list[SingleEntryUse] = msgspec.field(default_factory=list)
    # Peer agencies whose clearances are accepted here, with their signed trust lists.
    peers: list[LanePeer] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Synced:
    """One spooled decision as the lane took it and as the server recorded it."""

    event_id: uuid.UUID
    local: VerifyAnswer | TripVerifyAnswer
    central: VerifyAnswer | TripVerifyAnswer

    @property
    def agrees(self) -> bool:
        return self.local.decision == self.central.decision and _codes(self.local) == _codes(
            self.central
        )


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What a refresh fetched: lists that changed, and lists refused (URI -> why), whose last
    good copy the lane keeps using until its ``exp``."""

    updated: tuple[str, ...]
    refused: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SyncReport:
    recorded: tuple[Synced, ...]
    rejected: tuple[uuid.UUID, ...]  # refused by the server (422), kept in the .rejected file
    remaining: int  # still in the spool (decided while this sync ran)

    @property
    def disagreements(self) -> tuple[Synced, ...]:
        return tuple(synced for synced in self.recorded if not synced.agrees)


def _codes(answer: VerifyAnswer | TripVerifyAnswer) -> list[str]:
    return [reason.code for reason in answer.reasons]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _still_presentable(expires_at: int, now: int) -> bool:
    """Whether a token expiring at ``expires_at`` could still pass the checks' expiry test."""
    return expires_at + CLOCK_LEEWAY > now


_STATE_DECODER = msgspec.json.Decoder(LaneState)
_ENCODE = msgspec.json.Encoder()


class OfflineVerifier:
    """Verifies clearance tokens at one lane from cached keys and revocations.

    ``lane`` is used only by :meth:`refresh` and :meth:`sync` and may be replaced at any time
    (for example by a client for a standby server). ``state_path`` holds the keys, revocations
    and single-entry record; ``spool_path`` (default: ``state_path`` + ``.spool``) the decisions
    not yet synced. Both hold personal data (tokens, document numbers): they are created with
    mode 0600 and belong on the lane's own disk.
    """

    def __init__(
        self,
        lane: LaneClient,
        *,
        port: str,
        issuer: str,
        state_path: str | Path,
        spool_path: str | Path | None = None,
        max_age: timedelta = DEFAULT_MAX_AGE,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.lane = lane
        self.port = port
        self.issuer = issuer
        self.max_age = max_age
        self._clock = clock
        self._state_path = Path(state_path)
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._state = (
            _STATE_DECODER.decode(self._state_path.read_bytes())
            if self._state_path.exists()
            else LaneState()
        )
        self._keys = public_keys(self._state.keys)
        self._lists = self._verified_lists(self._state.status_lists, self._keys)
        self.refused_lists: dict[str, str] = {}
        self._peers = _peer_trust(self._state.peers, self._clock())
        spool = (
            Path(spool_path)
            if spool_path
            else self._state_path.with_name(self._state_path.name + ".spool")
        )
        self._spool = Spool(spool, SpoolEntry)
        self._trip_spool = Spool(spool.with_name(spool.name + ".trips"), TripSpoolEntry)
        pending = self._spool.entries()
        pending_trips = self._trip_spool.entries()
        self._used = {(use.clearance_id, use.direction): use for use in self._state.used}
        self._used.update(
            {(e.use.clearance_id, e.use.direction): e.use for e in pending if e.use is not None}
        )
        self._used.update(
            {(use.clearance_id, use.direction): use for e in pending_trips for use in e.uses}
        )
        self._answers: OrderedDict[uuid.UUID, SpoolEntry] = OrderedDict(
            (entry.event_id, entry) for entry in pending
        )
        self._trip_answers: OrderedDict[uuid.UUID, TripSpoolEntry] = OrderedDict(
            (entry.event_id, entry) for entry in pending_trips
        )

    # --- the cache ------------------------------------------------------------------------

    def refresh(self) -> RefreshReport:
        """Fetch the key set, the revocations since the last refresh and the status lists that
        changed, then save them.

        Raises the client's error (``ConnectionFailedError`` when the link is down) and keeps
        the data it had: the lane goes on verifying, and :meth:`data_age` keeps growing.
        """
        started = self._clock()
        keys = self.lane.jwks().get("keys")
        if not isinstance(keys, list):
            raise ValueError("the key set has no 'keys' list")
        verification = public_keys(keys)
        cached, verified, updated, refused = self._fetch_lists(verification, started)
        peers = self.lane.peers().items
        cursor = self._state.revocations_cursor
        revoked = dict(self._state.revoked)
        while True:
            page = self.lane.revocations(since=cursor)
            for item in page.items:
                expires_at = int(item.expires_at.timestamp())
                revoked[item.jti] = expires_at
                if item.clearance_id is not None:  # how trip tokens name their members
                    revoked[str(item.clearance_id)] = expires_at
            if not page.items or page.next_cursor is None:
                break
            cursor = page.next_cursor
        with self._lock:
            now = int(started.timestamp())
            self._state = LaneState(
                keys=[dict(key) for key in keys],
                revoked={
                    jti: expires_at
                    for jti, expires_at in sorted(revoked.items())
                    if _still_presentable(expires_at, now)
                },
                revocations_cursor=cursor,
                refreshed_at=started,
                status_lists=cached,
                used=[use for use in self._state.used if _still_presentable(use.expires_at, now)],
                peers=peers,
            )
            self._save_state()
            self._keys = verification
            self._lists = verified
            self._peers = _peer_trust(peers, started)
            for uri in updated:
                self.refused_lists.pop(uri, None)
            self.refused_lists.update(refused)
        return RefreshReport(updated=tuple(updated), refused=refused)

    def _fetch_lists(
        self, keys: Mapping[str, ec.EllipticCurvePublicKey], started: datetime
    ) -> tuple[
        dict[str, CachedStatusList], dict[str, VerifiedStatusList], list[str], dict[str, str]
    ]:
        """Every list of this issuer, fetched only if it changed and kept only if it verifies."""
        now = int(started.timestamp())
        cached = dict(self._state.status_lists)
        verified = dict(self._lists)
        updated: list[str] = []
        refused: dict[str, str] = {}
        for uri in self.lane.status_lists().status_lists:
            number = list_number(self.issuer, uri)
            if number is None:  # another issuer's list: not ours to vouch for
                continue
            held = cached.get(uri)
            etag = held.etag if held is not None and uri in verified else None
            fetched = self.lane.status_list(number, etag)
            if fetched.token is None:
                continue
            checked = verify_status_list(
                fetched.token, keys=keys, uri=uri, now=now, leeway=CLOCK_LEEWAY
            )
            if isinstance(checked, TokenFailure):
                refused[uri] = f"{checked.code}: {checked.message}"
                continue
            cached[uri] = CachedStatusList(fetched.token, fetched.etag)
            verified[uri] = checked
            updated.append(uri)
        return cached, verified, updated, refused

    def _verified_lists(
        self, cached: Mapping[str, CachedStatusList], keys: Mapping[str, ec.EllipticCurvePublicKey]
    ) -> dict[str, VerifiedStatusList]:
        """The lists kept in the state file that still verify (an expired one does not)."""
        now = int(self._clock().timestamp())
        lists: dict[str, VerifiedStatusList] = {}
        for uri, held in cached.items():
            checked = verify_status_list(held.token, keys=keys, uri=uri, now=now, leeway=0)
            if not isinstance(checked, TokenFailure):
                lists[uri] = checked
        return lists

    def _status_of(self, reference: StatusListReference, now: int) -> int | str:
        """The token's status from the lists held: malformed when the list is not this
        issuer's or the index is outside it, stale when the list is not held or has expired."""
        if list_number(self.issuer, reference.uri) is None:
            return "token_malformed"
        held = self._lists.get(reference.uri)
        if held is None or (held.expires_at is not None and held.expires_at <= now):
            return STALE
        try:
            return held.statuses.get(reference.idx)
        except IndexError:
            return "token_malformed"

    def _save_state(self) -> None:
        write_atomically(self._state_path, _ENCODE.encode(self._state))

    def data_age(self) -> timedelta | None:
        """How old the keys and revocations are; None if they were never fetched."""
        refreshed = self._state.refreshed_at
        return None if refreshed is None else self._clock() - refreshed

    def is_stale(self) -> bool:
        age = self.data_age()
        return age is None or age > self.max_age

    @property
    def key_count(self) -> int:
        return len(self._keys)

    @property
    def revoked_count(self) -> int:
        return len(self._state.revoked)

    # --- deciding -------------------------------------------------------------------------

    def verify(
        self,
        token: str,
        direction: Literal["entry", "exit"],
        *,
        event_id: uuid.UUID | None = None,
        document: PresentedDocument | None = None,
        mrz: str | None = None,
        plate: str | None = None,
        observed_at: datetime | None = None,
    ) -> VerifyAnswer:
        """Decide a token here and now; the decision is spooled (fsynced) before it is returned.

        The same ``event_id`` again returns the first answer and spools nothing new, as the
        server does; with a different question it raises ``ValueError``. So does an
        ``observed_at`` outside the clearance's validity, which the server would refuse (422).
        """
        now = self._clock()
        request = question(
            token,
            direction,
            event_id=event_id,
            document=document,
            mrz=mrz,
            plate=plate,
            observed_at=observed_at or now,
        )
        with self._lock:
            earlier = self._answers.get(request.event_id)
            if earlier is not None:
                return _replayed(earlier, request)
            result = check(
                token,
                lane_port=self.port,
                presented=presented(request),
                keys=self._keys,
                issuer=self.issuer,
                audience=LANE_AUDIENCE,
                revoked=self._state.revoked,
                status_of=partial(self._status_of, now=int(now.timestamp())),
                now=int(now.timestamp()),
                today=now.date(),
                peers=self._peers,
            )
            if not observed_in_validity(result, int((observed_at or now).timestamp())):
                raise ValueError(f"observed_at {OUTSIDE_VALIDITY}")
            decided = self._decide(result, direction, now)
            entry = SpoolEntry(request=request, answer=decided.answer, use=decided.use)
            self._spool.append(entry)
            if entry.use is not None:
                self._used[(entry.use.clearance_id, entry.use.direction)] = entry.use
            self._remember(entry)
            return entry.answer

    def _decide(self, result: LaneCheck, direction: str, now: datetime) -> _Decided:
        claims = result.claims
        # A set: the check may have found a list stale already, and a code is given once.
        codes = set(result.codes)
        single = claims is not None and claims.entries == "single"
        if claims is not None and single and (claims.clearance_id, direction) in self._used:
            codes.add(ALREADY_USED)
        if self.is_stale():
            codes.add(STALE)
        found = ordered(codes)
        decision = decision_of(found)
        use = None
        if claims is not None and single and decision == "green":
            use = SingleEntryUse(claims.clearance_id, direction, claims.expires_at)
        given = answer(
            Reply(
                decision=decision,
                codes=found,
                mode="degraded",
                checked_at=now,
                clearance_id=uuid.UUID(claims.clearance_id) if claims else None,
                holder=token_holder(claims) if claims is not None and decision != "deny" else None,
            )
        )
        return _Decided(given, use)

    def _remember(self, entry: SpoolEntry) -> None:
        self._answers[entry.event_id] = entry
        if len(self._answers) > _REMEMBERED_ANSWERS:
            self._answers.popitem(last=False)

    def verify_trip(
        self,
        token: str,
        direction: Literal["entry", "exit"],
        *,
        plate: str,
        documents: list[ScannedDocument],
        event_id: uuid.UUID | None = None,
        observed_at: datetime | None = None,
    ) -> TripVerifyAnswer:
        """Decide a trip here and now, as :meth:`verify` decides a clearance: spooled (fsynced)
        first, the same event id answered again, ``observed_at`` outside the token's validity
        refused (``ValueError``). A document scanned twice is a ``ValueError`` too (the server
        answers it 422)."""
        now = self._clock()
        request = trip_question(
            token,
            direction,
            plate=plate,
            documents=documents,
            event_id=event_id,
            observed_at=observed_at or now,
        )
        with self._lock:
            earlier = self._trip_answers.get(request.event_id)
            if earlier is not None:
                if earlier.request != request:
                    raise ValueError("event_id already used by this lane for a different trip")
                return earlier.answer
            result = check_trip(
                token,
                lane_port=self.port,
                direction=direction,
                plate=plate,
                documents=[document.presented() for document in documents],
                keys=self._keys,
                issuer=self.issuer,
                audience=LANE_AUDIENCE,
                revoked=self._state.revoked,
                status_of=partial(self._status_of, now=int(now.timestamp())),
                now=int(now.timestamp()),
                today=now.date(),
                peers=self._peers,
            )
            moment = int((observed_at or now).timestamp())
            if result.claims is not None and not trip_valid_at(result.claims, moment):
                raise ValueError("observed_at must fall within the trip token's validity")
            entry = self._decide_trip(request, result, direction, now)
            self._trip_spool.append(entry)
            for use in entry.uses:
                self._used[(use.clearance_id, use.direction)] = use
            self._trip_answers[entry.event_id] = entry
            if len(self._trip_answers) > _REMEMBERED_ANSWERS:
                self._trip_answers.popitem(last=False)
            return entry.answer

    def _decide_trip(
        self, request: TripVerifyRequest, result: TripCheck, direction: str, now: datetime
    ) -> TripSpoolEntry:
        members = []
        for member in result.members:
            codes = list(member.codes)
            if member.single_entry and (member.clearance_id, direction) in self._used:
                codes.append(ALREADY_USED)
            found = ordered(codes)
            members.append((member, found))
        trip_codes = ordered({*result.codes, *([STALE] if self.is_stale() else [])})
        decision = decision_of((*trip_codes, *(code for _, found in members for code in found)))
        claims = result.claims
        uses = [
            SingleEntryUse(member.clearance_id, direction, claims.expires_at)
            for member, _ in members
            if claims is not None and member.single_entry and decision == "green"
        ]
        given = trip_answer(
            TripReply(
                decision=decision,
                codes=trip_codes,
                mode="degraded",
                checked_at=now,
                trip_id=uuid.UUID(claims.trip_id) if claims is not None else None,
                members=[
                    MemberReply(
                        role=member.role,
                        decision=decision_of(found),
                        codes=found,
                        clearance_id=uuid.UUID(member.clearance_id),
                    )
                    for member, found in members
                ],
            )
        )
        return TripSpoolEntry(request=request, answer=given, uses=uses)

    # --- syncing --------------------------------------------------------------------------

    def pending(self) -> int:
        """How many decisions wait in the spool for the server."""
        with self._lock:
            return len(self._spool.entries()) + len(self._trip_spool.entries())

    def sync(self) -> SyncReport:
        """Send every spooled decision to the server; safe to repeat, and after a crash.

        Entries leave the spool only once the server has answered them. A request the server
        refuses for good (422, e.g. ``observed_at`` older than it accepts) moves to the
        ``.rejected`` file. Any other failure stops the sync and is raised, after what was
        acknowledged so far has been taken off the spool.
        """
        with self._sync_lock:
            recorded: list[Synced] = []
            refused: list[uuid.UUID] = []
            self._sync_from(
                self._spool,
                lambda entry: self.lane.verify_request(entry.request),
                lambda entry: [entry.use] if entry.use is not None else [],
                recorded,
                refused,
            )
            self._sync_from(
                self._trip_spool,
                lambda entry: self.lane.verify_trip_request(entry.request),
                lambda entry: entry.uses,
                recorded,
                refused,
            )
            return SyncReport(tuple(recorded), tuple(refused), self.pending())

    def _sync_from(
        self,
        spool: Spool[E],
        send: Callable[[E], VerifyAnswer | TripVerifyAnswer],
        uses_of: Callable[[E], list[SingleEntryUse]],
        recorded: list[Synced],
        refused: list[uuid.UUID],
    ) -> None:
        with self._lock:
            pending = spool.entries()
        acknowledged: list[E] = []
        rejected: list[E] = []
        try:
            for entry in pending:
                try:
                    central = send(entry)
                except ValidationError:
                    rejected.append(entry)
                    refused.append(entry.event_id)
                else:
                    acknowledged.append(entry)
                    recorded.append(Synced(entry.event_id, entry.answer, central))
                if len(acknowledged) + len(rejected) >= CHECKPOINT_EVERY:
                    self._settle(spool, uses_of, acknowledged, rejected)
                    acknowledged, rejected = [], []
        finally:
            self._settle(spool, uses_of, acknowledged, rejected)

    def _settle(
        self,
        spool: Spool[E],
        uses_of: Callable[[E], list[SingleEntryUse]],
        acknowledged: list[E],
        rejected: list[E],
    ) -> None:
        """Take entries off the spool, first moving their single-entry uses into the state so
        that a crash between the two writes loses no use (it would only be kept twice)."""
        with self._lock:
            uses: list[SingleEntryUse] = [
                use for entry in acknowledged + rejected for use in uses_of(entry)
            ]
            if uses:
                self._state.used = [*self._state.used, *uses]
                self._save_state()
            spool.settle([entry.event_id for entry in acknowledged], rejected)


def _peer_trust(peers: list[LanePeer], now: datetime) -> dict[str, PeerTrust]:
    """Each peer's trust, from a list verified here against the anchors the server trusts for
    it, and its status lists verified with that list's keys; a trust list that does not verify
    is left out (its clearances are then ``issuer_untrusted``)."""
    moment = int(now.timestamp())
    trusted: dict[str, PeerTrust] = {}
    for peer in peers:
        try:
            listed = read_trust_list(
                peer.trust_list, issuer=peer.issuer, trusted=set(peer.anchors), now=None
            )
        except DocumentRefused:
            continue
        tokens = {_status_list_uri(token): token for token in peer.status_lists}
        lists = peer_lists(listed, tokens, moment)
        declared = frozenset(listed.status_lists)
        agreement = peer.agreement
        trusted[peer.issuer] = peer_trust(
            listed,
            country=peer.country,
            ports=agreement.ports,
            categories=agreement.categories,
            valid_from=agreement.valid_from,
            valid_until=agreement.valid_until,
            now=moment,
            status_of=partial(_peer_status, declared, lists),
        )
    return trusted


def _peer_status(
    declared: frozenset[str],
    lists: dict[str, VerifiedStatusList],
    reference: StatusListReference,
) -> int | str:
    return peer_status(declared, lists, reference, int(time.time()))


def _status_list_uri(token: str) -> str:
    """The ``sub`` a status list names itself by; it is checked when the list is verified."""
    return claimed_subject(token) or ""


@dataclass(frozen=True, slots=True)
class _Decided:
    answer: VerifyAnswer
    use: SingleEntryUse | None


def _replayed(earlier: SpoolEntry, request: VerifyRequest) -> VerifyAnswer:
    asked = earlier.request
    same = (asked.token, asked.direction, asked.document, asked.mrz, asked.plate) == (
        request.token,
        request.direction,
        request.document,
        request.mrz,
        request.plate,
    )
    if not same:
        raise ValueError("event_id already used by this lane for a different verification")
    return earlier.answer
