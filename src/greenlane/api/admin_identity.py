"""Administration of partners, ports and API clients (role ``admin``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import Body, PathParameter, QueryParameter

from greenlane.api.deps import AdminDep
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.services import identity
from greenlane.wire.common import PORT_CODE_PATTERN, Page
from greenlane.wire.identity import (
    Client,
    ClientCreate,
    ClientCreated,
    Partner,
    PartnerCreate,
    Port,
    PortCreate,
)

# The ports list pages by code: its cursor is the last code of the previous page.
PortCursor = Annotated[
    str | None,
    QueryParameter(pattern=PORT_CODE_PATTERN, description="`next_cursor` of the previous page"),
]


class PartnersController(Controller):
    path = "/v1/admin/partners"
    tags = ["admin"]
    opt = allow("admin")
    security = SECURITY

    @post("/", summary="Register a partner organisation")
    async def create(self, admin: AdminDep, data: Annotated[PartnerCreate, Body()]) -> Partner:
        return await identity.create_partner(admin.db, data, actor=admin.actor)

    @get("/", summary="List partners")
    async def list(
        self, admin: AdminDep, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Partner]:
        return await identity.list_partners(admin.db, cursor=cursor, limit=limit)


class PortsController(Controller):
    path = "/v1/admin/ports"
    tags = ["admin"]
    opt = allow("admin")
    security = SECURITY

    @post("/", summary="Register a port of entry", responses=documented(409))
    async def create(self, admin: AdminDep, data: Annotated[PortCreate, Body()]) -> Port:
        return await identity.create_port(admin.db, data, actor=admin.actor)

    @get("/", summary="List ports")
    async def list(
        self, admin: AdminDep, limit: Limit = DEFAULT_LIMIT, cursor: PortCursor = None
    ) -> Page[Port]:
        return await identity.list_ports(admin.db, after_code=cursor, limit=limit)


class ClientsController(Controller):
    path = "/v1/admin/clients"
    tags = ["admin"]
    opt = allow("admin")
    security = SECURITY

    @post("/", summary="Create an API client; its secret is shown once")
    async def create(self, admin: AdminDep, data: Annotated[ClientCreate, Body()]) -> ClientCreated:
        return await identity.create_client(
            admin.db, data, actor=admin.actor, pepper=admin.settings.secret_pepper.reveal()
        )

    @get("/", summary="List API clients (never their secrets)")
    async def list(
        self, admin: AdminDep, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Client]:
        return await identity.list_clients(admin.db, cursor=cursor, limit=limit)

    @delete("/{client_id:uuid}", summary="Disable a client", status_code=200)
    async def disable(
        self,
        admin: AdminDep,
        client_id: Annotated[uuid.UUID, PathParameter(description="The client to disable")],
    ) -> Client:
        return await identity.disable_client(admin.db, client_id, actor=admin.actor)
