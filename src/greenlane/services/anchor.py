"""This agency's trust anchor: the key that signs its trust list and its crossing receipts.

Long-lived and used for nothing else, sealed under the KEK like the clearance signing keys.
There is always an ``active`` anchor (signing) and a ``next`` one, named in every trust list
so that peers trust it before it signs. ``greenlane federation rotate-anchor`` promotes the
next anchor and makes a new next one; the old one is retired at once, which is safe because
peers have trusted its successor since their first refresh after the previous rotation (the
overlap: rotate no more often than peers refresh, see docs/federation.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.db import anchor_keys as anchors_db
from greenlane.db.pool import Connection, Database
from greenlane.domain.federation import anchor_thumbprint
from greenlane.domain.signing_keys import (
    new_signing_key,
    public_jwk,
    unwrap_private_key,
    wrap_private_key,
)
from greenlane.services import audit
from greenlane.services.live_state import notify
from greenlane.wire.federation import AnchorRotation


@dataclass(frozen=True, slots=True)
class Anchor:
    """The active anchor's private key, and the thumbprints every trust list names."""

    kid: str
    private_key: ec.EllipticCurvePrivateKey
    thumbprints: tuple[str, ...]  # active first, then next


async def _make(conn: Connection, kek: bytes, state: str) -> str:
    key = new_signing_key()
    kid = anchor_thumbprint(key.public_key())
    await anchors_db.insert(
        conn,
        kid=kid,
        state=state,
        public_jwk=public_jwk(key.public_key()),
        private_enc=wrap_private_key(key, kek, kid),
    )
    return kid


async def rotate(conn: Connection, kek: bytes, *, actor: str) -> AnchorRotation:
    """Promote the next anchor (or a new one) and make a new next one, in the caller's
    transaction."""
    await anchors_db.lock_rotation(conn)
    now = datetime.now(UTC)
    upcoming = await anchors_db.in_state(conn, "next")
    previous = await anchors_db.in_state(conn, "active")
    await anchors_db.retire_active(conn, now)
    if upcoming is not None:
        await anchors_db.activate(conn, upcoming["kid"], now)
        active = str(upcoming["kid"])
    else:
        active = await _make(conn, kek, "active")
    following = await _make(conn, kek, "next")
    await audit.record(
        conn,
        actor,
        "anchor.rotate",
        active,
        {"previous": previous["kid"] if previous else None, "next": following},
    )
    await notify(conn, "anchors")
    return AnchorRotation(active=active, next=following)


async def ensure_anchor(db: Database, kek: bytes) -> None:
    """A fresh database gets its anchors at start, so that the trust list can be signed."""
    async with db.transaction() as conn:
        await anchors_db.lock_rotation(conn)
        if await anchors_db.in_state(conn, "active") is None:
            await rotate(conn, kek, actor="system")


async def rotate_anchor(db: Database, kek: bytes, *, actor: str) -> AnchorRotation:
    async with db.transaction() as conn:
        return await rotate(conn, kek, actor=actor)


async def load_anchor(db: Database, kek: bytes) -> Anchor | None:
    async with db.connection() as conn:
        rows = await anchors_db.live(conn)
    active = next((row for row in rows if row["state"] == "active"), None)
    if active is None:
        return None
    kid = str(active["kid"])
    return Anchor(
        kid=kid,
        private_key=unwrap_private_key(bytes(active["private_enc"]), kek, kid),
        thumbprints=tuple(str(row["kid"]) for row in rows),
    )
