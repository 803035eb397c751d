"""``POST /oauth/token``: RFC 6749 §4.4 client credentials, with §5.2 error bodies."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body

from greenlane.api.deps import runtime_of
from greenlane.api.problems import documented
from greenlane.services.signin import Credentials, InvalidClient, sign_in
from greenlane.wire.identity import AccessToken, OAuthError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenRequest(msgspec.Struct, kw_only=True):
    """The form fields; each is optional here so that a missing one gets an RFC 6749 answer."""

    grant_type: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None


def oauth_error(status: int, error: str, description: str) -> Response[Any]:
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="greenlane", charset="UTF-8"'
    return Response(
        OAuthError(error=error, error_description=description),  # type: ignore[arg-type]
        status_code=status,
        headers=headers,
    )


def unreadable_form(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """RFC 6749 §3.2 and §5.2: a form that repeats a parameter is ``invalid_request``."""
    return oauth_error(400, "invalid_request", "send each form parameter once, as text")


def basic_credentials(header: str) -> Credentials | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return Credentials(unquote(client_id), unquote(secret)) if sep else None


@post(
    "/oauth/token",
    tags=["auth"],
    summary="Exchange client credentials for an access token",
    status_code=200,
    exception_handlers={ValidationException: unreadable_form},
    responses={
        200: ResponseSpec(AccessToken, description="An access token", generate_examples=False),
        400: ResponseSpec(
            OAuthError,
            description="invalid_request or unsupported_grant_type",
            generate_examples=False,
        ),
        401: ResponseSpec(OAuthError, description="invalid_client", generate_examples=False),
        **documented(429),  # too many failed sign-ins for this client id
    },
)
async def token(
    request: Request[Any, Any, Any],
    state: State,
    data: Annotated[TokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    if not data.grant_type:
        return oauth_error(400, "invalid_request", "grant_type is required")
    if data.grant_type != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    header = request.headers.get("authorization")
    from_header = basic_credentials(header) if header else None
    if header and from_header is None:
        return oauth_error(401, "invalid_client", "malformed Basic credentials")
    if from_header and (data.client_id or data.client_secret):
        return oauth_error(400, "invalid_request", "send credentials once: header or body")
    credentials = from_header or (
        Credentials(data.client_id, data.client_secret)
        if data.client_id and data.client_secret
        else None
    )
    if credentials is None:
        return oauth_error(401, "invalid_client", "client_id and client_secret are required")
    runtime = runtime_of(state)
    try:
        access = await sign_in(
            runtime.db, runtime.clients, runtime.settings, runtime.index, credentials
        )
    except InvalidClient:
        return oauth_error(401, "invalid_client", "client authentication failed")
    return Response(access, status_code=200, headers=NO_STORE)
