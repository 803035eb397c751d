"""The review queue: referred cases, why they were referred, claim, reveal, decide, ask for
information, mark a false hit; the cases waiting for information; a case found by its id."""

from __future__ import annotations

import uuid
from typing import Annotated, get_args

from litestar import Controller, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template

from greenlane.console.context import ConsoleContext, ConsoleDep
from greenlane.console.forms import parse
from greenlane.console.gate import area
from greenlane.console.render import page
from greenlane.services import reviews
from greenlane.wire.applications import DecisionRequest
from greenlane.wire.lifecycle import FalseHitCreate, InformationItem, InformationRequestCreate

CaseId = Annotated[uuid.UUID, PathParameter(description="The referred application")]
INFORMATION_ITEMS: tuple[str, ...] = get_args(InformationItem)


def case_page(case_id: uuid.UUID) -> Redirect:
    return Redirect(f"/console/reviews/{case_id}", status_code=303)


class ReviewsController(Controller):
    path = "/reviews"
    opt = area("reviews")

    @get("/", summary="The review queue, and the cases waiting for information")
    async def queue(self, console: ConsoleDep) -> Template:
        cases = await reviews.queue(console.db)
        waiting = await reviews.waiting_for_information(console.db)
        return page("reviews.html", console.staff, section="reviews", cases=cases, waiting=waiting)

    @get("/find", summary="Open the case of an application or a clearance id")
    async def find(
        self, console: ConsoleDep, wanted: Annotated[uuid.UUID, QueryParameter(name="id")]
    ) -> Redirect:
        return case_page(await reviews.case_for(console.db, wanted))

    @get("/{case_id:uuid}", summary="A case, and its clearance once approved")
    async def case(self, console: ConsoleDep, case_id: CaseId) -> Template:
        return await _case(console, case_id, None)

    @post("/{case_id:uuid}/reveal", summary="Show the personal data in full (audited)")
    async def reveal(self, console: ConsoleDep, case_id: CaseId) -> Template:
        revealed = await reviews.reveal(console.deciding, case_id, actor=console.actor)
        return await _case(console, case_id, revealed)

    @post("/{case_id:uuid}/claim", summary="Claim the case", status_code=303)
    async def claim(self, console: ConsoleDep, case_id: CaseId) -> Redirect:
        await reviews.claim(
            console.db, case_id, staff_id=console.staff.staff_id, actor=console.actor
        )
        return case_page(case_id)

    @post("/{case_id:uuid}/decision", summary="Approve, or reject with grounds", status_code=303)
    async def decide(self, console: ConsoleDep, case_id: CaseId) -> Redirect:
        return await _take(console, case_id, parse(console.form, DecisionRequest))

    @post(
        "/{case_id:uuid}/request-info",
        summary="Ask the partner for information; the case waits for the answer",
        status_code=303,
    )
    async def request_info(self, console: ConsoleDep, case_id: CaseId) -> Redirect:
        asked = parse(console.form, InformationRequestCreate, lists=("items",))
        return await _take(console, case_id, asked)

    @post(
        "/{case_id:uuid}/false-hit",
        summary="Mark the case's watchlist hits false hits for its traveller",
        status_code=303,
    )
    async def false_hit(self, console: ConsoleDep, case_id: CaseId) -> Redirect:
        return await _take(console, case_id, parse(console.form, FalseHitCreate))


async def _case(
    console: ConsoleContext, case_id: uuid.UUID, revealed: reviews.Revealed | None
) -> Template:
    found = await reviews.review_case(console.deciding, case_id)
    return page(
        "review.html",
        console.staff,
        section="reviews",
        case=found,
        revealed=revealed,
        information_items=INFORMATION_ITEMS,
    )


async def _take(console: ConsoleContext, case_id: uuid.UUID, step: reviews.Step) -> Redirect:
    await reviews.take_step(
        console.deciding, case_id, step, staff_id=console.staff.staff_id, actor=console.actor
    )
    return case_page(case_id)
