"""The audit log for administrators: read it, and check that nobody rewrote it."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from greenlane.api.deps import AdminDep
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
    opt = allow("admin")
    security = SECURITY

    @get("/", summary="The audit log, oldest first")
    async def list(
        self, admin: AdminDep, limit: Limit = DEFAULT_LIMIT, cursor: AuditCursor = None
    ) -> Page[AuditEntry]:
        return await audit.page(admin.db, cursor=cursor, limit=limit)

    @get("/verify", summary="Recompute the hash chain of the whole log")
    async def verify(self, admin: AdminDep) -> AuditVerification:
        return await audit.verify(admin.db)
