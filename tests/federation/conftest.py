"""Two live deployments, Thailand (A) and Lao PDR (B): two server processes, two databases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from bench.harness import fresh_database

from greenlane.federation_demo import Deployment, Federated, deployment, federate

# Short enough that a test sees A's list expire at B, long enough for the walk to run first.
A_TRUST_LIST_TTL = 12
# How long B may cache A's status lists: a revocation at A reaches B's lanes within it.
A_STATUS_LIST_TTL = 3

Outcome = tuple[str, list[str]]


@contextmanager
def two_agencies(
    server_url: str, scratch: Path, *, a_port: int | None = None, **a_settings: str
) -> Iterator[Federated]:
    """A (on ``a_port``, with ``a_settings``) and B on fresh databases of ``server_url``,
    federated."""
    with ExitStack() as stack:
        a_url = stack.enter_context(fresh_database("federation_a", server_url))
        b_url = stack.enter_context(fresh_database("federation_b", server_url))
        a = stack.enter_context(
            deployment(
                "Thailand", "THA", scratch / "a", database_url=a_url, port=a_port, **a_settings
            )
        )
        b = stack.enter_context(deployment("Lao PDR", "LAO", scratch / "b", database_url=b_url))
        yield federate(a, b)


@pytest.fixture(scope="module")
def agencies(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federated]:
    with two_agencies(
        server_url,
        tmp_path_factory.mktemp("federation"),
        TRUST_LIST_TTL_SECONDS=str(A_TRUST_LIST_TTL),
        STATUS_LIST_TTL=str(A_STATUS_LIST_TTL),
    ) as federated:
        yield federated


def count(deployment: Deployment, sql: str, *args: object) -> int:
    """``sql``'s single number, read from ``deployment``'s own database."""

    async def fetch() -> int:
        conn = await asyncpg.connect(deployment.env["GREENLANE_DATABASE_URL"])
        try:
            value: int = await conn.fetchval(sql, *args)
            return value
        finally:
            await conn.close()

    return asyncio.run(fetch())


def outcome(answer: dict[str, Any]) -> Outcome:
    """A lane's answer as (decision, reason codes)."""
    return answer["decision"], [reason["code"] for reason in answer["reasons"]]
