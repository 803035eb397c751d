"""Partners, ports and API clients: create them, and disable a client at once.

A client's secret is shown once, on the page that answers its creation, and never again. A
disabled client's tokens stop working on every worker within milliseconds (the client
registry hears of it by LISTEN/NOTIFY), as with the API's DELETE.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from greenlane.console.context import ConsoleDep
from greenlane.console.forms import parse
from greenlane.console.gate import area
from greenlane.console.render import page
from greenlane.services import identity
from greenlane.wire.identity import ClientCreate, PartnerCreate, PortCreate

MAX_SHOWN = 200
HERE = "/console/directory"


class DirectoryController(Controller):
    path = "/directory"
    opt = area("directory")

    @get("/", summary="Partners, ports and API clients")
    async def directory(self, console: ConsoleDep) -> Template:
        partners = await identity.list_partners(console.db, cursor=None, limit=MAX_SHOWN)
        ports = await identity.list_ports(console.db, after_code=None, limit=MAX_SHOWN)
        clients = await identity.list_clients(console.db, cursor=None, limit=MAX_SHOWN)
        return page(
            "directory.html",
            console.staff,
            section="directory",
            partners=partners.items,
            ports=ports.items,
            clients=clients.items,
        )

    @post("/partners", summary="Register a partner", status_code=303)
    async def add_partner(self, console: ConsoleDep) -> Redirect:
        data = parse(console.form, PartnerCreate)
        await identity.create_partner(console.db, data, actor=console.actor)
        return Redirect(HERE, status_code=303)

    @post("/ports", summary="Register a port", status_code=303)
    async def add_port(self, console: ConsoleDep) -> Redirect:
        data = parse(console.form, PortCreate, lists=("kinds",))
        await identity.create_port(console.db, data, actor=console.actor)
        return Redirect(HERE, status_code=303)

    @post("/clients", summary="Create an API client; its secret is shown once")
    async def add_client(self, console: ConsoleDep) -> Template:
        data = parse(console.form, ClientCreate)
        created = await identity.create_client(
            console.db,
            data,
            actor=console.actor,
            pepper=console.runtime.settings.secret_pepper.reveal(),
        )
        return page("secret.html", console.staff, section="directory", created=created)

    @post("/clients/{client_id:uuid}/disable", summary="Disable a client", status_code=303)
    async def disable(
        self, console: ConsoleDep, client_id: Annotated[uuid.UUID, PathParameter()]
    ) -> Redirect:
        await identity.disable_client(console.db, client_id, actor=console.actor)
        return Redirect(HERE, status_code=303)
