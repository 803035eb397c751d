"""JSON request bodies: an object that repeats a key is refused (400), never resolved.

msgspec, like most decoders, keeps the last value of a repeated key. A body could then say two
things at once (an MRZ for one surname, and another surname), and whatever reads the text, a
proxy, a log, an audit of what was sent, may see the one the server did not store. The
application reads every body through :class:`RefusingRepeatedKeys` (``app.py``), so no route
that stores a body can forget the check. ``POST /v1/verify`` keeps Litestar's own request class:
it stores no body, and it is the lane hot path.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request

from greenlane.errors import BadRequest

REPEATED_KEY = "A key is repeated in an object of the JSON body."


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise BadRequest(REPEATED_KEY)
    return found


class RefusingRepeatedKeys(Request[Any, Any, Any]):
    """A request whose JSON body is decoded as Litestar does, then refused if any of its
    objects repeats a key (keys compared once unescaped, so ``"a"`` and ``"\\u0061"`` are one)."""

    async def json(self) -> Any:
        value = await super().json()  # malformed JSON is refused here, as before
        if isinstance(value, dict | list):  # only a container can hold an object
            # The standard library reports every object's pairs in order; the body is read
            # once more, after msgspec has found it valid, and at most 64 KiB.
            json.loads(await self.body(), object_pairs_hook=_refuse_repeats)
        return value
