"""The one evaluation of an application: the dry run and a real filing both call :func:`assess`.

The registration is turned into the facts a rule may see (never a document or licence number),
the rules in force are run off the event loop, each on a time budget (``RuleRunner``), and the
watchlist is consulted by blind index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from greenlane.db import travellers as travellers_db
from greenlane.db.pool import Connection
from greenlane.domain.crypto import FieldCipher
from greenlane.domain.rules import (
    ApplicationFacts,
    DocumentFacts,
    DrivingLicenceFacts,
    EmployerFacts,
    Outcome,
    TravellerFacts,
    VehicleFacts,
    applicable,
    build_context,
    decide,
)
from greenlane.errors import FieldProblem, ValidationFailed
from greenlane.services.rule_runner import RuleRunner
from greenlane.services.rules import RulesInForce
from greenlane.services.watchlist import Watchlist
from greenlane.wire.applications import ApplicationCreate

MAX_WINDOW_DAYS = 366


@dataclass(frozen=True, slots=True)
class Registration:
    """The rows an application is about; the vehicle is None when none is attached."""

    traveller: asyncpg.Record
    vehicle: asyncpg.Record | None


def check_request(data: ApplicationCreate, today: date) -> None:
    """What is wrong with the request itself, before any rule runs."""
    problems: list[FieldProblem] = []
    if data.valid_from > data.valid_until:
        problems.append(FieldProblem("valid_until", "must not be before valid_from"))
    elif (data.valid_until - data.valid_from).days + 1 > MAX_WINDOW_DAYS:
        problems.append(FieldProblem("valid_until", f"a window is at most {MAX_WINDOW_DAYS} days"))
    if data.valid_from < today:
        problems.append(FieldProblem("valid_from", "must not be in the past"))
    if len(set(data.ports)) != len(data.ports):
        problems.append(FieldProblem("ports", "must not repeat a port"))
    if problems:
        raise ValidationFailed(problems)


async def port_kinds(conn: Connection, ports: list[str]) -> dict[str, list[str]]:
    rows = await conn.fetch("SELECT code, kinds FROM ports WHERE code = ANY($1::text[])", ports)
    found = {row["code"]: list(row["kinds"]) for row in rows}
    unknown = [i for i, port in enumerate(ports) if port not in found]
    if unknown:
        raise ValidationFailed([FieldProblem(f"ports[{i}]", "no such port") for i in unknown])
    return found


def check_driver(registration: Registration) -> None:
    if registration.vehicle is not None and registration.traveller["licence_expiry"] is None:
        raise ValidationFailed.one(
            "vehicle_id", "the traveller drives the vehicle and holds no driving licence"
        )


def traveller_facts(row: asyncpg.Record, cipher: FieldCipher) -> TravellerFacts:
    birth = travellers_db.unseal(cipher, row, "date_of_birth_enc")
    licence = None
    if row["licence_expiry"] is not None:
        licence = DrivingLicenceFacts(
            issuing_state=row["licence_issuing_state"],
            classes=tuple(row["licence_classes"]),
            expiry_date=row["licence_expiry"],
        )
    return TravellerFacts(
        nationality=row["nationality"],
        category=row["category"],
        sex=row["sex"],
        date_of_birth=date.fromisoformat(birth),
        employer=EmployerFacts(name=row["employer_name"], country=row["employer_country"]),
        document=DocumentFacts(
            type=row["document_type"],
            issuing_state=row["document_issuing_state"],
            expiry_date=row["document_expiry"],
        ),
        driving_licence=licence,
    )


def vehicle_facts(row: asyncpg.Record | None) -> VehicleFacts | None:
    if row is None:
        return None
    return VehicleFacts(
        kind=row["kind"],
        registration_country=row["registration_country"],
        insurance_expiry=row["insurance_expiry"],
    )


def watchlisted(registration: Registration, watchlist: Watchlist) -> list[str]:
    """The watchlist entries (ids) that refer this registration: those it matches, less any
    that a reviewer found to be a false hit for this traveller."""
    vehicle = registration.vehicle
    return watchlist.referring(
        (bytes(registration.traveller["document_index"]),),
        bytes(vehicle["plate_index"]) if vehicle is not None else None,
    )


async def assess(
    conn: Connection,
    data: ApplicationCreate,
    registration: Registration,
    *,
    rules: RulesInForce,
    runner: RuleRunner,
    watchlist: Watchlist,
    cipher: FieldCipher,
    now: datetime | None = None,
) -> tuple[Outcome, bool]:
    """Evaluate an application against the rules in force; returns (outcome, watchlist hit)."""
    now = now or datetime.now(UTC)
    check_driver(registration)
    kinds = await port_kinds(conn, list(data.ports))
    traveller = traveller_facts(registration.traveller, cipher)
    context = build_context(
        traveller=traveller,
        vehicle=vehicle_facts(registration.vehicle),
        application=ApplicationFacts(
            ports=tuple(data.ports),
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            entries=data.entries,
            purpose=data.purpose,
        ),
        today=now.date(),
        port_kinds=kinds,
    )
    hits = watchlisted(registration, watchlist)
    judged = applicable(rules.active(now), category=traveller.category, ports=data.ports)
    verdicts = await runner.run([rule.condition for rule in judged], context)
    return decide(judged, verdicts, watchlist_hits=hits), bool(hits)
