"""Clearances: issued on approval, read and withdrawn by their partner, revoked, suspended and
reinstated by admins.

Each worker keeps the revoked token ids in memory (lanes verify against it on the hot path);
a revocation is NOTIFYed at commit, so every worker knows of it within milliseconds. Every
token also has an index in a published status list (``status_lists.py``): a revocation sets it
to INVALID, a suspension to SUSPENDED and a reinstatement back to VALID, in the same
transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Literal

import asyncpg
import segno

from greenlane.db import agencies as agencies_db
from greenlane.db import clearances as clearances_db
from greenlane.db import crossings as crossings_db
from greenlane.db import lifecycle as lifecycle_db
from greenlane.db import signing_keys as keys_db
from greenlane.db import travellers as travellers_db
from greenlane.db.pool import Connection, Database
from greenlane.domain.clearance_token import (
    LANE_AUDIENCE,
    ClearanceClaims,
    document_binding,
    issue_token,
    new_token_id,
    vehicle_binding,
)
from greenlane.domain.crypto import FieldCipher
from greenlane.domain.status_list import INVALID, SUSPENDED, VALID
from greenlane.errors import Conflict, NotFound, ServiceUnavailable
from greenlane.services import audit, status_lists, webhook_events
from greenlane.services.keyring import KeyRing
from greenlane.services.live_state import notify
from greenlane.wire.applications import ApplicationCreate, IssuedClearance
from greenlane.wire.clearances import Clearance, Crossing, Revocation, RevocationPage
from greenlane.wire.webhooks import ClearanceData

QR_ERROR_CORRECTION = "m"


def window(data: ApplicationCreate) -> tuple[datetime, datetime]:
    """A clearance is valid from 00:00 UTC of its first day to 24:00 UTC of its last."""
    start = datetime.combine(data.valid_from, time.min, tzinfo=UTC)
    end = datetime.combine(data.valid_until + timedelta(days=1), time.min, tzinfo=UTC)
    return start, end


async def issue(
    conn: Connection,
    *,
    application_id: uuid.UUID,
    partner_id: uuid.UUID,
    data: ApplicationCreate,
    traveller: asyncpg.Record,
    vehicle: asyncpg.Record | None,
    keyring: KeyRing,
    cipher: FieldCipher,
    issuer: str,
    status_list_size: int,
    actor: str,
) -> IssuedClearance:
    """Sign and store the clearance of an approved application, in the caller's transaction."""
    signer = keyring.signer
    if signer is None:
        raise ServiceUnavailable(retry_after=1, detail="No signing key is loaded yet.")
    clearance_id = uuid.uuid4()
    jti = new_token_id()
    not_before, expires_at = window(data)
    # The audit entry first: its lock, then the status list's (the order of db/locks.py).
    await audit.record(
        conn,
        actor,
        "clearance.issue",
        str(clearance_id),
        {"application_id": str(application_id), "kid": signer.kid},
    )
    entry = await status_lists.allocate(conn, size=status_list_size, expires_at=expires_at)
    number = travellers_db.unseal(cipher, traveller, "document_number_enc")
    claims = ClearanceClaims(
        issuer=issuer,
        clearance_id=str(clearance_id),
        audience=LANE_AUDIENCE,
        issued_at=int(datetime.now(UTC).timestamp()),
        not_before=int(not_before.timestamp()),
        expires_at=int(expires_at.timestamp()),
        token_id=jti,
        ports=tuple(data.ports),
        entries=data.entries,
        category=traveller["category"],
        nationality=traveller["nationality"],
        document_binding=document_binding(jti, traveller["document_issuing_state"], number),
        status=entry.reference(issuer),
        vehicle_binding=(
            vehicle_binding(jti, vehicle["registration_country"], vehicle["plate"])
            if vehicle is not None
            else None
        ),
        vehicle_country=vehicle["registration_country"] if vehicle is not None else None,
    )
    token = issue_token(claims, signer.private_key, signer.kid)
    # A worker that has not yet heard of a rotation still signs with the old key: that key
    # must then keep verifying until this token expires.
    await keys_db.extend_retirement(conn, signer.kid, expires_at)
    await clearances_db.insert(
        conn,
        clearance_id=clearance_id,
        application_id=application_id,
        partner_id=partner_id,
        traveller_id=traveller["id"],
        vehicle_id=vehicle["id"] if vehicle is not None else None,
        jti=jti,
        kid=signer.kid,
        token=token,
        ports=data.ports,
        entries=data.entries,
        not_before=not_before,
        expires_at=expires_at,
        status_list=entry.list_id,
        status_idx=entry.idx,
        actor=actor,
    )
    return IssuedClearance(id=clearance_id, token=token, expires_at=expires_at)


def _status(row: asyncpg.Record, now: datetime) -> Literal["active", "revoked", "expired"]:
    if row["revoked_at"] is not None:
        return "revoked"
    return "expired" if row["expires_at"] <= now else "active"


async def get(db: Database, clearance_id: uuid.UUID, partner_id: uuid.UUID | None) -> Clearance:
    async with db.connection() as conn:
        row = await clearances_db.get(conn, clearance_id, partner_id)
        if row is None:
            raise NotFound("no such clearance")
        crossings = [
            Crossing(
                id=c["id"],
                direction=c["direction"],
                port_code=c["port_code"],
                lane_code=c["lane_code"],
                crossed_at=c["crossed_at"],
                mode=c["mode"],
            )
            for c in await crossings_db.of_clearance(conn, clearance_id)
        ]
        crossings += [
            Crossing(
                id=c["id"],
                direction=c["direction"],
                port_code=c["port_code"],
                lane_code=c["lane_code"],
                crossed_at=c["crossed_at"],
                mode=c["mode"],
                agency=c["country"],
            )
            for c in await agencies_db.foreign_crossings(conn, clearance_id)
            if c["decision"] == "green"
        ]
        crossings.sort(key=lambda crossing: crossing.crossed_at)
    return Clearance(
        id=row["id"],
        application_id=row["application_id"],
        status=_status(row, datetime.now(UTC)),
        token=row["token"],
        not_before=row["not_before"],
        expires_at=row["expires_at"],
        ports=list(row["ports"]),
        entries=row["entries"],
        crossings=crossings,
        revoked_at=row["revoked_at"],
        revocation_reason=row["revocation_reason"],
        renews=row["renews"],
        suspended_at=row["suspended_at"],
        suspension_reason=row["suspension_reason"],
    )


def qr_code(token: str, image_format: Literal["svg", "png"]) -> bytes:
    """The token as a QR symbol (error correction M), for a phone screen or a print."""
    import io

    symbol = segno.make_qr(token, error=QR_ERROR_CORRECTION, boost_error=False)
    out = io.BytesIO()
    if image_format == "png":
        symbol.save(out, kind="png", scale=6, border=4)
    else:
        symbol.save(out, kind="svg", scale=6, border=4, xmldecl=True, svgns=True)
    return out.getvalue()


async def revoke(
    db: Database,
    clearance_id: uuid.UUID,
    *,
    partner_id: uuid.UUID | None,
    actor: str,
    reason: str,
) -> Clearance:
    """Revoke a clearance (a partner its own, an admin any); revoking twice changes nothing."""
    async with db.transaction() as conn:
        row = await clearances_db.get(conn, clearance_id, partner_id)
        if row is None:
            raise NotFound("no such clearance")
        party = "agency" if partner_id is None else "partner"
        await revoke_in(conn, [clearance_id], actor=actor, party=party, reason=reason)
    return await get(db, clearance_id, partner_id)


async def revoke_in(
    conn: Connection, clearance_ids: list[uuid.UUID], *, actor: str, party: str, reason: str
) -> list[str]:
    """Revoke inside the caller's transaction; audited, in the history of each clearance's
    application, announced to every worker and to the partner's webhooks
    (``clearance.revoked``, for those not revoked before)."""
    revoked = await clearances_db.revoke(
        conn, clearance_ids, actor=actor, reason=reason, at=datetime.now(UTC)
    )
    for clearance_id in clearance_ids:
        await audit.record(conn, actor, "clearance.revoke", str(clearance_id), {})
    for row in revoked:
        await lifecycle_db.record(
            conn,
            row["application_id"],
            actor=actor,
            party=party,
            event="clearance.revoked",
            details={"clearance_id": str(row["id"])},
        )
        await notify(conn, "revocations", row["jti"])
        await webhook_events.emit(
            conn,
            row["partner_id"],
            "clearance.revoked",
            ClearanceData(
                clearance_id=row["id"],
                application_id=row["application_id"],
                status="revoked",
                expires_at=row["expires_at"],
            ),
        )
        if row["status_list"] is not None:
            await status_lists.set_status(conn, row["status_list"], row["status_idx"], INVALID)
        # The id too: trip tokens name their members' clearances by it (domain/trip_token.py).
        await notify(conn, "revocations", str(row["id"]))
    return [row["jti"] for row in revoked]


async def suspend(db: Database, clearance_id: uuid.UUID, *, actor: str, reason: str) -> Clearance:
    """Suspend a clearance (an admin): lanes deny it ``token_suspended`` until it is
    reinstated. Suspending twice changes nothing; a revoked clearance cannot be suspended."""
    async with db.transaction() as conn:
        row = await _changeable(conn, clearance_id, "suspended")
        if row["suspended_at"] is None:
            await clearances_db.suspend(
                conn, clearance_id, actor=actor, reason=reason, at=datetime.now(UTC)
            )
            await audit.record(conn, actor, "clearance.suspend", str(clearance_id), {})
            await status_lists.set_status(conn, row["status_list"], row["status_idx"], SUSPENDED)
            await _announce(conn, row, "clearance.suspended", "suspended")
    return await get(db, clearance_id, None)


async def reinstate(db: Database, clearance_id: uuid.UUID, *, actor: str) -> Clearance:
    """Lift a suspension (an admin); reinstating a clearance that is not suspended changes
    nothing, and a revoked one cannot be reinstated."""
    async with db.transaction() as conn:
        row = await _changeable(conn, clearance_id, "reinstated")
        if row["suspended_at"] is not None:
            await clearances_db.reinstate(conn, clearance_id)
            await audit.record(conn, actor, "clearance.reinstate", str(clearance_id), {})
            await status_lists.set_status(conn, row["status_list"], row["status_idx"], VALID)
            await _announce(conn, row, "clearance.reinstated", "active")
    return await get(db, clearance_id, None)


async def _announce(
    conn: Connection,
    row: asyncpg.Record,
    event: Literal["clearance.suspended", "clearance.reinstated"],
    status: Literal["suspended", "active"],
) -> None:
    """The partner's webhooks hear of it, from the outbox written in this transaction."""
    await webhook_events.emit(
        conn,
        row["partner_id"],
        event,
        ClearanceData(
            clearance_id=row["id"],
            application_id=row["application_id"],
            status=status,
            expires_at=row["expires_at"],
        ),
    )


async def _changeable(conn: Connection, clearance_id: uuid.UUID, change: str) -> asyncpg.Record:
    row = await clearances_db.get_for_update(conn, clearance_id)
    if row is None:
        raise NotFound("no such clearance")
    if row["revoked_at"] is not None:
        raise Conflict(f"A revoked clearance cannot be {change}.")
    if row["status_list"] is None:
        raise Conflict(
            f"This clearance was issued before status lists and cannot be {change}: "
            "revoke it and issue it again."
        )
    return row


async def revoke_all_of_traveller(
    conn: Connection, traveller_id: uuid.UUID, *, actor: str, reason: str
) -> None:
    """Revoke every clearance of the traveller not yet revoked, in the caller's transaction
    (always at its partner's request: a change of identity or an erasure)."""
    clearance_ids = await clearances_db.unrevoked_of_traveller(conn, traveller_id)
    if clearance_ids:
        await revoke_in(conn, clearance_ids, actor=actor, party="partner", reason=reason)


async def revocations(db: Database, *, since: int, limit: int) -> RevocationPage:
    async with db.connection() as conn:
        rows = await clearances_db.revocations(conn, after_seq=since, limit=limit)
    items = [
        Revocation(
            jti=row["jti"],
            revoked_at=row["revoked_at"],
            expires_at=row["expires_at"],
            clearance_id=row["clearance_id"],
        )
        for row in rows
    ]
    # A feed, not a finite list: the cursor is always where to poll from next, and an empty
    # page means the lane is up to date.
    next_cursor = str(rows[-1]["revocation_seq"] if rows else since)
    return RevocationPage(items=items, next_cursor=next_cursor)


class RevocationList:
    """The revoked token ids that could still be presented, in this worker's memory."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.revoked: frozenset[str] = frozenset()

    async def reload_all(self) -> None:
        async with self._db.connection() as conn:
            jtis = await clearances_db.revoked_jtis(conn, not_expired_at=datetime.now(UTC))
        self.revoked = frozenset(jtis)

    async def on_change(self, jti: str) -> None:
        self.revoked = self.revoked | {jti}
