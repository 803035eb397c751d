"""Standard Webhooks signatures, against the spec's own test vectors.

The vectors are those of the spec repository's libraries (standard-webhooks/standard-webhooks,
``libraries/python/tests/test_webhooks.py`` and the JavaScript suite): the secret, message id,
timestamp and body below, and the signature they must give.
"""

from __future__ import annotations

import base64

import pytest

from greenlane.client.webhooks import UnknownEventError, WebhookReceiver, decode_event, message_id
from greenlane.domain.webhook_signature import (
    WebhookVerificationError,
    new_secret,
    secret_key,
    sign,
    signature_header,
    verify,
)
from greenlane.wire.webhooks import ClearanceRevoked

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def spec_headers(
    signature: str = SPEC_SIGNATURE, timestamp: int = SPEC_TIMESTAMP
) -> dict[str, str]:
    return {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_signing_gives_the_specs_signature() -> None:
    assert sign(secret_key(SPEC_SECRET), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_the_prefix_is_optional_as_in_the_specs_libraries() -> None:
    bare = SPEC_SECRET.removeprefix("whsec_")
    assert secret_key(bare) == secret_key(SPEC_SECRET)


def test_the_specs_message_verifies() -> None:
    assert verify([SPEC_SECRET], SPEC_BODY, spec_headers(), now=SPEC_TIMESTAMP) == SPEC_ID


def test_header_names_are_case_insensitive() -> None:
    headers = {k.title(): v for k, v in spec_headers().items()}
    assert verify([SPEC_SECRET], SPEC_BODY, headers, now=SPEC_TIMESTAMP) == SPEC_ID


def test_one_good_signature_among_several_is_enough() -> None:
    # The spec's multi-signature case: wrong v1s, an unknown version, and the good one.
    wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    header = " ".join(
        [wrong, "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", SPEC_SIGNATURE, wrong]
    )
    assert verify([SPEC_SECRET], SPEC_BODY, spec_headers(header), now=SPEC_TIMESTAMP) == SPEC_ID


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        (
            {"webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE},
            "webhook-id",
        ),
        ({"webhook-id": SPEC_ID, "webhook-signature": SPEC_SIGNATURE}, "webhook-timestamp"),
        ({"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP)}, "webhook-signature"),
        (spec_headers(timestamp=0) | {"webhook-timestamp": "hello"}, "whole number"),
        # The spec's own "invalid signature" case: the last character changed.
        (spec_headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="), "no signature"),
        (spec_headers("v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), "no signature"),
        (spec_headers(""), "no signature"),
    ],
)
def test_bad_headers_are_refused(headers: dict[str, str], why: str) -> None:
    with pytest.raises(WebhookVerificationError, match=why):
        verify([SPEC_SECRET], SPEC_BODY, headers, now=SPEC_TIMESTAMP)


def test_a_changed_body_or_id_is_refused() -> None:
    with pytest.raises(WebhookVerificationError):
        verify([SPEC_SECRET], b'{"test": 2432232315}', spec_headers(), now=SPEC_TIMESTAMP)
    with pytest.raises(WebhookVerificationError):
        verify(
            [SPEC_SECRET],
            SPEC_BODY,
            spec_headers() | {"webhook-id": "msg_other"},
            now=SPEC_TIMESTAMP,
        )


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_timestamp_outside_the_tolerance_is_refused(skew: int) -> None:
    # The spec's "old" and "new" timestamp cases: five minutes and a second either way.
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify([SPEC_SECRET], SPEC_BODY, spec_headers(), now=SPEC_TIMESTAMP - skew)


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_a_timestamp_inside_the_tolerance_is_accepted(skew: int) -> None:
    assert verify([SPEC_SECRET], SPEC_BODY, spec_headers(), now=SPEC_TIMESTAMP - skew)


def test_a_secret_that_is_not_base64_or_empty_is_refused() -> None:
    for bad in ("whsec_***", "whsec_"):
        with pytest.raises(WebhookVerificationError):
            secret_key(bad)


def test_new_secrets_are_whsec_and_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    header = signature_header(
        [secret_key(new), secret_key(old)], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY
    )
    for held in ([old], [new], [new_secret(), old]):
        assert verify(held, SPEC_BODY, spec_headers(header), now=SPEC_TIMESTAMP) == SPEC_ID
    with pytest.raises(WebhookVerificationError):
        verify([new_secret()], SPEC_BODY, spec_headers(header), now=SPEC_TIMESTAMP)


BODY = (
    b'{"type":"clearance.revoked","timestamp":"2026-12-04T00:10:00Z","data":{'
    b'"clearance_id":"0b8f0d3c-5f8a-4a43-9a53-0f2a8c1d2e3f",'
    b'"application_id":"5a1c3f7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b",'
    b'"status":"revoked","expires_at":"2026-12-20T00:00:00Z"}}'
)


def test_the_receiver_verifies_then_decodes_a_typed_event() -> None:
    secret = new_secret()
    header = sign(secret_key(secret), "e1", SPEC_TIMESTAMP, BODY)
    headers = {
        "webhook-id": "e1",
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": header,
    }
    event = WebhookReceiver(secret).receive(BODY, headers, now=SPEC_TIMESTAMP)
    assert isinstance(event, ClearanceRevoked)
    assert str(event.data.clearance_id) == "0b8f0d3c-5f8a-4a43-9a53-0f2a8c1d2e3f"
    assert message_id(headers) == "e1"
    with pytest.raises(WebhookVerificationError):
        WebhookReceiver(new_secret()).receive(BODY, headers, now=SPEC_TIMESTAMP)
    with pytest.raises(ValueError, match="at least one"):
        WebhookReceiver()


@pytest.mark.parametrize(
    "body",
    [
        b'{"type":"clearance.eaten","timestamp":"2026-12-04T00:10:00Z","data":{}}',
        b'{"type":"clearance.revoked","timestamp":"2026-12-04T00:10:00Z","data":{}}',
        b"not json",
    ],
)
def test_an_unknown_or_malformed_event_is_its_own_error(body: bytes) -> None:
    with pytest.raises(UnknownEventError):
        decode_event(body)
