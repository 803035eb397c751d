"""In-memory state that follows the database: LISTEN/NOTIFY plus a periodic full refresh.

Hot paths (authentication, and later verify) read from memory. A writer calls :func:`notify`
inside its transaction; PostgreSQL delivers the notification on commit to every listening
worker, which reloads what changed within milliseconds. A LISTEN connection does not survive a
database restart, so the listener reconnects with backoff and reloads everything each time it
(re)connects; the periodic refresh covers a notification lost in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import asyncpg

from greenlane.db.pool import Change, Connection, announce
from greenlane.services.background import keep_cancellation, stop_tasks

CHANNEL = "greenlane_state"
_logger = logging.getLogger("greenlane.live_state")

Reload = Callable[[], Awaitable[None]]
OnChange = Callable[[str], Awaitable[None]]


async def notify(conn: Connection, topic: str, key: str = "") -> None:
    """Tell every worker that ``topic`` changed (delivered when the transaction commits); this
    worker applies it through ``Database.on_commit`` before the transaction returns."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{topic}:{key}")
    announce(topic, key)


async def notify_others(conn: Connection, topic: str, key: str = "") -> None:
    """Tell every worker that ``topic`` changed, without applying it here at commit: for a
    writer that brings this worker up to date itself."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{topic}:{key}")


class LiveState:
    """Runs one listener task per worker and dispatches notifications by topic."""

    def __init__(
        self,
        dsn: str,
        *,
        reload_all: Reload,
        on_change: Mapping[str, OnChange],
        refresh_interval: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._dsn = dsn
        self._reload_all = reload_all
        self._on_change = dict(on_change)
        self._refresh_interval = refresh_interval
        self._connect_timeout = connect_timeout
        self._task: asyncio.Task[None] | None = None
        self._changes: asyncio.Queue[str] = asyncio.Queue()
        self.last_refresh = 0.0
        self.connected = False

    def age(self) -> float:
        """Seconds since the state was last known to be current."""
        return 0.0 if self.connected else time.monotonic() - self.last_refresh

    async def start(self) -> None:
        """Subscribe, then load everything once: nothing committed after the load is missed."""
        subscription = await self._subscribe()
        self._task = asyncio.create_task(self._run(subscription), name="greenlane-live-state")

    async def apply(self, changes: Sequence[Change]) -> None:
        """Apply changes this worker committed itself, as their notifications will."""
        for topic, key in changes:
            try:
                await self._dispatch(topic, key)
            except Exception as exc:  # committed all the same: NOTIFY or the refresh catches up
                keep_cancellation()
                _logger.warning("could not apply own change", exc_info=(type(exc), exc, None))

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])

    async def _subscribe(self) -> tuple[asyncpg.Connection[asyncpg.Record], asyncio.Event]:
        conn = await asyncpg.connect(self._dsn, timeout=self._connect_timeout)
        lost = asyncio.Event()

        def on_lost(_conn: object) -> None:
            lost.set()
            self._changes.put_nowait("")  # wakes the loop at once, not at the next refresh

        try:
            conn.add_termination_listener(on_lost)
            await conn.add_listener(CHANNEL, self._enqueue)
            await self._reload_all()
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)
            raise
        self.connected = True
        self.last_refresh = time.monotonic()
        return conn, lost

    async def _run(
        self, subscription: tuple[asyncpg.Connection[asyncpg.Record], asyncio.Event]
    ) -> None:
        backoff = 0.1
        while True:
            try:
                await self._listen(*subscription)
                backoff = 0.1
            except Exception as exc:  # the database went away: reconnect, whatever the cause
                keep_cancellation()
                _logger.warning("live state listener lost", exc_info=(type(exc), exc, None))
            while True:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                try:
                    subscription = await self._subscribe()
                    break
                except Exception as exc:
                    keep_cancellation()
                    _logger.warning("live state reconnect failed", exc_info=(type(exc), exc, None))

    async def _listen(self, conn: asyncpg.Connection[asyncpg.Record], lost: asyncio.Event) -> None:
        try:
            while not lost.is_set():
                try:
                    # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that lands
                    # in the tick a notification arrives, and stop() would then wait forever.
                    async with asyncio.timeout(self._refresh_interval):
                        payload = await self._changes.get()
                except TimeoutError:
                    # Notices a dead connection, or a silent one (no reset, no answer).
                    await conn.execute("SELECT 1", timeout=self._connect_timeout)
                    await self._reload_all()
                    self.last_refresh = time.monotonic()
                    continue
                topic, _, key = payload.partition(":")
                await self._dispatch(topic, key)
        finally:
            self.connected = False
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)

    async def _dispatch(self, topic: str, key: str) -> None:
        handler = self._on_change.get(topic)
        if handler is not None:
            await handler(key)

    def _enqueue(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self._changes.put_nowait(str(payload))
