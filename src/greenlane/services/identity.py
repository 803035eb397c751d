"""Partners, ports and API clients: created by administrators (or the command line), audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from greenlane.db import identity as identity_db
from greenlane.db.pagination import decode_cursor, next_cursor
from greenlane.db.pool import Database
from greenlane.domain.countries import alpha2, is_country
from greenlane.domain.crypto import hash_client_secret, new_secret
from greenlane.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from greenlane.services import audit
from greenlane.services.live_state import notify
from greenlane.wire.common import Page
from greenlane.wire.identity import (
    Client,
    ClientCreate,
    ClientCreated,
    Partner,
    PartnerCreate,
    Port,
    PortCreate,
)


def _check_country(field: str, code: str) -> None:
    if not is_country(code):
        raise ValidationFailed.one(field, "not an ISO 3166-1 alpha-3 country code")


def partner_from_row(row: asyncpg.Record) -> Partner:
    return Partner(
        id=row["id"],
        name=row["name"],
        country=row["country"],
        contact_email=row["contact_email"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


def port_from_row(row: asyncpg.Record) -> Port:
    return Port(
        code=row["code"],
        name=row["name"],
        country=row["country"],
        kinds=list(row["kinds"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


def client_from_row(row: asyncpg.Record) -> Client:
    return Client(
        client_id=row["id"],
        role=row["role"],
        name=row["name"],
        partner_id=row["partner_id"],
        port_code=row["port_code"],
        lane_code=row["lane_code"],
        disabled=row["disabled_at"] is not None,
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


async def create_partner(db: Database, data: PartnerCreate, *, actor: str) -> Partner:
    _check_country("country", data.country)
    async with db.transaction() as conn:
        row = await identity_db.insert_partner(
            conn,
            partner_id=uuid.uuid4(),
            name=data.name,
            country=data.country,
            contact_email=data.contact_email,
            actor=actor,
        )
        await audit.record(conn, actor, "partner.create", str(row["id"]), {"country": data.country})
    return partner_from_row(row)


async def list_partners(db: Database, *, cursor: str | None, limit: int) -> Page[Partner]:
    async with db.connection() as conn:
        rows = await identity_db.list_partners(conn, after=decode_cursor(cursor), limit=limit)
    return Page([partner_from_row(r) for r in rows], next_cursor(rows, limit))


async def create_port(db: Database, data: PortCreate, *, actor: str) -> Port:
    _check_country("country", data.country)
    if data.code[:2] != alpha2(data.country):
        raise ValidationFailed.one("code", "must start with the port country's 2-letter code")
    if len(set(data.kinds)) != len(data.kinds):
        raise ValidationFailed.one("kinds", "must not repeat a kind")
    async with db.transaction() as conn:
        row = await identity_db.insert_port(
            conn,
            code=data.code,
            name=data.name,
            country=data.country,
            kinds=data.kinds,
            actor=actor,
        )
        if row is None:
            raise Conflict(f"port {data.code} already exists")
        await audit.record(conn, actor, "port.create", data.code, {"kinds": list(data.kinds)})
    return port_from_row(row)


async def list_ports(db: Database, *, after_code: str | None, limit: int) -> Page[Port]:
    async with db.connection() as conn:
        rows = await identity_db.list_ports(conn, after_code=after_code, limit=limit)
    next_cursor = rows[-1]["code"] if len(rows) == limit else None
    return Page([port_from_row(r) for r in rows], next_cursor)


def _check_binding(data: ClientCreate) -> None:
    problems: list[FieldProblem] = []
    role = data.role
    if (role == "partner") != (data.partner_id is not None):
        problems.append(FieldProblem("partner_id", "required for a partner client, else absent"))
    if (role == "lane") != (data.port_code is not None):
        problems.append(FieldProblem("port_code", "required for a lane client, else absent"))
    if (role == "lane") != (data.lane_code is not None):
        problems.append(FieldProblem("lane_code", "required for a lane client, else absent"))
    if problems:
        raise ValidationFailed(problems)


async def create_client(
    db: Database, data: ClientCreate, *, actor: str, pepper: bytes
) -> ClientCreated:
    _check_binding(data)
    secret = new_secret()
    async with db.transaction() as conn:
        if data.partner_id is not None and not await identity_db.partner_exists(
            conn, data.partner_id
        ):
            raise ValidationFailed.one("partner_id", "no such partner")
        if data.port_code is not None and not await identity_db.port_exists(conn, data.port_code):
            raise ValidationFailed.one("port_code", "no such port")
        row = await identity_db.insert_client(
            conn,
            client_id=uuid.uuid4(),
            role=data.role,
            name=data.name,
            partner_id=data.partner_id,
            port_code=data.port_code,
            lane_code=data.lane_code,
            secret_hash=hash_client_secret(secret, pepper),
            actor=actor,
        )
        await audit.record(conn, actor, "client.create", str(row["id"]), _binding(row))
        await notify(conn, "clients", str(row["id"]))
    return ClientCreated(**msgspec.structs.asdict(client_from_row(row)), client_secret=secret)


def _binding(row: asyncpg.Record) -> dict[str, Any]:
    found = {
        "role": row["role"],
        "partner_id": str(row["partner_id"]) if row["partner_id"] else None,
        "port_code": row["port_code"],
        "lane_code": row["lane_code"],
    }
    return {key: value for key, value in found.items() if value is not None}


async def list_clients(db: Database, *, cursor: str | None, limit: int) -> Page[Client]:
    async with db.connection() as conn:
        rows = await identity_db.list_clients(conn, after=decode_cursor(cursor), limit=limit)
    return Page([client_from_row(r) for r in rows], next_cursor(rows, limit))


async def disable_client(db: Database, client_id: uuid.UUID, *, actor: str) -> Client:
    """Disable a client; its access tokens stop working on every worker at once."""
    async with db.transaction() as conn:
        row = await identity_db.disable_client(conn, client_id, actor=actor, at=datetime.now(UTC))
        if row is None:
            raise NotFound("no such client")
        await audit.record(conn, actor, "client.disable", str(client_id), {"role": row["role"]})
        await notify(conn, "clients", str(client_id))
    return client_from_row(row)
