"""PostgreSQL stopped in the middle of a burst of verifies, then started again.

No answer may be a 5xx, every green answer's crossing must be in the database afterwards, and
no crossing may be recorded twice.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
from litestar.testing import TestClient

from greenlane.app import create_app
from greenlane.embedded_db import EmbeddedPostgres, ensure_database
from greenlane.migrate import upgrade
from greenlane.settings import Settings

from ..database import connect
from ..waiting import eventually
from .actors import Admin, make_admin_credentials
from .lane_setup import Issued, issue, lanes_and_partner, question

BURST = 40


async def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await connect(url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql)
        return rows
    finally:
        await conn.close()


def test_a_database_outage_loses_and_doubles_nothing(tmp_path: Path, settings: Settings) -> None:
    server = EmbeddedPostgres(tmp_path / "db")
    try:
        ensure_database(server.url("postgres"), "greenlane")
        url = server.url()
        upgrade(url)
        local = replace(
            settings,
            database_url=url,
            data_dir=tmp_path,
            db_connect_timeout=1.0,
            verify_commit_budget_ms=300,
        )
        app = create_app(local)
        with TestClient(app=app, raise_server_exceptions=False) as client:
            admin = Admin(client, *make_admin_credentials(local))
            lane, partner = lanes_and_partner(admin)
            clearances: list[Issued] = [issue(partner) for _ in range(4)]
            single = issue(partner, entries="single")

            def ask(n: int) -> tuple[int, dict[str, Any]]:
                body = question(clearances[n % len(clearances)])
                response = lane.post("/v1/verify", json=body)
                return response.status_code, response.json()

            with ThreadPoolExecutor(max_workers=8) as pool:
                before = list(pool.map(ask, range(BURST)))
                server.halt("immediate")
                during = list(pool.map(ask, range(BURST, 2 * BURST)))
                single_during = lane.post("/v1/verify", json=question(single)).json()
                server.resume()
                after = list(pool.map(ask, range(2 * BURST, 3 * BURST)))
            answers = before + during + after
            assert {status for status, _ in answers} == {200}
            assert {a["mode"] for _, a in during} == {"degraded"}
            assert {a["decision"] for _, a in during} == {"green"}
            assert single_during["decision"] == "refer"
            assert [r["code"] for r in single_during["reasons"]] == ["single_entry_unconfirmed"]
            verifier = app.state.runtime.verifier
            eventually(
                lambda: not verifier.spool_has_work(),
                what="the spool to drain",
                timeout=15,
                interval=0.1,
            )
            ready = client.get("/health/ready").json()
            assert ready["spool_depth"] == 0
        greens = {a["crossing_id"] for _, a in answers if a["decision"] == "green"}
        crossings = asyncio.run(fetch(url, "SELECT id, event_id FROM crossings"))
        assert {str(r["id"]) for r in crossings} == greens
        assert len(crossings) == len(greens) == 3 * BURST
        assert len({r["event_id"] for r in crossings}) == len(crossings)
        events = asyncio.run(fetch(url, "SELECT event_id FROM verification_events"))
        assert len(events) == 3 * BURST + 1
    finally:
        server.stop()
