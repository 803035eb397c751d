"""Who may open a console page, checked before any handler runs.

For every console route but sign-in, enrolment and the static files, in this order:

1. a session cookie naming a live session (idle under 15 minutes, under 8 hours old, its holder
   not disabled), else a GET goes to the sign-in page and anything else is 401;
2. the route's area (``opt=area("rules")``) admits the person's role, else a 403 page; a route
   naming no area admits nobody;
3. a state-changing request carries the session's CSRF token (form field ``_csrf`` or header
   ``X-CSRF-Token``, which htmx sends) and does not come from another site
   (``Sec-Fetch-Site``), else a 403 page and nothing happens.

An API client's bearer token means nothing here, and the session cookie means nothing to the
API: the two never meet. Every answer, the gate's own refusals included, carries the
console's security headers: a strict Content-Security-Policy (scripts and styles from this
origin only, no inline script), ``frame-ancestors 'none'``, no caching, no referrer.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from greenlane.api.deps import runtime_of
from greenlane.console.cookies import policy_for
from greenlane.console.render import render
from greenlane.domain.staff import Area, may_open
from greenlane.services import staff as staff_service

AREA = "greenlane_console_area"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
SIGN_IN = "/console/login"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_REPLACED = {name for name, _ in SECURITY_HEADERS}
# Reached without a session: they make one, or are needed to show the page that does.
OPEN_PATHS = ("/console/login", "/console/enrol/", "/console/static/")


def area(name: Area) -> dict[str, Area]:
    """The ``opt`` of a console controller or route: the area whose roles it admits."""
    return {AREA: name}


def with_security_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED]
            message["headers"] = [*kept, *SECURITY_HEADERS]
        await send(message)

    return sending


class ConsoleGate:
    """ASGI middleware of the console router (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        send = with_security_headers(send)
        if scope["type"] != ScopeType.HTTP or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive)
        runtime = runtime_of(scope["app"].state)
        cookies = policy_for(runtime.settings.console_url)
        session_id = request.cookies.get(cookies.session)
        staff = await staff_service.session(runtime.db, session_id) if session_id else None
        if staff is None:
            await _sign_in_first(
                request, send, cookies.cleared(cookies.session).to_encoded_header()
            )
            return
        wanted: Area | None = scope["route_handler"].opt.get(AREA)
        if wanted is None or not may_open(staff.role, wanted):
            await _refuse(send, 403, "Not for your role", "This page is not part of your role.")
            return
        if request.method not in SAFE_METHODS and not await _csrf_ok(request, staff.csrf_token):
            await _refuse(
                send,
                403,
                "Form refused",
                "This form did not come from your current session (it may be from another"
                " site, or from before you signed in again). Nothing was changed.",
            )
            return
        scope["user"] = staff
        scope["auth"] = session_id
        await self.app(scope, receive, send)


async def _csrf_ok(request: Request[Any, Any, Any], expected: str) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


async def _sign_in_first(
    request: Request[Any, Any, Any], send: Send, clear: tuple[bytes, bytes]
) -> None:
    headers = [clear]
    if request.method == "GET" and "hx-request" not in request.headers:
        await _send(send, 303, b"", [*headers, (b"location", SIGN_IN.encode())])
        return
    if "hx-request" in request.headers:  # htmx follows this with a full page load
        headers.append((b"hx-redirect", SIGN_IN.encode()))
    body = render(
        "error.html",
        status=401,
        title="Signed out",
        message="Your session has ended. Sign in again; nothing was changed.",
    )
    await _send(send, 401, body, [*headers, (b"content-type", b"text/html; charset=utf-8")])


async def _refuse(send: Send, status: int, title: str, message: str) -> None:
    body = render("error.html", status=status, title=title, message=message)
    await _send(send, status, body, [(b"content-type", b"text/html; charset=utf-8")])


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
