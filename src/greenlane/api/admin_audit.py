"""The audit log for administrators: read it, and check that nobody rewrote it."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import QueryParameter

from greenlane.api.deps import runtime_of
from greenlane.api.params import DEFAULT_LIMIT, Limit
from greenlane.api.security import SECURITY, allow
from greenlane.services import audit
from greenlane.wire.common import Page
from greenlane.wire.identity import AuditEntry, AuditVerification

AuditCursor = Annotated[
    str | None,
    QueryParameter(pattern="^[0-9]{1,18}$", description="`next_cursor` of the last page"),
]


class AuditController(Controller):
    path = "/v1/admin/audit"
    tags = ["admin"]
    guards = [allow("admin")]
    security = SECURITY

    @get("/", summary="The audit log, oldest first")
    async def list(
        self, state: State, limit: Limit = DEFAULT_LIMIT, cursor: AuditCursor = None
    ) -> Page[AuditEntry]:
        entries = await audit.page(runtime_of(state).db, after_id=int(cursor or 0), limit=limit)
        items = [
            AuditEntry(
                id=e.id,
                at=e.at,
                actor=e.actor,
                action=e.action,
                subject=e.subject,
                details=dict(e.details),
            )
            for e in entries
        ]
        next_cursor = str(items[-1].id) if len(items) == limit else None
        return Page(items, next_cursor)

    @get("/verify", summary="Recompute the hash chain of the whole log")
    async def verify(self, state: State) -> AuditVerification:
        return await audit.verify(runtime_of(state).db)
