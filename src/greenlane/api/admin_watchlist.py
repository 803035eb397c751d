"""The watchlist for administrators: documents and vehicles to refer to an officer."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import Body, PathParameter

from greenlane.api.deps import AdminDep
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.services import watchlist
from greenlane.wire.common import Page
from greenlane.wire.rules import WatchlistCreate, WatchlistEntry


class WatchlistController(Controller):
    path = "/v1/admin/watchlist"
    tags = ["admin"]
    opt = allow("admin")
    security = SECURITY

    @post(
        "/",
        summary="Watch a document or a vehicle (stored only as a keyed hash)",
        responses=documented(409),
    )
    async def add(
        self, admin: AdminDep, data: Annotated[WatchlistCreate, Body()]
    ) -> WatchlistEntry:
        return await watchlist.add_entry(
            admin.db, data, index=admin.protection.index, actor=admin.actor
        )

    @get("/", summary="Watchlist entries (masked)")
    async def list(
        self, admin: AdminDep, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[WatchlistEntry]:
        return await watchlist.list_entries(admin.db, cursor=cursor, limit=limit)

    @put(
        "/{entry_id:uuid}",
        summary="Change what an entry watches or why; false-hit marks on it lapse",
        responses=documented(404, 409),
    )
    async def change(
        self,
        admin: AdminDep,
        entry_id: Annotated[uuid.UUID, PathParameter(description="The entry to change")],
        data: Annotated[WatchlistCreate, Body()],
    ) -> WatchlistEntry:
        return await watchlist.change_entry(
            admin.db, entry_id, data, index=admin.protection.index, actor=admin.actor
        )

    @delete("/{entry_id:uuid}", summary="Stop watching", status_code=204)
    async def remove(
        self,
        admin: AdminDep,
        entry_id: Annotated[uuid.UUID, PathParameter(description="The entry to remove")],
    ) -> None:
        await watchlist.delete_entry(admin.db, entry_id, actor=admin.actor)
