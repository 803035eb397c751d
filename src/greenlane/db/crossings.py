"""Crossings recorded by lanes."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg


async def of_clearance(conn: Any, clearance_id: uuid.UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT id, direction, port_code, lane_code, crossed_at, mode FROM crossings"
        " WHERE clearance_id = $1 ORDER BY crossed_at, id",
        clearance_id,
    )
    return rows
