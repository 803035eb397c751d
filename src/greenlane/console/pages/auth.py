"""Signing in and out, and enrolment: the pages reached without a session.

Their forms carry a double-submit token (a random value both in an HttpOnly, SameSite=Strict
cookie and in the form), since there is no session yet to hold a CSRF token; the enrolment
link's own secret guards enrolment as well. A successful sign-in always opens a new session
with a new id, and sets its cookie.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

import segno
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from markupsafe import Markup

from greenlane.console.context import ConsoleDep
from greenlane.console.cookies import CookiePolicy, policy_for
from greenlane.console.gate import CSRF_FIELD, SIGN_IN, area
from greenlane.console.render import page
from greenlane.domain.staff import new_totp_secret, totp_uri
from greenlane.errors import ValidationFailed
from greenlane.runtime import Runtime
from greenlane.services import staff as staff_service
from greenlane.services.staff import SignInThrottle

HOME = "/console/"
TOTP_ISSUER = "greenlane"
FORM_TOKEN_BYTES = 24
FORM_TOKEN_LENGTH = 32  # characters of 24 bytes in URL-safe base64
EnrolmentToken = Annotated[str, PathParameter(min_length=20, max_length=100)]


@dataclass(frozen=True, slots=True)
class Entrance:
    """What the pages before sign-in need: the runtime, and this worker's sign-in throttle."""

    runtime: Runtime
    throttle: SignInThrottle

    @property
    def cookies(self) -> CookiePolicy:
        return policy_for(self.runtime.settings.console_url)


EntranceDep = NamedDependency[Entrance]


def _form_token(request: Request[Any, Any, Any], entrance: Entrance) -> tuple[str, Cookie]:
    """The browser's form token, or a new one: two tabs of the sign-in page both work."""
    token = request.cookies.get(entrance.cookies.form)
    if token is None or len(token) != FORM_TOKEN_LENGTH:
        token = secrets.token_urlsafe(FORM_TOKEN_BYTES)
    return token, entrance.cookies.cookie(entrance.cookies.form, token)


async def _form_ok(request: Request[Any, Any, Any], entrance: Entrance) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    expected = request.cookies.get(entrance.cookies.form)
    sent = (await request.form()).get(CSRF_FIELD)
    return (
        isinstance(sent, str)
        and expected is not None
        and hmac.compare_digest(sent.encode(), expected.encode())
    )


def _expired_form() -> Template:
    return page(
        "error.html",
        None,
        status=403,
        title="Form refused",
        message="This form has expired or came from another site. Open the page again.",
    )


def _sign_in_page(
    request: Request[Any, Any, Any], entrance: Entrance, *, status: int = 200, **context: Any
) -> Template:
    token, cookie = _form_token(request, entrance)
    response = page("login.html", None, status=status, form_token=token, **context)
    response.cookies.append(cookie)
    return response


@get("/login", summary="The sign-in page")
async def sign_in_page(
    request: Request[Any, Any, Any],
    entrance: EntranceDep,
    enrolled: Annotated[bool, QueryParameter()] = False,
) -> Template:
    return _sign_in_page(request, entrance, enrolled=enrolled)


@post("/login", summary="Sign in", status_code=303)
async def sign_in(request: Request[Any, Any, Any], entrance: EntranceDep) -> Response[Any]:
    if not await _form_ok(request, entrance):
        return _expired_form()
    source = request.client.host if request.client else "unknown"
    if not entrance.throttle.allow(source):
        return _sign_in_page(
            request, entrance, status=429, failed="Too many attempts from here. Wait a minute."
        )
    form = await request.form()
    try:
        opened = await staff_service.sign_in(
            entrance.runtime.db,
            entrance.runtime.cipher,
            email=str(form.get("email", "")),
            password=str(form.get("password", "")),
            code=str(form.get("code", "")),
        )
    except staff_service.SignInRefused:
        return _sign_in_page(
            request,
            entrance,
            status=401,
            failed="Sign-in failed: check your email, password and code. After five failures"
            " in a row an account is locked for 15 minutes.",
            email=str(form.get("email", "")),
        )
    cookies = entrance.cookies
    return Redirect(
        HOME,
        status_code=303,
        cookies=[cookies.session_cookie(opened.session_id), cookies.cleared(cookies.form)],
    )


def _enrol_page(
    request: Request[Any, Any, Any],
    entrance: Entrance,
    token: str,
    pending: staff_service.PendingEnrolment,
    secret: str,
    **extra: Any,
) -> Template:
    uri = totp_uri(secret, pending.email, TOTP_ISSUER)
    form_token, cookie = _form_token(request, entrance)
    response = page(
        "enrol.html",
        None,
        status=422 if extra.get("problems") else 200,
        token=token,
        pending=pending,
        secret=secret,
        qr=Markup(segno.make(uri, error="m").svg_inline(scale=4)),  # noqa: S704 (segno's own SVG)
        form_token=form_token,
        **extra,
    )
    response.cookies.append(cookie)
    return response


@get("/enrol/{token:str}", summary="Enrolment: set a password and a second factor")
async def enrol_page(
    request: Request[Any, Any, Any], entrance: EntranceDep, token: EnrolmentToken
) -> Template:
    pending = await staff_service.pending_enrolment(entrance.runtime.db, token)
    return _enrol_page(request, entrance, token, pending, new_totp_secret())


@post("/enrol/{token:str}", summary="Enrol", status_code=303)
async def enrol(
    request: Request[Any, Any, Any], entrance: EntranceDep, token: EnrolmentToken
) -> Response[Any]:
    if not await _form_ok(request, entrance):
        return _expired_form()
    form = await request.form()
    pending = await staff_service.pending_enrolment(entrance.runtime.db, token)
    secret = str(form.get("totp_secret", ""))
    password = str(form.get("password", ""))
    try:
        if password != form.get("password_again"):
            raise ValidationFailed.one("password_again", "is not the same password")
        await staff_service.enrol(
            entrance.runtime.db,
            entrance.runtime.cipher,
            token,
            password=password,
            totp_secret=secret,
            code=str(form.get("code", "")),
        )
    except ValidationFailed as failed:
        if any(problem.field == "totp_secret" for problem in failed.errors):
            secret = new_totp_secret()
        return _enrol_page(request, entrance, token, pending, secret, problems=failed.errors)
    return Redirect(f"{SIGN_IN}?enrolled=true", status_code=303)


@post("/logout", summary="Sign out", status_code=303, opt=area("today"))
async def sign_out(console: ConsoleDep) -> Redirect:
    await staff_service.sign_out(console.db, console.session_id, console.staff)
    cookies = policy_for(console.runtime.settings.console_url)
    return Redirect(SIGN_IN, status_code=303, cookies=[cookies.cleared(cookies.session)])
