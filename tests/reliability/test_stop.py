"""A worker stops when asked, whatever is in flight at that moment: exits never hang."""

from __future__ import annotations

import asyncio
import time

import pytest
from reliability.proxy import Mode
from reliability.stack import proxied

from greenlane import runtime
from greenlane.db.pool import asyncpg_dsn
from greenlane.migrate import upgrade
from greenlane.services.live_state import LiveState
from greenlane.settings import Settings, load_settings


def test_stop_is_not_lost_to_a_notification_arriving_in_the_same_tick(database_url: str) -> None:
    seen: list[str] = []

    async def reload_all() -> None:
        return None

    async def on_rules(key: str) -> None:
        seen.append(key)

    async def scenario() -> None:
        live = LiveState(
            asyncpg_dsn(database_url), reload_all=reload_all, on_change={"rules": on_rules}
        )
        await live.start()
        await asyncio.sleep(0.05)  # the listener now waits for a change
        # _enqueue is what asyncpg calls on a NOTIFY; a real one cannot be timed to the tick in
        # which stop() cancels the listener, which is the moment that used to lose the cancel.
        live._enqueue(None, 0, "greenlane_state", "rules:late")
        async with asyncio.timeout(5):
            await live.stop()

    asyncio.run(scenario())
    assert seen == []


def test_a_connection_never_given_back_does_not_hold_up_the_exit(
    settings: Settings, clean_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "POOL_CLOSE_TIMEOUT", 0.5)

    async def scenario() -> None:
        worker = await runtime.start(settings, clean_database)
        await worker.db.pool.acquire()  # and never released
        async with asyncio.timeout(5):  # asyncpg alone waits for it forever
            await worker.stop()
        assert worker.db.pool.is_closing()

    asyncio.run(scenario())


def test_a_database_that_stops_answering_does_not_hold_up_the_exit() -> None:
    with proxied() as stack:
        settings = load_settings(stack.env)
        url = settings.database_url
        assert url is not None
        upgrade(url)

        async def scenario() -> float:
            worker = await runtime.start(settings, url)
            stack.proxy.set_mode(Mode.BLACKHOLE)  # every connection open, nothing answered
            started = time.monotonic()
            await worker.stop()
            return time.monotonic() - started

        took = asyncio.run(scenario())
    # About 3 s: the listener gives up closing after 1 s, the pool after the 2 s command timeout.
    assert took < runtime.POOL_CLOSE_TIMEOUT + 3
