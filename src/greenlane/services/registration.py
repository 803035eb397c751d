"""Registration of travellers (drivers included) and vehicles by partner apps.

One validation per resource serves POST and PATCH: a PATCH is merged into the stored record
and the result is checked exactly as a new registration would be. Every statement is scoped by
the caller's partner id, so another partner's record is "not found" like a missing one.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import asyncpg
import msgspec

from greenlane.db import idempotency as idempotency_db
from greenlane.db import travellers as travellers_db
from greenlane.db import vehicles as vehicles_db
from greenlane.db.pagination import Cursor, next_cursor
from greenlane.db.partner_scoped import PartnerTable
from greenlane.db.pool import Connection, Database
from greenlane.domain.countries import is_country, is_document_state
from greenlane.domain.crypto import BlindIndex, FieldCipher
from greenlane.domain.documents import (
    DocumentFieldError,
    canonical_document_number,
    canonical_plate,
    mask_number,
    validate_person_name,
    validate_vin,
)
from greenlane.domain.lookups import document_index, vehicle_index
from greenlane.domain.mrz import MrzError, mrz_disagreements, parse_mrz
from greenlane.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from greenlane.services import audit, clearances
from greenlane.services.idempotency import Created, create_once
from greenlane.wire.common import Page
from greenlane.wire.registration import (
    DocumentOut,
    DrivingLicenceOut,
    EmployerOut,
    Traveller,
    TravellerCreate,
    TravellerPatch,
    Vehicle,
    VehicleCreate,
    VehiclePatch,
)

T = TypeVar("T")
A = TypeVar("A", bound=Created)  # an answer that names what it created
EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True, slots=True)
class Caller:
    """A partner client acting: the only source of the partner id for these use cases."""

    partner_id: uuid.UUID
    actor: str


@dataclass(frozen=True, slots=True)
class Protection:
    cipher: FieldCipher
    index: BlindIndex


# --- validation, one function per resource --------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.found: list[FieldProblem] = []

    def add(self, field: str, message: str) -> None:
        self.found.append(FieldProblem(field, message))

    def check(self, field: str, make: Callable[[], T]) -> T | None:
        try:
            return make()
        except DocumentFieldError as exc:
            self.add(field, exc.message)
            return None

    def raise_any(self) -> None:
        if self.found:
            raise ValidationFailed(self.found)


def _plain_text(problems: _Problems, field: str, value: str) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    if not text or any(unicodedata.category(c).startswith("C") for c in text):
        problems.add(field, "must be printable text")
    return text


@dataclass(frozen=True, slots=True)
class CheckedTraveller:
    """The registration with its text cleaned (NFC, trimmed) and its numbers canonical."""

    data: TravellerCreate
    number: str
    licence_number: str | None


def check_traveller(data: TravellerCreate, today: date) -> CheckedTraveller:
    """Everything a border officer would check on the registration, all problems at once."""
    problems = _Problems()
    # Mononymous people (common in Indonesia and Myanmar) have no given names.
    given_names = ""
    if data.given_names.strip():
        given_names = (
            problems.check("given_names", lambda: validate_person_name(data.given_names, field=""))
            or ""
        )
    surname = problems.check("surname", lambda: validate_person_name(data.surname, field=""))
    birth_ok = EARLIEST_BIRTH <= data.date_of_birth < today
    if not birth_ok:
        problems.add("date_of_birth", "must be a real date in the past, after 1900")
    if not is_document_state(data.nationality):
        problems.add("nationality", "not a state code of ISO 3166-1 or ICAO 9303")
    document = data.document
    if not is_document_state(document.issuing_state):
        problems.add("document.issuing_state", "not a state code of ISO 3166-1 or ICAO 9303")
    number = problems.check("document.number", lambda: canonical_document_number(document.number))
    if document.expiry_date < today:
        problems.add("document.expiry_date", "the document has expired")
    elif birth_ok and document.expiry_date <= data.date_of_birth:
        problems.add("document.expiry_date", "must be after the date of birth")
    employer_name = _plain_text(problems, "employer.name", data.employer.name)
    if not is_country(data.employer.country):
        problems.add("employer.country", "not an ISO 3166-1 alpha-3 country code")
    licence_number = None
    if data.driving_licence is not None:
        licence = data.driving_licence
        licence_number = problems.check(
            "driving_licence.number", lambda: canonical_document_number(licence.number)
        )
        if not is_country(licence.issuing_state):
            problems.add("driving_licence.issuing_state", "not an ISO 3166-1 alpha-3 code")
        if len(set(licence.classes)) != len(licence.classes):
            problems.add("driving_licence.classes", "must not repeat a class")
    elif data.category == "commercial_driver":
        problems.add("driving_licence", "required for a commercial driver")
    if data.mrz is not None and number is not None:
        _check_mrz(problems, data, number, today)
    problems.raise_any()
    assert number is not None
    assert surname is not None
    cleaned = msgspec.structs.replace(
        data,
        given_names=given_names,
        surname=surname,
        employer=msgspec.structs.replace(data.employer, name=employer_name),
    )
    return CheckedTraveller(data=cleaned, number=number, licence_number=licence_number)


def _check_mrz(problems: _Problems, data: TravellerCreate, number: str, today: date) -> None:
    assert data.mrz is not None
    try:
        zone = parse_mrz(data.mrz, today=today)
    except MrzError as exc:
        problems.add("mrz", f"{exc.message} ({exc.field})")
        return
    for field, message in mrz_disagreements(
        zone,
        document_number=number,
        issuing_state=data.document.issuing_state,
        nationality=data.nationality,
        date_of_birth=data.date_of_birth,
        sex=data.sex,
        expiry_date=data.document.expiry_date,
    ):
        problems.add(field, message)


@dataclass(frozen=True, slots=True)
class CheckedVehicle:
    data: VehicleCreate
    plate: str
    vin: str


def check_vehicle(data: VehicleCreate) -> CheckedVehicle:
    problems = _Problems()
    plate = problems.check("plate", lambda: canonical_plate(data.plate))
    vin = problems.check("vin", lambda: validate_vin(data.vin))
    if not is_country(data.registration_country):
        problems.add("registration_country", "not an ISO 3166-1 alpha-3 country code")
    texts = {
        field: _plain_text(problems, field, value)
        for field in ("make", "model", "colour")
        if (value := getattr(data, field)) is not None
    }
    problems.raise_any()
    assert plate is not None
    assert vin is not None
    return CheckedVehicle(data=msgspec.structs.replace(data, **texts), plate=plate, vin=vin)


# --- rows and answers ---------------------------------------------------------------------


def _traveller_row(
    checked: CheckedTraveller, row_id: uuid.UUID, p: Protection
) -> travellers_db.TravellerRow:
    data = checked.data

    def seal(column: str, text: str) -> bytes:
        return travellers_db.seal(p.cipher, row_id, column, text)

    licence = data.driving_licence
    return travellers_db.TravellerRow(
        category=data.category,
        given_names=data.given_names,
        surname=data.surname,
        sex=data.sex,
        nationality=data.nationality,
        date_of_birth_enc=seal("date_of_birth_enc", data.date_of_birth.isoformat()),
        document_type=data.document.type,
        document_issuing_state=data.document.issuing_state,
        document_number_enc=seal("document_number_enc", checked.number),
        document_number_masked=mask_number(checked.number),
        document_index=document_index(p.index, data.document.issuing_state, checked.number),
        document_expiry=data.document.expiry_date,
        employer_name=data.employer.name,
        employer_country=data.employer.country,
        licence_number_enc=(
            seal("licence_number_enc", checked.licence_number)
            if licence and checked.licence_number
            else None
        ),
        licence_number_masked=mask_number(checked.licence_number)
        if checked.licence_number
        else None,
        licence_issuing_state=licence.issuing_state if licence else None,
        licence_classes=list(licence.classes) if licence else None,
        licence_expiry=licence.expiry_date if licence else None,
    )


def traveller_answer(row: asyncpg.Record, p: Protection) -> Traveller:
    licence = None
    if row["licence_number_masked"] is not None:
        licence = DrivingLicenceOut(
            number=row["licence_number_masked"],
            issuing_state=row["licence_issuing_state"],
            classes=list(row["licence_classes"]),
            expiry_date=row["licence_expiry"],
        )
    return Traveller(
        id=row["id"],
        given_names=row["given_names"],
        surname=row["surname"],
        date_of_birth=date.fromisoformat(travellers_db.unseal(p.cipher, row, "date_of_birth_enc")),
        sex=row["sex"],
        nationality=row["nationality"],
        document=DocumentOut(
            type=row["document_type"],
            number=row["document_number_masked"],
            issuing_state=row["document_issuing_state"],
            expiry_date=row["document_expiry"],
        ),
        category=row["category"],
        employer=EmployerOut(name=row["employer_name"], country=row["employer_country"]),
        driving_licence=licence,
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


def stored_traveller(row: asyncpg.Record, p: Protection) -> TravellerCreate:
    """The registration as the partner sent it (numbers decrypted), for merging a PATCH."""
    licence = None
    if row["licence_number_enc"] is not None:
        licence = {
            "number": travellers_db.unseal(p.cipher, row, "licence_number_enc"),
            "issuing_state": row["licence_issuing_state"],
            "classes": list(row["licence_classes"]),
            "expiry_date": row["licence_expiry"],
        }
    return msgspec.convert(
        {
            "given_names": row["given_names"],
            "surname": row["surname"],
            "date_of_birth": travellers_db.unseal(p.cipher, row, "date_of_birth_enc"),
            "sex": row["sex"],
            "nationality": row["nationality"],
            "document": {
                "type": row["document_type"],
                "number": travellers_db.unseal(p.cipher, row, "document_number_enc"),
                "issuing_state": row["document_issuing_state"],
                "expiry_date": row["document_expiry"],
            },
            "category": row["category"],
            "employer": {"name": row["employer_name"], "country": row["employer_country"]},
            "driving_licence": licence,
        },
        TravellerCreate,
    )


def _vehicle_row(checked: CheckedVehicle, p: Protection) -> vehicles_db.VehicleRow:
    data = checked.data
    return vehicles_db.VehicleRow(
        plate=checked.plate,
        registration_country=data.registration_country,
        plate_index=vehicle_index(p.index, data.registration_country, checked.plate),
        vin=checked.vin,
        kind=data.kind,
        make=data.make,
        model=data.model,
        colour=data.colour,
        insurance_expiry=data.insurance_expiry,
    )


def vehicle_answer(row: asyncpg.Record) -> Vehicle:
    return Vehicle(
        id=row["id"],
        plate=row["plate"],
        registration_country=row["registration_country"],
        vin=row["vin"],
        kind=row["kind"],
        make=row["make"],
        model=row["model"],
        colour=row["colour"],
        insurance_expiry=row["insurance_expiry"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


def stored_vehicle(row: asyncpg.Record) -> VehicleCreate:
    return msgspec.convert(
        {
            name: row[name]
            for name in (
                "plate",
                "registration_country",
                "vin",
                "kind",
                "make",
                "model",
                "colour",
                "insurance_expiry",
            )
        },
        VehicleCreate,
    )


def merged(current: msgspec.Struct, patch: msgspec.Struct, result: type[T]) -> T:
    """Top-level merge patch: fields present in ``patch`` replace those of ``current``."""
    changes = {
        name: getattr(patch, name)
        for name in patch.__struct_fields__
        if getattr(patch, name) is not msgspec.UNSET
    }
    base = msgspec.structs.asdict(current)
    base.update(changes)
    return msgspec.convert(msgspec.to_builtins({**base}), result)


def _today() -> date:
    return datetime.now(UTC).date()


# --- use cases ----------------------------------------------------------------------------


async def register_traveller(
    db: Database,
    p: Protection,
    caller: Caller,
    data: TravellerCreate,
    idempotency_key: str | None,
) -> tuple[Traveller, bool]:
    checked = check_traveller(data, _today())
    traveller_id = uuid.uuid4()

    async def create(conn: Connection) -> Traveller:
        row = _traveller_row(checked, traveller_id, p)
        record = await _insert_unique(
            conn, travellers_db.TABLE, traveller_id, caller, row.values(), row.document_index
        )
        return traveller_answer(record, p)

    return await _create(db, p, caller, idempotency_key, "travellers", data, Traveller, create)


def _duplicate(table: PartnerTable, existing: uuid.UUID | None) -> Conflict:
    what = "document" if table is travellers_db.TABLE else "vehicle"
    return Conflict(
        f"this partner already registered that {what}",
        existing_id=str(existing) if existing else None,
    )


async def _insert_unique(
    conn: Connection,
    table: PartnerTable,
    row_id: uuid.UUID,
    caller: Caller,
    values: tuple[Any, ...],
    lookup: bytes,
) -> asyncpg.Record:
    """Insert, or 409 naming the partner's record that already has this document or plate."""
    existing = await table.find(conn, caller.partner_id, lookup)
    if existing is not None:
        raise _duplicate(table, existing)
    async with _unique(conn, table, caller, lookup):  # a race lost after the check
        record: asyncpg.Record = await table.insert(
            conn, row_id, caller.partner_id, values, caller.actor
        )
    return record


async def _update_unique(
    conn: Connection,
    table: PartnerTable,
    row_id: uuid.UUID,
    caller: Caller,
    values: tuple[Any, ...],
    lookup: bytes,
) -> asyncpg.Record:
    """Update, or 409 naming the partner's other registration of the same document or plate
    (the unique index decides, so a concurrent write cannot slip between check and update)."""
    async with _unique(conn, table, caller, lookup):
        record = await table.update(conn, row_id, caller.partner_id, values, caller.actor)
    assert record is not None  # the row is locked by the caller
    return record


@asynccontextmanager
async def _unique(
    conn: Connection, table: PartnerTable, caller: Caller, lookup: bytes
) -> AsyncIterator[None]:
    """A savepoint (a violation leaves the outer transaction usable) whose unique violation
    becomes a 409 naming the partner's record that already has this document or plate."""
    try:
        async with conn.transaction():
            yield
    except asyncpg.UniqueViolationError:
        raise _duplicate(table, await table.find(conn, caller.partner_id, lookup)) from None


async def _create(
    db: Database,
    p: Protection,
    caller: Caller,
    idempotency_key: str | None,
    route: str,
    data: msgspec.Struct,
    answer_type: type[A],
    create: Callable[[Any], Any],
) -> tuple[A, bool]:
    async with db.transaction() as conn:
        return await create_once(
            conn,
            p.cipher,
            p.index,
            partner_id=caller.partner_id,
            key=idempotency_key,
            route=route,
            request=data,
            answer_type=answer_type,
            create=lambda: create(conn),
        )


async def get_traveller(
    db: Database, p: Protection, caller: Caller, traveller_id: uuid.UUID
) -> Traveller:
    async with db.connection() as conn:
        row = await travellers_db.TABLE.get(conn, traveller_id, caller.partner_id)
    if row is None:
        raise NotFound("no such traveller")
    return traveller_answer(row, p)


async def list_travellers(
    db: Database, p: Protection, caller: Caller, *, after: Cursor | None, limit: int
) -> Page[Traveller]:
    async with db.connection() as conn:
        rows = await travellers_db.TABLE.page(conn, caller.partner_id, after=after, limit=limit)
    return Page([traveller_answer(r, p) for r in rows], next_cursor(rows, limit))


async def update_traveller(
    db: Database, p: Protection, caller: Caller, traveller_id: uuid.UUID, patch: TravellerPatch
) -> Traveller:
    async with db.transaction() as conn:
        current = await travellers_db.TABLE.get(
            conn, traveller_id, caller.partner_id, for_update=True
        )
        if current is None:
            raise NotFound("no such traveller")
        checked = check_traveller(
            merged(stored_traveller(current, p), patch, TravellerCreate), _today()
        )
        row = _traveller_row(checked, traveller_id, p)
        record = await _update_unique(
            conn, travellers_db.TABLE, traveller_id, caller, row.values(), row.document_index
        )
    return traveller_answer(record, p)


async def erase_traveller(db: Database, caller: Caller, traveller_id: uuid.UUID) -> None:
    """Erase the personal data and revoke the traveller's clearances; the audit entry keeps
    only that it happened."""
    async with db.transaction() as conn:
        erased = await travellers_db.TABLE.erase(
            conn, traveller_id, caller.partner_id, actor=caller.actor, at=datetime.now(UTC)
        )
        if not erased:
            raise NotFound("no such traveller")
        await clearances.revoke_all_of_traveller(conn, traveller_id, actor=caller.actor)
        await idempotency_db.forget_resource(conn, caller.partner_id, traveller_id)
        await audit.record(conn, caller.actor, "traveller.erase", str(traveller_id))


async def register_vehicle(
    db: Database,
    p: Protection,
    caller: Caller,
    data: VehicleCreate,
    idempotency_key: str | None,
) -> tuple[Vehicle, bool]:
    checked = check_vehicle(data)
    vehicle_id = uuid.uuid4()

    async def create(conn: Connection) -> Vehicle:
        row = _vehicle_row(checked, p)
        record = await _insert_unique(
            conn, vehicles_db.TABLE, vehicle_id, caller, row.values(), row.plate_index
        )
        return vehicle_answer(record)

    return await _create(db, p, caller, idempotency_key, "vehicles", data, Vehicle, create)


async def get_vehicle(db: Database, caller: Caller, vehicle_id: uuid.UUID) -> Vehicle:
    async with db.connection() as conn:
        row = await vehicles_db.TABLE.get(conn, vehicle_id, caller.partner_id)
    if row is None:
        raise NotFound("no such vehicle")
    return vehicle_answer(row)


async def list_vehicles(
    db: Database, caller: Caller, *, after: Cursor | None, limit: int
) -> Page[Vehicle]:
    async with db.connection() as conn:
        rows = await vehicles_db.TABLE.page(conn, caller.partner_id, after=after, limit=limit)
    return Page([vehicle_answer(r) for r in rows], next_cursor(rows, limit))


async def update_vehicle(
    db: Database, p: Protection, caller: Caller, vehicle_id: uuid.UUID, patch: VehiclePatch
) -> Vehicle:
    async with db.transaction() as conn:
        current = await vehicles_db.TABLE.get(conn, vehicle_id, caller.partner_id, for_update=True)
        if current is None:
            raise NotFound("no such vehicle")
        checked = check_vehicle(merged(stored_vehicle(current), patch, VehicleCreate))
        row = _vehicle_row(checked, p)
        record = await _update_unique(
            conn, vehicles_db.TABLE, vehicle_id, caller, row.values(), row.plate_index
        )
    return vehicle_answer(record)


async def erase_vehicle(db: Database, caller: Caller, vehicle_id: uuid.UUID) -> None:
    async with db.transaction() as conn:
        erased = await vehicles_db.TABLE.erase(
            conn, vehicle_id, caller.partner_id, actor=caller.actor, at=datetime.now(UTC)
        )
        if not erased:
            raise NotFound("no such vehicle")
        await idempotency_db.forget_resource(conn, caller.partner_id, vehicle_id)
        await audit.record(conn, caller.actor, "vehicle.erase", str(vehicle_id))
