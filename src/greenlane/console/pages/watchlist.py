"""The watchlist: add and remove entries. A number or plate is sent once and never shown
again: the list shows each entry's kind, place, masked hint and reason."""

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
from greenlane.services import watchlist
from greenlane.wire.rules import WatchlistCreate

MAX_SHOWN = 200


class WatchlistController(Controller):
    path = "/watchlist"
    opt = area("watchlist")

    @get("/", summary="Watchlist entries (masked)")
    async def list(self, console: ConsoleDep) -> Template:
        found = await watchlist.list_entries(console.db, cursor=None, limit=MAX_SHOWN)
        return page("watchlist.html", console.staff, section="watchlist", entries=found.items)

    @post("/", summary="Watch a document or a vehicle", status_code=303)
    async def add(self, console: ConsoleDep) -> Redirect:
        await watchlist.add_entry(
            console.db,
            parse(console.form, WatchlistCreate),
            index=console.runtime.protection.index,
            actor=console.actor,
        )
        return Redirect("/console/watchlist", status_code=303)

    @post("/{entry_id:uuid}/remove", summary="Stop watching", status_code=303)
    async def remove(
        self, console: ConsoleDep, entry_id: Annotated[uuid.UUID, PathParameter()]
    ) -> Redirect:
        await watchlist.delete_entry(console.db, entry_id, actor=console.actor)
        return Redirect("/console/watchlist", status_code=303)
