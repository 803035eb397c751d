"""Partner registration routes: ``/v1/travellers`` and ``/v1/vehicles`` (role ``partner``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import Body, PathParameter

from greenlane.api.creating import IdempotencyKey, created, key_of
from greenlane.api.deps import PartnerDep
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.services import travellers, vehicles
from greenlane.wire.common import Page
from greenlane.wire.registration import (
    Traveller,
    TravellerChange,
    TravellerCreate,
    TravellerPatch,
    Vehicle,
    VehicleCreate,
    VehiclePatch,
)

TravellerId = Annotated[uuid.UUID, PathParameter(description="A traveller of yours")]
VehicleId = Annotated[uuid.UUID, PathParameter(description="A vehicle of yours")]


class TravellersController(Controller):
    path = "/v1/travellers"
    tags = ["registration"]
    opt = allow("partner")
    security = SECURITY

    @post(
        "/",
        summary="Register a traveller (a driver when a licence is given)",
        responses=documented(409),
    )
    async def create(
        self,
        partner: PartnerDep,
        data: Annotated[TravellerCreate, Body()],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Traveller]:
        answer, replayed = await travellers.register_traveller(
            partner.db, partner.protection, partner.caller, data, key_of(idempotency_key)
        )
        return created(answer, replayed)

    @get("/", summary="Your travellers")
    async def list(
        self, partner: PartnerDep, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Traveller]:
        return await travellers.list_travellers(
            partner.db, partner.protection, partner.caller, cursor=cursor, limit=limit
        )

    @get("/{traveller_id:uuid}", summary="One of your travellers")
    async def read(self, partner: PartnerDep, traveller_id: TravellerId) -> Traveller:
        return await travellers.get_traveller(
            partner.db, partner.protection, partner.caller, traveller_id
        )

    @patch(
        "/{traveller_id:uuid}",
        summary="Change a registration (validated as a new one)",
        description=(
            "A change to an identity field needs an MRZ that agrees with the new values, and "
            "decides the traveller's live applications again: `redecided` lists them."
        ),
        responses=documented(409),
    )
    async def update(
        self,
        partner: PartnerDep,
        traveller_id: TravellerId,
        data: Annotated[TravellerPatch, Body()],
    ) -> TravellerChange:
        return await travellers.update_traveller(
            partner.deciding, partner.protection, partner.caller, traveller_id, data
        )

    @delete("/{traveller_id:uuid}", summary="Erase a traveller's personal data")
    async def erase(self, partner: PartnerDep, traveller_id: TravellerId) -> None:
        await travellers.erase_traveller(partner.db, partner.caller, traveller_id)


class VehiclesController(Controller):
    path = "/v1/vehicles"
    tags = ["registration"]
    opt = allow("partner")
    security = SECURITY

    @post("/", summary="Register a vehicle", responses=documented(409))
    async def create(
        self,
        partner: PartnerDep,
        data: Annotated[VehicleCreate, Body()],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Vehicle]:
        answer, replayed = await vehicles.register_vehicle(
            partner.db, partner.protection, partner.caller, data, key_of(idempotency_key)
        )
        return created(answer, replayed)

    @get("/", summary="Your vehicles")
    async def list(
        self, partner: PartnerDep, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Vehicle]:
        return await vehicles.list_vehicles(partner.db, partner.caller, cursor=cursor, limit=limit)

    @get("/{vehicle_id:uuid}", summary="One of your vehicles")
    async def read(self, partner: PartnerDep, vehicle_id: VehicleId) -> Vehicle:
        return await vehicles.get_vehicle(partner.db, partner.caller, vehicle_id)

    @patch(
        "/{vehicle_id:uuid}",
        summary="Change a vehicle (validated as a new one)",
        responses=documented(409),
    )
    async def update(
        self, partner: PartnerDep, vehicle_id: VehicleId, data: Annotated[VehiclePatch, Body()]
    ) -> Vehicle:
        return await vehicles.update_vehicle(
            partner.db, partner.protection, partner.caller, vehicle_id, data
        )

    @delete("/{vehicle_id:uuid}", summary="Erase a vehicle")
    async def erase(self, partner: PartnerDep, vehicle_id: VehicleId) -> None:
        await vehicles.erase_vehicle(partner.db, partner.caller, vehicle_id)
