"""Standard Webhooks v1 signatures, shared by the sender (the server) and receivers (the SDK).

A message is signed as ``HMAC-SHA256(secret, "{webhook-id}.{webhook-timestamp}.{body}")`` and
the ``webhook-signature`` header carries ``v1,<base64 of the MAC>``, several of them separated
by spaces while a secret is being rotated (the receiver accepts the message if any one of them
matches a secret it holds). Secrets are shown as ``whsec_`` followed by the base64 of 24 to 64
random bytes (ours: 32). The spec's own test vectors are in
``tests/unit/test_webhook_signature.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300  # the spec's libraries accept five minutes either way

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


class WebhookVerificationError(ValueError):
    """The message is not one this secret signed, or not signed recently enough.

    The message says which check failed; it never repeats a secret or a signature.
    """


def new_secret() -> str:
    """A fresh endpoint secret, ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (the prefix is optional, as in the spec's libraries)."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise WebhookVerificationError("the secret is not base64 after whsec_") from None
    if not key:  # an empty key would make every signature forgeable
        raise WebhookVerificationError("the secret is empty")
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of the message."""
    signed = b"%s.%d.%s" % (message_id.encode("utf-8"), timestamp, body)
    mac = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac).decode('ascii')}"


def signature_header(keys: Iterable[bytes], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per key, space-separated."""
    return " ".join(sign(key, message_id, timestamp, body) for key in keys)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"the {name} header is missing")


def verify(
    secrets_: Iterable[str],
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> str:
    """Check a received message against one or more secrets; returns its ``webhook-id``.

    ``body`` must be the bytes as received: a body parsed and encoded again may differ by a
    space and fail. Raises :class:`WebhookVerificationError` when the headers are missing or
    malformed, the timestamp is further than ``tolerance`` seconds from ``now`` (either way: a
    replayed old message, or a clock far off), or no signature matches any secret.
    """
    message_id = _header(headers, ID_HEADER)
    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    raw_signatures = _header(headers, SIGNATURE_HEADER)
    if not raw_timestamp.isdigit():
        raise WebhookVerificationError("the webhook-timestamp header is not a whole number")
    timestamp = int(raw_timestamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("the message timestamp is outside the tolerance")
    keys = [secret_key(secret) for secret in secrets_]
    for candidate in raw_signatures.split():
        version, _, _value = candidate.partition(",")
        if version != SIGNATURE_VERSION:
            continue  # another scheme (v1a) or a future one: not ours to judge
        for key in keys:
            if hmac.compare_digest(sign(key, message_id, timestamp, body), candidate):
                return message_id
    raise WebhookVerificationError("no signature matches")
