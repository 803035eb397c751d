"""Peer agencies (federation): who we trust, how fresh their trust lists are, our agreement
with each; register a peer, change its pin, set its agreement, stop trusting it.

The use cases are the API's (``services.federation``): each change is audited under the
person's name and reaches every worker's view of the peers by NOTIFY. Stopping trusting a peer
asks for the word typed as confirmation: its clearances are refused at our lanes at once.
"""

from __future__ import annotations

import uuid
from typing import Annotated, get_args

from litestar import Controller, get, post
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from greenlane.console.context import ConsoleDep
from greenlane.console.forms import confirmed, parse
from greenlane.console.gate import area
from greenlane.console.render import page
from greenlane.services import federation, identity
from greenlane.wire.federation import AgencyCreate, AgreementSet
from greenlane.wire.registration import Category

AgencyId = Annotated[uuid.UUID, PathParameter(description="A peer agency")]
MAX_SHOWN = 200
HERE = "/console/agencies"
CATEGORIES: tuple[str, ...] = get_args(Category)
CONFIRMATION = "stop"


class AgenciesController(Controller):
    path = "/agencies"
    opt = area("agencies")

    @get("/", summary="Peer agencies, their trust lists' state and our agreements")
    async def agencies(self, console: ConsoleDep) -> Template:
        found = await federation.list_agencies(console.db, cursor=None, limit=MAX_SHOWN)
        return page("agencies.html", console.staff, section="agencies", agencies=found.items)

    @post("/", summary="Trust a peer agency, pinned by its anchor's thumbprint", status_code=303)
    async def add(self, console: ConsoleDep) -> Redirect:
        created = await federation.create_agency(
            console.db,
            parse(console.form, AgencyCreate),
            own_issuer=console.runtime.settings.issuer,
            actor=console.actor,
        )
        return Redirect(f"{HERE}/{created.id}", status_code=303)

    @get("/{agency_id:uuid}", summary="A peer agency: its trust list, pin and agreement")
    async def agency(self, console: ConsoleDep, agency_id: AgencyId) -> Template:
        found = await federation.get_agency(console.db, agency_id)
        ports = await identity.list_ports(console.db, after_code=None, limit=MAX_SHOWN)
        return page(
            "agency.html",
            console.staff,
            section="agencies",
            agency=found,
            ports=ports.items,
            categories=CATEGORIES,
        )

    @post("/{agency_id:uuid}", summary="Change the peer's issuer, URL or pin", status_code=303)
    async def change(self, console: ConsoleDep, agency_id: AgencyId) -> Redirect:
        await federation.update_agency(
            console.db,
            agency_id,
            parse(console.form, AgencyCreate),
            own_issuer=console.runtime.settings.issuer,
            actor=console.actor,
        )
        return Redirect(f"{HERE}/{agency_id}", status_code=303)

    @post(
        "/{agency_id:uuid}/agreement",
        summary="Set the agreement: ports, categories, dates",
        status_code=303,
    )
    async def agreement(self, console: ConsoleDep, agency_id: AgencyId) -> Redirect:
        data = parse(console.form, AgreementSet, lists=("ports", "categories"))
        await federation.set_agreement(console.db, agency_id, data, actor=console.actor)
        return Redirect(f"{HERE}/{agency_id}", status_code=303)

    @post("/{agency_id:uuid}/remove", summary="Stop trusting the peer agency", status_code=303)
    async def remove(self, console: ConsoleDep, agency_id: AgencyId) -> Redirect:
        confirmed(console.form, CONFIRMATION, to="stop trusting the agency")
        await federation.delete_agency(console.db, agency_id, actor=console.actor)
        return Redirect(HERE, status_code=303)
