"""A clearance, worked from its case's page: suspend it (lanes deny it ``token_suspended``),
reinstate it, or send its next crossing to a second-line check.

Suspending and reinstating ask for the word typed as confirmation, as a key rotation does: a
lane starts or stops turning a traveller away at once. The use cases are the API's
(``clearances.suspend``, ``clearances.reinstate``, ``lifecycle.second_line``), audited under
the person's name.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import PathParameter
from litestar.response import Redirect

from greenlane.console.context import ConsoleDep
from greenlane.console.forms import confirmed, parse
from greenlane.console.gate import area
from greenlane.console.pages.reviews import case_page
from greenlane.services import clearances, lifecycle, reviews
from greenlane.wire.clearances import SuspendRequest
from greenlane.wire.lifecycle import SecondLineCreate

ClearanceId = Annotated[uuid.UUID, PathParameter(description="A clearance")]


class ClearancesController(Controller):
    path = "/clearances"
    opt = area("reviews")

    @get("/{clearance_id:uuid}", summary="A clearance: the case that issued it")
    async def read(self, console: ConsoleDep, clearance_id: ClearanceId) -> Redirect:
        return case_page(await reviews.case_for(console.db, clearance_id))

    @post(
        "/{clearance_id:uuid}/suspend",
        summary="Suspend: lanes deny the clearance until it is reinstated",
        status_code=303,
    )
    async def suspend(self, console: ConsoleDep, clearance_id: ClearanceId) -> Redirect:
        confirmed(console.form, "suspend", to="suspend the clearance")
        request = parse(console.form, SuspendRequest)
        suspended = await clearances.suspend(
            console.db, clearance_id, actor=console.actor, reason=request.reason
        )
        return case_page(suspended.application_id)

    @post("/{clearance_id:uuid}/reinstate", summary="Lift the suspension", status_code=303)
    async def reinstate(self, console: ConsoleDep, clearance_id: ClearanceId) -> Redirect:
        confirmed(console.form, "reinstate", to="reinstate the clearance")
        reinstated = await clearances.reinstate(console.db, clearance_id, actor=console.actor)
        return case_page(reinstated.application_id)

    @post(
        "/{clearance_id:uuid}/second-line",
        summary="Refer the clearance's next crossing to a second-line check",
        status_code=303,
    )
    async def second_line(self, console: ConsoleDep, clearance_id: ClearanceId) -> Redirect:
        request = parse(console.form, SecondLineCreate)
        await lifecycle.second_line(console.deciding, clearance_id, request, actor=console.actor)
        return case_page(await reviews.case_for(console.db, clearance_id))
