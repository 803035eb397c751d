"""Two live deployments, Thailand (A) and Lao PDR (B): two server processes, two databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from bench.harness import fresh_database

from greenlane.federation_demo import Federated, deployment, federate

# Short enough that a test sees A's list expire at B, long enough for the walk to run first.
A_TRUST_LIST_TTL = 12
# How long B may cache A's status lists: a revocation at A reaches B's lanes within it.
A_STATUS_LIST_TTL = 3


@pytest.fixture(scope="module")
def agencies(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federated]:
    scratch: Path = tmp_path_factory.mktemp("federation")
    with ExitStack() as stack:
        a_url = stack.enter_context(fresh_database("federation_a", server_url))
        b_url = stack.enter_context(fresh_database("federation_b", server_url))
        a = stack.enter_context(
            deployment(
                "Thailand",
                "THA",
                scratch / "a",
                database_url=a_url,
                TRUST_LIST_TTL_SECONDS=str(A_TRUST_LIST_TTL),
                STATUS_LIST_TTL=str(A_STATUS_LIST_TTL),
            )
        )
        b = stack.enter_context(deployment("Lao PDR", "LAO", scratch / "b", database_url=b_url))
        yield federate(a, b)
