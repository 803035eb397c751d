"""Who is calling: bearer access tokens, the roles each route admits, per-client rate limits.

The caller's identity (role, partner, port, lane) comes only from its access token and the
in-memory client registry, never from a body or a query. A disabled client's next request fails
as soon as its worker has heard of the change (milliseconds, by LISTEN/NOTIFY).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware

from greenlane.api.deps import runtime_of
from greenlane.domain.access_tokens import (
    AccessClaims,
    InvalidAccessToken,
    Role,
    decode_access_token,
)
from greenlane.errors import Forbidden, RateLimited, Unauthorized
from greenlane.runtime import Runtime
from greenlane.services.client_registry import ClientIdentity

# The console (``greenlane.console``) has its own gate: people's sessions, never bearer tokens.
# A crossing receipt is authenticated by its signature: a peer agency has no access token here.
PUBLIC_PATHS = [
    "^/health/",
    "^/metrics$",
    "^/oauth/token$",
    "^/.well-known/",
    "^/schema",
    "^/console(/|$)",
    "^/v1/status-lists(/[^/]*)?$",
    "^/v1/federation/crossings$",
]
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
# Where the lanes' direct path leaves a caller it signed in before handing a request it would
# not answer (a malformed one) to the framework: signing in again would take from the rate
# limit twice. Only the server writes the ASGI scope.
SIGNED_IN = "greenlane_signed_in"


# Tokens already checked, by their exact text: a lane sends the same token thousands of times
# and its signature cannot change. The expiry is still checked on every request, and whether
# the client is enabled comes from the registry each time.
_checked: dict[str, AccessClaims] = {}
_CHECKED_MAX = 10_000


def _remember(token: str, claims: AccessClaims) -> None:
    if len(_checked) >= _CHECKED_MAX:
        _checked.clear()
    _checked[token] = claims


async def authenticate(
    runtime: Runtime, authorization: str, roles: tuple[Role, ...]
) -> tuple[ClientIdentity, AccessClaims]:
    """The client an ``Authorization`` header names, if it may call a route admitting ``roles``.

    Raises :class:`Unauthorized`, :class:`Forbidden` or :class:`RateLimited`; only a request let
    through takes from the client's rate limit. The middleware below and the lanes' direct path
    (``api/lane_direct.py``) both sign callers in here.
    """
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send an access token: Authorization: Bearer <token>.")
    now = int(time.time())
    claims = _checked.get(token)
    if claims is None or claims.expires_at <= now:
        try:
            claims = decode_access_token(
                token.strip(),
                key=runtime.settings.access_token_key.reveal(),
                issuer=runtime.settings.issuer,
                now=now,
            )
        except InvalidAccessToken:
            raise Unauthorized("The access token is invalid or has expired.") from None
        _remember(token, claims)
    identity = await runtime.clients.get(uuid.UUID(claims.client_id))
    if identity is None or not identity.enabled or identity.role != claims.role:
        raise Unauthorized("The access token is invalid or has expired.")
    if identity.role not in roles:
        raise Forbidden(f"This route is for {' or '.join(roles) or 'no'} clients.")
    retry_after = runtime.rate_limiter.retry_after(identity.client_id, identity.role)
    if retry_after is not None:
        raise RateLimited(retry_after)
    return identity, claims


class BearerAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        signed_in: tuple[ClientIdentity, AccessClaims] | None = connection.scope["state"].get(
            SIGNED_IN
        )
        if signed_in is None:
            signed_in = await authenticate(
                runtime_of(connection.app.state),
                connection.headers.get("authorization", ""),
                connection.route_handler.opt.get(ROLES, ()),
            )
        return AuthenticationResult(user=signed_in[0], auth=signed_in[1])


def authentication() -> DefineMiddleware:
    return DefineMiddleware(BearerAuthentication, exclude=PUBLIC_PATHS)


ROLES = "greenlane_roles"


def allow(*roles: Role) -> dict[str, tuple[Role, ...]]:
    """The roles a route admits, as the ``opt`` of a route, controller or router.

    The authentication middleware enforces it, and a signed-in route that names no role admits
    nobody. Not a Litestar guard: Litestar copies the route handler for every guard it calls,
    about 11 µs a request, which the lane hot path would pay on every verification.
    """
    return {ROLES: roles}
