"""The access log: every answer that is not 2xx and every slow one, one in N of the rest."""

from __future__ import annotations

import asyncio
import logging

import pytest
from litestar.types import (
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from greenlane.observability import RequestObserver


async def answer(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers the status its path names (``/200``); ``/slow`` takes 5 ms for a 200."""
    path = scope["path"]
    if path == "/slow":
        await asyncio.sleep(0.005)
    status = 200 if path == "/slow" else int(path.strip("/"))
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": []}
    await send(start)
    body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
    await send(body)


def logged(paths: list[str], caplog: pytest.LogCaptureFixture) -> list[tuple[int, int | None]]:
    """(status, sample) of each access-log line written while ``paths`` were asked for."""
    observer = RequestObserver(answer, every=3, slow_ms=2)

    async def receive() -> HTTPRequestEvent:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def discard(message: Message) -> None:
        pass

    async def ask() -> None:
        for path in paths:
            scope = {"type": "http", "method": "GET", "path": path, "headers": [], "state": {}}
            await observer(scope, receive, discard)  # type: ignore[arg-type]  # a minimal scope

    with caplog.at_level(logging.INFO, logger="greenlane.access"):
        asyncio.run(ask())
    lines: list[dict[str, int]] = [
        getattr(r, "fields", {}) for r in caplog.records if r.name == "greenlane.access"
    ]
    return [(line["status"], line.get("sample")) for line in lines]


def test_one_quick_2xx_in_every_n_is_logged_and_says_how_many_it_stands_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert logged(["/200"] * 7, caplog) == [(200, 3), (200, 3)]


def test_every_answer_that_is_not_2xx_and_every_slow_one_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    paths = ["/404", "/200", "/500", "/slow", "/302", "/429", "/200"]
    assert logged(paths, caplog) == [
        (404, None),
        (500, None),
        (200, None),
        (302, None),
        (429, None),
    ]
