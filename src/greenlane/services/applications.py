"""Applications: filed by a partner, decided by the rules (or an administrator), and on approval
turned into a signed clearance in the same transaction. A change to who the traveller is
decides their live applications again (:func:`redecide`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
import msgspec

from greenlane.db import applications as applications_db
from greenlane.db import clearances as clearances_db
from greenlane.db import travellers as travellers_db
from greenlane.db import vehicles as vehicles_db
from greenlane.db.codecs import jsonb
from greenlane.db.pagination import decode_cursor, next_cursor
from greenlane.db.pool import Connection, Database
from greenlane.domain.crypto import BlindIndex, FieldCipher
from greenlane.domain.rules import Outcome
from greenlane.errors import Conflict, NotFound, ValidationFailed
from greenlane.services import audit, clearances
from greenlane.services.eligibility import Registration, assess, check_request
from greenlane.services.idempotency import create_once
from greenlane.services.keyring import KeyRing
from greenlane.services.rule_runner import RuleRunner
from greenlane.services.rules import RuleBook
from greenlane.services.watchlist import Watchlist
from greenlane.wire.applications import (
    Application,
    ApplicationCreate,
    Decision,
    DecisionRequest,
    DryRunRequest,
    DryRunResult,
    IssuedClearance,
    Reason,
    RuleEvaluation,
)
from greenlane.wire.common import Page


@dataclass(frozen=True, slots=True)
class Deciding:
    """Everything an evaluation and an issuance need, held by each worker."""

    db: Database
    rules: RuleBook
    runner: RuleRunner
    watchlist: Watchlist
    keyring: KeyRing
    cipher: FieldCipher
    index: BlindIndex
    issuer: str


async def _assess(
    conn: Connection, d: Deciding, data: ApplicationCreate, registration: Registration
) -> tuple[Outcome, bool]:
    return await assess(
        conn,
        data,
        registration,
        rules=d.rules,
        runner=d.runner,
        watchlist=d.watchlist,
        cipher=d.cipher,
    )


def _reasons(outcome: Outcome) -> list[Reason]:
    return [Reason(r.rule_id, r.reason_code, r.message, r.effect) for r in outcome.reasons]


async def _registration(
    conn: Connection, data: ApplicationCreate, partner_id: uuid.UUID | None, *, lock: bool = True
) -> Registration:
    """The traveller and vehicle, which must be the partner's own (404 otherwise).

    Locked for the rest of the transaction when a clearance may follow, so that an erasure
    running at the same time waits, then revokes what this transaction issued.
    """

    async def fetch(table: Any, row_id: uuid.UUID) -> asyncpg.Record | None:
        if partner_id is None:
            found: asyncpg.Record | None = await table.get_any(conn, row_id, for_update=lock)
        else:
            found = await table.get(conn, row_id, partner_id, for_update=lock)
        return found

    traveller = await fetch(travellers_db.TABLE, data.traveller_id)
    if traveller is None:
        raise NotFound("no such traveller")
    vehicle = None
    if data.vehicle_id is not None:
        vehicle = await fetch(vehicles_db.TABLE, data.vehicle_id)
        if vehicle is None:
            raise NotFound("no such vehicle")
    if (
        partner_id is None
        and vehicle is not None
        and vehicle["partner_id"] != traveller["partner_id"]
    ):
        raise ValidationFailed.one("vehicle_id", "belongs to another partner than the traveller")
    return Registration(traveller=traveller, vehicle=vehicle)


async def _issue(
    conn: Connection,
    d: Deciding,
    application_id: uuid.UUID,
    partner_id: uuid.UUID,
    data: ApplicationCreate,
    registration: Registration,
    actor: str,
) -> None:
    await clearances.issue(
        conn,
        application_id=application_id,
        partner_id=partner_id,
        data=data,
        traveller=registration.traveller,
        vehicle=registration.vehicle,
        keyring=d.keyring,
        cipher=d.cipher,
        issuer=d.issuer,
        actor=actor,
    )


def application_from_row(row: asyncpg.Record, *, for_admin: bool = False) -> Application:
    issued = None
    if row["clearance_id"] is not None:
        issued = IssuedClearance(
            id=row["clearance_id"], token=row["token"], expires_at=row["expires_at"]
        )
    decision = None
    if row["decided_at"] is not None:
        decision = Decision(
            decision="approve" if row["status"] == "approved" else "reject",
            note=row["decision_note"],
            decided_by=row["decided_by"],
            decided_at=row["decided_at"],
        )
    return Application(
        id=row["id"],
        status=row["status"],
        reasons=msgspec.convert(jsonb(row["reasons"]), list[Reason]),
        clearance=issued,
        traveller_id=row["traveller_id"],
        vehicle_id=row["vehicle_id"],
        ports=list(row["ports"]),
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        entries=row["entries"],
        purpose=row["purpose"],
        decision=decision,
        partner_id=row["partner_id"] if for_admin else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def file(
    d: Deciding,
    data: ApplicationCreate,
    *,
    partner_id: uuid.UUID,
    actor: str,
    idempotency_key: str | None,
) -> tuple[Application, bool]:
    check_request(data, datetime.now(UTC).date())
    application_id = uuid.uuid4()

    async def create(conn: Connection) -> Application:
        registration = await _registration(conn, data, partner_id)
        outcome, _hit = await _assess(conn, d, data, registration)
        reasons = _reasons(outcome)
        await applications_db.insert(
            conn,
            application_id=application_id,
            partner_id=partner_id,
            traveller_id=data.traveller_id,
            vehicle_id=data.vehicle_id,
            ports=data.ports,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            entries=data.entries,
            purpose=data.purpose,
            status=outcome.status,
            reasons=[msgspec.structs.asdict(r) for r in reasons],
            actor=actor,
        )
        if outcome.status == "approved":
            await _issue(conn, d, application_id, partner_id, data, registration, actor)
        row = await applications_db.get(conn, application_id, partner_id)
        assert row is not None
        return application_from_row(row)

    async with d.db.transaction() as conn:
        return await create_once(
            conn,
            d.cipher,
            d.index,
            partner_id=partner_id,
            key=idempotency_key,
            route="applications",
            request=data,
            answer_type=Application,
            create=lambda: create(conn),
        )


async def get(db: Database, application_id: uuid.UUID, partner_id: uuid.UUID | None) -> Application:
    async with db.connection() as conn:
        row = await applications_db.get(conn, application_id, partner_id)
    if row is None:
        raise NotFound("no such application")
    return application_from_row(row, for_admin=partner_id is None)


Filter = Literal["approved", "referred", "rejected"] | None


async def page(
    db: Database,
    *,
    partner_id: uuid.UUID | None,
    status: Filter,
    cursor: str | None,
    limit: int,
) -> Page[Application]:
    async with db.connection() as conn:
        rows = await applications_db.page(
            conn, partner_id=partner_id, status=status, after=decode_cursor(cursor), limit=limit
        )
    items = [application_from_row(r, for_admin=partner_id is None) for r in rows]
    return Page(items, next_cursor(rows, limit))


async def decide(
    d: Deciding, application_id: uuid.UUID, request: DecisionRequest, *, actor: str
) -> Application:
    """An administrator's decision on a referred application; approval issues the clearance."""
    async with d.db.transaction() as conn:
        status = await applications_db.lock_referred(conn, application_id)
        if status is None:
            raise NotFound("no such application")
        if status != "referred":
            raise Conflict(f"the application is {status}, not referred")
        new_status = "approved" if request.decision == "approve" else "rejected"
        await applications_db.decide(
            conn,
            application_id,
            status=new_status,
            note=request.note,
            actor=actor,
            at=datetime.now(UTC),
        )
        row = await applications_db.get(conn, application_id, None)
        assert row is not None
        if new_status == "approved":
            data = _as_request(row)
            registration = await _registration(conn, data, row["partner_id"])
            await _issue(conn, d, application_id, row["partner_id"], data, registration, actor)
            row = await applications_db.get(conn, application_id, None)
            assert row is not None
        await audit.record(conn, actor, f"application.{request.decision}", str(application_id), {})
    return application_from_row(row, for_admin=True)


IDENTITY_CHANGED = "traveller identity changed"
# What an application becomes when its registration no longer holds what it was filed with.
REGISTRATION_INCOMPLETE = Reason(
    rule_id=None,
    reason_code="registration_incomplete",
    message=(
        "The registration no longer supports the application: its vehicle was erased, or its "
        "traveller no longer holds a driving licence."
    ),
    effect="deny",
)


async def redecide(
    conn: Connection, d: Deciding, traveller_id: uuid.UUID, *, actor: str
) -> list[Application]:
    """Decide again, in the caller's transaction, the live applications (referred, or approved
    with a clearance that still holds) of a traveller whose identity has just changed.

    Their clearances vouch for who the traveller was, so every one is revoked. Each application
    is run through the rules again as filed, on the new identity: its status and reasons are the
    new outcome (an administrator's decision about the old identity is dropped), and one
    approved again is issued a new clearance that counts the single entries already used.
    Each step is audited. Returns the applications as their partner now sees them.
    """
    now = datetime.now(UTC)
    live = await applications_db.live_of_traveller(conn, traveller_id, now)
    await clearances.revoke_all_of_traveller(
        conn, traveller_id, actor=actor, reason=IDENTITY_CHANGED
    )
    decided: list[Application] = []
    for application_id in live:
        row = await applications_db.get(conn, application_id, None)
        assert row is not None  # locked by live_of_traveller
        partner_id, data = row["partner_id"], _as_request(row)
        try:
            registration = await _registration(conn, data, partner_id)
            outcome, _hit = await _assess(conn, d, data, registration)
            status, reasons = outcome.status, _reasons(outcome)
        except (NotFound, ValidationFailed):  # the vehicle erased, or the licence gone
            status, reasons = "rejected", [REGISTRATION_INCOMPLETE]
        await applications_db.redecide(
            conn,
            application_id,
            status=status,
            reasons=[msgspec.structs.asdict(r) for r in reasons],
            actor=actor,
            at=now,
        )
        if status == "approved":
            await _issue(conn, d, application_id, partner_id, data, registration, actor)
            await clearances_db.carry_entries(conn, application_id)
        details = {"from": row["status"], "to": status}
        await audit.record(conn, actor, "application.redecide", str(application_id), details)
        fresh = await applications_db.get(conn, application_id, partner_id)
        assert fresh is not None
        decided.append(application_from_row(fresh))
    return decided


def _as_request(row: asyncpg.Record) -> ApplicationCreate:
    return ApplicationCreate(
        traveller_id=row["traveller_id"],
        vehicle_id=row["vehicle_id"],
        ports=list(row["ports"]),
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        entries=row["entries"],
        purpose=row["purpose"],
    )


async def dry_run(d: Deciding, request: DryRunRequest) -> DryRunResult:
    """Evaluate with the very function a filing uses; store nothing."""
    if (request.application is None) == (request.application_id is None):
        raise ValidationFailed.one(
            "application", "give exactly one of application and application_id"
        )
    async with d.db.transaction() as conn:
        if request.application_id is not None:
            row = await applications_db.get(conn, request.application_id, None)
            if row is None:
                raise NotFound("no such application")
            data = _as_request(row)
        else:
            assert request.application is not None
            data = request.application
            check_request(data, datetime.now(UTC).date())
        registration = await _registration(conn, data, None, lock=False)
        outcome, hit = await _assess(conn, d, data, registration)
    return DryRunResult(
        status=outcome.status,
        reasons=_reasons(outcome),
        results=[
            RuleEvaluation(
                rule_id=r.rule_id,
                version=r.version,
                name=r.name,
                effect=r.effect,
                reason_code=r.reason_code,
                message=r.message,
                result=r.result,
                elapsed_us=r.elapsed_us,
                cost=r.cost,
                error=r.error,
            )
            for r in outcome.results
        ],
        watchlist_hit=hit,
    )
