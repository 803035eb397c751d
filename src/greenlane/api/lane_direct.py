"""The lanes' two routes served below the framework, with the framework's answers.

``POST /v1/verify`` and ``POST /v1/verify/trip`` are the hot path: thousands of calls a second,
each a small JSON body, one bearer token and one use case. Through Litestar each paid for
routing, the authentication middleware's connection object, a ``Request``, reading the body into
Python objects and converting them into the signature model (two passes, the second lenient),
the dependency, and a ``Response`` turned into an ASGI response: about a quarter of a worker's
CPU in a profile of verify at saturation (docs/performance.md has the figures).

:class:`LaneDirect` wraps the Litestar application and answers what it can the way the route
handler would: the same sign-in (:func:`~greenlane.api.security.authenticate`), the same use
case, the same exception handlers. Everything else it hands to Litestar, so that every other
behaviour of the routes stays the framework's:

- another path or method, a mounted ``root_path``, or a ``Host`` header Litestar would refuse;
- a caller that sign-in refuses (401, 403, 429): handed on before its body is read, as the
  middleware refuses it;
- a body larger than the limit, one that strict decoding of the request type refuses (the
  framework decodes leniently and words every refusal), or a client gone before its body came:
  handed on with what was read, and with the caller already signed in, so that a malformed
  question takes from the lane's rate limit once, as it does through the framework.

The routes stay declared in ``api/verify.py``: the OpenAPI document, and the answers to what is
handed on, come from there. ``GREENLANE_LANE_DIRECT=false`` sends every lane request through
Litestar; ``tests/api/test_lane_direct.py`` checks that both ways answer alike, byte for byte.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar._asgi.utils import is_valid_host
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseStartEvent,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from greenlane.api.creating import REPLAYED_HEADER
from greenlane.api.deps import runtime_of
from greenlane.api.problems import handler_for
from greenlane.api.security import ROLES, SIGNED_IN, authenticate
from greenlane.api.verify import verify
from greenlane.domain.access_tokens import Role
from greenlane.errors import GreenlaneError
from greenlane.runtime import Runtime
from greenlane.services.client_registry import ClientIdentity
from greenlane.wire.trips import TripVerifyRequest
from greenlane.wire.verify import VerifyRequest

# A use case of the runtime: the answer, and whether it is a replay of a stored one.
Answering = Callable[[Runtime, ClientIdentity, Any], Awaitable[tuple[msgspec.Struct, bool]]]


@dataclass(frozen=True, slots=True)
class _Route:
    decoder: msgspec.json.Decoder[Any]
    answer: Answering


def _verify(runtime: Runtime, lane: ClientIdentity, data: Any) -> Awaitable[Any]:
    return runtime.verifier.verify(lane, data)


def _verify_trip(runtime: Runtime, lane: ClientIdentity, data: Any) -> Awaitable[Any]:
    return runtime.trip_verifier.verify(lane, data)


ROUTES = {
    "/v1/verify": _Route(msgspec.json.Decoder(VerifyRequest), _verify),
    "/v1/verify/trip": _Route(msgspec.json.Decoder(TripVerifyRequest), _verify_trip),
}
LANE_ROLES: tuple[Role, ...] = verify.opt[ROLES]  # what api/verify.py's routes admit

_JSON = (b"content-type", b"application/json")
_REPLAYED = (REPLAYED_HEADER.name.lower().encode(), b"true")
_encode = msgspec.json.Encoder().encode


class LaneDirect:
    """ASGI wrapper: the lanes' routes answered directly, everything else by ``app``."""

    def __init__(self, app: ASGIApp, litestar: Litestar, max_body_bytes: int) -> None:
        self.app = app
        self._litestar = litestar
        self._max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _route_of(scope)
        if route is None:
            await self.app(scope, receive, send)
            return
        runtime = runtime_of(self._litestar.state)
        try:
            signed_in = await authenticate(runtime, _authorization(scope), LANE_ROLES)
        except GreenlaneError:  # refused before the body is read, as the middleware does
            await self.app(scope, receive, send)
            return
        read, whole = await self._read_body(scope, receive)
        data = _decoded(route, read) if whole else None
        if data is None:
            scope["state"][SIGNED_IN] = signed_in
            await self.app(scope, _replaying(read, receive), send)
            return
        scope["path_template"] = scope["path"]  # for the metrics and the access log
        try:
            answer, replayed = await route.answer(runtime, signed_in[0], data)
        except Exception as exc:  # answered as the route's exception handlers answer it
            request: Request[Any, Any, Any] = Request(scope, receive)
            response = handler_for(exc)(request, exc)
            await response.to_asgi_response(None, request)(scope, receive, send)
            return
        content = _encode(answer)
        # In Litestar's order: the route's headers, then the content's.
        headers = [_REPLAYED] if replayed else []
        headers += (_JSON, (b"content-length", str(len(content)).encode()))
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 200,
            "headers": headers,
        }
        await send(start)
        await send({"type": "http.response.body", "body": content, "more_body": False})

    async def _read_body(self, scope: Scope, receive: Receive) -> tuple[list[ReceiveMessage], bool]:
        """The messages read, and whether they hold the whole body: reading stops at a body
        larger than the limit, or when the client has gone."""
        read: list[ReceiveMessage] = []
        if _declared_length(scope) > self._max_body:
            return read, False
        size = 0
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                return read, False
            size += len(message.get("body", b""))
            if size > self._max_body:
                return read, False
            if not message.get("more_body", False):
                return read, True


def _route_of(scope: Scope) -> _Route | None:
    if scope["type"] != ScopeType.HTTP or scope["method"] != "POST" or scope.get("root_path"):
        return None
    route = ROUTES.get(scope["path"])
    if route is None or not _host_is_valid(scope):
        return None
    return route


def _host_is_valid(scope: Scope) -> bool:
    """Litestar refuses a malformed ``Host`` (400): such a request is left to it. Its own test,
    though from a private module, so that the two ways cannot disagree on a header."""
    for name, value in scope["headers"]:
        if name == b"host":
            return is_valid_host(value)
    return True


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _authorization(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return ""


def _decoded(route: _Route, read: list[ReceiveMessage]) -> Any:
    try:
        return route.decoder.decode(b"".join(m["body"] for m in read))  # type: ignore[typeddict-item]
    except (msgspec.DecodeError, RecursionError):
        return None


def _replaying(read: list[ReceiveMessage], receive: Receive) -> Receive:
    """A ``receive`` that gives the messages already read again, then those still to come."""
    pending = read[::-1]

    async def replayed() -> Any:
        return pending.pop() if pending else await receive()

    return replayed
