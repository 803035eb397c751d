"""The group commit's own connections, against a real PostgreSQL: used again as they are,
replaced whenever one fails, and no wait for a database known to be away."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import asyncpg
import pytest

from greenlane.services.dedicated import DedicatedConnections, PlainConnection, Unavailable

from ..database import connect

SCENARIO_TIMEOUT = 15.0


class Server:
    """Connections to the test database, each named so that the test can find its backends;
    ``refusing`` makes every new one fail as if PostgreSQL were away."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"dedicated-{uuid.uuid4().hex[:8]}"
        self.refusing = False
        self.refused = 0

    async def connect(self) -> PlainConnection:
        if self.refusing:
            self.refused += 1
            raise ConnectionRefusedError("PostgreSQL is away")
        conn: PlainConnection = await asyncpg.connect(
            self.url, server_settings={"application_name": self.name}
        )
        return conn

    async def backends(self) -> set[int]:
        conn = await connect(self.url)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", self.name
            )
            return {row["pid"] for row in rows}
        finally:
            await conn.close()


async def pid(connections: DedicatedConnections) -> int:
    async with connections.connection() as conn:
        backend: int = await conn.fetchval("SELECT pg_backend_pid()")
        return backend


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + 5
    while not await check():
        assert time.monotonic() < deadline, f"waited 5 s for {what}"
        await asyncio.sleep(0.02)


def run(database_url: str, scenario: Callable[[Server], Coroutine[Any, Any, None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(SCENARIO_TIMEOUT):
            await scenario(Server(database_url))

    asyncio.run(bounded())


def test_a_connection_is_used_again_as_it_was_given_back(database_url: str) -> None:
    async def scenario(server: Server) -> None:
        connections = DedicatedConnections(server.connect, size=1)
        connections.open()
        first = await pid(connections)
        assert await pid(connections) == first
        assert await server.backends() == {first}
        await connections.close()

    run(database_url, scenario)


def test_a_connection_that_failed_is_terminated_and_replaced(database_url: str) -> None:
    async def scenario(server: Server) -> None:
        connections = DedicatedConnections(server.connect, size=1)
        connections.open()
        first = await pid(connections)
        with pytest.raises(asyncpg.UndefinedTableError):
            async with connections.connection() as conn:
                await conn.execute("SELECT * FROM no_such_table")
        second = await pid(connections)
        assert second != first

        async def only_the_new_one() -> bool:
            return await server.backends() == {second}

        await until(only_the_new_one, "the failed connection's backend to end")
        await connections.close()

    run(database_url, scenario)


def test_a_statement_cut_off_by_its_time_bound_costs_no_round_trip(database_url: str) -> None:
    async def scenario(server: Server) -> None:
        connections = DedicatedConnections(server.connect, size=1)
        connections.open()
        first = await pid(connections)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1), connections.connection() as conn:
                await conn.execute("SELECT pg_sleep(3)")
        assert time.monotonic() - started < 1  # no cancel request awaited, no reset
        assert await pid(connections) != first
        await connections.close()

    run(database_url, scenario)


def test_a_connection_the_server_ended_while_idle_is_replaced(database_url: str) -> None:
    async def scenario(server: Server) -> None:
        connections = DedicatedConnections(server.connect, size=1)
        connections.open()
        first = await pid(connections)
        admin = await connect(database_url)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)  # the connection hears of it
        assert await pid(connections) != first  # and the caller does not
        await connections.close()

    run(database_url, scenario)


def test_while_postgresql_refuses_a_caller_fails_at_once_then_connections_come_back(
    database_url: str,
) -> None:
    async def scenario(server: Server) -> None:
        server.refusing = True
        connections = DedicatedConnections(server.connect, size=2)
        connections.open()

        async def refused() -> bool:
            return server.refused >= 2

        await until(refused, "the first attempts to connect")
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await pid(connections)
        assert time.monotonic() - started < 0.05
        server.refusing = False

        async def back() -> bool:
            try:
                await pid(connections)
            except Unavailable:  # until the next attempt, within the backoff (1 s at most)
                return False
            return True

        await until(back, "a connection once PostgreSQL accepts again")
        await connections.close()

    run(database_url, scenario)


def test_close_ends_every_connection_and_every_attempt_to_open_one(database_url: str) -> None:
    async def scenario(server: Server) -> None:
        connections = DedicatedConnections(server.connect, size=2)
        connections.open()
        async with connections.connection(), connections.connection():
            pass  # both open
        assert len(await server.backends()) == 2
        await connections.close()

        async def none_left() -> bool:
            return await server.backends() == set()

        await until(none_left, "the backends to end")
        server.refusing = True
        refusing = DedicatedConnections(server.connect, size=1)
        refusing.open()
        await asyncio.sleep(0.1)
        await refusing.close()
        attempts = server.refused
        await asyncio.sleep(0.3)  # past the first backoffs
        assert server.refused == attempts

    run(database_url, scenario)
