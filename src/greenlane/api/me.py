"""``GET /v1/me``: what the server knows of the calling client (any role)."""

from __future__ import annotations

from litestar import get

from greenlane.api.deps import IdentityDep
from greenlane.api.security import SECURITY, allow
from greenlane.domain.access_tokens import SCOPES
from greenlane.wire.identity import Me


@get(
    "/v1/me",
    tags=["auth"],
    summary="The calling client's identity",
    security=SECURITY,
    opt=allow("admin", "partner", "lane"),
)
async def me(identity: IdentityDep) -> Me:
    return Me(
        client_id=identity.client_id,
        role=identity.role,
        scope=SCOPES[identity.role],
        partner_id=identity.partner_id,
        port_code=identity.port_code,
        lane_code=identity.lane_code,
    )
