"""What lanes read besides verify: the key set (public) and the revocation feed."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from greenlane.api.deps import DatabaseDep, RuntimeDep
from greenlane.api.params import DEFAULT_LIMIT, Limit
from greenlane.api.security import SECURITY, allow
from greenlane.services import clearances
from greenlane.services.keyring import JWKS_CONTENT_TYPE
from greenlane.wire.clearances import JwkSet, RevocationPage

Since = Annotated[
    str,
    QueryParameter(
        pattern="^[0-9]{1,18}$", description="`next_cursor` of the last call (0 at first)"
    ),
]


@get(
    "/.well-known/jwks.json",
    tags=["lanes"],
    summary="The clearance signing keys (RFC 7517), public and cacheable",
    media_type=JWKS_CONTENT_TYPE,
    responses={
        200: ResponseSpec(
            JwkSet,
            description="The published keys",
            media_type=JWKS_CONTENT_TYPE,
            generate_examples=False,
        )
    },
)
async def jwks(runtime: RuntimeDep) -> Response[bytes]:
    return Response(
        runtime.keyring.jwks,
        media_type=JWKS_CONTENT_TYPE,
        headers={"Cache-Control": "public, max-age=300"},
    )


@get(
    "/v1/revocations",
    tags=["lanes"],
    summary="Revoked clearance token ids, as a feed to poll with `since`",
    opt=allow("lane", "admin"),
    security=SECURITY,
)
async def revocations(
    db: DatabaseDep, since: Since = "0", limit: Limit = DEFAULT_LIMIT
) -> RevocationPage:
    return await clearances.revocations(db, since=int(since), limit=limit)
