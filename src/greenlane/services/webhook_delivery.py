"""Delivery workers: send the outbox's due deliveries, log each attempt, schedule retries.

Every server worker runs ``concurrency`` delivery loops (``GREENLANE_WEBHOOK_CONCURRENCY``), on
any number of hosts: a loop claims one due delivery at a time with ``FOR UPDATE SKIP LOCKED``,
which also pushes its next attempt past the longest an attempt can last (the lease). So a
delivery is attempted by one loop at a time, and one whose worker was killed mid-attempt comes
due again by itself when the lease ends, logged ``interrupted``. An attempt:

1. checks the URL and resolves its host again; every address must still be allowed, and the
   request connects to the address checked, naming the host in ``Host`` and TLS SNI;
2. POSTs the stored body with ``webhook-id`` (the event's id, the same on every attempt and
   replay), ``webhook-timestamp`` and ``webhook-signature`` (the current secret, and the
   previous one while a rotation's overlap lasts), within ``GREENLANE_WEBHOOK_TIMEOUT_SECONDS``
   for everything, never following a redirect, reading at most 64 KiB of the answer and
   storing none of it;
3. records the outcome (``domain/webhooks.py`` says what each answer means): delivered; 410
   disables the endpoint, with the reason its partner reads; anything else is retried on the
   schedule, no sooner than a 429's or 5xx's ``Retry-After``, until the schedule is spent.

Idle loops sleep until the next delivery comes due or an event commits (NOTIFY ``webhooks``),
and at most 30 seconds. One more task per
worker updates the oldest-undelivered gauge and, on one worker at a time, announces clearances
about to expire (``services/clearance_expiry.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from prometheus_client import Counter, Gauge

from greenlane.db import webhooks as webhooks_db
from greenlane.db.pool import Database
from greenlane.domain.crypto import FieldCipher
from greenlane.domain.webhook_signature import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    secret_key,
    signature_header,
)
from greenlane.domain.webhooks import (
    DestinationRefused,
    Outcome,
    next_attempt,
    outcome_of,
    retry_after,
)
from greenlane.services import clearance_expiry
from greenlane.services.background import keep_cancellation, stop_tasks
from greenlane.services.webhook_targets import Destinations, Target
from greenlane.services.webhooks import PREVIOUS_SECRET, SECRET, open_secret

MAX_RESPONSE_BYTES = 64 * 1024
LEASE_MARGIN = timedelta(seconds=10)  # beyond the timeout: the record of a finished attempt
# An idle loop sleeps until the next delivery comes due, a commit wakes it, or this long.
IDLE_POLL_MAX = 30.0
ERROR_PAUSE = 1.0
MIN_PAUSE = 0.05  # a delivery due but claimed by a loop still committing its claim
GAUGE_INTERVAL = 5.0
USER_AGENT = "greenlane-webhooks/1"

DELIVERIES = Counter(
    "greenlane_webhook_deliveries_total", "Webhook delivery attempts by outcome", ["outcome"]
)
OLDEST_UNDELIVERED = Gauge(
    "greenlane_webhook_oldest_undelivered_seconds",
    "Age of the oldest event still waiting for delivery to an enabled endpoint (0: none)",
    multiprocess_mode="livemax",
)
_logger = logging.getLogger("greenlane.webhooks")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    timeout: float
    schedule: Sequence[timedelta]
    concurrency: int
    expiring_days: int
    expiry_scan_seconds: float


@dataclass(frozen=True, slots=True)
class _Answer:
    outcome: Outcome
    status_code: int | None = None
    retry_after: str | None = None


class WebhookDeliverer:
    """This worker's delivery loops and their HTTP client."""

    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        destinations: Destinations,
        policy: DeliveryPolicy,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._destinations = destinations
        self._policy = policy
        self._lease = timedelta(seconds=policy.timeout) + LEASE_MARGIN
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._http = httpx.AsyncClient(
            follow_redirects=False,  # a 3xx is a failed attempt: the partner fixes the URL
            trust_env=False,  # no proxy from the environment: the address checked is the one used
            timeout=httpx.Timeout(policy.timeout),
            limits=httpx.Limits(max_connections=max(policy.concurrency, 1) * 2),
        )

    def start(self) -> None:
        if self._policy.concurrency == 0:
            return
        self._tasks = [
            asyncio.create_task(self._deliver_forever(), name=f"greenlane-webhooks-{n}")
            for n in range(self._policy.concurrency)
        ]
        self._tasks.append(asyncio.create_task(self._schedule(), name="greenlane-webhook-jobs"))

    async def close(self) -> None:
        await stop_tasks(self._tasks)
        await self._http.aclose()

    async def wake(self, _key: str = "") -> None:
        """An event committed (NOTIFY ``webhooks``): look for due deliveries now."""
        self._wake.set()

    async def deliver_due(self) -> bool:
        """Attempt one due delivery; False when none is due."""
        async with self._db.transaction() as conn:
            job = await webhooks_db.claim(conn, self._lease)
        if job is None:
            return False
        await self._attempt(job)
        return True

    async def _deliver_forever(self) -> None:
        while True:
            self._wake.clear()  # before looking: a commit from now on wakes the wait below
            try:
                if await self.deliver_due():
                    continue
                pause = await self._until_next_due()
            except Exception as exc:  # the database is away: try again after a pause
                keep_cancellation()
                _logger.warning("webhook delivery failed", exc_info=(type(exc), exc, None))
                pause = ERROR_PAUSE
            try:
                async with asyncio.timeout(pause):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _until_next_due(self) -> float:
        async with self._db.connection() as conn:
            due = await webhooks_db.next_due(conn)
        if due is None:
            return IDLE_POLL_MAX
        return min(max((due - datetime.now(UTC)).total_seconds(), MIN_PAUSE), IDLE_POLL_MAX)

    async def _attempt(self, job: asyncpg.Record) -> None:
        started, now = time.monotonic(), datetime.now(UTC)
        answer = await self._send(job)
        latency_ms = round((time.monotonic() - started) * 1000)
        attempts: int = job["attempts"]
        retry_at = None
        if answer.outcome not in ("delivered", "gone"):
            asked = (
                retry_after(answer.retry_after, answer.status_code, now)
                if answer.status_code is not None
                else None
            )
            retry_at = next_attempt(attempts, self._policy.schedule, now, asked)
        async with self._db.transaction() as conn:
            recorded = await webhooks_db.finish_attempt(
                conn,
                job["id"],
                attempts,
                outcome=answer.outcome,
                status_code=answer.status_code,
                latency_ms=latency_ms,
                next_attempt_at=retry_at,
            )
            if recorded and answer.outcome == "gone":
                reason = f"the endpoint answered 410 Gone at {now:%Y-%m-%dT%H:%M:%SZ}"
                await webhooks_db.disable_endpoint(conn, job["endpoint_id"], reason)
        DELIVERIES.labels(answer.outcome).inc()

    async def _send(self, job: asyncpg.Record) -> _Answer:
        try:
            async with asyncio.timeout(self._policy.timeout):
                target = await self._destinations.check(job["url"])
                return await self._post(job, target)
        except DestinationRefused:
            return _Answer("refused")
        except (TimeoutError, httpx.TimeoutException):
            return _Answer("timeout")
        except (httpx.HTTPError, OSError):
            return _Answer("unreachable")

    async def _post(self, job: asyncpg.Record, target: Target) -> _Answer:
        body = job["body"].encode("utf-8")
        message_id, timestamp = str(job["event_id"]), int(time.time())
        parts = urlsplit(job["url"])
        address = f"[{target.address}]" if ":" in target.address else target.address
        netloc = f"{address}:{parts.port}" if parts.port else address
        headers = {
            "Host": parts.netloc,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            ID_HEADER: message_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature_header(self._keys(job), message_id, timestamp, body),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        async with self._http.stream(
            "POST",
            urlunsplit(parts._replace(netloc=netloc)),
            content=body,
            headers=headers,
            extensions=extensions,
        ) as response:
            read = 0
            async for chunk in response.aiter_raw():  # drained, bounded, never kept
                read += len(chunk)
                if read > MAX_RESPONSE_BYTES:
                    break
            return _Answer(
                outcome_of(response.status_code),
                response.status_code,
                response.headers.get("retry-after"),
            )

    def _keys(self, job: asyncpg.Record) -> list[bytes]:
        endpoint_id: uuid.UUID = job["endpoint_id"]
        keys = [secret_key(open_secret(self._cipher, job["secret_enc"], endpoint_id, SECRET))]
        until = job["previous_secret_until"]
        if job["previous_secret_enc"] is not None and until and until > datetime.now(UTC):
            previous = open_secret(
                self._cipher, job["previous_secret_enc"], endpoint_id, PREVIOUS_SECRET
            )
            keys.append(secret_key(previous))
        return keys

    async def _schedule(self) -> None:
        """The oldest-undelivered gauge every few seconds; expiring clearances now and then."""
        next_scan = time.monotonic()
        while True:
            try:
                async with self._db.connection() as conn:
                    oldest = await webhooks_db.oldest_undelivered(conn)
                age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
                OLDEST_UNDELIVERED.set(max(age, 0.0))
                if time.monotonic() >= next_scan:
                    await clearance_expiry.announce(self._db, self._policy.expiring_days)
                    next_scan = time.monotonic() + self._policy.expiry_scan_seconds
            except Exception as exc:  # the database is away: the next round tries again
                keep_cancellation()
                _logger.warning("webhook jobs failed", exc_info=(type(exc), exc, None))
            await asyncio.sleep(GAUGE_INTERVAL)
