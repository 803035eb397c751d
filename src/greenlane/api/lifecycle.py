"""Routes of a case after its first decision: information, appeals, renewals, a new travel
document (partners); requests for information, false hits, second-line checks (administrators).
A reviewer decides an appeal through ``POST /v1/admin/applications/{id}/decision``."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post, put
from litestar.params import Body, PathParameter

from greenlane.api.deps import AdminDep, PartnerDep
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.services import applications, lifecycle, travellers
from greenlane.wire.applications import Application
from greenlane.wire.lifecycle import (
    AppealCreate,
    DocumentReplaced,
    DocumentReplacement,
    FalseHitCreate,
    InformationAnswer,
    InformationRequestCreate,
    SecondLine,
    SecondLineCreate,
)

ApplicationId = Annotated[uuid.UUID, PathParameter(description="An application")]
ClearanceId = Annotated[uuid.UUID, PathParameter(description="A clearance")]
TravellerId = Annotated[uuid.UUID, PathParameter(description="A traveller of yours")]


class CaseController(Controller):
    path = "/v1"
    tags = ["applications"]
    opt = allow("partner")
    security = SECURITY

    @post(
        "/applications/{application_id:uuid}/information",
        summary="Answer a reviewer's request for information; the application is reviewed again",
        status_code=200,
        responses=documented(404, 409),
    )
    async def answer(
        self,
        partner: PartnerDep,
        application_id: ApplicationId,
        data: Annotated[InformationAnswer, Body()],
    ) -> Application:
        return await lifecycle.answer_info(
            partner.deciding, partner.protection, partner.caller, application_id, data
        )

    @post(
        "/applications/{application_id:uuid}/appeal",
        summary="Appeal a rejection within its appeal window (once)",
        status_code=200,
        responses=documented(404, 409),
    )
    async def appeal(
        self,
        partner: PartnerDep,
        application_id: ApplicationId,
        data: Annotated[AppealCreate, Body()],
    ) -> Application:
        return await lifecycle.appeal(partner.deciding, partner.caller, application_id, data)

    @post(
        "/clearances/{clearance_id:uuid}/renew",
        summary="Renew a clearance near or past its expiry: a new application decided today",
        responses=documented(404, 409),
    )
    async def renew(self, partner: PartnerDep, clearance_id: ClearanceId) -> Response[Application]:
        renewal = await lifecycle.renew(partner.deciding, partner.caller, clearance_id)
        return Response(renewal, status_code=201)

    @put(
        "/travellers/{traveller_id:uuid}/document",
        summary="Replace the travel document; active clearances are issued again bound to it",
        responses=documented(404, 409, 422),
    )
    async def replace_document(
        self,
        partner: PartnerDep,
        traveller_id: TravellerId,
        data: Annotated[DocumentReplacement, Body()],
    ) -> DocumentReplaced:
        return await travellers.replace_document(
            partner.deciding, partner.protection, partner.caller, traveller_id, data
        )


class AdminCaseController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    opt = allow("admin")
    security = SECURITY

    @get(
        "/applications/{application_id:uuid}",
        summary="Any application, with its whole history",
        responses=documented(404),
    )
    async def read(self, admin: AdminDep, application_id: ApplicationId) -> Application:
        return await applications.get(admin.db, application_id, None)

    @post(
        "/reviews/{application_id:uuid}/request-info",
        summary="Ask the partner for items from the fixed list; the application waits for them",
        status_code=200,
        responses=documented(404, 409),
    )
    async def request_info(
        self,
        admin: AdminDep,
        application_id: ApplicationId,
        data: Annotated[InformationRequestCreate, Body()],
    ) -> Application:
        return await lifecycle.request_info(admin.deciding, application_id, data, actor=admin.actor)

    @post(
        "/applications/{application_id:uuid}/false-hits",
        summary="Mark the application's watchlist hits false hits for its traveller",
        status_code=200,
        responses=documented(404, 409),
    )
    async def false_hit(
        self,
        admin: AdminDep,
        application_id: ApplicationId,
        data: Annotated[FalseHitCreate, Body()],
    ) -> Application:
        return await lifecycle.mark_false_hit(
            admin.deciding, application_id, data, actor=admin.actor
        )

    @post(
        "/clearances/{clearance_id:uuid}/second-line",
        summary="Refer the clearance's next verification to a second-line check",
        status_code=200,
        responses=documented(404, 409),
    )
    async def second_line(
        self,
        admin: AdminDep,
        clearance_id: ClearanceId,
        data: Annotated[SecondLineCreate, Body()],
    ) -> SecondLine:
        return await lifecycle.second_line(admin.deciding, clearance_id, data, actor=admin.actor)
