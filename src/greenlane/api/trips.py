"""Partner routes for trips: file, read, amend, cancel, and the trip token as a QR code."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post, put
from litestar.params import Body, PathParameter

from greenlane.api.applications import QrFormat, QrOperation
from greenlane.api.creating import IdempotencyKey, created, key_of
from greenlane.api.deps import PartnerDep
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.errors import Conflict
from greenlane.services import clearances, trips
from greenlane.wire.common import Page
from greenlane.wire.trips import Trip, TripCreate

TripId = Annotated[uuid.UUID, PathParameter(description="A trip of yours")]


class TripsController(Controller):
    path = "/v1/trips"
    tags = ["trips"]
    opt = allow("partner")
    security = SECURITY

    @post(
        "/",
        summary="File a trip: a vehicle and everyone in it; approval issues its token at once",
        responses=documented(404),
    )
    async def create(
        self,
        partner: PartnerDep,
        data: Annotated[TripCreate, Body()],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Trip]:
        answer, replayed = await trips.file(
            partner.deciding,
            data,
            partner_id=partner.caller.partner_id,
            actor=partner.caller.actor,
            idempotency_key=key_of(idempotency_key),
        )
        return created(answer, replayed)

    @get("/", summary="Your trips")
    async def list(
        self, partner: PartnerDep, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Trip]:
        return await trips.page(
            partner.db, partner_id=partner.caller.partner_id, cursor=cursor, limit=limit
        )

    @get("/{trip_id:uuid}", summary="One of your trips, with the vehicle's crossings")
    async def read(self, partner: PartnerDep, trip_id: TripId) -> Trip:
        return await trips.get(partner.db, trip_id, partner.caller.partner_id)

    @put(
        "/{trip_id:uuid}",
        summary="Amend a trip: decided again; its token is revoked and, if approved, re-issued",
        responses=documented(404, 409),
    )
    async def amend(
        self, partner: PartnerDep, trip_id: TripId, data: Annotated[TripCreate, Body()]
    ) -> Trip:
        return await trips.amend(
            partner.deciding,
            trip_id,
            data,
            partner_id=partner.caller.partner_id,
            actor=partner.caller.actor,
        )

    @post(
        "/{trip_id:uuid}/cancel",
        summary="Cancel a trip and revoke its token",
        status_code=200,
        responses=documented(404),
    )
    async def cancel(self, partner: PartnerDep, trip_id: TripId) -> Trip:
        return await trips.cancel(
            partner.db, trip_id, partner_id=partner.caller.partner_id, actor=partner.caller.actor
        )

    @get(
        "/{trip_id:uuid}/qr",
        summary="The trip token as a QR code (SVG, or PNG with ?format=png)",
        media_type="image/svg+xml",
        operation_class=QrOperation,
        responses=documented(404, 409),
    )
    async def qr(
        self, partner: PartnerDep, trip_id: TripId, image_format: QrFormat = "svg"
    ) -> Response[bytes]:
        trip = await trips.get(partner.db, trip_id, partner.caller.partner_id)
        if trip.token is None:
            raise Conflict(f"the trip is {trip.status} and has no token")
        media_type = "image/png" if image_format == "png" else "image/svg+xml"
        return Response(
            clearances.qr_code(trip.token, image_format),
            media_type=media_type,
            headers={"Cache-Control": "private, no-store"},
        )
