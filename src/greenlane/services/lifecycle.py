"""A case after its first decision, one use case per function and one transaction each:
requests for information and their deadline, appeals, renewals, false hits and second-line
checks. (A reviewer's decision on an appeal is ``applications.decide``; a new travel document is
``travellers.replace_document``.) Every step is audited and written to the case's history.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import msgspec

from greenlane.db import applications as applications_db
from greenlane.db import clearances as clearances_db
from greenlane.db import false_hits as false_hits_db
from greenlane.db import lifecycle as lifecycle_db
from greenlane.db import watchlist as watchlist_db
from greenlane.db.codecs import jsonb
from greenlane.db.pool import Connection
from greenlane.domain import lifecycle
from greenlane.errors import Conflict, NotFound, ValidationFailed, WrongState
from greenlane.services import audit, travellers, vehicles
from greenlane.services.applications import (
    Deciding,
    as_request,
    file_in,
    get_in,
    reassess,
    record,
    reject,
)
from greenlane.services.context import Caller, Protection
from greenlane.services.live_state import notify
from greenlane.wire.applications import Application
from greenlane.wire.lifecycle import (
    AppealCreate,
    FalseHitCreate,
    InformationAnswer,
    InformationRequestCreate,
    SecondLine,
    SecondLineCreate,
)

# The deadline sweep runs on one worker at a time (the others skip it while one holds this).
_SWEEP_LOCK = 0x696E666F  # "info"
SWEEP_BATCH = 100
SYSTEM = "system:info-deadline"
_logger = logging.getLogger("greenlane.lifecycle")


async def request_info(
    d: Deciding, application_id: uuid.UUID, request: InformationRequestCreate, *, actor: str
) -> Application:
    """A reviewer asks the partner for items from the fixed list; the application waits."""
    async with d.db.transaction() as conn:
        status = await applications_db.lock(conn, application_id)
        if status is None:
            raise NotFound("no such application")
        lifecycle.require("request_info", status)
        now = datetime.now(UTC)
        due = lifecycle.information_due(now, d.policy.info_deadline_days)
        items = list(dict.fromkeys(request.items))
        await lifecycle_db.open_request(
            conn,
            application_id=application_id,
            items=items,
            message=request.message,
            actor=actor,
            at=now,
            due_at=due,
        )
        await applications_db.set_status(
            conn, application_id, status="info_requested", actor=actor, at=now
        )
        await record(
            conn,
            application_id,
            actor=actor,
            party="agency",
            event="information.requested",
            details={"items": items, "due_at": due.isoformat()},
            audit_action="application.request_info",
        )
        return await get_in(conn, application_id, None)


async def answer_info(
    d: Deciding,
    p: Protection,
    caller: Caller,
    application_id: uuid.UUID,
    answer: InformationAnswer,
) -> Application:
    """The partner answers: the registration data it corrects (checked as a PATCH would be) and
    a statement. The rules run again on the corrected data, and the application goes back to
    the review queue (``referred``): a reviewer asked, so a reviewer decides."""
    async with d.db.transaction() as conn:
        status = await applications_db.lock(conn, application_id, caller.partner_id)
        if status is None:
            raise NotFound("no such application")
        lifecycle.require("answer_info", status)
        pending = await lifecycle_db.pending_request(conn, application_id)
        now = datetime.now(UTC)
        if pending is None or pending["due_at"] <= now:
            raise WrongState(
                f"the application is {status}, but its request for information is past its due"
                " date: it is being rejected",
                state=status,
            )
        row = await applications_db.get(conn, application_id, caller.partner_id)
        assert row is not None
        updated = await _correct(conn, d, p, caller, row["traveller_id"], row["vehicle_id"], answer)
        await lifecycle_db.answer_request(
            conn,
            pending["id"],
            statement=answer.statement,
            updated=updated,
            actor=caller.actor,
            at=now,
        )
        reasons = await reassess(conn, d, as_request(row), caller.partner_id)
        await applications_db.set_status(
            conn, application_id, status="referred", actor=caller.actor, at=now, reasons=reasons
        )
        await record(
            conn,
            application_id,
            actor=caller.actor,
            party="partner",
            event="information.answered",
            details={"updated": updated},
            audit_action="application.answer_info",
        )
        return await get_in(conn, application_id, caller.partner_id)


async def _correct(
    conn: Connection,
    d: Deciding,
    p: Protection,
    caller: Caller,
    traveller_id: uuid.UUID,
    vehicle_id: uuid.UUID | None,
    answer: InformationAnswer,
) -> list[str]:
    """Apply the answer's corrections to the application's own registrations; returns which.

    The vehicle first: a change of the traveller's identity revokes and audits, after which no
    row may be locked (``db/locks.py``)."""
    if answer.vehicle is not None:
        if vehicle_id is None:
            raise ValidationFailed.one("vehicle", "the application has no vehicle")
        await vehicles.update_vehicle_in(conn, p, caller, vehicle_id, answer.vehicle)
    if answer.traveller is not None:
        await travellers.update_traveller_in(conn, d, p, caller, traveller_id, answer.traveller)
    corrected = {"traveller": answer.traveller, "vehicle": answer.vehicle}
    return [name for name, correction in corrected.items() if correction is not None]


async def expire_overdue(d: Deciding, now: datetime | None = None) -> int:
    """Reject every application whose request for information is past its due date, with
    grounds ``info_not_provided``; returns how many. One worker at a time: another that finds
    the sweep's lock taken returns 0 at once."""
    now = now or datetime.now(UTC)
    expired = 0
    while True:
        async with d.db.transaction() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _SWEEP_LOCK):
                return expired
            overdue = await lifecycle_db.overdue(conn, now, SWEEP_BATCH)
            for request in overdue:
                await _expire(conn, d, request["id"], request["application_id"], now)
        expired += len(overdue)
        if len(overdue) < SWEEP_BATCH:
            if expired:
                _logger.info("requests for information expired", extra={"fields": {"n": expired}})
            return expired


async def _expire(
    conn: Connection, d: Deciding, request_id: uuid.UUID, application_id: uuid.UUID, now: datetime
) -> None:
    await lifecycle_db.expire_request(conn, request_id, now)
    grounds = lifecycle.info_not_provided()
    await reject(conn, d, application_id, grounds=grounds, by=None, at=now)
    await record(
        conn,
        application_id,
        actor=SYSTEM,
        party="system",
        event="information.expired",
        details={"status": "rejected", "grounds": [lifecycle.INFO_NOT_PROVIDED]},
        audit_action="application.info_not_provided",
    )


async def appeal(
    d: Deciding, caller: Caller, application_id: uuid.UUID, request: AppealCreate
) -> Application:
    """The partner appeals a rejection, once, within the appeal window."""
    async with d.db.transaction() as conn:
        status = await applications_db.lock(conn, application_id, caller.partner_id)
        if status is None:
            raise NotFound("no such application")
        lifecycle.require("appeal", status)
        row = await applications_db.get(conn, application_id, caller.partner_id)
        assert row is not None
        now = datetime.now(UTC)
        if await lifecycle_db.appeal(conn, application_id) is not None:
            raise WrongState(
                "the application is rejected after its appeal: that outcome is final",
                state=status,
            )
        until = row["appeal_until"]
        if until is None or now > until:
            closed = f" on {until.isoformat()}" if until is not None else ""
            raise WrongState(
                f"the application is rejected and its appeal window closed{closed}", state=status
            )
        await lifecycle_db.file_appeal(
            conn,
            application_id,
            grounds=request.grounds,
            actor=caller.actor,
            at=now,
            rejected_by=row["rejected_by"],
        )
        await applications_db.set_status(
            conn, application_id, status="appealed", actor=caller.actor, at=now
        )
        await record(
            conn,
            application_id,
            actor=caller.actor,
            party="partner",
            event="application.appealed",
            audit_action="application.appeal",
        )
        return await get_in(conn, application_id, caller.partner_id)


async def renew(d: Deciding, caller: Caller, clearance_id: uuid.UUID) -> Application:
    """A new application from the clearance's unchanged registration, ports and entry rule, for
    a window as long as the old one from the day after it ends, decided by today's rules. Only
    an unrevoked clearance within ``GREENLANE_RENEWAL_WINDOW_DAYS`` of its expiry (or past it),
    and only once while a renewal of it is not rejected."""
    async with d.db.transaction() as conn:
        old = await clearances_db.get(conn, clearance_id, caller.partner_id)
        if old is None:
            raise NotFound("no such clearance")
        # The traveller first, as every change to their case locks it: two renewals of one
        # clearance queue here, and the second finds the first.
        await applications_db.lock(conn, old["application_id"], caller.partner_id)
        now = datetime.now(UTC)
        if old["revoked_at"] is not None:
            raise WrongState("the clearance is revoked: file a new application", state="revoked")
        opens = lifecycle.renewal_opens(old["expires_at"], d.policy.renewal_window_days)
        if now < opens:
            raise WrongState(
                f"the clearance is active: it may be renewed from {opens.isoformat()}",
                state="active",
            )
        existing = await applications_db.renewal_of(conn, clearance_id)
        if existing is not None:
            raise Conflict("the clearance is already being renewed", existing_id=str(existing))
        original = await applications_db.get(conn, old["application_id"], caller.partner_id)
        assert original is not None
        data = as_request(original)
        valid_from, valid_until = lifecycle.renewal_window(
            data.valid_from, data.valid_until, now.date()
        )
        data = msgspec.structs.replace(data, valid_from=valid_from, valid_until=valid_until)
        renewal = await file_in(
            conn, d, data, partner_id=caller.partner_id, actor=caller.actor, renews=clearance_id
        )
        await record(
            conn,
            old["application_id"],
            actor=caller.actor,
            party="partner",
            event="clearance.renewed",
            details={"clearance_id": str(clearance_id), "application_id": str(renewal.id)},
        )
        await audit.record(
            conn,
            caller.actor,
            "clearance.renew",
            str(clearance_id),
            {"application_id": str(renewal.id), "status": renewal.status},
        )
        return renewal


async def mark_false_hit(
    d: Deciding, application_id: uuid.UUID, request: FalseHitCreate, *, actor: str
) -> Application:
    """Mark the watchlist hits of an application false hits for its traveller: their later
    applications and lane checks are not referred for those entries again, until an entry
    changes."""
    async with d.db.transaction() as conn:
        row = await applications_db.get(conn, application_id, None)
        if row is None:
            raise NotFound("no such application")
        hits = lifecycle.watchlist_hits(jsonb(row["reasons"]))
        if not hits:
            raise Conflict("the application had no watchlist hit")
        if request.watchlist_entry_id is not None:
            if str(request.watchlist_entry_id) not in hits:
                raise ValidationFailed.one(
                    "watchlist_entry_id", "is not an entry that hit this application"
                )
            hits = [str(request.watchlist_entry_id)]
        now = datetime.now(UTC)
        marked = []
        for entry in hits:
            entry_id = uuid.UUID(entry)
            version = await watchlist_db.version_of(conn, entry_id)
            if version is None:  # removed since: nothing left to hit
                continue
            await false_hits_db.mark(
                conn,
                traveller_id=row["traveller_id"],
                entry_id=entry_id,
                entry_version=version,
                application_id=application_id,
                note=request.note,
                actor=actor,
                at=now,
            )
            marked.append({"entry_id": entry, "version": version})
        if not marked:
            raise Conflict("the watchlist entries that hit the application no longer exist")
        await record(
            conn,
            application_id,
            actor=actor,
            party="agency",
            event="watchlist.false_hit",
            details={"entries": marked},
            audit_action="watchlist.false_hit",
        )
        await notify(conn, "watchlist", str(application_id))
        return await get_in(conn, application_id, None)


async def second_line(
    d: Deciding, clearance_id: uuid.UUID, request: SecondLineCreate, *, actor: str
) -> SecondLine:
    """Flag a clearance so that its next verification is referred ``second_line_check``; the
    flag clears itself when that verification is recorded (``gl_record_verifications``)."""
    async with d.db.transaction() as conn:
        row = await clearances_db.get(conn, clearance_id, None)
        if row is None:
            raise NotFound("no such clearance")
        now = datetime.now(UTC)
        if row["revoked_at"] is not None:
            raise WrongState("the clearance is revoked: it has no next crossing", state="revoked")
        if row["expires_at"] <= now:
            raise WrongState("the clearance is expired: it has no next crossing", state="expired")
        requested = await clearances_db.flag_second_line(conn, clearance_id, actor=actor, at=now)
        await record(
            conn,
            row["application_id"],
            actor=actor,
            party="agency",
            event="clearance.second_line_requested",
            details={"clearance_id": str(clearance_id), "reason": request.reason},
        )
        await audit.record(conn, actor, "clearance.second_line", str(clearance_id), {})
    return SecondLine(clearance_id=clearance_id, requested_at=requested, reason=request.reason)
