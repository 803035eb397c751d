"""Connections of one's own, kept open outside the pool: the group commit's.

The pool gives a connection back with a reset query (``RESET ALL`` and more): a round trip on
every lane's answer, and a transaction of its own after every batch, which at a quarter of
saturation was every other transaction PostgreSQL committed. A connection held here serves one
caller at a time and is given back as it is.

A connection that fails in any way is terminated, never reused: after a statement cancelled past
the commit budget, or a broken socket, its state is not known, and terminating costs no round
trip to a database that may be slow or away. It is replaced in the background, with backoff
while PostgreSQL refuses. Meanwhile a caller waits for a connection within its own time bound,
or fails at once when none is open and the last attempt to open one failed: no point waiting
out a budget for a database known to be away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeAlias

import asyncpg

from greenlane.db.pool import Connection
from greenlane.services.background import keep_cancellation, stop_tasks

PlainConnection: TypeAlias = "asyncpg.Connection[asyncpg.Record]"  # generic for mypy only
Connect: TypeAlias = Callable[[], Awaitable[PlainConnection]]

FIRST_BACKOFF = 0.05
# Low on purpose: once PostgreSQL is back, lanes are answered online again within about this.
MAX_BACKOFF = 1.0
CLOSE_TIMEOUT = 1.0
_logger = logging.getLogger("greenlane.dedicated")


class Unavailable(Exception):
    """No connection is open, and the last attempt to open one failed."""


class DedicatedConnections:
    def __init__(self, connect: Connect, size: int) -> None:
        self._connect = connect
        self._size = size
        self._idle: asyncio.Queue[PlainConnection] = asyncio.Queue()
        self._open = 0  # idle or lent out
        self._refused = False  # the last attempt to connect failed
        self._opening: set[asyncio.Task[None]] = set()

    def open(self) -> None:
        """Start opening the connections, in the background."""
        for _ in range(self._size):
            self._replace()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        conn = await self._take()
        try:
            yield conn
        except BaseException:
            self._discard(conn)
            raise
        self._idle.put_nowait(conn)

    async def _take(self) -> PlainConnection:
        while True:
            if self._idle.empty() and self._open == 0 and self._refused:
                raise Unavailable
            conn = await self._idle.get()
            if not conn.is_closed():
                return conn
            self._discard(conn)  # closed by the server while idle (a restart)

    def _discard(self, conn: PlainConnection) -> None:
        conn.terminate()
        self._open -= 1
        self._replace()

    def _replace(self) -> None:
        task = asyncio.create_task(self._open_one(), name="greenlane-dedicated-connect")
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _open_one(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            try:
                conn = await self._connect()
            except Exception as exc:  # PostgreSQL is away: try again, ever more slowly
                keep_cancellation()
                self._refused = True
                _logger.warning("dedicated connection failed", exc_info=(type(exc), exc, None))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            self._refused = False
            self._open += 1
            self._idle.put_nowait(conn)
            return

    async def close(self) -> None:
        """Stop opening connections, and close them (terminated if that is slow). Call it once
        no caller holds one."""
        await stop_tasks(self._opening)
        idle = [self._idle.get_nowait() for _ in range(self._idle.qsize())]
        self._open -= len(idle)
        await asyncio.gather(*(_close(conn) for conn in idle))


async def _close(conn: PlainConnection) -> None:
    with contextlib.suppress(Exception):  # past the timeout asyncpg terminates it
        await conn.close(timeout=CLOSE_TIMEOUT)
