"""The outbox: :func:`emit` writes an event in the caller's transaction.

Call it from the use case that makes the change, on the connection of its transaction, after
the change itself::

    await webhook_events.emit(conn, partner_id, "clearance.suspended", ClearanceData(...))

The event then commits or rolls back with the change: no event for a change that did not
happen, and none lost for one that did. It is delivered to each enabled endpoint of that partner
that listens to the type, by the delivery workers (``services/webhook_delivery.py``), which
are woken at commit. The data is one of the thin Structs in ``wire/webhooks.py``: ids, states
and times, never personal data.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec

from greenlane.db import webhooks as webhooks_db
from greenlane.db.pool import Connection
from greenlane.domain.webhooks import EventType
from greenlane.services.live_state import notify
from greenlane.wire.webhooks import DATA_OF, Envelope, EventData

WAKE_TOPIC = "webhooks"
_encoder = msgspec.json.Encoder()


def envelope(event_type: str, data: EventData, occurred_at: datetime) -> str:
    """The body every attempt sends, byte for byte (the signature covers these bytes)."""
    assert isinstance(data, DATA_OF[event_type]), f"{event_type} carries {DATA_OF[event_type]}"
    return _encoder.encode(Envelope(type=event_type, timestamp=occurred_at, data=data)).decode()


async def emit(
    conn: Connection, partner_id: uuid.UUID, event_type: EventType, data: EventData
) -> None:
    """Write the event for ``partner_id``'s endpoints in the caller's transaction."""
    occurred_at = datetime.now(UTC)
    deliveries = await webhooks_db.insert_event(
        conn,
        event_id=uuid.uuid4(),
        partner_id=partner_id,
        event_type=event_type,
        body=envelope(event_type, data, occurred_at),
        occurred_at=occurred_at,
    )
    if deliveries:
        await notify(conn, WAKE_TOPIC)
