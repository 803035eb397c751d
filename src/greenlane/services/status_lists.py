"""Token Status Lists on the server: indices handed out, statuses set, lists signed once and
served from every worker's memory.

**Issuing.** :func:`allocate` gives a new token the next position of the lowest-numbered list
with room, at the index a keyed permutation puts it (``domain/status_list.scattered_index``):
spread over the whole list, never twice. Lists are made at a fixed size
(``GREENLANE_STATUS_LIST_SIZE``) with every index VALID, so a list's size says nothing about
how many tokens exist; when one is full the next is made.

**Changing a status.** :func:`set_status` writes the status and counts a new version of the
list, in the caller's transaction, and announces the list. Nothing is signed there.

**Signing, once.** A worker that hears of a list whose version is ahead of its signed version
(or whose signature is older than :data:`REFRESH`) locks it with ``SKIP LOCKED``, builds the
list from ``token_statuses``, signs it with the active clearance key and stores the token; the
others skip it. The store is announced, and every worker loads the stored token: all serve the
same bytes, so an ETag means the same thing on every worker and every host.

**Within a second, everywhere.** The writer's worker applies its own change at commit (before
the admin's answer), the others hear the NOTIFY within milliseconds, and every worker also
compares the lists' versions with what it serves once a second (:data:`CHECK_INTERVAL`): a
notification lost while the LISTEN connection was down (it does not survive a PostgreSQL
restart) costs at most that second.

**Reading.** ``POST /v1/verify`` asks :meth:`PublishedLists.status_of`, a dictionary look-up
and a shift: no I/O.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec

from greenlane.db import signing_keys as keys_db
from greenlane.db import status_lists as lists_db
from greenlane.db.pool import Connection, Database
from greenlane.domain.clearance_token import CLOCK_LEEWAY
from greenlane.domain.crypto import base64url
from greenlane.domain.jws import TokenFailure
from greenlane.domain.status_list import (
    StatusList,
    StatusListReference,
    list_uri,
    scattered_index,
    sign_status_list,
    verify_status_list,
)
from greenlane.services.background import keep_cancellation, stop_tasks
from greenlane.services.keyring import KeyRing
from greenlane.services.live_state import notify, notify_others

TOPIC = "status_lists"
BITS = 2  # valid, revoked, suspended
# A list is signed again at least this often, so that its iat is recent and its exp far away.
REFRESH = timedelta(hours=1)
# exp = iat + VALIDITY: how long a lane cut off from the centre may go on trusting a list. A list
# is at most REFRESH old when fetched, so it stays good for at least 24 hours after any fetch:
# the offline lane's default max_age, which then decides first.
VALIDITY = REFRESH + timedelta(hours=24)
CHECK_INTERVAL = 1.0
PERMUTATION_KEY_BYTES = 32
AGGREGATION_PATH = "/v1/status-lists"
_logger = logging.getLogger("greenlane.status_lists")


@dataclass(frozen=True, slots=True)
class Entry:
    """A token's place: list number and index."""

    list_id: int
    idx: int

    def reference(self, issuer: str) -> StatusListReference:
        """The token's ``status.status_list`` claim."""
        return StatusListReference(idx=self.idx, uri=list_uri(issuer, self.list_id))


async def allocate(conn: Connection, *, size: int, expires_at: datetime) -> Entry:
    """A fresh place for a token expiring at ``expires_at``, in the caller's transaction; the
    list is locked until it commits (issuers take turns, briefly)."""
    row = await lists_db.open_list_for_update(conn)
    if row is None:
        number = await lists_db.create_list(
            conn, size=size, bits=BITS, permutation_key=secrets.token_bytes(PERMUTATION_KEY_BYTES)
        )
        await notify(conn, TOPIC, str(number))
        row = await lists_db.open_list_for_update(conn)
        assert row is not None  # made or found under the lock, and this transaction holds it
    idx = scattered_index(bytes(row["permutation_key"]), row["allocated"], row["size"])
    await lists_db.take_position(conn, row["id"])
    await lists_db.insert_entry(conn, row["id"], idx, expires_at)
    return Entry(list_id=row["id"], idx=idx)


async def set_status(conn: Connection, list_id: int, idx: int, status: int) -> None:
    """Set a token's status in the caller's transaction; every worker hears of it at commit.

    It locks the list's version until the transaction ends: call it after the transaction's
    audit entry, in the lock order of ``db/locks.py``.
    """
    if await lists_db.set_status(conn, list_id, idx, status):
        await notify(conn, TOPIC, str(list_id))


async def ensure_status_list(db: Database, size: int) -> None:
    """A fresh database gets its first (empty) list at start, so that it is published before
    the first token points at it."""
    async with db.transaction() as conn:
        if not await lists_db.versions(conn):
            await lists_db.create_list(
                conn,
                size=size,
                bits=BITS,
                permutation_key=secrets.token_bytes(PERMUTATION_KEY_BYTES),
            )


@dataclass(frozen=True, slots=True)
class Served:
    """One signed list as every worker serves it: the token, gzipped once, and its ETag."""

    number: int
    version: int
    token: bytes
    gzipped: bytes
    etag: str
    expires_at: datetime
    statuses: StatusList


def _etag(token: bytes) -> str:
    # Weak: the gzipped and the plain body are the same list, and If-None-Match compares weakly.
    return f'W/"{base64url(hashlib.sha256(token).digest()[:12])}"'


class PublishedLists:
    """This worker's signed lists, what it serves and what verify reads."""

    def __init__(self, db: Database, keyring: KeyRing, *, issuer: str, ttl: int) -> None:
        self._db = db
        self._keyring = keyring
        self._issuer = issuer
        self.ttl = ttl
        self.served: dict[int, Served] = {}
        self._by_uri: dict[str, StatusList] = {}
        self.aggregation = b'{"status_lists":[]}'
        self._task: asyncio.Task[None] | None = None
        self._sync_lock = asyncio.Lock()

    # --- the hot path -------------------------------------------------------------------

    def status_of(self, reference: StatusListReference) -> int | str:
        """The status at the reference, or ``token_malformed`` when the list is not one of
        ours or the index is outside it (the draft: no statement, reject the token)."""
        statuses = self._by_uri.get(reference.uri)
        if statuses is None:
            return "token_malformed"
        try:
            return statuses.get(reference.idx)
        except IndexError:
            return "token_malformed"

    # --- keeping current ----------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="greenlane-status-lists")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])

    async def reload_all(self) -> None:
        await self.sync()

    async def on_change(self, _key: str) -> None:
        await self.sync()

    async def _run(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            try:
                await self.sync()
            except Exception as exc:  # the database is away: the next round tries again
                keep_cancellation()
                if not failing:  # once per outage, not once a second
                    _logger.warning("status list check failed", exc_info=(type(exc), exc, None))
                failing = True
            else:
                failing = False

    async def sync(self) -> None:
        """Sign what needs signing (if no other worker is), then load what is newer than what
        this worker serves. One at a time: a notification and the check may arrive together."""
        async with self._sync_lock:
            async with self._db.connection() as conn:
                rows = await lists_db.versions(conn)
            now = datetime.now(UTC)
            for row in rows:
                if row["signed_version"] < row["version"] or (
                    row["signed_at"] is None or row["signed_at"] < now - REFRESH
                ):
                    await self._sign(row["id"])
            async with self._db.connection() as conn:
                rows = await lists_db.versions(conn)
                for row in rows:
                    held = self.served.get(row["id"])
                    if held is None or held.version != row["signed_version"]:
                        stored = await lists_db.signed(conn, row["id"])
                        if stored is not None:
                            self._load(stored["id"], stored["signed_version"], stored["token"])
            self._publish_index()

    async def _sign(self, list_id: int) -> None:
        signer = self._keyring.signer
        if signer is None:
            return
        now = datetime.now(UTC)
        expires_at = now + VALIDITY
        async with self._db.transaction() as conn:
            # A list signed by a key that is retiring keeps that key published until it
            # expires. First, before the list's lock: a key's row is locked by issuers too, who
            # may wait for the audit log's lock, held by writers waiting for this list's.
            await keys_db.extend_retirement(conn, signer.kid, expires_at)
            row = await lists_db.lock_for_signing(conn, list_id, signed_before=now - REFRESH)
            if row is None:  # signed meanwhile, or being signed by another worker
                return
            statuses = StatusList(row["size"], row["bits"])
            for entry in await lists_db.statuses_to_publish(conn, list_id, now):
                statuses.set(entry["idx"], entry["status"])
            token = sign_status_list(
                statuses,
                uri=list_uri(self._issuer, list_id),
                issued_at=int(now.timestamp()),
                expires_at=int(expires_at.timestamp()),
                ttl=self.ttl,
                private_key=signer.private_key,
                kid=signer.kid,
                aggregation_uri=self._issuer + AGGREGATION_PATH,
            )
            await lists_db.store_signed(
                conn,
                list_id,
                version=row["version"],
                token=token,
                kid=signer.kid,
                signed_at=now,
                expires_at=expires_at,
            )
            # The others load it on hearing this; this worker does right after (sync's second
            # pass), and must not be handed its own change again while it holds the sync lock.
            await notify_others(conn, TOPIC, str(list_id))

    def _load(self, number: int, version: int, token: str) -> None:
        uri = list_uri(self._issuer, number)
        verified = verify_status_list(
            token,
            keys=self._keyring.verification,
            uri=uri,
            now=int(time.time()),
            leeway=CLOCK_LEEWAY,
        )
        if isinstance(verified, TokenFailure):
            # Signed by a key this worker has not heard of yet, or expired while no worker could
            # sign: keep serving what it had; the next check tries again.
            _logger.warning("stored status list %d not loaded: %s", number, verified.message)
            return
        body = token.encode("ascii")
        self.served[number] = Served(
            number=number,
            version=version,
            token=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            etag=_etag(body),
            expires_at=datetime.fromtimestamp(verified.expires_at or 0, UTC),
            statuses=verified.statuses,
        )
        self._by_uri = {**self._by_uri, uri: verified.statuses}

    def _publish_index(self) -> None:
        uris = [list_uri(self._issuer, number) for number in sorted(self.served)]
        self.aggregation = msgspec.json.encode({"status_lists": uris})
