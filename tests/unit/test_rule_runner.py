"""The rule processes of a worker: verdicts in order, a runaway stopped, a dead one replaced.

These start real processes (``python -m greenlane.services.rule_process``) but need no database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from greenlane.domain.rules import Verdict
from greenlane.errors import ServiceUnavailable
from greenlane.services.rule_runner import RuleRunner, RulesUnavailable

from ..conditions import RUNAWAY

CONTEXT: dict[str, Any] = {"application": {"days": 14, "ports": ["THBKK"]}}
HOLDS, FAILS = "application.days == 14", "application.days > 14"


@pytest.fixture
async def runner() -> AsyncIterator[RuleRunner]:
    # Generous: a loaded test machine must not stop an ordinary condition.
    started = RuleRunner(budget=2.0)
    try:
        yield started
    finally:
        await started.close()


def results(verdicts: list[Verdict]) -> list[str]:
    return [verdict.result for verdict in verdicts]


@pytest.mark.anyio
async def test_each_condition_gets_its_verdict_in_order(runner: RuleRunner) -> None:
    verdicts = await runner.run([HOLDS, FAILS, "1 / 0 == 1", "application.days"], CONTEXT)

    assert results(verdicts) == ["pass", "fail", "error", "error"]
    assert [verdict.problem for verdict in verdicts[2:]] == [
        "division by zero",
        "the condition gave a int, not a bool",
    ]
    assert await runner.run([], CONTEXT) == []


@pytest.mark.anyio
async def test_a_runaway_condition_is_stopped_and_the_rest_still_run() -> None:
    runner = RuleRunner(budget=0.3)
    try:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(tick())
        verdicts = await runner.run([HOLDS, RUNAWAY, FAILS], CONTEXT)
        ticking.cancel()
    finally:
        await runner.close()

    assert results(verdicts) == ["pass", "timeout", "fail"]
    assert verdicts[1].problem == "stopped after its budget of 300 ms"
    assert verdicts[1].elapsed_us >= 300_000
    # The event loop went on while the runaway ran in its process (a thread would have stopped
    # it: cel holds the GIL for a whole evaluation).
    assert ticks >= 5


@pytest.mark.anyio
async def test_a_process_that_died_while_idle_is_replaced(runner: RuleRunner) -> None:
    await runner.run([HOLDS], CONTEXT)
    [idle] = runner._idle
    idle._process.kill()
    await idle._process.wait()

    assert results(await runner.run([HOLDS], CONTEXT)) == ["pass"]
    assert runner._idle[0] is not idle


@pytest.mark.anyio
async def test_a_process_that_dies_under_a_condition_refers_only_that_one(
    runner: RuleRunner,
) -> None:
    await runner.run([HOLDS], CONTEXT)
    # Killed and not yet reaped: it still looks alive when the next job goes to it.
    runner._idle[0]._process.kill()

    verdicts = await runner.run([HOLDS, FAILS], CONTEXT)

    assert results(verdicts) == ["error", "fail"]
    assert verdicts[0].problem == "the evaluation process stopped"


@pytest.mark.anyio
async def test_close_stops_the_processes() -> None:
    runner = RuleRunner(budget=2.0)
    await asyncio.gather(*(runner.run([HOLDS], CONTEXT) for _ in range(4)))
    processes = list(runner._idle)
    assert 1 <= len(processes) <= 2

    await runner.close()

    assert all(process._process.returncode is not None for process in processes)
    assert runner._idle == []


@pytest.mark.anyio
@pytest.mark.parametrize("executable", ["/bin/false", "/nonexistent/python"])
async def test_a_process_that_cannot_start_is_a_503_and_the_next_one_is_tried(
    runner: RuleRunner, monkeypatch: pytest.MonkeyPatch, executable: str
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr("sys.executable", executable)
        with pytest.raises(RulesUnavailable) as raised:
            await runner.run([HOLDS], CONTEXT)
    assert isinstance(raised.value, ServiceUnavailable)
    assert raised.value.status == 503

    assert results(await runner.run([HOLDS], CONTEXT)) == ["pass"]
