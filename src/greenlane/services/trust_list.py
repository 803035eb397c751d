"""This agency's trust list: what peers verify our clearances with, signed by our anchor.

Served from memory at ``/.well-known/greenlane/trust-list``. It is signed again when the
clearance signing keys or the anchors change (NOTIFY ``keys`` or ``anchors``), when a status
list is published, and when half its lifetime has passed, so that a peer that fetches it on
schedule never holds an expired one while we are up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from greenlane.db import signing_keys as keys_db
from greenlane.db.codecs import jsonb
from greenlane.db.pool import Database
from greenlane.domain.federation import TRUST_LIST_TYPE, ListedKey, TrustList, sign
from greenlane.errors import NotFound
from greenlane.services.anchor import Anchor, load_anchor

TRUST_LIST_CONTENT_TYPE = "application/jwt"


class TrustListPublisher:
    def __init__(
        self,
        db: Database,
        kek: bytes,
        *,
        issuer: str,
        country: str | None,
        ttl: int,
        status_lists: Callable[[], tuple[str, ...]],
    ) -> None:
        self._db = db
        self._kek = kek
        self._issuer = issuer
        self._country = country
        self._ttl = ttl
        self._status_lists = status_lists
        self._lock = asyncio.Lock()
        self._signed: bytes | None = None
        self._signed_lists: tuple[str, ...] = ()
        self._renew_at = 0.0
        self.anchor: Anchor | None = None

    async def reload_all(self) -> None:
        self.anchor = await load_anchor(self._db, self._kek)
        self._signed = None

    async def on_keys(self, _key: str) -> None:
        self._signed = None

    async def on_anchors(self, _key: str) -> None:
        await self.reload_all()

    async def current(self) -> bytes:
        """The signed list, signed again first if the keys or the status lists changed, or it is
        half-way to expiry."""
        signed = self._signed
        if signed is not None and not self._due():
            return signed
        async with self._lock:
            if self._signed is None or self._due():
                self._signed_lists = self._status_lists()
                self._signed = await self._sign(self._signed_lists)
                self._renew_at = time.monotonic() + self._ttl / 2
            return self._signed

    def _due(self) -> bool:
        return time.monotonic() >= self._renew_at or self._status_lists() != self._signed_lists

    async def _sign(self, status_lists: tuple[str, ...]) -> bytes:
        anchor = self.anchor
        if anchor is None or self._country is None:
            raise NotFound("This agency publishes no trust list: GREENLANE_COUNTRY is not set.")
        async with self._db.connection() as conn:
            rows = await keys_db.published(conn)
        now = datetime.now(UTC)
        keys = [
            ListedKey(
                **jsonb(row["public_jwk"]),
                state=row["state"],
                valid_until=(
                    int(row["retire_after"].timestamp()) if row["state"] == "retiring" else None
                ),
            )
            for row in rows
            if row["state"] != "retiring" or row["retire_after"] >= now
        ]
        issued = int(now.timestamp())
        listed = TrustList(
            iss=self._issuer,
            country=self._country,
            iat=issued,
            exp=issued + self._ttl,
            anchors=list(anchor.thumbprints),
            keys=keys,
            status_lists=list(status_lists),
        )
        return sign(listed, anchor.private_key, TRUST_LIST_TYPE).encode("ascii")
