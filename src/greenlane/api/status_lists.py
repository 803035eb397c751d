"""Token Status Lists: the published lists (public, cacheable) and suspension (admins).

A list is served from the bytes every worker holds (signed once, by one worker): no database
round trip and no signature per request. The ETag is the same on every worker and host, so a
lane or a proxy that sends ``If-None-Match`` gets 304 until the list changes or is signed again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, PathParameter

from greenlane.api.deps import AdminDep, RuntimeDep
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.domain.status_list import MEDIA_TYPE
from greenlane.errors import NotFound, NotImplementedHere
from greenlane.services import clearances
from greenlane.services.status_lists import Served
from greenlane.wire.clearances import Clearance, SuspendRequest
from greenlane.wire.status_lists import StatusListAggregation

# Any integer: a number no list has (0, -1, a huge one) is a list that does not exist, 404.
ListNumber = Annotated[int, PathParameter(description="The list's number, from 1")]
ClearanceId = Annotated[uuid.UUID, PathParameter()]


def _caching(ttl: int, served: Served | None = None) -> dict[str, str]:
    """Cache for ``ttl`` (never past the list's exp); anyone may read it, from any origin."""
    max_age = ttl
    if served is not None:
        remaining = int((served.expires_at - datetime.now(UTC)).total_seconds())
        max_age = max(0, min(ttl, remaining))
    return {
        "Cache-Control": f"public, max-age={max_age}",
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept-Encoding",
    }


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2), as If-None-Match asks."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


@get(
    "/v1/status-lists/{number:int}",
    tags=["lanes"],
    summary="One status list (draft-ietf-oauth-status-list), signed; public and cacheable",
    media_type=MEDIA_TYPE,
    responses={
        200: ResponseSpec(
            str,
            description="The Status List Token (a compact JWS, `typ` `statuslist+jwt`)",
            media_type=MEDIA_TYPE,
            generate_examples=False,
        ),
        304: ResponseSpec(None, description="Not modified: the ETag sent is still current"),
        **documented(404, 501),
    },
)
async def status_list(
    runtime: RuntimeDep, number: ListNumber, request: Request[Any, Any, Any]
) -> Response[bytes]:
    if "time" in request.query_params:
        # The draft's historical resolution (§8.4): a server without it answers 501.
        raise NotImplementedHere("Status lists are served as they are now; there is no history.")
    lists = runtime.status_lists
    served = lists.served.get(number)
    if served is None:
        raise NotFound("no such status list")
    headers = {"ETag": served.etag, **_caching(lists.ttl, served)}
    if _matches(request.headers.get("if-none-match"), served.etag):
        return Response(b"", status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(served.gzipped, media_type=MEDIA_TYPE, headers=headers)
    return Response(served.token, media_type=MEDIA_TYPE, headers=headers)


@get(
    "/v1/status-lists",
    tags=["lanes"],
    summary="Every published status list (the draft's Status List Aggregation)",
    media_type="application/json",
    responses={
        200: ResponseSpec(
            StatusListAggregation, description="The lists' URIs", generate_examples=False
        )
    },
)
async def status_lists(runtime: RuntimeDep) -> Response[bytes]:
    lists = runtime.status_lists
    return Response(lists.aggregation, media_type="application/json", headers=_caching(lists.ttl))


class SuspensionsController(Controller):
    path = "/v1/clearances"
    tags = ["admin"]
    opt = allow("admin")
    security = SECURITY

    @post(
        "/{clearance_id:uuid}/suspend",
        summary="Suspend a clearance: lanes deny it (token_suspended) until it is reinstated",
        status_code=200,
        responses=documented(409),
    )
    async def suspend(
        self,
        admin: AdminDep,
        clearance_id: ClearanceId,
        data: Annotated[SuspendRequest, Body()],
    ) -> Clearance:
        return await clearances.suspend(
            admin.db, clearance_id, actor=admin.actor, reason=data.reason
        )

    @post(
        "/{clearance_id:uuid}/reinstate",
        summary="Lift a clearance's suspension",
        status_code=200,
        responses=documented(409),
    )
    async def reinstate(self, admin: AdminDep, clearance_id: ClearanceId) -> Clearance:
        return await clearances.reinstate(admin.db, clearance_id, actor=admin.actor)
