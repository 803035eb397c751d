"""Crossings recorded by lanes."""

from __future__ import annotations

import uuid

import asyncpg

from greenlane.db.pool import Connection


async def of_clearance(conn: Connection, clearance_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, direction, port_code, lane_code, crossed_at, mode FROM crossings"
        " WHERE clearance_id = $1 ORDER BY crossed_at, id",
        clearance_id,
    )
