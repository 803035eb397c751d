"""The review queue: referred cases, why they were referred, claim, reveal, decide."""

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
from greenlane.services import reviews
from greenlane.wire.applications import DecisionRequest

CaseId = Annotated[uuid.UUID, PathParameter(description="The referred application")]


class ReviewsController(Controller):
    path = "/reviews"
    opt = area("reviews")

    @get("/", summary="The review queue")
    async def queue(self, console: ConsoleDep) -> Template:
        cases = await reviews.queue(console.db)
        return page("reviews.html", console.staff, section="reviews", cases=cases)

    @get("/{case_id:uuid}", summary="A referred case")
    async def case(self, console: ConsoleDep, case_id: CaseId) -> Template:
        found = await reviews.review_case(console.deciding, case_id)
        return page("review.html", console.staff, section="reviews", case=found, revealed=None)

    @post("/{case_id:uuid}/reveal", summary="Show the personal data in full (audited)")
    async def reveal(self, console: ConsoleDep, case_id: CaseId) -> Template:
        revealed = await reviews.reveal(console.deciding, case_id, actor=console.actor)
        found = await reviews.review_case(console.deciding, case_id)
        return page("review.html", console.staff, section="reviews", case=found, revealed=revealed)

    @post("/{case_id:uuid}/claim", summary="Claim the case", status_code=303)
    async def claim(self, console: ConsoleDep, case_id: CaseId) -> Redirect:
        await reviews.claim(
            console.db, case_id, staff_id=console.staff.staff_id, actor=console.actor
        )
        return Redirect(f"/console/reviews/{case_id}", status_code=303)

    @post("/{case_id:uuid}/decision", summary="Approve, or reject with grounds", status_code=303)
    async def decide(self, console: ConsoleDep, case_id: CaseId) -> Redirect:
        decision = parse(console.form, DecisionRequest)
        await reviews.decide(
            console.deciding,
            case_id,
            decision,
            staff_id=console.staff.staff_id,
            actor=console.actor,
        )
        return Redirect(f"/console/reviews/{case_id}", status_code=303)
