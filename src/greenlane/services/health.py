"""Whether this worker can serve: the database answers and its schema is the one we expect."""

from __future__ import annotations

import asyncio
import logging

from greenlane.db.pool import Database
from greenlane.migrate import head_revision

_logger = logging.getLogger("greenlane.health")
READINESS_TIMEOUT = 2.0


async def database_checks(db: Database) -> dict[str, str]:
    """``database`` (answers within the timeout) and, when it does, ``schema`` (at head)."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT), db.connection() as conn:
            version = await conn.fetchval("SELECT version_num FROM alembic_version")
    except Exception as exc:  # any failure to answer means "not ready", whatever its kind
        _logger.warning("readiness: database check failed", exc_info=(type(exc), exc, None))
        return {"database": "unavailable"}
    return {"database": "ok", "schema": "ok" if version == head_revision() else "behind"}
