"""The harness's own way into PostgreSQL, for fixtures and for tests that look behind the API."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from synchronous test code, on a thread of its own when this
    thread already has a running loop (Playwright's sync API keeps one in the browser tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coro).result()


async def connect(url: str) -> asyncpg.Connection:
    """A plain connection whose waits are bounded: a lock it cannot get, or a server that does
    not answer, fails the test instead of hanging it."""
    return await asyncpg.connect(
        url, timeout=10, command_timeout=60, server_settings={"lock_timeout": "30s"}
    )
