"""The failed sign-in throttle: what an anonymous caller can leave behind, and for how long.

Anyone can call ``POST /oauth/token`` with a client id of their choosing. Nothing they send may
reach the permanent audit log, and the throttle's own table must stay bounded and expire.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.db.pool import Database, create_pool
from greenlane.services import maintenance
from greenlane.services.signin import MAX_FAILURES_PER_MINUTE, MAX_TRACKED_CLIENT_IDS
from greenlane.settings import Settings

from ..database import connect
from .actors import Admin
from .problems import assert_problem


def fail(http: TestClient[Litestar], client_id: str) -> httpx.Response:
    return http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"},
    )


def fail_until_throttled(http: TestClient[Litestar], client_id: str) -> None:
    for _ in range(MAX_FAILURES_PER_MINUTE):
        assert fail(http, client_id).status_code == 401
    assert_problem(fail(http, client_id), 429, "rate-limited")


async def table_text(database_url: str, table: str) -> str:
    """Every row of ``table``, every column, as PostgreSQL spells it."""
    conn = await connect(database_url)
    try:
        text: str | None = await conn.fetchval(f"SELECT string_agg(t::text, E'\\n') FROM {table} t")
    finally:
        await conn.close()
    return text or ""


async def execute(database_url: str, sql: str, *args: object) -> None:
    conn = await connect(database_url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def failure_rows(database_url: str) -> int:
    conn = await connect(database_url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM signin_failures")
    finally:
        await conn.close()
    return count


def seed_failures(database_url: str, rows: int, *, age: timedelta) -> None:
    """``rows`` throttle rows for ids nobody has, their windows opened ``age`` ago."""
    asyncio.run(
        execute(
            database_url,
            "INSERT INTO signin_failures (client_id, window_start, failures)"
            " SELECT md5(i::text) || md5(i::text), now() - $2::interval, 1"
            " FROM generate_series(1, $1) i",
            rows,
            age,
        )
    )


@pytest.mark.parametrize(
    "chosen",
    ["<b>PASSPORT X1234567</b>", "Somchai Jaidee 1990-01-31", str(uuid.uuid4())],
    ids=["html-and-passport", "name-and-birth-date", "unknown-uuid"],
)
def test_failed_sign_ins_leave_no_text_the_caller_chose(
    client: TestClient[Litestar], database_url: str, chosen: str
) -> None:
    fail_until_throttled(client, chosen)
    audit_log = asyncio.run(table_text(database_url, "audit_log"))
    failures = asyncio.run(table_text(database_url, "signin_failures"))
    for fragment in (chosen, "PASSPORT", "X1234567", "<b>", "Somchai", "1990-01-31"):
        assert fragment not in audit_log
        assert fragment not in failures
    # A burst against an id that no client has threatens nobody: it is not audited at all.
    assert "auth.signin_throttled" not in audit_log


def test_a_burst_against_a_real_client_is_audited_by_its_id(admin: Admin) -> None:
    client_id, _ = admin.new_client(role="admin", name="target")
    # Spellings of one id share one counter, and the audit names the id as the server spells it.
    for spelling in (client_id.upper(), f"{{{client_id}}}"):
        for _ in range(MAX_FAILURES_PER_MINUTE // 2):
            assert fail(admin.http, spelling).status_code == 401
    assert_problem(fail(admin.http, client_id), 429, "rate-limited")
    entries = admin.get("/v1/admin/audit?limit=200").json()["items"]
    throttled = [e for e in entries if e["action"] == "auth.signin_throttled"]
    assert [(e["subject"], e["details"]) for e in throttled] == [
        (client_id, {"failures": MAX_FAILURES_PER_MINUTE})
    ]


def test_maintenance_prunes_failures_whose_window_has_ended(
    client: TestClient[Litestar], settings: Settings, database_url: str
) -> None:
    seed_failures(database_url, 5, age=timedelta(minutes=2))
    assert fail(client, str(uuid.uuid4())).status_code == 401  # a live row, kept

    async def run_maintenance() -> None:
        pool = await create_pool(settings, database_url)
        try:
            await maintenance.run_once(Database(pool, 5.0), date.today(), 12)
        finally:
            await pool.close()

    asyncio.run(run_maintenance())
    assert asyncio.run(failure_rows(database_url)) == 1


def test_unknown_client_ids_cannot_grow_the_throttle_without_bound(
    admin: Admin, database_url: str
) -> None:
    real_client, _ = admin.new_client(role="admin", name="target")
    seed_failures(database_url, MAX_TRACKED_CLIENT_IDS, age=timedelta(0))
    # Full of live windows: a new unknown id is refused without a row of its own...
    refused = fail(admin.http, str(uuid.uuid4()))
    assert_problem(refused, 429, "rate-limited")
    assert asyncio.run(failure_rows(database_url)) == MAX_TRACKED_CLIENT_IDS
    # ... while a real client's failures are still counted, and so can still be audited.
    assert fail(admin.http, real_client).status_code == 401
    assert asyncio.run(failure_rows(database_url)) == MAX_TRACKED_CLIENT_IDS + 1
    # Once those windows end, the sign-in path itself makes room by pruning them.
    asyncio.run(
        execute(
            database_url,
            "UPDATE signin_failures SET window_start = $1::timestamptz - interval '2 minutes'",
            datetime.now(UTC),
        )
    )
    assert fail(admin.http, str(uuid.uuid4())).status_code == 401
    assert asyncio.run(failure_rows(database_url)) == 1
