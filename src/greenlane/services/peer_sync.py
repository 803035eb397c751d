"""Talking to peer agencies: fetching their trust lists, sending them crossing receipts.

Every worker runs :meth:`PeerSync.run`; the database decides which one does each piece of
work, so one worker at a time fetches a peer's list (``agencies.refresh_due_at`` is a lease the
worker moves forward before it fetches) and one sends each receipt (the outbox row is leased
the same way, ``FOR UPDATE SKIP LOCKED``). Nothing is held open while a peer is slow.

Every call to a peer has a timeout, a size limit and no redirect to another host (a redirect
within the same scheme, host and port is followed, up to three). A list that cannot be fetched
or is refused changes nothing but the record of the attempt: the last good list stays in use
until its own ``exp``, and ``/health/ready`` and the metrics say so. A receipt that cannot be
delivered stays in the outbox and is tried again with backoff, for as long as it takes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from prometheus_client import Counter, Gauge

from greenlane.db import agencies as agencies_db
from greenlane.db import federation_outbox as outbox_db
from greenlane.db.codecs import jsonb
from greenlane.db.pool import Database
from greenlane.domain.federation import (
    CLOCK_LEEWAY,
    MAX_TRUST_LIST_BYTES,
    RECEIPT_TYPE,
    DocumentRefused,
    Receipt,
    TrustList,
    read_trust_list,
    sign,
    trust_list_keys,
)
from greenlane.domain.jws import TokenFailure
from greenlane.domain.status_list import MEDIA_TYPE as STATUS_LIST_TYPE
from greenlane.domain.status_list import verify_status_list
from greenlane.services.background import keep_cancellation
from greenlane.services.federation import trusted_anchors
from greenlane.services.live_state import notify
from greenlane.services.trust_list import TRUST_LIST_CONTENT_TYPE, TrustListPublisher

TICK = 1.0
MAX_REDIRECTS = 3
RECEIPTS_PATH = "/v1/federation/crossings"
# A peer names a handful of status lists; each is small once compressed (a million clearances
# at two bits are 256 KiB before compression, and almost all zeros).
MAX_STATUS_LISTS = 64
MAX_STATUS_LIST_BYTES = 2 * 1024 * 1024
RECEIPT_BATCH = 50
RECEIPT_LEASE = timedelta(seconds=60)
MAX_RECEIPT_BACKOFF = 60.0
_logger = logging.getLogger("greenlane.federation")

REFUSALS = Counter(
    "greenlane_peer_trust_list_refusals_total",
    "Peer trust-list fetches that failed or were refused, by peer and reason",
    ["peer", "reason"],
)
RECEIPTS = Counter(
    "greenlane_federation_receipts_total",
    "Crossing receipts sent to peers, by outcome (delivered, retried, dropped)",
    ["outcome"],
)
OUTBOX = Gauge(
    "greenlane_federation_receipts_pending",
    "Crossing receipts waiting in the outbox for their peer",
    multiprocess_mode="max",
)


class FetchFailed(Exception):
    """A peer's document could not be fetched; ``reason`` is short and stable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def fetch(
    client: httpx.AsyncClient, url: str, *, limit: int, accept: str = TRUST_LIST_CONTENT_TYPE
) -> str:
    """GET ``url``: redirects only within its origin, at most ``limit`` bytes."""
    origin = httpx.URL(url)
    target = origin
    for _ in range(MAX_REDIRECTS + 1):
        async with client.stream("GET", target, headers={"Accept": accept}) as got:
            if got.is_redirect:
                target = target.join(got.headers.get("location", ""))
                if (target.scheme, target.host, target.port) != (
                    origin.scheme,
                    origin.host,
                    origin.port,
                ):
                    raise FetchFailed("redirected_elsewhere")
                continue
            if got.status_code != 200:
                raise FetchFailed(f"http_{got.status_code}")
            declared = got.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise DocumentRefused("oversized", f"over {limit} bytes")
            body = bytearray()
            async for chunk in got.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise DocumentRefused("oversized", f"over {limit} bytes")
            try:
                return body.decode("ascii").strip()
            except UnicodeDecodeError:
                raise DocumentRefused("malformed", "not a compact JWS") from None
    raise FetchFailed("too_many_redirects")


class PeerSync:
    def __init__(
        self,
        db: Database,
        publisher: TrustListPublisher,
        *,
        issuer: str,
        refresh_every: float,
        timeout: float,
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._issuer = issuer
        self._every = timedelta(seconds=refresh_every)
        self._retry = timedelta(seconds=min(refresh_every, 30.0))
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def run(self) -> None:
        while True:
            try:
                await self.refresh_due()
                await self.send_receipts()
            except Exception as exc:  # the database is away: try again on the next tick
                keep_cancellation()
                _logger.warning("federation round failed", exc_info=(type(exc), exc, None))
            await asyncio.sleep(TICK)

    # --- trust lists ------------------------------------------------------------------------

    async def refresh_due(self) -> None:
        async with self._db.transaction() as conn:
            due = await agencies_db.claim_due(conn, every=self._every)
        for row in due:
            await self._refresh(row)

    async def _refresh(self, row: asyncpg.Record) -> None:
        agency_id = row["id"]
        try:
            # Bounded as a whole too: a peer that drips bytes within each read's timeout.
            async with asyncio.timeout(self._timeout * 2):
                token = await fetch(self._client, row["trust_list_url"], limit=MAX_TRUST_LIST_BYTES)
            listed = read_trust_list(
                token,
                issuer=row["issuer"],
                trusted=trusted_anchors(row),
                now=int(datetime.now(UTC).timestamp()),
            )
        except (FetchFailed, DocumentRefused, httpx.HTTPError, TimeoutError) as failed:
            reason = _reason(failed)
            REFUSALS.labels(row["country"], reason).inc()
            _logger.warning(
                "peer trust list not taken",
                extra={"fields": {"peer": row["country"], "reason": reason}},
            )
            async with self._db.transaction() as conn:
                await agencies_db.store_refusal(conn, agency_id, refused=reason)
                await agencies_db.due_soon(conn, agency_id, datetime.now(UTC) + self._retry)
                await notify(conn, "peers", str(agency_id))
            return
        lists, ttl = await self._status_lists(row, listed)
        async with self._db.transaction() as conn:
            await agencies_db.store_list(
                conn, agency_id, token=token, expires_at=datetime.fromtimestamp(listed.exp, UTC)
            )
            for uri, (held, expires_at) in lists.items():
                await agencies_db.store_status_list(
                    conn, agency_id, uri=uri, token=held, expires_at=expires_at
                )
            if ttl is not None:  # the peer says how long its statuses may be cached: no longer
                await agencies_db.due_soon(
                    conn, agency_id, datetime.now(UTC) + timedelta(seconds=ttl)
                )
            await notify(conn, "peers", str(agency_id))

    async def _status_lists(
        self, row: asyncpg.Record, listed: TrustList
    ) -> tuple[dict[str, tuple[str, datetime | None]], int | None]:
        """The peer's status lists that its trust list names, each verified with that list's
        keys, and the shortest ``ttl`` among them. A list that cannot be had is left as it
        was: its last good copy serves until it expires."""
        now = int(datetime.now(UTC).timestamp())
        keys = trust_list_keys(listed, now)
        home = httpx.URL(row["trust_list_url"])
        taken: dict[str, tuple[str, datetime | None]] = {}
        ttl: int | None = None
        for uri in listed.status_lists[:MAX_STATUS_LISTS]:
            where = httpx.URL(uri)
            if (where.scheme, where.host, where.port) != (home.scheme, home.host, home.port):
                REFUSALS.labels(row["country"], "status_list_elsewhere").inc()
                continue
            try:
                async with asyncio.timeout(self._timeout * 2):
                    token = await fetch(
                        self._client, uri, limit=MAX_STATUS_LIST_BYTES, accept=STATUS_LIST_TYPE
                    )
            except (FetchFailed, DocumentRefused, httpx.HTTPError, TimeoutError) as failed:
                REFUSALS.labels(row["country"], "status_list_" + _reason(failed)).inc()
                continue
            verified = verify_status_list(token, keys=keys, uri=uri, now=now, leeway=CLOCK_LEEWAY)
            if isinstance(verified, TokenFailure):
                REFUSALS.labels(row["country"], "status_list_" + verified.code).inc()
                continue
            expires = verified.expires_at
            taken[uri] = (token, datetime.fromtimestamp(expires, UTC) if expires else None)
            if verified.ttl is not None:
                ttl = verified.ttl if ttl is None else min(ttl, verified.ttl)
        return taken, ttl

    # --- receipts ---------------------------------------------------------------------------

    async def send_receipts(self) -> None:
        anchor = self._publisher.anchor
        if anchor is None:
            return
        async with self._db.transaction() as conn:
            owed = await outbox_db.claim_due(conn, limit=RECEIPT_BATCH, lease=RECEIPT_LEASE)
            pending = await outbox_db.depth(conn)
            peers = {row["issuer"]: row for row in await agencies_db.everything(conn)}
        OUTBOX.set(pending)
        for row in owed:
            peer = peers.get(row["issuer"])
            issued = int(datetime.now(UTC).timestamp())
            receipt = Receipt(
                iss=self._issuer, aud=row["issuer"], iat=issued, **jsonb(row["receipt"])
            )
            token = sign(receipt, anchor.private_key, RECEIPT_TYPE)
            outcome = await self._deliver(peer, token)
            async with self._db.transaction() as conn:
                if outcome is None:
                    await outbox_db.delivered(conn, row["id"])
                    RECEIPTS.labels("delivered").inc()
                elif outcome == "dropped":
                    await outbox_db.delivered(conn, row["id"])
                    RECEIPTS.labels("dropped").inc()
                    _logger.warning("receipt refused for good by its peer")
                else:
                    backoff = min(2.0 ** row["attempts"], MAX_RECEIPT_BACKOFF)
                    at = datetime.now(UTC) + timedelta(seconds=backoff)
                    await outbox_db.retry_at(conn, row["id"], at, outcome)
                    RECEIPTS.labels("retried").inc()

    async def _deliver(self, peer: asyncpg.Record | None, token: str) -> str | None:
        """None when delivered; ``"dropped"`` when the peer refused it for good; else why it
        should be tried again."""
        if peer is None:
            return "agency_unknown"  # deleted meanwhile: kept, in case it is registered again
        url = httpx.URL(peer["trust_list_url"]).copy_with(path=RECEIPTS_PATH, query=None)
        try:
            async with asyncio.timeout(self._timeout * 2):
                answer = await self._client.post(url, json={"receipt": token})
        except (httpx.HTTPError, TimeoutError) as failed:
            return _reason(failed)
        if answer.is_success:
            return None
        # 401: the peer does not trust us yet (or not our new anchor yet); 404: the clearance
        # is unknown there, which will not change.
        if answer.status_code in (404, 409, 422):
            return "dropped"
        return f"http_{answer.status_code}"


def _reason(failed: Exception) -> str:
    if isinstance(failed, FetchFailed):
        return failed.reason
    if isinstance(failed, DocumentRefused):
        return failed.reason
    if isinstance(failed, httpx.TimeoutException | TimeoutError):
        return "timeout"
    return "unreachable"
