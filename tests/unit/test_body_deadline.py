"""The body deadline as an ASGI wrapper, around a stand-in application and server."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from litestar.types import Message, ReceiveMessage, Scope

from greenlane.api.body_deadline import BodyDeadline, RequestTimeout

DEADLINE = 0.05  # seconds; the application never gets its body in the tests that wait


def scope(*headers: tuple[bytes, bytes]) -> Scope:
    """The part of an HTTP scope the wrapper reads."""
    return cast("Scope", {"type": "http", "method": "POST", "headers": list(headers)})


LENGTH = (b"content-length", b"12")


class Exchange:
    """The server's side: body chunks to hand out (then nothing, ever), and what was sent."""

    def __init__(self, *chunks: ReceiveMessage) -> None:
        self.chunks = list(chunks)
        self.sent: list[Message] = []

    async def receive(self) -> ReceiveMessage:
        if self.chunks:
            return self.chunks.pop(0)
        await asyncio.Event().wait()  # a client that stopped sending
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def headers(self) -> list[tuple[bytes, bytes]]:
        start: Any = self.sent[0]
        return list(start["headers"])


async def read_then_answer(scope: Scope, receive: Any, send: Any) -> None:
    """An application that reads its whole body, then answers."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def answer_at_once(scope: Scope, receive: Any, send: Any) -> None:
    """An application that answers without reading the body (as a 401 does)."""
    await send({"type": "http.response.start", "status": 401, "headers": []})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def chunk(body: bytes, more: bool) -> ReceiveMessage:
    return {"type": "http.request", "body": body, "more_body": more}


def test_a_whole_body_is_read_and_the_connection_kept() -> None:
    exchange = Exchange(chunk(b"hello ", True), chunk(b"world!", False))
    wrapped = BodyDeadline(read_then_answer, DEADLINE)
    asyncio.run(wrapped(scope(LENGTH), exchange.receive, exchange.send))
    assert exchange.headers() == []


def test_a_body_that_stops_coming_is_a_request_timeout() -> None:
    exchange = Exchange(chunk(b"hello ", True))
    wrapped = BodyDeadline(read_then_answer, DEADLINE)
    with pytest.raises(RequestTimeout) as raised:
        asyncio.run(wrapped(scope(LENGTH), exchange.receive, exchange.send))
    assert (raised.value.status, raised.value.slug) == (408, "request-timeout")


def test_a_cancel_from_elsewhere_stays_a_cancel() -> None:
    async def scenario() -> None:
        exchange = Exchange()
        wrapped = BodyDeadline(read_then_answer, 60.0)
        serving = asyncio.create_task(wrapped(scope(LENGTH), exchange.receive, exchange.send))
        await asyncio.sleep(0.01)  # now waiting for its body
        serving.cancel()  # as the server does at shutdown
        with pytest.raises(asyncio.CancelledError):
            await serving

    asyncio.run(scenario())


def test_an_answer_before_the_body_closes_the_connection() -> None:
    exchange = Exchange()
    asyncio.run(
        BodyDeadline(answer_at_once, DEADLINE)(scope(LENGTH), exchange.receive, exchange.send)
    )
    assert exchange.headers() == [(b"connection", b"close")]


@pytest.mark.parametrize("headers", [(), ((b"content-length", b"0"),)])
def test_an_answer_to_a_request_without_a_body_keeps_the_connection(
    headers: tuple[tuple[bytes, bytes], ...],
) -> None:
    exchange = Exchange()
    asyncio.run(
        BodyDeadline(answer_at_once, DEADLINE)(scope(*headers), exchange.receive, exchange.send)
    )
    assert exchange.headers() == []


def test_chunked_bodies_count_as_bodies() -> None:
    exchange = Exchange()
    wrapped = BodyDeadline(answer_at_once, DEADLINE)
    asyncio.run(wrapped(scope((b"transfer-encoding", b"chunked")), exchange.receive, exchange.send))
    assert exchange.headers() == [(b"connection", b"close")]
