"""What one worker holds while it serves: settings, the database and in-memory state.

:func:`start` builds it in the application's lifespan (never outside: the pool belongs to the
event loop that serves), loads every in-memory view and subscribes them to LISTEN/NOTIFY.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType

from greenlane import tally
from greenlane.db.pool import Database, asyncpg_dsn, connect, create_pool
from greenlane.domain.crypto import BlindIndex, FieldCipher
from greenlane.domain.lifecycle import CasePolicy
from greenlane.domain.status_list import list_uri
from greenlane.domain.trips import TripPolicy
from greenlane.services import lifecycle, maintenance
from greenlane.services.anchor import ensure_anchor
from greenlane.services.applications import Deciding
from greenlane.services.background import keep_cancellation, stop_tasks
from greenlane.services.clearances import RevocationList
from greenlane.services.client_registry import ClientRegistry
from greenlane.services.context import Protection
from greenlane.services.federation import Peers
from greenlane.services.keyring import KeyRing, ensure_signing_key
from greenlane.services.live_state import LiveState
from greenlane.services.peer_sync import PeerSync
from greenlane.services.rate_limit import RateLimiter
from greenlane.services.rule_runner import RuleRunner
from greenlane.services.rules import RuleBook
from greenlane.services.spool import Spool
from greenlane.services.status_lists import PublishedLists, ensure_status_list
from greenlane.services.trip_verify import TripVerifier
from greenlane.services.trust_list import TrustListPublisher
from greenlane.services.verify import LaneVerifier
from greenlane.services.watchlist import Watchlist
from greenlane.services.webhook_delivery import DeliveryPolicy, WebhookDeliverer
from greenlane.services.webhook_events import WAKE_TOPIC
from greenlane.services.webhook_targets import Destinations
from greenlane.services.webhooks import Webhooks
from greenlane.settings import Settings

SPOOL_DRAIN_INTERVAL = 0.5
MAINTENANCE_INTERVAL = 3600.0
# Requests for information past their due date are rejected within about this long.
INFO_DEADLINE_INTERVAL = 60.0
# After SIGTERM and its not-ready window (a setting), the server stops accepting, finishes what
# it accepted, and the spool gets one last drain.
LAST_DRAIN_TIMEOUT = 3.0
POOL_CLOSE_TIMEOUT = 5.0
_logger = logging.getLogger("greenlane.runtime")


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    clients: ClientRegistry
    rate_limiter: RateLimiter
    live: LiveState
    cipher: FieldCipher
    index: BlindIndex
    rules: RuleBook
    watchlist: Watchlist
    keyring: KeyRing
    revocations: RevocationList
    status_lists: PublishedLists
    verifier: LaneVerifier
    trip_verifier: TripVerifier
    protection: Protection
    deciding: Deciding
    webhooks: Webhooks
    deliverer: WebhookDeliverer
    peers: Peers
    trust_list: TrustListPublisher
    peer_sync: PeerSync
    housekeeping: asyncio.Task[None] | None = None
    deadlines: asyncio.Task[None] | None = None
    federation: asyncio.Task[None] | None = None
    stopping: bool = False  # SIGTERM received: not ready, though still serving for a moment

    async def reload_all(self) -> None:
        await self.clients.reload_all()
        await self.rules.reload_all()
        await self.watchlist.reload_all()
        await self.keyring.reload_all()
        await self.revocations.reload_all()
        await self.status_lists.reload_all()
        await self.peers.reload_all()
        await self.trust_list.reload_all()

    async def stop(self) -> None:
        background = (self.housekeeping, self.deadlines, self.federation)
        await stop_tasks([task for task in background if task is not None])
        await self.deliverer.close()
        await self.peer_sync.close()
        await self.status_lists.stop()
        await self.verifier.close()
        await self.deciding.runner.close()
        await self._last_drain()
        await self.live.stop()
        await self._close_pool()
        tally.flush()

    async def _close_pool(self) -> None:
        """Close the pool gracefully, but never wait forever for a connection to come back.

        asyncpg's close() waits for every acquired connection, then for each to close; when
        that fails or is cancelled by the timeout it terminates them all, so an exit cannot hang
        on a connection that was not given back or on a database that has stopped answering.
        """
        try:
            async with asyncio.timeout(POOL_CLOSE_TIMEOUT):
                await self.db.pool.close()
        except TimeoutError:  # ours, or asyncpg's own on a silent connection
            _logger.warning("the pool did not close in time: its connections were terminated")

    async def _last_drain(self) -> None:
        """Send the spool to PostgreSQL before exiting, if it answers in time.

        Whatever is left stays in the fsynced spool file, and the next server started on the
        same data directory drains it: an exit never loses a recorded verification.
        """
        if not self.verifier.spool_has_work():
            return
        try:
            async with asyncio.timeout(LAST_DRAIN_TIMEOUT):
                await self.verifier.drain_spool()
        except Exception as exc:  # the database is away: the spool keeps the records
            _logger.warning("spool left for the next start", exc_info=(type(exc), exc, None))

    async def _reject_overdue(self) -> None:
        """Each minute, reject the applications whose request for information went unanswered.

        A task of its own: while PostgreSQL is away its attempts wait for a connection, and the
        spool's drain must not wait behind them.
        """
        while True:
            try:
                await lifecycle.expire_overdue(self.deciding)
            except Exception as exc:  # the database is away: try again on the next round
                keep_cancellation()
                _logger.warning("deadline sweep failed", exc_info=(type(exc), exc, None))
            await asyncio.sleep(INFO_DEADLINE_INTERVAL)

    async def _housekeep(self) -> None:
        """Write the tallied metrics; drain the verify spool when PostgreSQL is back;
        partitions and retention hourly."""
        next_maintenance = time.monotonic() + MAINTENANCE_INTERVAL  # start() has just run it
        while True:
            tally.flush()
            try:
                if self.verifier.spool_has_work():
                    await self.verifier.drain_spool()
                if time.monotonic() >= next_maintenance:
                    await maintenance.run_once(
                        self.db, datetime.now(UTC).date(), self.settings.retention_months
                    )
                    next_maintenance = time.monotonic() + MAINTENANCE_INTERVAL
            except Exception as exc:  # the database is away: try again on the next round
                keep_cancellation()
                _logger.warning("housekeeping failed", exc_info=(type(exc), exc, None))
            await asyncio.sleep(SPOOL_DRAIN_INTERVAL)


def data_protection(settings: Settings) -> tuple[FieldCipher, BlindIndex]:
    """The personal-data cipher (every key version, newest active) and the blind index."""
    keys = {version: key.reveal() for version, key in settings.data_keys.items()}
    return FieldCipher(keys, max(keys)), BlindIndex(settings.index_key.reveal())


async def start(settings: Settings, database_url: str) -> Runtime:
    pool = await create_pool(settings, database_url)
    try:
        return await _start_on(Database(pool, settings.db_acquire_timeout), settings, database_url)
    except BaseException:
        pool.terminate()  # a start that failed leaves no connection behind
        raise


async def _start_on(db: Database, settings: Settings, database_url: str) -> Runtime:
    kek = settings.key_encryption_key.reveal()
    await ensure_signing_key(db, kek)
    await ensure_status_list(db, settings.status_list_size)
    await ensure_anchor(db, kek)
    cipher, index = data_protection(settings)
    clients = ClientRegistry(db)
    rules = RuleBook(db)
    watchlist = Watchlist(db)
    keyring = KeyRing(db, kek)
    revocations = RevocationList(db)
    destinations = Destinations(
        allow_http=settings.webhook_allow_http, allow_private=settings.webhook_allow_private
    )
    deliverer = WebhookDeliverer(
        db,
        cipher,
        destinations,
        DeliveryPolicy(
            timeout=settings.webhook_timeout_seconds,
            schedule=settings.webhook_retry_schedule,
            concurrency=settings.webhook_concurrency,
            expiring_days=settings.webhook_expiring_days,
            expiry_scan_seconds=settings.webhook_expiry_scan_seconds,
        ),
    )
    status_lists = PublishedLists(db, keyring, issuer=settings.issuer, ttl=settings.status_list_ttl)
    peers = Peers(db)
    trust_list = TrustListPublisher(
        db,
        kek,
        issuer=settings.issuer,
        country=settings.country,
        ttl=settings.trust_list_ttl_seconds,
        status_lists=lambda: tuple(
            list_uri(settings.issuer, n) for n in sorted(status_lists.served)
        ),
    )

    async def on_keys(key: str) -> None:
        await keyring.on_change(key)
        await trust_list.on_keys(key)

    verifier = LaneVerifier(
        db=db,
        connect=lambda: connect(settings, database_url),
        keyring=keyring,
        revocations=revocations,
        status_lists=status_lists,
        watchlist=watchlist,
        peers=peers,
        index=index,
        spool=Spool(settings.data_dir / "spool"),
        issuer=settings.issuer,
        commit_budget=settings.verify_commit_budget_ms / 1000,
        linger=settings.verify_linger_us / 1_000_000,
    )

    async def reload_rules(_key: str) -> None:
        await rules.reload_all()

    async def reload_watchlist(_key: str) -> None:
        await watchlist.reload_all()

    runtime = Runtime(
        settings=settings,
        db=db,
        clients=clients,
        rate_limiter=RateLimiter(
            {
                "admin": settings.rate_limit_admin,
                "partner": settings.rate_limit_partner,
                "lane": settings.rate_limit_lane,
            }
        ),
        live=LiveState(
            asyncpg_dsn(database_url),
            reload_all=lambda: runtime.reload_all(),
            on_change={
                "clients": clients.reload_one,
                "rules": reload_rules,
                "watchlist": reload_watchlist,
                "keys": on_keys,
                "revocations": revocations.on_change,
                WAKE_TOPIC: deliverer.wake,
                "status_lists": status_lists.on_change,
                "anchors": trust_list.on_anchors,
                "peers": peers.on_change,
            },
            connect_timeout=settings.db_connect_timeout,
        ),
        cipher=cipher,
        index=index,
        rules=rules,
        watchlist=watchlist,
        keyring=keyring,
        revocations=revocations,
        status_lists=status_lists,
        verifier=verifier,
        trip_verifier=TripVerifier(
            verifier,
            keyring=keyring,
            revocations=revocations,
            status_lists=status_lists,
            peers=peers,
            issuer=settings.issuer,
        ),
        protection=Protection(cipher=cipher, index=index),
        deciding=Deciding(
            db=db,
            rules=rules,
            runner=RuleRunner(settings.rule_evaluation_timeout_ms / 1000),
            watchlist=watchlist,
            keyring=keyring,
            cipher=cipher,
            index=index,
            issuer=settings.issuer,
            policy=CasePolicy(
                info_deadline_days=settings.info_deadline_days,
                appeal_days=settings.appeal_days,
                renewal_window_days=settings.renewal_window_days,
            ),
            status_list_size=settings.status_list_size,
            trips=TripPolicy(
                max_people=settings.trip_max_people,
                min_notice=timedelta(minutes=settings.trip_min_notice_minutes),
                window=timedelta(minutes=settings.trip_window_minutes),
            ),
        ),
        webhooks=Webhooks(db=db, cipher=cipher, destinations=destinations),
        deliverer=deliverer,
        peers=peers,
        trust_list=trust_list,
        peer_sync=PeerSync(
            db,
            trust_list,
            issuer=settings.issuer,
            refresh_every=settings.peer_refresh_seconds,
            timeout=settings.peer_timeout_seconds,
        ),
    )
    db.on_commit = runtime.live.apply
    await maintenance.run_once(db, datetime.now(UTC).date(), settings.retention_months)
    await runtime.live.start()
    runtime.status_lists.start()
    runtime.verifier.start()
    runtime.deliverer.start()
    runtime.housekeeping = asyncio.create_task(runtime._housekeep(), name="greenlane-housekeeping")
    runtime.deadlines = asyncio.create_task(runtime._reject_overdue(), name="greenlane-deadlines")
    runtime.federation = asyncio.create_task(runtime.peer_sync.run(), name="greenlane-federation")
    _not_ready_before_closing(runtime)
    return runtime


def _not_ready_before_closing(runtime: Runtime) -> None:
    """Put a moment of "not ready, still serving" in front of the server's SIGTERM handling.

    uvicorn stops accepting connections as soon as SIGTERM arrives, so a load balancer still
    routing to this worker would see refused connections. Instead readiness turns 503 at once,
    and uvicorn's own handler (installed before the lifespan starts) runs
    ``shutdown_not_ready_seconds`` later. Only a Python-level handler in the main thread is
    wrapped: in-process test clients serve from another thread and get no signals.
    """
    server_handler = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or not callable(server_handler):
        return
    loop = asyncio.get_running_loop()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if runtime.stopping:  # a second SIGTERM: stop now
            server_handler(signum, frame)
            return
        runtime.stopping = True
        loop.call_soon_threadsafe(
            loop.call_later,
            runtime.settings.shutdown_not_ready_seconds,
            server_handler,
            signum,
            frame,
        )

    signal.signal(signal.SIGTERM, on_sigterm)
