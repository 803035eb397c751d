"""Vehicles registered by partner apps.

A PATCH is merged into the stored registration and the result is checked exactly as a new
registration would be (``domain.registration.check_vehicle``). The plate's blind index finds a
partner's second registration of the same plate.
"""

from __future__ import annotations

import uuid

import asyncpg
import msgspec

from greenlane.db import vehicles as vehicles_db
from greenlane.db.pagination import decode_cursor, next_cursor
from greenlane.db.pool import Connection, Database
from greenlane.domain.lookups import vehicle_index
from greenlane.domain.registration import CheckedVehicle, check_vehicle
from greenlane.services import partner_records
from greenlane.services.context import Caller, Protection
from greenlane.services.partner_records import PartnerRecords, merged
from greenlane.wire.common import Page
from greenlane.wire.registration import Vehicle, VehicleCreate, VehiclePatch

VEHICLES = PartnerRecords(
    table=vehicles_db.TABLE, name="vehicle", route="vehicles", registers="vehicle"
)
_REGISTERED = (
    "plate",
    "registration_country",
    "vin",
    "kind",
    "make",
    "model",
    "colour",
    "insurance_expiry",
)


def _row(checked: CheckedVehicle, p: Protection) -> vehicles_db.VehicleRow:
    return vehicles_db.VehicleRow(
        plate=checked.plate,
        registration_country=checked.registration_country,
        plate_index=vehicle_index(p.index, checked.registration_country, checked.plate),
        vin=checked.vin,
        kind=checked.kind,
        make=checked.make,
        model=checked.model,
        colour=checked.colour,
        insurance_expiry=checked.insurance_expiry,
    )


def vehicle_from_row(row: asyncpg.Record) -> Vehicle:
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


def stored_vehicle_from_row(row: asyncpg.Record) -> VehicleCreate:
    """The registration as stored, for merging a PATCH."""
    return msgspec.convert({name: row[name] for name in _REGISTERED}, VehicleCreate)


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
        row = _row(checked, p)
        record = await partner_records.insert_unique(conn, VEHICLES, caller, vehicle_id, row)
        return vehicle_from_row(record)

    return await partner_records.create_idempotent(
        db, p, caller, VEHICLES, idempotency_key, data, Vehicle, create
    )


async def get_vehicle(db: Database, caller: Caller, vehicle_id: uuid.UUID) -> Vehicle:
    async with db.connection() as conn:
        row = await partner_records.own(conn, VEHICLES, caller, vehicle_id)
    return vehicle_from_row(row)


async def list_vehicles(
    db: Database, caller: Caller, *, cursor: str | None, limit: int
) -> Page[Vehicle]:
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        rows = await VEHICLES.table.page(conn, caller.partner_id, after=after, limit=limit)
    return Page([vehicle_from_row(r) for r in rows], next_cursor(rows, limit))


async def update_vehicle(
    db: Database, p: Protection, caller: Caller, vehicle_id: uuid.UUID, patch: VehiclePatch
) -> Vehicle:
    async with db.transaction() as conn:
        return await update_vehicle_in(conn, p, caller, vehicle_id, patch)


async def update_vehicle_in(
    conn: Connection, p: Protection, caller: Caller, vehicle_id: uuid.UUID, patch: VehiclePatch
) -> Vehicle:
    """:func:`update_vehicle` in the caller's transaction."""
    current = await partner_records.own(conn, VEHICLES, caller, vehicle_id, for_update=True)
    checked = check_vehicle(merged(stored_vehicle_from_row(current), patch, VehicleCreate))
    row = _row(checked, p)
    record = await partner_records.update_unique(conn, VEHICLES, caller, vehicle_id, row)
    return vehicle_from_row(record)


async def erase_vehicle(db: Database, caller: Caller, vehicle_id: uuid.UUID) -> None:
    """Erase the vehicle's registration; the audit entry keeps only that it happened."""
    await partner_records.erase(db, VEHICLES, caller, vehicle_id)
