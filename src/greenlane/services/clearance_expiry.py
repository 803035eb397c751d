"""``clearance.expiring``: each live clearance announced once, ``days`` before it expires,
suspended ones too (their ``status`` says ``suspended``): the partner may want to renew it.

A scheduled job (``services/webhook_delivery.py`` runs it every
``GREENLANE_WEBHOOK_EXPIRY_SCAN_SECONDS``). One worker at a time does the work, under an
advisory lock; the notices table makes a second announcement impossible even without it. A
clearance issued with less than ``days`` left is announced at the next scan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from greenlane.db import webhooks as webhooks_db
from greenlane.db.pool import Database
from greenlane.services.webhook_events import emit
from greenlane.wire.webhooks import ClearanceData

BATCH = 500
_LOCK = 0x77686578  # "whex"


async def announce(db: Database, days: int) -> int:
    """Announce what is newly within ``days`` of expiry; the number announced."""
    announced = 0
    while True:
        async with db.transaction() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _LOCK):
                return announced
            before = datetime.now(UTC) + timedelta(days=days)
            rows = await webhooks_db.newly_expiring(conn, before, BATCH)
            for row in rows:
                data = ClearanceData(
                    clearance_id=row["id"],
                    application_id=row["application_id"],
                    # Held by an administrator: say so, as clearance.suspended did, lest a
                    # partner taking the latest event's status think it was reinstated.
                    status="suspended" if row["suspended_at"] is not None else "active",
                    expires_at=row["expires_at"],
                )
                await emit(conn, row["partner_id"], "clearance.expiring", data)
        announced += len(rows)
        if len(rows) < BATCH:
            return announced
