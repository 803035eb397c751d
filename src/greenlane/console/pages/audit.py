"""The audit log: browse and filter it, newest first, and verify its hash chain."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter
from litestar.response import Template

from greenlane.console.context import ConsoleDep
from greenlane.console.gate import area
from greenlane.console.render import page
from greenlane.services import audit

PAGE = 50
Filter = Annotated[str | None, QueryParameter(max_length=200)]
Before = Annotated[int | None, QueryParameter(ge=1, le=2**62)]


class AuditController(Controller):
    path = "/audit"
    opt = area("audit")

    @get("/", summary="The audit log, newest first, filtered")
    async def browse(
        self,
        console: ConsoleDep,
        actor: Filter = None,
        action: Filter = None,
        subject: Filter = None,
        before: Before = None,
    ) -> Template:
        filters = {"actor": actor or None, "action": action or None, "subject": subject or None}
        entries = await audit.search(console.db, **filters, before_id=before, limit=PAGE)
        older = entries[-1].id if len(entries) == PAGE else None
        return page(
            "audit.html",
            console.staff,
            section="audit",
            entries=entries,
            filters=filters,
            older=older,
            verification=None,
            first_bad=None,
        )

    @get("/verify", summary="Recompute the hash chain of the whole log")
    async def verify(self, console: ConsoleDep) -> Template:
        verification = await audit.verify(console.db)
        first_bad = None
        if verification.first_bad is not None:
            found = await audit.search(console.db, before_id=verification.first_bad + 1, limit=1)
            first_bad = found[0] if found else None
        return page(
            "audit.html",
            console.staff,
            section="audit",
            entries=[],
            filters={"actor": None, "action": None, "subject": None},
            older=None,
            verification=verification,
            first_bad=first_bad,
        )
