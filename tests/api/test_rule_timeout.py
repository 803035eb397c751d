"""A runaway rule is stopped after its time budget: the application is referred with
``rule_timeout`` naming the rule, the dry run shows why, and the worker keeps answering.

The cost limits refuse such a condition when it is written (``test_rules_admin``), so the rule
here is stored straight into the database, as a release before those limits could have stored
it; the time budget is what stops it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import replace
from typing import Any, cast

import httpx
import pytest

from greenlane.app import create_app
from greenlane.db import rules as rules_db
from greenlane.domain.rules import compile_condition
from greenlane.settings import Settings

from ..conditions import nested
from ..database import connect
from . import bodies
from .actors import Actor, Admin

# Ten levels of ten: days of CPU, far past any budget on any machine.
RUNAWAY = nested(10)
BUDGET_MS = 1500
NAME = "Stored before the cost limits"


async def store_unchecked(database_url: str) -> str:
    """Insert and version a rule without the checks the API makes, as rules_db lets one."""
    rule_id = uuid.uuid4()
    conn = await connect(database_url)
    try:
        async with conn.transaction():
            await rules_db.insert_rule(
                conn,
                rule_id=rule_id,
                content=rules_db.RuleColumns(
                    name=NAME,
                    description="",
                    condition=RUNAWAY,
                    effect="deny",
                    reason_code="runaway",
                    message="Never shown: the rule never finishes.",
                    enabled=True,
                    applies_categories=None,
                    applies_ports=None,
                    valid_from=None,
                    valid_until=None,
                ),
                actor="test",
            )
            await rules_db.record_version(conn, rule_id, "create")
    finally:
        await conn.close()
    return str(rule_id)


@pytest.fixture
def runaway_rule(clean_database: str) -> str:
    return asyncio.run(store_unchecked(clean_database))


@pytest.mark.anyio
async def test_a_runaway_rule_is_stopped_refers_and_the_worker_keeps_answering(
    settings: Settings, admin: Admin, partner: Actor, runaway_rule: str
) -> None:
    traveller = partner.post("/v1/travellers", json=bodies.traveller())
    assert traveller.status_code == 201, traveller.text
    application = bodies.application(traveller.json()["id"])
    worker = create_app(replace(settings, rule_evaluation_timeout_ms=BUDGET_MS))
    # Served on this test's event loop, as uvicorn would (Litestar's test clients run the app
    # on a thread of their own and send one request at a time); the cast because Litestar
    # types its ASGI scope more narrowly than httpx does.
    transport = httpx.ASGITransport(app=cast(Any, worker))
    async with (
        worker.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://worker") as http,
    ):
        filing = asyncio.create_task(
            http.post("/v1/applications", json=application, headers=partner.headers)
        )
        answered_at = []
        while not filing.done():
            live = await http.get("/health/live")
            assert live.status_code == 200
            answered_at.append(time.monotonic())
            await asyncio.sleep(0.02)
        filed = await filing
        dry_run = await http.post(
            "/v1/admin/rules/dry-run", json={"application": application}, headers=admin.headers
        )

    # The worker answered all along: no pause near the budget, where an evaluation on its
    # event loop would have stopped everything (generous bounds; nothing here is a benchmark).
    gaps = [later - earlier for earlier, later in itertools.pairwise(answered_at)]
    assert len(answered_at) >= 10
    assert max(gaps) < BUDGET_MS / 1000 / 2

    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "referred"
    [reason] = filed.json()["reasons"]
    assert (reason["rule_id"], reason["reason_code"], reason["effect"]) == (
        runaway_rule,
        "rule_timeout",
        "refer",
    )
    assert f"'{NAME}' took too long" in reason["message"]

    assert dry_run.status_code == 200, dry_run.text
    result = dry_run.json()
    assert (result["status"], result["reasons"]) == ("referred", [reason])
    evaluation = {r["rule_id"]: r for r in result["results"]}[runaway_rule]
    assert (evaluation["result"], evaluation["reason_code"]) == ("error", "rule_timeout")
    assert evaluation["error"] == f"stopped after its budget of {BUDGET_MS} ms"
    assert evaluation["elapsed_us"] >= BUDGET_MS * 1000
    assert evaluation["cost"] == compile_condition(RUNAWAY).cost.steps > 10**10
    others = [r for r in result["results"] if r["rule_id"] != runaway_rule]
    assert len(others) == 6
    assert all(r["result"] == "pass" for r in others)
