"""Webhook endpoints, deliveries and the events themselves on the wire.

The events are what a partner's receiver gets: ``{"type", "timestamp", "data"}`` as Standard
Webhooks recommends, with thin data (ids, states, times; never a name, a document number or a
free-text note), so that reading anything more goes through the API, which checks who asks.
:data:`WebhookEvent` is a tagged union on ``type``: the SDK decodes a body into the one class
its type names.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from greenlane.domain.webhooks import MAX_URL_LENGTH, EventType
from greenlane.wire.common import Request

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_URL_LENGTH)]
Description = Annotated[str, msgspec.Meta(max_length=500)]
EventTypes = Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=20)]
MAX_OVERLAP_SECONDS = 7 * 24 * 3600
DEFAULT_OVERLAP_SECONDS = 24 * 3600


class WebhookCreate(Request):
    url: Url
    events: EventTypes
    description: Description | None = None


class WebhookUpdate(Request):
    """Only the fields given change; ``enabled: true`` also clears why it was disabled."""

    url: Url | None = None
    events: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None


class RotateSecret(Request):
    """How long the old secret keeps signing beside the new one (0 ends it at once)."""

    overlap_seconds: Annotated[int, msgspec.Meta(ge=0, le=MAX_OVERLAP_SECONDS)] = (
        DEFAULT_OVERLAP_SECONDS
    )


class Webhook(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None = None
    enabled: bool
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    previous_secret_until: datetime | None = None  # both secrets sign until then
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(Webhook, kw_only=True):
    """The answer to a create or a rotation: the only time the secret is shown."""

    secret: str


class Attempt(msgspec.Struct, kw_only=True, omit_defaults=True):
    attempt: int
    started_at: datetime
    outcome: str  # delivered, failed, gone, timeout, unreachable, refused, interrupted, sending
    status_code: int | None = None
    latency_ms: int | None = None


class Delivery(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: uuid.UUID
    event_id: uuid.UUID  # the webhook-id header: the same on every attempt and replay
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: list[Attempt]
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    replay_of: uuid.UUID | None = None
    created_at: datetime


# --- the events a receiver gets -------------------------------------------------------------


class ApplicationData(msgspec.Struct, kw_only=True, omit_defaults=True):
    application_id: uuid.UUID
    status: Literal["approved", "referred", "rejected", "info_requested"]
    traveller_id: uuid.UUID
    vehicle_id: uuid.UUID | None = None
    clearance_id: uuid.UUID | None = None  # the clearance an approval issued


class ClearanceData(msgspec.Struct, kw_only=True, omit_defaults=True):
    clearance_id: uuid.UUID
    application_id: uuid.UUID
    status: Literal["active", "revoked", "suspended", "expired"]
    expires_at: datetime


class TripData(msgspec.Struct, kw_only=True, omit_defaults=True):
    trip_id: uuid.UUID
    status: Literal["approved", "referred", "rejected"]
    vehicle_id: uuid.UUID


class TestData(msgspec.Struct, kw_only=True):
    webhook_id: uuid.UUID


EventData = ApplicationData | ClearanceData | TripData | TestData
# Which data each event type carries; services.webhook_events.emit checks it.
DATA_OF: dict[str, type[msgspec.Struct]] = {
    "application.approved": ApplicationData,
    "application.referred": ApplicationData,
    "application.rejected": ApplicationData,
    "application.info_requested": ApplicationData,
    "clearance.revoked": ClearanceData,
    "clearance.suspended": ClearanceData,
    "clearance.reinstated": ClearanceData,
    "clearance.expiring": ClearanceData,
    "trip.approved": TripData,
    "trip.referred": TripData,
    "trip.rejected": TripData,
    "webhook.test": TestData,
}


class Envelope(msgspec.Struct, kw_only=True):
    """What the server encodes (``type`` first, as the spec shows it)."""

    type: str
    timestamp: datetime
    data: msgspec.Struct  # one of EventData, as DATA_OF says for the type


class _Event(msgspec.Struct, kw_only=True, tag_field="type", frozen=True):
    timestamp: datetime  # when the change happened (webhook-timestamp says when it was sent)

    @property
    def type(self) -> str:
        """The event type, as the body's ``type`` said."""
        return str(self.__struct_config__.tag)


class ApplicationApproved(_Event, tag="application.approved", frozen=True):
    data: ApplicationData


class ApplicationReferred(_Event, tag="application.referred", frozen=True):
    data: ApplicationData


class ApplicationRejected(_Event, tag="application.rejected", frozen=True):
    data: ApplicationData


class ApplicationInfoRequested(_Event, tag="application.info_requested", frozen=True):
    data: ApplicationData


class ClearanceRevoked(_Event, tag="clearance.revoked", frozen=True):
    data: ClearanceData


class ClearanceSuspended(_Event, tag="clearance.suspended", frozen=True):
    data: ClearanceData


class ClearanceReinstated(_Event, tag="clearance.reinstated", frozen=True):
    data: ClearanceData


class ClearanceExpiring(_Event, tag="clearance.expiring", frozen=True):
    data: ClearanceData


class TripApproved(_Event, tag="trip.approved", frozen=True):
    data: TripData


class TripReferred(_Event, tag="trip.referred", frozen=True):
    data: TripData


class TripRejected(_Event, tag="trip.rejected", frozen=True):
    data: TripData


class WebhookTest(_Event, tag="webhook.test", frozen=True):
    data: TestData


WebhookEvent = (
    ApplicationApproved
    | ApplicationReferred
    | ApplicationRejected
    | ApplicationInfoRequested
    | ClearanceRevoked
    | ClearanceSuspended
    | ClearanceReinstated
    | ClearanceExpiring
    | TripApproved
    | TripReferred
    | TripRejected
    | WebhookTest
)
