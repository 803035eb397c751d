"""The watchlist for administrators: documents and vehicles to refer to an officer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.params import Body, PathParameter

from greenlane.api.deps import runtime_of
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, actor, allow, caller
from greenlane.db.pagination import decode_cursor
from greenlane.services import watchlist
from greenlane.wire.common import Page
from greenlane.wire.rules import WatchlistCreate, WatchlistEntry


class WatchlistController(Controller):
    path = "/v1/admin/watchlist"
    tags = ["admin"]
    guards = [allow("admin")]
    security = SECURITY

    @post(
        "/",
        summary="Watch a document or a vehicle (stored only as a keyed hash)",
        responses=documented(409),
    )
    async def add(
        self,
        request: Request[Any, Any, Any],
        state: State,
        data: Annotated[WatchlistCreate, Body()],
    ) -> WatchlistEntry:
        runtime = runtime_of(state)
        return await watchlist.add_entry(
            runtime.db, data, index=runtime.index, actor=actor(caller(request))
        )

    @get("/", summary="Watchlist entries (masked)")
    async def list(
        self, state: State, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[WatchlistEntry]:
        return await watchlist.list_entries(
            runtime_of(state).db, after=decode_cursor(cursor), limit=limit
        )

    @delete("/{entry_id:uuid}", summary="Stop watching", status_code=204)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        state: State,
        entry_id: Annotated[uuid.UUID, PathParameter(description="The entry to remove")],
    ) -> None:
        runtime = runtime_of(state)
        await watchlist.delete_entry(runtime.db, entry_id, actor=actor(caller(request)))
