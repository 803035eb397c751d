"""Administrators' routes for applications: reviews, decisions, dry runs, revocations, keys."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import Body, PathParameter

from greenlane.api.deps import deciding, runtime_of
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, actor, allow, caller
from greenlane.db import signing_keys as keys_db
from greenlane.db.pagination import decode_cursor
from greenlane.services import applications, clearances, keyring
from greenlane.wire.applications import (
    Application,
    DecisionRequest,
    DryRunRequest,
    DryRunResult,
)
from greenlane.wire.clearances import Clearance, RevokeRequest, Rotation, SigningKey
from greenlane.wire.common import Page


class DecisionsController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    guards = [allow("admin")]
    security = SECURITY

    @get("/reviews", summary="Referred applications waiting for a decision, oldest first")
    async def reviews(
        self, state: State, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Application]:
        return await applications.page(
            runtime_of(state).db,
            partner_id=None,
            status="referred",
            after=decode_cursor(cursor),
            limit=limit,
        )

    @post(
        "/applications/{application_id:uuid}/decision",
        summary="Approve (and issue the clearance) or reject a referred application",
        status_code=200,
        responses=documented(409),
    )
    async def decide(
        self,
        request: Request[Any, Any, Any],
        state: State,
        application_id: Annotated[uuid.UUID, PathParameter()],
        data: Annotated[DecisionRequest, Body()],
    ) -> Application:
        return await applications.decide(
            deciding(state), application_id, data, actor=actor(caller(request))
        )

    @post(
        "/rules/dry-run",
        summary="Evaluate an application against the rules; store nothing",
        status_code=200,
        responses=documented(404),
    )
    async def dry_run(self, state: State, data: Annotated[DryRunRequest, Body()]) -> DryRunResult:
        return await applications.dry_run(deciding(state), data)

    @post(
        "/clearances/{clearance_id:uuid}/revoke",
        summary="Revoke any clearance",
        status_code=200,
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        state: State,
        clearance_id: Annotated[uuid.UUID, PathParameter()],
        data: Annotated[RevokeRequest, Body()],
    ) -> Clearance:
        runtime = runtime_of(state)
        return await clearances.revoke(
            runtime.db,
            clearance_id,
            partner_id=None,
            actor=actor(caller(request)),
            reason=data.reason,
        )

    @get("/keys", summary="Clearance signing keys and their states (one page: there are few)")
    async def keys(self, state: State) -> Page[SigningKey]:
        async with runtime_of(state).db.connection() as conn:
            rows = await keys_db.everything(conn)
        return Page([keyring.key_answer(row) for row in rows], next_cursor=None)

    @post(
        "/keys/rotate",
        summary="Promote the next signing key and publish a new one",
        status_code=200,
    )
    async def rotate(self, request: Request[Any, Any, Any], state: State) -> Rotation:
        runtime = runtime_of(state)
        async with runtime.db.transaction() as conn:
            active, following = await keyring.rotate(
                conn,
                runtime.settings.key_encryption_key.reveal(),
                actor=actor(caller(request)),
            )
        return Rotation(active=active, next=following)
