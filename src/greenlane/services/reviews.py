"""Referred cases as a reviewer works them in the console: why, who (masked), claim, decide,
ask for information, mark a false hit; and the cases waiting for information.

A reviewer sees why a case was referred (the rule's text, or the kind of watchlist entry it
matched, never the entry's value) and the traveller's personal data masked. Revealing it in
full is a deliberate act, audited with the fields shown. A claim tells other reviewers that
someone is on the case; a case claimed by someone else cannot be decided, sent back for
information or have its hits marked false until it is released, by its decision or by a
request for information (the case leaves the queue; the answer may come back to anyone, and an
unanswered one is rejected by the deadline job, which knows nothing of claims).
The steps themselves are the API's use cases (``applications``, ``lifecycle``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from greenlane.db import applications as applications_db
from greenlane.db import clearances as clearances_db
from greenlane.db import overview as overview_db
from greenlane.db import staff as staff_db
from greenlane.db import travellers as travellers_db
from greenlane.db import vehicles as vehicles_db
from greenlane.db.codecs import jsonb
from greenlane.db.pool import Database
from greenlane.domain.documents import mask_number
from greenlane.domain.staff import mask_name
from greenlane.errors import Conflict, NotFound
from greenlane.services import applications, audit, clearances, lifecycle, rules
from greenlane.services.applications import Deciding
from greenlane.wire.applications import Application, DecisionRequest, Reason
from greenlane.wire.clearances import Clearance
from greenlane.wire.lifecycle import FalseHitCreate, InformationRequestCreate

QUEUE_LIMIT = 200
WAITING = ("referred", "appealed")  # the statuses a reviewer decides


@dataclass(frozen=True, slots=True)
class QueueItem:
    application_id: uuid.UUID
    filed_at: datetime
    status: str
    partner_name: str
    ports: list[str]
    reason_codes: list[str]
    claimed_by: str | None


async def queue(db: Database) -> list[QueueItem]:
    """The oldest ``QUEUE_LIMIT`` referred cases, oldest first."""
    async with db.connection() as conn:
        rows = await overview_db.review_queue(conn, limit=QUEUE_LIMIT)
    return [
        QueueItem(
            r["id"],
            r["created_at"],
            r["status"],
            r["partner_name"],
            list(r["ports"]),
            [reason["reason_code"] for reason in jsonb(r["reasons"])],
            r["claimed_by"],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class WaitingForInformation:
    application_id: uuid.UUID
    partner_name: str
    ports: list[str]
    items: list[str]
    requested_at: datetime
    requested_by: str
    due_at: datetime


async def waiting_for_information(db: Database) -> list[WaitingForInformation]:
    """The ``QUEUE_LIMIT`` open requests for information due soonest."""
    async with db.connection() as conn:
        rows = await overview_db.waiting_for_information(conn, limit=QUEUE_LIMIT)
    return [
        WaitingForInformation(
            r["id"],
            r["partner_name"],
            list(r["ports"]),
            list(r["items"]),
            r["requested_at"],
            r["requested_by"],
            r["due_at"],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Referral:
    """One reason, with the text of the rule that gave it (None for a watchlist hit)."""

    reason: Reason
    rule_name: str | None
    rule_condition: str | None


@dataclass(frozen=True, slots=True)
class MaskedPerson:
    given_names: str
    surname: str
    birth_year: int
    sex: str
    nationality: str
    category: str
    document_type: str
    document_issuing_state: str
    document_number: str
    plate: str | None


@dataclass(frozen=True, slots=True)
class Revealed:
    given_names: str
    surname: str
    date_of_birth: date
    document_number: str
    plate: str | None


@dataclass(frozen=True, slots=True)
class ReviewCase:
    application: Application
    person: MaskedPerson | None  # None once the traveller has been erased
    referrals: list[Referral]
    watchlist_kinds: list[str]  # "document", "vehicle": what matched, never the value
    claimed_by: str | None
    claimed_at: datetime | None
    clearance: Clearance | None  # the one its approval issued, as it stands now
    info_deadline_days: int  # how long a partner has to answer a request for information

    @property
    def watchlist_hit(self) -> bool:
        """Whether any reason is a watchlist entry's hit (which can be marked false)."""
        return any(referral.reason.watchlist_entry_id for referral in self.referrals)


async def _referrals(db: Database, reasons: list[Reason]) -> list[Referral]:
    found = []
    for reason in reasons:
        name = condition = None
        if reason.rule_id is not None:
            try:
                rule = await rules.get_rule(db, uuid.UUID(reason.rule_id))
                name, condition = rule.name, rule.condition
            except NotFound:  # retired since: the reason's message still says why
                pass
        found.append(Referral(reason, name, condition))
    return found


def _masked(traveller: asyncpg.Record, vehicle: asyncpg.Record | None, d: Deciding) -> MaskedPerson:
    birth = travellers_db.unseal(d.cipher, traveller, "date_of_birth_enc")
    return MaskedPerson(
        given_names=mask_name(traveller["given_names"]),
        surname=mask_name(traveller["surname"]),
        birth_year=date.fromisoformat(birth).year,
        sex=traveller["sex"],
        nationality=traveller["nationality"],
        category=traveller["category"],
        document_type=traveller["document_type"],
        document_issuing_state=traveller["document_issuing_state"],
        document_number=traveller["document_number_masked"],
        plate=mask_number(vehicle["plate"]) if vehicle is not None else None,
    )


def _watchlist_kinds(
    traveller: asyncpg.Record, vehicle: asyncpg.Record | None, d: Deciding
) -> list[str]:
    kinds = []
    if d.watchlist.hit_document(bytes(traveller["document_index"])):
        kinds.append("document")
    if vehicle is not None and d.watchlist.hit_vehicle(bytes(vehicle["plate_index"])):
        kinds.append("vehicle")
    return kinds


async def review_case(d: Deciding, application_id: uuid.UUID) -> ReviewCase:
    application = await applications.get(d.db, application_id, None)
    async with d.db.connection() as conn:
        traveller = await travellers_db.TABLE.get_any(conn, application.traveller_id)
        vehicle = None
        if application.vehicle_id is not None:
            vehicle = await vehicles_db.TABLE.get_any(conn, application.vehicle_id)
        claim = await staff_db.claimant(conn, application_id)
    issued = application.clearance
    return ReviewCase(
        application=application,
        person=_masked(traveller, vehicle, d) if traveller is not None else None,
        referrals=await _referrals(d.db, application.reasons),
        watchlist_kinds=_watchlist_kinds(traveller, vehicle, d) if traveller else [],
        claimed_by=claim["email"] if claim else None,
        claimed_at=claim["claimed_at"] if claim else None,
        clearance=await clearances.get(d.db, issued.id, None) if issued else None,
        info_deadline_days=d.policy.info_deadline_days,
    )


async def case_for(db: Database, wanted: uuid.UUID) -> uuid.UUID:
    """The application ``wanted`` names: itself, or the one whose approval issued the clearance
    it is (how an inquiry that starts from a clearance reaches its case)."""
    async with db.connection() as conn:
        if await applications_db.get(conn, wanted, None) is not None:
            return wanted
        clearance = await clearances_db.get(conn, wanted, None)
    if clearance is None:
        raise NotFound("no application or clearance has this id")
    found: uuid.UUID = clearance["application_id"]
    return found


async def reveal(d: Deciding, application_id: uuid.UUID, *, actor: str) -> Revealed:
    """The traveller's personal data in full, audited with the fields shown."""
    async with d.db.transaction() as conn:
        row = await applications_db.get(conn, application_id, None)
        if row is None:
            raise NotFound("no such application")
        traveller = await travellers_db.TABLE.get_any(conn, row["traveller_id"])
        if traveller is None:
            raise NotFound("the traveller's data has been erased")
        vehicle = None
        if row["vehicle_id"] is not None:
            vehicle = await vehicles_db.TABLE.get_any(conn, row["vehicle_id"])
        fields = ["given_names", "surname", "date_of_birth", "document_number"]
        if vehicle is not None:
            fields.append("plate")
        await audit.record(conn, actor, "case.reveal", str(application_id), {"fields": fields})
    return Revealed(
        given_names=traveller["given_names"],
        surname=traveller["surname"],
        date_of_birth=date.fromisoformat(
            travellers_db.unseal(d.cipher, traveller, "date_of_birth_enc")
        ),
        document_number=travellers_db.unseal(d.cipher, traveller, "document_number_enc"),
        plate=vehicle["plate"] if vehicle is not None else None,
    )


async def claim(
    db: Database, application_id: uuid.UUID, *, staff_id: uuid.UUID, actor: str
) -> None:
    async with db.transaction() as conn:
        row = await applications_db.get(conn, application_id, None)
        if row is None:
            raise NotFound("no such application")
        if row["status"] not in WAITING:
            raise Conflict(f"the application is {row['status']}: nothing to decide")
        holder = await staff_db.claim(conn, application_id, staff_id, datetime.now(UTC))
        if holder != staff_id:
            raise Conflict("another reviewer has claimed this case")
        await audit.record(conn, actor, "case.claim", str(application_id))


# The steps a reviewer takes on a case, as the API's bodies: each is that use case's own.
Step = DecisionRequest | InformationRequestCreate | FalseHitCreate


async def take_step(
    d: Deciding, application_id: uuid.UUID, step: Step, *, staff_id: uuid.UUID, actor: str
) -> Application:
    """Decide (approve or reject with grounds), ask for information, or mark the watchlist hits
    false hits for the traveller, unless another reviewer holds the case. A decision and a
    request for information release it: the case leaves the queue."""
    await _not_claimed_by_another(d.db, application_id, staff_id)
    match step:
        case DecisionRequest():
            done = await applications.decide(d, application_id, step, actor=actor)
        case InformationRequestCreate():
            done = await lifecycle.request_info(d, application_id, step, actor=actor)
        case FalseHitCreate():
            return await lifecycle.mark_false_hit(d, application_id, step, actor=actor)
    async with d.db.transaction() as conn:
        await staff_db.release(conn, application_id)
    return done


async def _not_claimed_by_another(
    db: Database, application_id: uuid.UUID, staff_id: uuid.UUID
) -> None:
    async with db.connection() as conn:
        holder = await staff_db.claimant(conn, application_id)
    if holder is not None and holder["staff_id"] != staff_id:
        raise Conflict(f"{holder['email']} has claimed this case")
