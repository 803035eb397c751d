"""Stopping background tasks: bounded, and never at the cost of the caller's own cancellation."""

from __future__ import annotations

import asyncio
import time

import pytest

from greenlane.services.background import keep_cancellation, stop_tasks


def test_a_task_that_ignores_its_cancellation_is_left_after_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(60)  # ignores the cancel: keeps working

    async def scenario() -> float:
        task = asyncio.create_task(stubborn(), name="stubborn")
        await asyncio.sleep(0)
        started = time.monotonic()
        await stop_tasks([task], within=0.2)
        waited = time.monotonic() - started
        assert not task.done()
        task.cancel()  # the test's own clean-up
        return waited

    assert asyncio.run(scenario()) < 5
    assert "task stubborn did not stop" in caplog.text


def test_the_callers_own_cancellation_is_not_swallowed() -> None:
    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.shield(asyncio.sleep(0.5))

    async def scenario() -> bool:
        task = asyncio.create_task(slow_to_stop())
        await asyncio.sleep(0)
        stopping = asyncio.create_task(stop_tasks([task]))
        await asyncio.sleep(0.05)
        stopping.cancel()
        try:
            await stopping
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run(scenario())


def test_a_loop_whose_clean_up_fails_on_the_way_out_still_ends() -> None:
    rounds: list[str] = []

    async def loop() -> None:
        while len(rounds) < 3:  # bounded, so that a regression fails instead of hanging
            try:
                try:
                    await asyncio.sleep(0.3)
                finally:
                    raise ConnectionError("the database went away as we were leaving")
            except Exception:
                keep_cancellation()
                rounds.append("retried")

    async def scenario() -> None:
        task = asyncio.create_task(loop())
        await asyncio.sleep(0)
        await stop_tasks([task], within=1)
        assert task.cancelled()

    asyncio.run(scenario())
    assert rounds == []


def test_outside_a_cancellation_errors_are_left_to_the_loop() -> None:
    async def scenario() -> str:
        try:
            raise ConnectionError("refused")
        except Exception:
            keep_cancellation()
            return "handled"

    assert asyncio.run(scenario()) == "handled"
