"""Every API client, held in memory by each worker so that authentication needs no query."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from greenlane.db import identity as identity_db
from greenlane.db.pool import Connection, Database
from greenlane.domain.access_tokens import Role


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """Who is calling. A partner's and a lane's bindings come from here, never from a request."""

    client_id: uuid.UUID
    role: Role
    partner_id: uuid.UUID | None
    port_code: str | None
    lane_code: str | None
    enabled: bool


def _identity(row: asyncpg.Record) -> ClientIdentity:
    return ClientIdentity(
        client_id=row["id"],
        role=row["role"],
        partner_id=row["partner_id"],
        port_code=row["port_code"],
        lane_code=row["lane_code"],
        enabled=row["disabled_at"] is None,
    )


class ClientRegistry:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._clients: dict[uuid.UUID, ClientIdentity] = {}

    async def reload_all(self) -> None:
        async with self._db.connection() as conn:
            rows = await identity_db.all_clients(conn)
        self._clients = {row["id"]: _identity(row) for row in rows}

    async def reload_one(self, key: str) -> None:
        try:
            client_id = uuid.UUID(key)
        except ValueError:
            return
        async with self._db.connection() as conn:
            await self._load(conn, client_id)

    async def get(self, client_id: uuid.UUID) -> ClientIdentity | None:
        """From memory; a client made a moment ago on another worker is fetched once."""
        found = self._clients.get(client_id)
        if found is not None:
            return found
        async with self._db.connection() as conn:
            return await self._load(conn, client_id)

    async def _load(self, conn: Connection, client_id: uuid.UUID) -> ClientIdentity | None:
        row = await identity_db.get_client(conn, client_id)
        if row is None:
            self._clients.pop(client_id, None)
            return None
        identity = _identity(row)
        self._clients[client_id] = identity
        return identity
