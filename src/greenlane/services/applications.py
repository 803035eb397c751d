"""Applications: filed by a partner, decided by the rules (or an administrator), and on approval
turned into a signed clearance in the same transaction. A change to who the traveller is
decides their live applications again (:func:`redecide`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
import msgspec

from greenlane.db import applications as applications_db
from greenlane.db import clearances as clearances_db
from greenlane.db import lifecycle as lifecycle_db
from greenlane.db import travellers as travellers_db
from greenlane.db import vehicles as vehicles_db
from greenlane.db.codecs import jsonb
from greenlane.db.pagination import decode_cursor, next_cursor
from greenlane.db.pool import Connection, Database
from greenlane.domain import lifecycle
from greenlane.domain.crypto import BlindIndex, FieldCipher
from greenlane.domain.lifecycle import AGENCY_ONLY, CasePolicy
from greenlane.domain.rules import Outcome, Status
from greenlane.domain.trips import TripPolicy
from greenlane.domain.webhooks import EventType
from greenlane.errors import Forbidden, NotFound, ValidationFailed
from greenlane.services import audit, clearances, webhook_events
from greenlane.services.eligibility import Registration, assess, check_request
from greenlane.services.idempotency import create_once
from greenlane.services.keyring import KeyRing
from greenlane.services.rule_runner import RuleRunner
from greenlane.services.rules import RuleBook, RulesInForce, WithDraft
from greenlane.services.rules import draft as draft_rule
from greenlane.services.watchlist import Watchlist
from greenlane.wire.applications import (
    Application,
    ApplicationCreate,
    Decision,
    DecisionRequest,
    DryRunRequest,
    DryRunResult,
    IssuedClearance,
    RuleEvaluation,
)
from greenlane.wire.case import Appeal, Ground, HistoryEntry, InformationRequest, Rejection
from greenlane.wire.common import Page
from greenlane.wire.lifecycle import Reissued
from greenlane.wire.reasons import Reason
from greenlane.wire.webhooks import ApplicationData


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
    policy: CasePolicy
    status_list_size: int
    trips: TripPolicy = field(default_factory=TripPolicy)


async def _assess(
    conn: Connection,
    d: Deciding,
    data: ApplicationCreate,
    registration: Registration,
    rules: RulesInForce | None = None,
) -> tuple[Outcome, bool]:
    return await assess(
        conn,
        data,
        registration,
        rules=rules or d.rules,
        runner=d.runner,
        watchlist=d.watchlist,
        cipher=d.cipher,
    )


def _reasons(outcome: Outcome) -> list[Reason]:
    return [
        Reason(
            r.rule_id,
            r.reason_code,
            r.message,
            r.effect,
            uuid.UUID(r.watchlist_entry_id) if r.watchlist_entry_id else None,
        )
        for r in outcome.reasons
    ]


def stored(reasons: list[Reason]) -> list[dict[str, Any]]:
    """Reasons as the application row keeps them (JSON)."""
    return [msgspec.to_builtins(reason) for reason in reasons]


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
        status_list_size=d.status_list_size,
        actor=actor,
    )


@dataclass(frozen=True, slots=True)
class Case:
    """What a single application's answer shows besides its row: the appeal, the latest request
    for information and the history."""

    appeal: asyncpg.Record | None
    request: asyncpg.Record | None
    history: list[asyncpg.Record]


async def case_of(conn: Connection, application_id: uuid.UUID) -> Case:
    return Case(
        appeal=await lifecycle_db.appeal(conn, application_id),
        request=await lifecycle_db.latest_request(conn, application_id),
        history=await lifecycle_db.history(conn, application_id),
    )


def application_from_row(
    row: asyncpg.Record, *, for_admin: bool = False, case: Case | None = None
) -> Application:
    """The application as a partner (or, ``for_admin``, an administrator) sees it. Which watchlist
    entry hit, who in the agency acted and the agency's own steps are for administrators."""
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
    reasons = msgspec.convert(jsonb(row["reasons"]), list[Reason])
    rejection = None
    # An appeal upheld leaves the rejection behind it: the appeal and the history tell of it.
    if row["rejected_at"] is not None and row["status"] != "approved":
        rejection = Rejection(
            grounds=msgspec.convert(jsonb(row["grounds"]), list[Ground]),
            rejected_at=row["rejected_at"],
            note=row["decision_note"] if row["rejected_by"] is not None else None,
            appeal_until=row["appeal_until"],
        )
    if not for_admin:
        reasons = [msgspec.structs.replace(r, watchlist_entry_id=None) for r in reasons]
        if rejection is not None:
            rejection.grounds = [
                msgspec.structs.replace(g, watchlist_entry_id=None) for g in rejection.grounds
            ]
    application = Application(
        id=row["id"],
        status=row["status"],
        reasons=reasons,
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
        renews=row["renews_clearance_id"],
        rejection=rejection,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
    if case is not None:
        _add_case(application, case, for_admin=for_admin)
    return application


def _add_case(application: Application, case: Case, *, for_admin: bool) -> None:
    if case.appeal is not None:
        appeal = case.appeal
        application.appeal = Appeal(
            grounds=appeal["grounds"],
            filed_at=appeal["filed_at"],
            decision=appeal["decision"],
            note=appeal["note"],
            decided_at=appeal["decided_at"],
        )
    if case.request is not None:
        request = case.request
        application.information_request = InformationRequest(
            items=list(request["items"]),
            message=request["message"],
            requested_at=request["requested_at"],
            due_at=request["due_at"],
            answered_at=request["answered_at"],
            statement=request["statement"],
            updated=list(request["updated"]) if request["updated"] is not None else None,
            expired_at=request["expired_at"],
        )
    application.history = [
        HistoryEntry(
            at=entry["at"],
            event=entry["event"],
            party=entry["party"],
            actor=entry["actor"] if for_admin else None,
            details=jsonb(entry["details"]),
        )
        for entry in case.history
        if for_admin or entry["event"] not in AGENCY_ONLY
    ]


# The steps of a case after which the partner's webhooks hear the application's status, and
# the event each status is announced as (an appeal filed has no event of its own).
ANNOUNCED_STEPS = frozenset(
    {
        "application.filed",
        "application.decided",
        "application.redecided",
        "appeal.decided",
        "information.requested",
        "information.answered",
        "information.expired",
    }
)
STATUS_EVENTS: dict[str, EventType] = {
    "approved": "application.approved",
    "referred": "application.referred",
    "rejected": "application.rejected",
    "info_requested": "application.info_requested",
}


async def record(
    conn: Connection,
    application_id: uuid.UUID,
    *,
    actor: str,
    party: str,
    event: str,
    details: dict[str, Any] | None = None,
    audit_action: str | None = None,
) -> None:
    """A step of the case: in its history, (``audit_action``) in the audit log and, when it
    decides or changes the application's status, to the partner's webhooks."""
    await lifecycle_db.record(
        conn, application_id, actor=actor, party=party, event=event, details=details
    )
    if audit_action is not None:
        await audit.record(conn, actor, audit_action, str(application_id), details or {})
    if event in ANNOUNCED_STEPS:
        await _announce(conn, application_id)


async def _announce(conn: Connection, application_id: uuid.UUID) -> None:
    row = await applications_db.get(conn, application_id, None)
    assert row is not None  # the step just wrote it
    await webhook_events.emit(
        conn,
        row["partner_id"],
        STATUS_EVENTS[row["status"]],
        ApplicationData(
            application_id=row["id"],
            status=row["status"],
            traveller_id=row["traveller_id"],
            vehicle_id=row["vehicle_id"],
            clearance_id=row["clearance_id"],
        ),
    )


async def reject(
    conn: Connection,
    d: Deciding,
    application_id: uuid.UUID,
    *,
    grounds: list[dict[str, Any]],
    by: str | None,
    at: datetime,
    appealable: bool = True,
) -> None:
    """Record a rejection with its grounds and, unless final, the appeal deadline."""
    until = lifecycle.appeal_deadline(at, d.policy.appeal_days) if appealable else None
    await applications_db.reject(
        conn, application_id, grounds=grounds, actor=by, at=at, appeal_until=until
    )


async def reassess(
    conn: Connection, d: Deciding, data: ApplicationCreate, partner_id: uuid.UUID
) -> list[dict[str, Any]]:
    """What the rules in force say of a filed application now (its reasons, as stored)."""
    registration = await _registration(conn, data, partner_id)
    outcome, _hit = await _assess(conn, d, data, registration)
    return stored(_reasons(outcome))


async def file_in(
    conn: Connection,
    d: Deciding,
    data: ApplicationCreate,
    *,
    partner_id: uuid.UUID,
    actor: str,
    application_id: uuid.UUID | None = None,
    renews: uuid.UUID | None = None,
) -> Application:
    """File and decide an application in the caller's transaction (a filing or a renewal)."""
    application_id = application_id or uuid.uuid4()
    registration = await _registration(conn, data, partner_id)
    outcome, _hit = await _assess(conn, d, data, registration)
    reasons = stored(_reasons(outcome))
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
        reasons=reasons,
        actor=actor,
        renews=renews,
    )
    now = datetime.now(UTC)
    if outcome.status == "approved":
        await _issue(conn, d, application_id, partner_id, data, registration, actor)
    elif outcome.status == "rejected":
        grounds = lifecycle.grounds(reasons, by_reviewer=False)
        await reject(conn, d, application_id, grounds=grounds, by=None, at=now)
    details: dict[str, Any] = {"status": outcome.status}
    if renews is not None:
        details["renews"] = str(renews)
    await record(
        conn,
        application_id,
        actor=actor,
        party="partner",
        event="application.filed",
        details=details,
    )
    row = await applications_db.get(conn, application_id, partner_id)
    assert row is not None
    return application_from_row(row)


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
        return await file_in(
            conn, d, data, partner_id=partner_id, actor=actor, application_id=application_id
        )

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
    """One application with its appeal, its latest request for information and its history."""
    async with db.connection() as conn:
        return await get_in(conn, application_id, partner_id)


async def get_in(
    conn: Connection, application_id: uuid.UUID, partner_id: uuid.UUID | None
) -> Application:
    row = await applications_db.get(conn, application_id, partner_id)
    if row is None:
        raise NotFound("no such application")
    case = await case_of(conn, application_id)
    return application_from_row(row, for_admin=partner_id is None, case=case)


Filter = Literal["approved", "referred", "rejected", "info_requested", "appealed"] | None


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
    """An administrator's decision on a referred application, or on an appeal (by anyone but
    the reviewer who rejected it: four eyes); approval issues the clearance. A rejection states
    its grounds; one after an appeal is final."""
    async with d.db.transaction() as conn:
        status = await applications_db.lock(conn, application_id)
        if status is None:
            raise NotFound("no such application")
        lifecycle.require("decide", status)
        now = datetime.now(UTC)
        row = await applications_db.get(conn, application_id, None)
        assert row is not None
        appealed = status == "appealed"
        if appealed:
            appeal = await lifecycle_db.appeal(conn, application_id)
            assert appeal is not None
            if appeal["rejected_by"] == actor:
                raise Forbidden(
                    "the reviewer who rejected the application cannot decide its appeal"
                )
            await lifecycle_db.decide_appeal(
                conn,
                application_id,
                decision=request.decision,
                note=request.note,
                actor=actor,
                at=now,
            )
        new_status = "approved" if request.decision == "approve" else "rejected"
        await applications_db.decide(
            conn, application_id, status=new_status, note=request.note, actor=actor, at=now
        )
        if new_status == "approved":
            data = as_request(row)
            registration = await _registration(conn, data, row["partner_id"])
            await _issue(conn, d, application_id, row["partner_id"], data, registration, actor)
        elif appealed:  # the grounds stand, and the outcome is final
            grounds = jsonb(row["grounds"])
            await reject(
                conn, d, application_id, grounds=grounds, by=actor, at=now, appealable=False
            )
        else:
            grounds = lifecycle.grounds(jsonb(row["reasons"]), by_reviewer=True)
            await reject(conn, d, application_id, grounds=grounds, by=actor, at=now)
        await record(
            conn,
            application_id,
            actor=actor,
            party="agency",
            event="appeal.decided" if appealed else "application.decided",
            details={"decision": request.decision, "status": new_status},
        )
        await audit.record(
            conn,
            actor,
            f"{'appeal' if appealed else 'application'}.{request.decision}",
            str(application_id),
            {},
        )
        return await get_in(conn, application_id, None)


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

# An application about to be decided again: its row, as filed, its registration (None when that
# no longer holds) and the new status and reasons.
_Reassessed = tuple[asyncpg.Record, ApplicationCreate, Registration | None, Status, list[Reason]]


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

    The applications and their registrations are locked and assessed before anything is revoked
    or audited, in the lock order of ``db/locks.py``.
    """
    now = datetime.now(UTC)
    live = await applications_db.live_of_traveller(conn, traveller_id, now)
    assessed: list[_Reassessed] = []
    for application_id in live:
        row = await applications_db.get(conn, application_id, None)
        assert row is not None  # locked by live_of_traveller
        data = as_request(row)
        registration = None
        status: Status
        try:
            registration = await _registration(conn, data, row["partner_id"])
            outcome, _hit = await _assess(conn, d, data, registration)
            status, reasons = outcome.status, _reasons(outcome)
        except (NotFound, ValidationFailed):  # the vehicle erased, or the licence gone
            status, reasons = "rejected", [REGISTRATION_INCOMPLETE]
        assessed.append((row, data, registration, status, reasons))
    await clearances.revoke_all_of_traveller(
        conn, traveller_id, actor=actor, reason=IDENTITY_CHANGED
    )
    decided: list[Application] = []
    for row, data, registration, status, reasons in assessed:
        application_id, partner_id = row["id"], row["partner_id"]
        await applications_db.redecide(
            conn, application_id, status=status, reasons=stored(reasons), actor=actor, at=now
        )
        if status == "approved":
            assert registration is not None  # the rules approved it
            await _issue(conn, d, application_id, partner_id, data, registration, actor)
            await clearances_db.carry_entries(conn, application_id)
        elif status == "rejected":
            grounds = lifecycle.grounds(stored(reasons), by_reviewer=False)
            await reject(conn, d, application_id, grounds=grounds, by=None, at=now)
        details = {"from": row["status"], "to": status}
        await record(
            conn,
            application_id,
            actor=actor,
            party="partner",
            event="application.redecided",
            details=details,
            audit_action="application.redecide",
        )
        decided.append(await get_in(conn, application_id, partner_id))
    return decided


async def reissue(
    conn: Connection,
    d: Deciding,
    olds: list[asyncpg.Record],
    traveller: asyncpg.Record,
    *,
    actor: str,
) -> list[Reissued]:
    """Issue clearances again for their applications, bound to the traveller's document as it
    now is, and revoke the old ones, in the caller's transaction (the old first: an application
    has one live clearance). Their single entries already used stay used. A clearance whose
    vehicle has been erased is revoked and not issued again: it could bind no plate.

    ``olds`` are locked by the caller; their vehicles are locked here before anything is revoked
    or audited, in the lock order of ``db/locks.py``."""
    if not olds:
        return []
    bound = []
    for old in olds:
        row = await applications_db.get(conn, old["application_id"], old["partner_id"])
        assert row is not None
        data = as_request(row)
        vehicle = None
        if data.vehicle_id is not None:
            vehicle = await vehicles_db.TABLE.get(
                conn, data.vehicle_id, old["partner_id"], for_update=True
            )
            if vehicle is None:
                continue
        bound.append((old, data, vehicle))
    await clearances.revoke_in(
        conn, [old["id"] for old in olds], actor=actor, party="partner", reason=DOCUMENT_REPLACED
    )
    reissued = []
    for old, data, vehicle in bound:
        application_id = old["application_id"]
        issued = await clearances.issue(
            conn,
            application_id=application_id,
            partner_id=old["partner_id"],
            data=data,
            traveller=traveller,
            vehicle=vehicle,
            keyring=d.keyring,
            cipher=d.cipher,
            issuer=d.issuer,
            status_list_size=d.status_list_size,
            actor=actor,
        )
        await clearances_db.carry_entries(conn, application_id)
        await record(
            conn,
            application_id,
            actor=actor,
            party="partner",
            event="clearance.reissued",
            details={"clearance_id": str(issued.id), "replaces": str(old["id"])},
        )
        again = Reissued(application_id=application_id, replaces=old["id"], clearance=issued)
        reissued.append(again)
    return reissued


DOCUMENT_REPLACED = "the traveller's travel document was replaced"


def as_request(row: asyncpg.Record) -> ApplicationCreate:
    return ApplicationCreate(
        traveller_id=row["traveller_id"],
        vehicle_id=row["vehicle_id"],
        ports=list(row["ports"]),
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        entries=row["entries"],
        purpose=row["purpose"],
    )


def check_one_subject(request: DryRunRequest) -> None:
    """A dry run decides exactly one application or trip, given whole or by id."""
    asked = (request.application, request.application_id, request.trip, request.trip_id)
    if sum(part is not None for part in asked) != 1:
        raise ValidationFailed.one(
            "application", "give exactly one of application, application_id, trip and trip_id"
        )


async def dry_run(
    d: Deciding, request: DryRunRequest, *, draft: uuid.UUID | None = None
) -> DryRunResult:
    """Evaluate with the very function a filing uses; store nothing. With ``draft``, that
    rule's current version is evaluated as if it were in force (``rules.WithDraft``)."""
    in_force = WithDraft(d.rules, await draft_rule(d.db, draft)) if draft else None
    check_one_subject(request)
    async with d.db.transaction() as conn:
        if request.application_id is not None:
            row = await applications_db.get(conn, request.application_id, None)
            if row is None:
                raise NotFound("no such application")
            data = as_request(row)
        else:
            assert request.application is not None
            data = request.application
            check_request(data, datetime.now(UTC).date())
        registration = await _registration(conn, data, None, lock=False)
        outcome, hit = await _assess(conn, d, data, registration, in_force)
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
