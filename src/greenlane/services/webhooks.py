"""Webhook endpoints as a partner manages them, and their delivery log.

A partner sees and touches only its own endpoints and deliveries (another's id is 404). The
secret is made here, shown once (on create and on rotation) and stored encrypted with the
personal-data keys, bound to the endpoint's row. A rotation keeps the old secret signing beside
the new one for an overlap the partner chooses, so a receiver can switch without losing a
message. Every change is in the audit log, without the secret.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import asyncpg

from greenlane.db import webhooks as webhooks_db
from greenlane.db.pagination import decode_cursor, next_cursor
from greenlane.db.pool import Connection, Database
from greenlane.domain.crypto import FieldCipher
from greenlane.domain.webhook_signature import new_secret
from greenlane.domain.webhooks import TEST_EVENT, DestinationRefused
from greenlane.errors import Conflict, NotFound, ValidationFailed
from greenlane.services import audit
from greenlane.services.context import Caller
from greenlane.services.live_state import notify
from greenlane.services.webhook_events import WAKE_TOPIC, envelope
from greenlane.services.webhook_targets import Destinations
from greenlane.wire.common import Page
from greenlane.wire.webhooks import (
    Attempt,
    Delivery,
    RotateSecret,
    TestData,
    Webhook,
    WebhookCreate,
    WebhookUpdate,
    WebhookWithSecret,
)

TABLE = "webhook_endpoints"
SECRET = "secret_enc"
PREVIOUS_SECRET = "previous_secret_enc"


@dataclass(frozen=True, slots=True)
class Webhooks:
    """What the endpoint use cases need, held by each worker."""

    db: Database
    cipher: FieldCipher
    destinations: Destinations


def seal_secret(cipher: FieldCipher, secret: str, endpoint_id: uuid.UUID, column: str) -> bytes:
    return cipher.encrypt(secret, table=TABLE, column=column, row_id=str(endpoint_id))


def open_secret(cipher: FieldCipher, blob: bytes, endpoint_id: uuid.UUID, column: str) -> str:
    return cipher.decrypt(blob, table=TABLE, column=column, row_id=str(endpoint_id))


def webhook_from_row(row: asyncpg.Record) -> Webhook:
    overlap = row["previous_secret_until"]
    return Webhook(
        id=row["id"],
        url=row["url"],
        events=list(row["events"]),
        description=row["description"],
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        disabled_at=row["disabled_at"],
        previous_secret_until=overlap if overlap and overlap > datetime.now(UTC) else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _with_secret(row: asyncpg.Record, secret: str) -> WebhookWithSecret:
    shown = webhook_from_row(row)
    return WebhookWithSecret(
        **{f: getattr(shown, f) for f in shown.__struct_fields__}, secret=secret
    )


async def _checked_url(w: Webhooks, url: str) -> str:
    try:
        await w.destinations.check(url)
    except DestinationRefused as refused:
        raise ValidationFailed.one("url", str(refused)) from None
    return url


def _distinct(events: list[str]) -> list[str]:
    return list(dict.fromkeys(events))


async def create(w: Webhooks, data: WebhookCreate, caller: Caller) -> WebhookWithSecret:
    url = await _checked_url(w, data.url)
    endpoint_id = uuid.uuid4()
    secret = new_secret()
    async with w.db.transaction() as conn:
        row = await webhooks_db.insert_endpoint(
            conn,
            endpoint_id=endpoint_id,
            partner_id=caller.partner_id,
            url=url,
            description=data.description,
            events=_distinct(list(data.events)),
            secret_enc=seal_secret(w.cipher, secret, endpoint_id, SECRET),
            actor=caller.actor,
        )
        await audit.record(conn, caller.actor, "webhook.create", str(endpoint_id), {})
    return _with_secret(row, secret)


async def _own(conn: Connection, endpoint_id: uuid.UUID, caller: Caller) -> asyncpg.Record:
    row = await webhooks_db.get_endpoint(conn, endpoint_id, caller.partner_id, for_update=True)
    if row is None:
        raise NotFound("no such webhook")
    return row


async def get(db: Database, endpoint_id: uuid.UUID, caller: Caller) -> Webhook:
    async with db.connection() as conn:
        row = await webhooks_db.get_endpoint(conn, endpoint_id, caller.partner_id)
    if row is None:
        raise NotFound("no such webhook")
    return webhook_from_row(row)


async def page(db: Database, caller: Caller, *, cursor: str | None, limit: int) -> Page[Webhook]:
    async with db.connection() as conn:
        rows = await webhooks_db.page_endpoints(
            conn, caller.partner_id, after=decode_cursor(cursor), limit=limit
        )
    return Page([webhook_from_row(r) for r in rows], next_cursor(rows, limit))


async def update(
    w: Webhooks, endpoint_id: uuid.UUID, data: WebhookUpdate, caller: Caller
) -> Webhook:
    url = None if data.url is None else await _checked_url(w, data.url)
    async with w.db.transaction() as conn:
        row = await _own(conn, endpoint_id, caller)
        enabled = row["enabled"] if data.enabled is None else data.enabled
        if enabled == row["enabled"]:
            reason, since = row["disabled_reason"], row["disabled_at"]
        elif enabled:
            reason, since = None, None
        else:
            reason, since = "disabled by the partner", datetime.now(UTC)
        updated = await webhooks_db.update_endpoint(
            conn,
            endpoint_id,
            url=url or row["url"],
            description=row["description"] if data.description is None else data.description,
            events=list(row["events"]) if data.events is None else _distinct(list(data.events)),
            enabled=enabled,
            disabled_reason=reason,
            disabled_at=since,
            actor=caller.actor,
        )
        await audit.record(conn, caller.actor, "webhook.update", str(endpoint_id), {})
        if enabled and not row["enabled"]:
            await notify(conn, WAKE_TOPIC)  # what waited while disabled goes now
    return webhook_from_row(updated)


async def delete(db: Database, endpoint_id: uuid.UUID, caller: Caller) -> None:
    async with db.transaction() as conn:
        if not await webhooks_db.delete_endpoint(conn, endpoint_id, caller.partner_id):
            raise NotFound("no such webhook")
        await audit.record(conn, caller.actor, "webhook.delete", str(endpoint_id), {})


async def rotate_secret(
    w: Webhooks, endpoint_id: uuid.UUID, data: RotateSecret, caller: Caller
) -> WebhookWithSecret:
    """A new secret; the current one keeps signing beside it for ``overlap_seconds``."""
    secret = new_secret()
    async with w.db.transaction() as conn:
        row = await _own(conn, endpoint_id, caller)
        overlap = timedelta(seconds=data.overlap_seconds)
        previous = None
        if overlap:
            current = open_secret(w.cipher, row["secret_enc"], endpoint_id, SECRET)
            previous = seal_secret(w.cipher, current, endpoint_id, PREVIOUS_SECRET)
        rotated = await webhooks_db.rotate_secret(
            conn,
            endpoint_id,
            secret_enc=seal_secret(w.cipher, secret, endpoint_id, SECRET),
            previous_secret_enc=previous,
            previous_until=datetime.now(UTC) + overlap if overlap else None,
            actor=caller.actor,
        )
        details = {"overlap_seconds": data.overlap_seconds}
        await audit.record(conn, caller.actor, "webhook.rotate_secret", str(endpoint_id), details)
    return _with_secret(rotated, secret)


async def send_test(db: Database, endpoint_id: uuid.UUID, caller: Caller) -> Delivery:
    """Queue a ``webhook.test`` event to this endpoint alone, through the usual delivery."""
    occurred_at = datetime.now(UTC)
    async with db.transaction() as conn:
        row = await _own(conn, endpoint_id, caller)
        if not row["enabled"]:
            raise Conflict("the webhook is disabled: enable it first")
        delivery_id = await webhooks_db.insert_event_for(
            conn,
            event_id=uuid.uuid4(),
            partner_id=caller.partner_id,
            endpoint_id=endpoint_id,
            event_type=TEST_EVENT,
            body=envelope(TEST_EVENT, TestData(webhook_id=endpoint_id), occurred_at),
            occurred_at=occurred_at,
        )
        await notify(conn, WAKE_TOPIC)
        return await _delivery(conn, delivery_id, caller)


async def replay(
    db: Database, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, caller: Caller
) -> Delivery:
    """Send a delivery's event again, as a new delivery with the same ``webhook-id``."""
    async with db.transaction() as conn:
        row = await _own(conn, endpoint_id, caller)
        replayed = await webhooks_db.replay(conn, delivery_id, endpoint_id, caller.partner_id)
        if replayed is None:
            raise NotFound("no such delivery")
        if not row["enabled"]:
            raise Conflict("the webhook is disabled: enable it first")
        await notify(conn, WAKE_TOPIC)
        return await _delivery(conn, replayed, caller)


async def _delivery(conn: Connection, delivery_id: uuid.UUID, caller: Caller) -> Delivery:
    row = await webhooks_db.get_delivery(conn, delivery_id, caller.partner_id)
    assert row is not None
    return (await _deliveries_from_rows(conn, [row]))[0]


DeliveryFilter = Literal["pending", "delivered", "failed"] | None


async def deliveries(
    db: Database,
    endpoint_id: uuid.UUID,
    caller: Caller,
    *,
    status: DeliveryFilter,
    cursor: str | None,
    limit: int,
) -> Page[Delivery]:
    # One snapshot: the deliveries and their attempts as they were at one moment, even while a
    # worker records an attempt between the two reads.
    async with db.connection() as conn, conn.transaction(isolation="repeatable_read"):
        if await webhooks_db.get_endpoint(conn, endpoint_id, caller.partner_id) is None:
            raise NotFound("no such webhook")
        rows = await webhooks_db.page_deliveries(
            conn,
            endpoint_id,
            caller.partner_id,
            status=status,
            after=decode_cursor(cursor),
            limit=limit,
        )
        items = await _deliveries_from_rows(conn, rows)
    return Page(items, next_cursor(rows, limit))


async def _deliveries_from_rows(conn: Connection, rows: list[asyncpg.Record]) -> list[Delivery]:
    attempts: dict[uuid.UUID, list[Attempt]] = defaultdict(list)
    for a in await webhooks_db.attempts_of(conn, [r["id"] for r in rows]):
        attempts[a["delivery_id"]].append(
            Attempt(
                attempt=a["attempt"],
                started_at=a["started_at"],
                outcome=a["outcome"],
                status_code=a["status_code"],
                latency_ms=a["latency_ms"],
            )
        )
    return [
        Delivery(
            id=r["id"],
            event_id=r["event_id"],
            event_type=r["event_type"],
            status=r["status"],
            attempts=attempts[r["id"]],
            next_attempt_at=r["next_attempt_at"] if r["status"] == "pending" else None,
            delivered_at=r["delivered_at"],
            replay_of=r["replay_of"],
            created_at=r["created_at"],
        )
        for r in rows
    ]
