"""Administrators' routes for applications: reviews, decisions, dry runs, revocations, keys."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.params import Body, PathParameter, QueryParameter

from greenlane.api.deps import AdminDep
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.services import applications, clearances, keyring, trips
from greenlane.wire.applications import (
    Application,
    DecisionRequest,
    DryRunRequest,
    DryRunResult,
)
from greenlane.wire.clearances import Clearance, RevokeRequest, Rotation, SigningKey
from greenlane.wire.common import Page

ReviewStatus = Annotated[
    Literal["referred", "appealed", "info_requested"],
    QueryParameter(description="referred (default), appealed, or waiting for information"),
]


class DecisionsController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    opt = allow("admin")
    security = SECURITY

    @get(
        "/reviews",
        summary="Applications waiting for a reviewer (referred, or appealed), oldest first",
    )
    async def reviews(
        self,
        admin: AdminDep,
        status: ReviewStatus = "referred",
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[Application]:
        return await applications.page(
            admin.db, partner_id=None, status=status, cursor=cursor, limit=limit
        )

    @post(
        "/applications/{application_id:uuid}/decision",
        summary=(
            "Approve (and issue the clearance) or reject a referred application, or decide an"
            " appeal (not by the reviewer who rejected it)"
        ),
        status_code=200,
        responses=documented(403, 404, 409),
    )
    async def decide(
        self,
        admin: AdminDep,
        application_id: Annotated[uuid.UUID, PathParameter()],
        data: Annotated[DecisionRequest, Body()],
    ) -> Application:
        return await applications.decide(admin.deciding, application_id, data, actor=admin.actor)

    @post(
        "/rules/dry-run",
        summary="Evaluate an application or a trip against the rules; store nothing",
        status_code=200,
        responses=documented(404),
    )
    async def dry_run(
        self, admin: AdminDep, data: Annotated[DryRunRequest, Body()]
    ) -> DryRunResult:
        if data.trip is not None or data.trip_id is not None:
            return await trips.dry_run(admin.deciding, data)
        return await applications.dry_run(admin.deciding, data)

    @post(
        "/clearances/{clearance_id:uuid}/revoke",
        summary="Revoke any clearance",
        status_code=200,
    )
    async def revoke(
        self,
        admin: AdminDep,
        clearance_id: Annotated[uuid.UUID, PathParameter()],
        data: Annotated[RevokeRequest, Body()],
    ) -> Clearance:
        return await clearances.revoke(
            admin.db, clearance_id, partner_id=None, actor=admin.actor, reason=data.reason
        )

    @get("/keys", summary="Clearance signing keys and their states (one page: there are few)")
    async def keys(self, admin: AdminDep) -> Page[SigningKey]:
        return Page(await keyring.list_keys(admin.db), next_cursor=None)

    @post(
        "/keys/rotate",
        summary="Promote the next signing key and publish a new one",
        status_code=200,
    )
    async def rotate(self, admin: AdminDep) -> Rotation:
        return await keyring.rotate_keys(
            admin.db, admin.settings.key_encryption_key.reveal(), actor=admin.actor
        )
