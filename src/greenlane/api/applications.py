"""Partner routes for applications and clearances."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)
from litestar.params import Body, PathParameter, QueryParameter

from greenlane.api.creating import IdempotencyKey, created, key_of
from greenlane.api.deps import PartnerDep
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.services import applications, clearances
from greenlane.wire.applications import Application, ApplicationCreate
from greenlane.wire.clearances import Clearance, RevokeRequest
from greenlane.wire.common import Page

ApplicationId = Annotated[uuid.UUID, PathParameter(description="An application of yours")]
ClearanceId = Annotated[uuid.UUID, PathParameter(description="A clearance of yours")]
StatusFilter = Annotated[
    Literal["approved", "referred", "rejected", "info_requested", "appealed"] | None,
    QueryParameter(description="Only applications with this status"),
]
QrFormat = Annotated[
    Literal["svg", "png"], QueryParameter(name="format", description="svg (default) or png")
]


@dataclass
class QrOperation(Operation):
    """The QR route answers SVG or PNG as ``format`` asks; Litestar documents one media type."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        assert isinstance(ok, OpenAPIResponse)
        assert ok.content is not None
        ok.content["image/png"] = OpenAPIMediaType(
            schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        )


class ApplicationsController(Controller):
    path = "/v1/applications"
    tags = ["applications"]
    opt = allow("partner")
    security = SECURITY

    @post(
        "/",
        summary="File an application; approval issues the clearance at once",
        responses=documented(404),
    )
    async def create(
        self,
        partner: PartnerDep,
        data: Annotated[ApplicationCreate, Body()],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Application]:
        answer, replayed = await applications.file(
            partner.deciding,
            data,
            partner_id=partner.caller.partner_id,
            actor=partner.caller.actor,
            idempotency_key=key_of(idempotency_key),
        )
        return created(answer, replayed)

    @get("/", summary="Your applications")
    async def list(
        self,
        partner: PartnerDep,
        status: StatusFilter = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[Application]:
        return await applications.page(
            partner.db,
            partner_id=partner.caller.partner_id,
            status=status,
            cursor=cursor,
            limit=limit,
        )

    @get("/{application_id:uuid}", summary="One of your applications")
    async def read(self, partner: PartnerDep, application_id: ApplicationId) -> Application:
        return await applications.get(partner.db, application_id, partner.caller.partner_id)


class ClearancesController(Controller):
    path = "/v1/clearances"
    tags = ["applications"]
    opt = allow("partner")
    security = SECURITY

    @get("/{clearance_id:uuid}", summary="One of your clearances, with its crossings")
    async def read(self, partner: PartnerDep, clearance_id: ClearanceId) -> Clearance:
        return await clearances.get(partner.db, clearance_id, partner.caller.partner_id)

    @get(
        "/{clearance_id:uuid}/qr",
        summary="The clearance token as a QR code (SVG, or PNG with ?format=png)",
        media_type="image/svg+xml",
        operation_class=QrOperation,
    )
    async def qr(
        self, partner: PartnerDep, clearance_id: ClearanceId, image_format: QrFormat = "svg"
    ) -> Response[bytes]:
        clearance = await clearances.get(partner.db, clearance_id, partner.caller.partner_id)
        media_type = "image/png" if image_format == "png" else "image/svg+xml"
        return Response(
            clearances.qr_code(clearance.token, image_format),
            media_type=media_type,
            headers={"Cache-Control": "private, no-store"},
        )

    @post("/{clearance_id:uuid}/revoke", summary="Withdraw your clearance", status_code=200)
    async def revoke(
        self,
        partner: PartnerDep,
        clearance_id: ClearanceId,
        data: Annotated[RevokeRequest | None, Body()] = None,
    ) -> Clearance:
        return await clearances.revoke(
            partner.db,
            clearance_id,
            partner_id=partner.caller.partner_id,
            actor=partner.caller.actor,
            reason=data.reason if data else "withdrawn by the partner",
        )
