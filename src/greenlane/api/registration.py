"""Partner registration routes: ``/v1/travellers`` and ``/v1/vehicles`` (role ``partner``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import Body, HeaderParameter, PathParameter

from greenlane.api.deps import runtime_of
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, actor, allow, caller
from greenlane.db.pagination import decode_cursor
from greenlane.services import registration
from greenlane.services.idempotency import check_key
from greenlane.services.registration import Caller, Protection
from greenlane.wire.common import Page
from greenlane.wire.registration import (
    Traveller,
    TravellerCreate,
    TravellerPatch,
    Vehicle,
    VehicleCreate,
    VehiclePatch,
)

T = TypeVar("T")

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=255,
        description="Replays the first answer for the same key and body (24 hours)",
    ),
]
TravellerId = Annotated[uuid.UUID, PathParameter(description="A traveller of yours")]
VehicleId = Annotated[uuid.UUID, PathParameter(description="A vehicle of yours")]


def partner_caller(request: Request[Any, Any, Any]) -> Caller:
    identity = caller(request)
    assert identity.partner_id is not None  # the guard admits partner clients only
    return Caller(partner_id=identity.partner_id, actor=actor(identity))


def protection(state: State) -> Protection:
    runtime = runtime_of(state)
    return Protection(cipher=runtime.cipher, index=runtime.index)


def created(answer: T, replayed: bool) -> Response[T]:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(answer, status_code=201, headers=headers)


def key_of(idempotency_key: str | None) -> str | None:
    return None if idempotency_key is None else check_key(idempotency_key)


class TravellersController(Controller):
    path = "/v1/travellers"
    tags = ["registration"]
    guards = [allow("partner")]
    security = SECURITY

    @post(
        "/",
        summary="Register a traveller (a driver when a licence is given)",
        responses=documented(409),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        state: State,
        data: Annotated[TravellerCreate, Body()],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Traveller]:
        answer, replayed = await registration.register_traveller(
            runtime_of(state).db,
            protection(state),
            partner_caller(request),
            data,
            key_of(idempotency_key),
        )
        return created(answer, replayed)

    @get("/", summary="Your travellers")
    async def list(
        self,
        request: Request[Any, Any, Any],
        state: State,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[Traveller]:
        return await registration.list_travellers(
            runtime_of(state).db,
            protection(state),
            partner_caller(request),
            after=decode_cursor(cursor),
            limit=limit,
        )

    @get("/{traveller_id:uuid}", summary="One of your travellers")
    async def read(
        self, request: Request[Any, Any, Any], state: State, traveller_id: TravellerId
    ) -> Traveller:
        return await registration.get_traveller(
            runtime_of(state).db, protection(state), partner_caller(request), traveller_id
        )

    @patch(
        "/{traveller_id:uuid}",
        summary="Change a registration (validated as a new one)",
        responses=documented(409),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        state: State,
        traveller_id: TravellerId,
        data: Annotated[TravellerPatch, Body()],
    ) -> Traveller:
        return await registration.update_traveller(
            runtime_of(state).db, protection(state), partner_caller(request), traveller_id, data
        )

    @delete("/{traveller_id:uuid}", summary="Erase a traveller's personal data")
    async def erase(
        self, request: Request[Any, Any, Any], state: State, traveller_id: TravellerId
    ) -> None:
        await registration.erase_traveller(
            runtime_of(state).db, partner_caller(request), traveller_id
        )


class VehiclesController(Controller):
    path = "/v1/vehicles"
    tags = ["registration"]
    guards = [allow("partner")]
    security = SECURITY

    @post("/", summary="Register a vehicle", responses=documented(409))
    async def create(
        self,
        request: Request[Any, Any, Any],
        state: State,
        data: Annotated[VehicleCreate, Body()],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Vehicle]:
        answer, replayed = await registration.register_vehicle(
            runtime_of(state).db,
            protection(state),
            partner_caller(request),
            data,
            key_of(idempotency_key),
        )
        return created(answer, replayed)

    @get("/", summary="Your vehicles")
    async def list(
        self,
        request: Request[Any, Any, Any],
        state: State,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[Vehicle]:
        return await registration.list_vehicles(
            runtime_of(state).db, partner_caller(request), after=decode_cursor(cursor), limit=limit
        )

    @get("/{vehicle_id:uuid}", summary="One of your vehicles")
    async def read(
        self, request: Request[Any, Any, Any], state: State, vehicle_id: VehicleId
    ) -> Vehicle:
        return await registration.get_vehicle(
            runtime_of(state).db, partner_caller(request), vehicle_id
        )

    @patch(
        "/{vehicle_id:uuid}",
        summary="Change a vehicle (validated as a new one)",
        responses=documented(409),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        state: State,
        vehicle_id: VehicleId,
        data: Annotated[VehiclePatch, Body()],
    ) -> Vehicle:
        return await registration.update_vehicle(
            runtime_of(state).db, protection(state), partner_caller(request), vehicle_id, data
        )

    @delete("/{vehicle_id:uuid}", summary="Erase a vehicle")
    async def erase(
        self, request: Request[Any, Any, Any], state: State, vehicle_id: VehicleId
    ) -> None:
        await registration.erase_vehicle(runtime_of(state).db, partner_caller(request), vehicle_id)
