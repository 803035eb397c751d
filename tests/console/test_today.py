"""Today over HTTP: the review queue's size and oldest case, the lanes and which are degraded,
this worker's verify mode and spool depth, and the signing keys' states, each set to a known
value first."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime

from litestar import Litestar
from litestar.testing import TestClient

from greenlane.settings import Settings

from ..api.actors import Admin
from ..api.lane_setup import PORT, ask, issue, lanes_and_partner, question
from ..api.test_applications import refer_by_watchlist
from ..database import connect, run
from ..waiting import eventually
from .people import Person

HOLD_TIMEOUT = 30.0


def card(page: str, heading: str) -> str:
    """The part of Today under ``heading``, to its section's end."""
    return page.split(f"<h2>{heading}</h2>")[1].split("</section>")[0]


async def filed_an_hour_earlier(settings: Settings, application_id: str) -> datetime:
    """Move a case's filing back an hour (a case waits that long only in real time), so that
    the oldest case is not the newest one too; its new filing time."""
    assert settings.database_url is not None
    conn = await connect(settings.database_url)
    try:
        filed_at: datetime = await conn.fetchval(
            "UPDATE applications SET created_at = created_at - interval '1 hour'"
            " WHERE id = $1 RETURNING created_at",
            uuid.UUID(application_id),
        )
    finally:
        await conn.close()
    return filed_at


@contextmanager
def verifications_held(settings: Settings) -> Iterator[None]:
    """PostgreSQL takes no verification while inside: a lock on ``verification_events`` makes
    every write to it wait, while reads go on. The group commit's statement gives up at the
    lock timeout, within the commit budget, so the lane gets a degraded answer from the spool
    and no statement is left waiting to record it online once the lock goes (past the budget
    it would be, its connection dropped unheard by a backend waiting for a lock); the spool's
    drain fails in turn until then, as in an outage that Today can still read through."""
    assert settings.db_lock_timeout_ms < settings.verify_commit_budget_ms
    assert settings.database_url is not None
    database_url = settings.database_url
    locked, release = threading.Event(), threading.Event()

    async def hold() -> None:
        conn = await connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE verification_events IN SHARE MODE")
                locked.set()
                released = await asyncio.to_thread(release.wait, HOLD_TIMEOUT)
                assert released, "the test never let the verifications go"
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as thread:
        holding = thread.submit(asyncio.run, hold())
        try:
            assert locked.wait(HOLD_TIMEOUT), "verification_events was not locked"
            yield
        finally:
            release.set()
            holding.result()


def test_today_shows_the_queue_the_degraded_lanes_the_spool_and_the_keys(
    client: TestClient[Litestar],
    agency_admin: tuple[Person, str],
    admin: Admin,
    settings: Settings,
) -> None:
    degraded_lane, partner = lanes_and_partner(admin)
    online_lane = admin.lane_actor(PORT, "L2")
    first = refer_by_watchlist(admin, partner)
    refer_by_watchlist(admin, partner)
    filed_at = run(filed_an_hour_earlier(settings, first["id"]))
    assert admin.post("/v1/admin/keys/rotate").status_code == 200
    issued = issue(partner)
    assert ask(online_lane, question(issued))["mode"] == "online"

    page = client.get("/console/").text
    queue = card(page, "Review queue")
    assert '<p class="big">2</p>' in queue
    oldest = filed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"referred cases waiting; the oldest since {oldest}." in queue
    assert "verifying <b>online</b>, spool depth <b>0</b>" in page
    keys = card(page, "Signing keys")
    states = set()
    for key in admin.get("/v1/admin/keys").json()["items"]:
        kid, state = key["kid"], key["state"]
        shown = f'<code>{kid}</code> <span class="state {state}">{state}</span>' in keys
        assert shown == (state != "retired"), key
        states.add(state)
    assert {"next", "active", "retiring"} <= states

    with verifications_held(settings):
        assert ask(degraded_lane, question(issued))["mode"] == "degraded"
        page = client.get("/console/").text
        assert "verifying <b>degraded</b>, spool depth <b>1</b>" in page

    def drained() -> str | None:
        shown = client.get("/console/").text
        return shown if "spool depth <b>0</b>" in shown else None

    page = eventually(drained, what="the spool to drain", timeout=15, interval=0.1)
    lanes = card(page, "Lanes")
    assert '<p class="big">2</p>' in lanes
    assert "seen in the last 10 minutes; 1 degraded." in lanes
    seen = card(page, "Lanes seen in the last 10 minutes")
    assert re.search(
        rf'<tr class="degraded"><td>{PORT}</td><td>L1</td><td>[^<]+</td><td>degraded</td>', seen
    )
    assert re.search(rf"<tr><td>{PORT}</td><td>L2</td><td>[^<]+</td><td>online</td>", seen)
