"""One app, one admin and one world per module: the suite runs hundreds of attacks against
records set up once, instead of paying for a fresh partner, lane and clearance per case."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.app import create_app
from greenlane.settings import Settings

from ..api.actors import Admin, make_admin_credentials
from ..conftest import empty_tables

# High enough that hundreds of attacks from one client are never answered 429 instead of
# with what the attack itself deserves.
GENEROUS_RATE = 1_000_000


@pytest.fixture(scope="module")
def shared_client(settings: Settings, database_url: str) -> Iterator[TestClient[Litestar]]:
    """The app under attack for a whole module; the database is emptied when it is done."""
    generous = replace(
        settings,
        rate_limit_admin=GENEROUS_RATE,
        rate_limit_partner=GENEROUS_RATE,
        webhook_concurrency=0,  # deliveries stay as the attacks left them, none leaves the host
    )
    try:
        with TestClient(app=create_app(generous), raise_server_exceptions=False) as client:
            yield client
    finally:
        asyncio.run(empty_tables(database_url))


@pytest.fixture(scope="module")
def shared_admin(shared_client: TestClient[Litestar], settings: Settings) -> Admin:
    client_id, secret = make_admin_credentials(settings)
    return Admin(shared_client, client_id, secret)
