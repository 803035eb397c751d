"""Test fixtures: one fresh PostgreSQL database per session, emptied after every test.

The database is ``GREENLANE_TEST_DATABASE_URL`` when set, else the embedded server under
``.greenlane/`` (the same one ``make run`` uses, with a database of its own). The app under test
is built by the production factory and opens its pool in its own lifespan.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.app import create_app
from greenlane.db.pool import Connection, Database, create_pool
from greenlane.db.rules import CONTENT_COLUMNS
from greenlane.domain.default_rules import DEFAULT_RULES, DEFAULT_TRIP_RULES
from greenlane.migrate import upgrade
from greenlane.services.anchor import ensure_anchor
from greenlane.services.keyring import ensure_signing_key
from greenlane.settings import Settings, load_settings, new_key_text

from .api.actors import Admin, make_admin_credentials
from .database import connect
from .database import run as run  # re-exported: tests import it from here

ROOT = Path(__file__).resolve().parents[1]

# Tables whose rows a migration (or the session's first start) ships; everything else is emptied
# after each test, and the rules are put back as the migration left them (``reset_rules``).
# Signing keys and the trust anchor are made once per session, so that no test sees another
# test's key rotation in its audit log.
SEEDED_TABLES = {"alembic_version", "rules", "rule_versions", "signing_keys", "anchor_keys"}


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server's maintenance database, where tests may create databases."""
    external = os.environ.get("GREENLANE_TEST_DATABASE_URL")
    if external:
        yield external
        return
    from greenlane.embedded_db import EmbeddedPostgres

    server = EmbeddedPostgres(ROOT / ".greenlane")
    try:
        yield server.url("postgres")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    name = f"greenlane_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await connect(server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await connect(server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    run(create())
    url = with_database(server_url, name)
    upgrade(url)
    try:
        yield url
    finally:
        run(drop())


def environment_for(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "GREENLANE_DATABASE_URL": database_url,
        # The session's own spool: never the one `make run` drains into the development database.
        "GREENLANE_DATA_DIR": str(data_dir),
        "GREENLANE_ACCESS_TOKEN_KEY": new_key_text(),
        "GREENLANE_SECRET_PEPPER": new_key_text(),
        "GREENLANE_DATA_KEYS": "1:" + new_key_text(),
        "GREENLANE_INDEX_KEY": new_key_text(),
        "GREENLANE_KEY_ENCRYPTION_KEY": new_key_text(),
        "GREENLANE_LOG_LEVEL": "WARNING",
        # A busy test machine may take a few hundred milliseconds to commit: a test expects an
        # online answer unless it takes the database away (those tests set their own budget).
        "GREENLANE_VERIFY_COMMIT_BUDGET_MS": "5000",
    }


@pytest.fixture(scope="session")
def environment(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The ``GREENLANE_*`` variables of the app under test (also handed to CLI subprocesses)."""
    return environment_for(database_url, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def settings(environment: dict[str, str]) -> Settings:
    loaded = load_settings(environment)
    assert loaded.database_url is not None
    url = loaded.database_url

    async def first_keys() -> None:
        pool = await create_pool(loaded, url)
        try:
            database = Database(pool, 5.0)
            await ensure_signing_key(database, loaded.key_encryption_key.reveal())
            await ensure_anchor(database, loaded.key_encryption_key.reveal())
        finally:
            await pool.close()
        await empty_tables(url)

    run(first_keys())
    return loaded


@pytest.fixture
def app(settings: Settings, request: pytest.FixtureRequest) -> Litestar:
    """The app under test; a test changes its settings with
    ``@pytest.mark.parametrize("app", [{"name": value}], indirect=True)``."""
    return create_app(replace(settings, **getattr(request, "param", {})))


@pytest.fixture
def clean_database(database_url: str) -> Iterator[str]:
    """The test database, emptied (but for migration-shipped rows) after the test."""
    yield database_url
    run(empty_tables(database_url))


@pytest.fixture
def client(app: Litestar, clean_database: str) -> Iterator[TestClient[Litestar]]:
    with TestClient(app=app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def admin(client: TestClient[Litestar], settings: Settings) -> Admin:
    client_id, secret = make_admin_credentials(settings)
    return Admin(client, client_id, secret)


async def empty_tables(database_url: str) -> None:
    conn = await connect(database_url)
    try:
        tables = [
            row["tablename"]
            for row in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
            if row["tablename"] not in SEEDED_TABLES
        ]
        if tables:
            # Replica mode skips the append-only triggers: only test cleanup may empty the log.
            await conn.execute("SET session_replication_role = replica")
            await conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        await reset_rules(conn)
    finally:
        await conn.close()


async def reset_rules(conn: Connection) -> None:
    """Drop the rules tests wrote and restore each default rule from its version 1."""
    defaults = [uuid.UUID(rule.id) for rule in (*DEFAULT_RULES, *DEFAULT_TRIP_RULES)]
    first_version = ", ".join(f"v.{column.strip()}" for column in CONTENT_COLUMNS.split(","))
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM rule_versions WHERE version > 1 OR NOT rule_id = ANY($1)", defaults
        )
        await conn.execute("DELETE FROM rules WHERE NOT id = ANY($1)", defaults)
        await conn.execute(
            f"UPDATE rules SET version = 1, deleted_at = NULL, updated_at = v.written_at,"
            f" updated_by = v.written_by, ({CONTENT_COLUMNS}) = ({first_version})"
            f" FROM rule_versions v WHERE v.rule_id = rules.id AND v.version = 1"
        )
