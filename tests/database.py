"""The harness's own way into PostgreSQL, for fixtures and for tests that look behind the API."""

from __future__ import annotations

import asyncpg


async def connect(url: str) -> asyncpg.Connection:
    """A plain connection whose waits are bounded: a lock it cannot get, or a server that does
    not answer, fails the test instead of hanging it."""
    return await asyncpg.connect(
        url, timeout=10, command_timeout=60, server_settings={"lock_timeout": "30s"}
    )
