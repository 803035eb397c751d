"""Request bodies arrive in time, or not at all: a slow sender cannot hold a connection.

uvicorn hands a request to the application once its headers are in, and the body as it comes.
It sets no deadline on the body, so a client that sends its headers and then trickles the body
(a byte now and then, which also keeps the idle timer from firing) or stops sending it holds a
connection, and a task waiting on it, for as long as it likes. :class:`BodyDeadline` wraps the
whole ASGI application:

- From the moment the application first asks for the body, all of it must arrive within the
  deadline (``GREENLANE_BODY_READ_TIMEOUT_SECONDS``), however steadily it trickles; otherwise
  the answer is 408, problem type ``request-timeout``.
- An answer that goes out before the whole body has arrived (that 408, or a 401, 413 or 429
  given without reading it) carries ``Connection: close``, so uvicorn closes the connection
  instead of waiting for the rest of the body.

Cheap on the hot path: no task and no timer per request. A request notes its task in a table
while it waits for its body, and one timer per worker sweeps that table a few times a second,
cancelling the waits that are past their deadline. ``asyncio.timeout`` around each ``receive``
would arm and disarm a timer every time, which costs about 4 us a request under uvloop; a
lane's body is already in when it is asked for, so its wait is only the two table writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from greenlane.errors import GreenlaneError

# The sweep runs at least this often, so a deadline is kept to within a quarter of itself.
_LONGEST_SWEEP_INTERVAL = 0.5
_CLOSE = (b"connection", b"close")


class RequestTimeout(GreenlaneError):
    status = 408
    slug = "request-timeout"
    title = "Request body too slow"


class BodyDeadline:
    """ASGI wrapper: the whole body within ``seconds`` of the application asking for it."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._interval = min(_LONGEST_SWEEP_INTERVAL, seconds / 4)
        self._waiting: dict[asyncio.Task[Any], float] = {}  # task -> its body's deadline
        self._overdue: set[asyncio.Task[Any]] = set()  # cancelled here, not yet told
        self._sweeping: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        complete = False  # the last chunk of the body (or the client's disconnect) has come

        async def receive_in_time() -> ReceiveMessage:
            nonlocal deadline, complete
            if complete:  # what may follow the body (a disconnect) has no deadline
                return await receive()
            task = asyncio.current_task()
            assert task is not None  # the server runs every request in a task
            loop = task.get_loop()
            if deadline is None:
                deadline = loop.time() + self.seconds
                if self._sweeping is not loop:
                    self._start_sweeping(loop)
            self._waiting[task] = deadline
            try:
                message = await receive()
            except asyncio.CancelledError:
                if task not in self._overdue:
                    raise
                self._overdue.discard(task)
                if task.uncancel():  # cancelled by someone else as well: that stands
                    raise
                raise RequestTimeout(
                    f"The request body did not arrive within {self.seconds:g} seconds."
                ) from None
            finally:
                del self._waiting[task]
            complete = not message.get("more_body", False)
            return message

        # Not a coroutine function: it hands back send's own awaitable, one coroutine fewer
        # for each message of every answer.
        def send_closing_early(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start" and not complete and _has_body(scope):
                message["headers"] = [*message.get("headers", ()), _CLOSE]
            return send(message)

        await self.app(scope, receive_in_time, send_closing_early)

    def _start_sweeping(self, loop: asyncio.AbstractEventLoop) -> None:
        """One sweep timer per event loop that serves (a worker has one; tests make several)."""
        self._sweeping = loop
        loop.call_later(self._interval, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._sweeping:
            return  # another loop serves now; this one's timer ends here
        now = loop.time()
        for task, deadline in self._waiting.items():
            if deadline <= now and task not in self._overdue:
                self._overdue.add(task)
                task.cancel()
        loop.call_later(self._interval, self._sweep, loop)


def _has_body(scope: Scope) -> bool:
    """Whether the request announced a body (a length above 0, or chunks)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False
