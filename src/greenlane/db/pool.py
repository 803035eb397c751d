"""The asyncpg connection pool, opened and closed by the application's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

import asyncpg
from asyncpg.transaction import Transaction

from greenlane.settings import Settings

if TYPE_CHECKING:
    Pool = asyncpg.Pool[asyncpg.Record]


class Connection(Protocol):
    """What greenlane's SQL needs of a connection.

    A Protocol rather than ``asyncpg.Connection``: the pool hands out a proxy that asyncpg's
    stubs do not type as a connection, and the harness and the CLI use plain connections.
    """

    async def execute(self, query: str, *args: object, timeout: float | None = ...) -> str: ...

    async def fetch(
        self, query: str, *args: object, timeout: float | None = ...
    ) -> list[asyncpg.Record]: ...

    async def fetchrow(
        self, query: str, *args: object, timeout: float | None = ...
    ) -> asyncpg.Record | None: ...

    async def fetchval(
        self, query: str, *args: object, column: int = ..., timeout: float | None = ...
    ) -> Any: ...

    def transaction(
        self, *, isolation: Any = ..., readonly: bool = ..., deferrable: bool = ...
    ) -> Transaction: ...


def asyncpg_dsn(url: str) -> str:
    """asyncpg accepts only ``postgresql://``; SQLAlchemy-style driver suffixes are dropped."""
    scheme, sep, rest = url.partition("://")
    return "postgresql://" + rest if sep and scheme.startswith("postgres") else url


def server_settings(settings: Settings) -> dict[str, str]:
    """Bounds that keep one slow query or forgotten transaction from holding the pool."""
    return {
        "application_name": "greenlane",
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "lock_timeout": str(settings.db_lock_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.db_idle_in_transaction_timeout_ms),
        "timezone": "UTC",
    }


def _connection_options(settings: Settings) -> dict[str, Any]:
    return {
        "timeout": settings.db_connect_timeout,
        "command_timeout": settings.db_command_timeout,
        "server_settings": server_settings(settings),
    }


async def create_pool(settings: Settings, dsn: str) -> Pool:
    pool = await asyncpg.create_pool(
        asyncpg_dsn(dsn),
        min_size=min(settings.db_pool_min, settings.db_pool_max),
        max_size=settings.db_pool_max,
        **_connection_options(settings),
    )
    assert pool is not None
    return pool


async def connect(settings: Settings, dsn: str) -> asyncpg.Connection[asyncpg.Record]:
    """One connection outside the pool, with the pool's bounds and session settings."""
    return await asyncpg.connect(asyncpg_dsn(dsn), **_connection_options(settings))


Change = tuple[str, str]  # (topic, key), as announced to every worker by NOTIFY
# The changes announced inside the transaction this task is running, if it runs one.
_announced: ContextVar[list[Change] | None] = ContextVar("greenlane_announced", default=None)


def announce(topic: str, key: str) -> None:
    """Note a change announced in the current transaction, for :attr:`Database.on_commit`."""
    pending = _announced.get()
    if pending is not None:
        pending.append((topic, key))


class Database:
    """The pool, and the acquire timeout every caller respects (asyncpg waits forever).

    ``on_commit`` receives the changes a transaction announced, once it has committed and
    before :meth:`transaction` returns: a worker applies its own writes before it answers,
    while the others hear of them by NOTIFY.
    """

    def __init__(
        self,
        pool: Pool,
        acquire_timeout: float,
        on_commit: Callable[[Sequence[Change]], Awaitable[None]] | None = None,
    ) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout
        self.on_commit = on_commit

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
            yield _typed(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        announced: list[Change] = []
        token = _announced.set(announced)
        try:
            async with self.pool.acquire(timeout=self.acquire_timeout) as conn, conn.transaction():
                yield _typed(conn)
        finally:
            _announced.reset(token)
        if announced and self.on_commit is not None:  # reached only once committed
            await self.on_commit(announced)

    def in_use(self) -> int:
        return self.pool.get_size() - self.pool.get_idle_size()


async def returning(conn: Connection, query: str, *args: object) -> asyncpg.Record:
    """The row of an ``INSERT`` or ``UPDATE … RETURNING`` that cannot miss its row."""
    row = await conn.fetchrow(query, *args)
    assert row is not None, "the statement returns a row"
    return row


def _typed(proxy: Any) -> Connection:
    """The pool's proxy forwards every call to a real connection, which the stubs cannot see."""
    typed: Connection = proxy
    return typed
