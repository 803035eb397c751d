"""Applying a worker's own committed changes: one that fails is logged, the others still apply."""

from __future__ import annotations

import asyncio

import pytest

from greenlane.services.live_state import LiveState


def test_a_change_that_cannot_be_applied_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    applied: list[str] = []

    async def nothing() -> None:
        return None

    async def database_busy(_key: str) -> None:
        raise TimeoutError("no connection within the acquire timeout")

    async def remember(key: str) -> None:
        applied.append(key)

    live = LiveState(
        "postgresql://never-connected",
        reload_all=nothing,
        on_change={"rules": database_busy, "revocations": remember},
    )
    asyncio.run(live.apply([("rules", "r1"), ("revocations", "j1"), ("unknown", "x")]))
    assert applied == ["j1"]
    assert "could not apply own change" in caplog.text
