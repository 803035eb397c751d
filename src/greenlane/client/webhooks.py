"""Receiving greenlane's webhooks in a partner app: verify the signature, then decode.

    receiver = WebhookReceiver(os.environ["GREENLANE_WEBHOOK_SECRET"])

    def handle(body: bytes, headers: Mapping[str, str]) -> None:
        event = receiver.receive(body, headers)  # WebhookVerificationError: answer 400
        match event:
            case ApplicationApproved(data=data):
                ...

``receive`` checks the Standard Webhooks signature (any one of the secrets you hold: give the
old and the new one while you switch after a rotation) and that ``webhook-timestamp`` is within
``tolerance`` seconds of now, then decodes the body into the one typed event its ``type``
names. Pass the body exactly as it arrived: parsed and encoded again it may no longer match.
Deduplicate on ``webhook-id`` (:func:`message_id`): a retry or a replay repeats it.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from greenlane.domain.webhook_signature import (
    DEFAULT_TOLERANCE_SECONDS,
    ID_HEADER,
    WebhookVerificationError,
    verify,
)
from greenlane.wire.webhooks import WebhookEvent

__all__ = [
    "UnknownEventError",
    "WebhookReceiver",
    "WebhookVerificationError",
    "decode_event",
    "message_id",
]

_decoder = msgspec.json.Decoder(WebhookEvent)


class UnknownEventError(ValueError):
    """A verified body that is not an event this SDK knows (a newer type, or a malformed one).

    The message is genuine: answer 2xx and skip it, or upgrade the SDK.
    """


def decode_event(body: bytes) -> WebhookEvent:
    """The typed event of a body (verify it first: :meth:`WebhookReceiver.receive` does)."""
    try:
        return _decoder.decode(body)
    except msgspec.DecodeError as exc:  # ValidationError included
        raise UnknownEventError(str(exc)) from None


def message_id(headers: Mapping[str, str]) -> str:
    """The ``webhook-id``: the same on every retry and replay of one event."""
    for name, value in headers.items():
        if name.lower() == ID_HEADER:
            return value
    raise WebhookVerificationError("the webhook-id header is missing")


class WebhookReceiver:
    """Verifies and decodes deliveries to one endpoint, with the secret(s) you hold for it."""

    def __init__(self, *secrets: str, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> None:
        if not secrets:
            raise ValueError("give at least one whsec_ secret")
        self._secrets = secrets
        self._tolerance = tolerance

    def receive(
        self, body: bytes, headers: Mapping[str, str], *, now: float | None = None
    ) -> WebhookEvent:
        verify(self._secrets, body, headers, tolerance=self._tolerance, now=now)
        return decode_event(body)
