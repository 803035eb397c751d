"""Clearance signing keys: their states, and a rotation that asks for confirmation first."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.response import Template

from greenlane.console.context import ConsoleDep
from greenlane.console.forms import confirmed
from greenlane.console.gate import area
from greenlane.console.render import page
from greenlane.services import keyring

CONFIRMATION = "rotate"


class KeysController(Controller):
    path = "/keys"
    opt = area("keys")

    @get("/", summary="Signing keys and their states")
    async def keys(self, console: ConsoleDep) -> Template:
        found = await keyring.list_keys(console.db)
        return page("keys.html", console.staff, section="keys", keys=found, rotation=None)

    @post("/rotate", summary="Promote the next key and publish a new one")
    async def rotate(self, console: ConsoleDep) -> Template:
        confirmed(console.form, CONFIRMATION, to="rotate the keys")
        rotation = await keyring.rotate_keys(
            console.db,
            console.runtime.settings.key_encryption_key.reveal(),
            actor=console.actor,
        )
        found = await keyring.list_keys(console.db)
        return page("keys.html", console.staff, section="keys", keys=found, rotation=rotation)
