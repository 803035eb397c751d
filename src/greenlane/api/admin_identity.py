"""Administration of partners, ports and API clients (role ``admin``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.params import Body, PathParameter

from greenlane.api.deps import runtime_of
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, actor, allow, caller
from greenlane.db.pagination import decode_cursor
from greenlane.services import identity
from greenlane.wire.common import Page
from greenlane.wire.identity import (
    Client,
    ClientCreate,
    ClientCreated,
    Partner,
    PartnerCreate,
    Port,
    PortCreate,
)


class PartnersController(Controller):
    path = "/v1/admin/partners"
    tags = ["admin"]
    guards = [allow("admin")]
    security = SECURITY

    @post("/", summary="Register a partner organisation")
    async def create(
        self, request: Request[Any, Any, Any], state: State, data: Annotated[PartnerCreate, Body()]
    ) -> Partner:
        return await identity.create_partner(
            runtime_of(state).db, data, actor=actor(caller(request))
        )

    @get("/", summary="List partners")
    async def list(
        self, state: State, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Partner]:
        return await identity.list_partners(
            runtime_of(state).db, after=decode_cursor(cursor), limit=limit
        )


class PortsController(Controller):
    path = "/v1/admin/ports"
    tags = ["admin"]
    guards = [allow("admin")]
    security = SECURITY

    @post("/", summary="Register a port of entry", responses=documented(409))
    async def create(
        self, request: Request[Any, Any, Any], state: State, data: Annotated[PortCreate, Body()]
    ) -> Port:
        return await identity.create_port(runtime_of(state).db, data, actor=actor(caller(request)))

    @get("/", summary="List ports")
    async def list(
        self, state: State, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Port]:
        return await identity.list_ports(runtime_of(state).db, after_code=cursor, limit=limit)


class ClientsController(Controller):
    path = "/v1/admin/clients"
    tags = ["admin"]
    guards = [allow("admin")]
    security = SECURITY

    @post("/", summary="Create an API client; its secret is shown once")
    async def create(
        self,
        request: Request[Any, Any, Any],
        state: State,
        data: Annotated[ClientCreate, Body()],
    ) -> ClientCreated:
        runtime = runtime_of(state)
        return await identity.create_client(
            runtime.db,
            data,
            actor=actor(caller(request)),
            pepper=runtime.settings.secret_pepper.reveal(),
        )

    @get("/", summary="List API clients (never their secrets)")
    async def list(
        self, state: State, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Client]:
        return await identity.list_clients(
            runtime_of(state).db, after=decode_cursor(cursor), limit=limit
        )

    @delete("/{client_id:uuid}", summary="Disable a client", status_code=200)
    async def disable(
        self,
        request: Request[Any, Any, Any],
        state: State,
        client_id: Annotated[uuid.UUID, PathParameter(description="The client to disable")],
    ) -> Client:
        runtime = runtime_of(state)
        return await identity.disable_client(runtime.db, client_id, actor=actor(caller(request)))
