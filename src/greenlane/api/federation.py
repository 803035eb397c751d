"""Federation between agencies: our trust list, peers and agreements, receipts, lane peers."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, PathParameter

from greenlane.api.deps import AdminDep, DatabaseDep, RuntimeDep
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.services import federation
from greenlane.services.trust_list import TRUST_LIST_CONTENT_TYPE
from greenlane.wire.common import Page
from greenlane.wire.federation import (
    Agency,
    AgencyCreate,
    AgreementSet,
    LanePeers,
    ReceiptAccepted,
    ReceiptSubmit,
)

AgencyId = Annotated[uuid.UUID, PathParameter(description="A peer agency")]


@get(
    "/.well-known/greenlane/trust-list",
    tags=["federation"],
    summary="This agency's trust list: a JWS (gl-trust-list+jwt) signed by its trust anchor",
    media_type=TRUST_LIST_CONTENT_TYPE,
    responses={
        200: ResponseSpec(
            str,
            description="The compact JWS",
            media_type=TRUST_LIST_CONTENT_TYPE,
            generate_examples=False,
        ),
        **documented(404),
    },
)
async def trust_list(runtime: RuntimeDep) -> Response[bytes]:
    return Response(
        await runtime.trust_list.current(),
        media_type=TRUST_LIST_CONTENT_TYPE,
        # Peers fetch on their own schedule; a minute of caching keeps a rotation quick to see.
        headers={"Cache-Control": "public, max-age=60"},
    )


@post(
    "/v1/federation/crossings",
    tags=["federation"],
    summary="A peer agency's signed receipt of a crossing of one of our clearances",
    description=(
        "No access token: the receipt is a JWS (gl-crossing-receipt+jwt) signed by the peer's "
        "trust anchor, which must be one this agency trusts for that peer (401 otherwise). "
        "201 when new, 200 when the same receipt was taken before."
    ),
    responses=documented(401, 404),
)
async def crossing_receipt(
    runtime: RuntimeDep, data: Annotated[ReceiptSubmit, Body()]
) -> Response[ReceiptAccepted]:
    accepted = await federation.take_receipt(
        runtime.db, data.receipt, own_issuer=runtime.settings.issuer
    )
    return Response(accepted, status_code=200 if accepted.replayed else 201)


@get(
    "/v1/federation/peers",
    tags=["lanes"],
    summary="Trusted peers with their signed trust lists and agreements, for offline lanes",
    opt=allow("lane", "admin"),
    security=SECURITY,
)
async def lane_peers(db: DatabaseDep) -> LanePeers:
    return await federation.lane_peers(db)


class AgenciesController(Controller):
    path = "/v1/admin/agencies"
    tags = ["admin"]
    opt = allow("admin")
    security = SECURITY

    @post(
        "/",
        summary="Trust a peer agency, pinned by its anchor's thumbprint",
        responses=documented(409),
    )
    async def create(self, admin: AdminDep, data: Annotated[AgencyCreate, Body()]) -> Agency:
        return await federation.create_agency(
            admin.db, data, own_issuer=admin.settings.issuer, actor=admin.actor
        )

    @get("/", summary="Peer agencies, with the state of their trust lists")
    async def list(
        self, admin: AdminDep, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Agency]:
        return await federation.list_agencies(admin.db, cursor=cursor, limit=limit)

    @get("/{agency_id:uuid}", summary="One peer agency")
    async def read(self, admin: AdminDep, agency_id: AgencyId) -> Agency:
        return await federation.get_agency(admin.db, agency_id)

    @put(
        "/{agency_id:uuid}",
        summary="Change a peer's issuer, URL or pinned anchor",
        responses=documented(409),
    )
    async def update(
        self, admin: AdminDep, agency_id: AgencyId, data: Annotated[AgencyCreate, Body()]
    ) -> Agency:
        return await federation.update_agency(
            admin.db, agency_id, data, own_issuer=admin.settings.issuer, actor=admin.actor
        )

    @delete("/{agency_id:uuid}", summary="Stop trusting a peer agency", status_code=204)
    async def remove(self, admin: AdminDep, agency_id: AgencyId) -> None:
        await federation.delete_agency(admin.db, agency_id, actor=admin.actor)

    @put("/{agency_id:uuid}/agreement", summary="Set the agreement: ports, categories, dates")
    async def agreement(
        self, admin: AdminDep, agency_id: AgencyId, data: Annotated[AgreementSet, Body()]
    ) -> Agency:
        return await federation.set_agreement(admin.db, agency_id, data, actor=admin.actor)
