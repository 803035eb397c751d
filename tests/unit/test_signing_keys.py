import base64
import hashlib
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from greenlane.domain.crypto import DecryptionError, KeyMaterialError
from greenlane.domain.signing_keys import (
    KID_LENGTH,
    SigningKeyError,
    jwk_thumbprint,
    new_signing_key,
    public_jwk,
    thumbprint_kid,
    thumbprint_of_members,
    unwrap_private_key,
    wrap_private_key,
)

KEK = bytes(range(32))

# RFC 7638 §3.1: the RSA key from RFC 7517 Appendix A.1 and its SHA-256 thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_new_signing_key_is_p256() -> None:
    key = new_signing_key()
    assert isinstance(key.curve, ec.SECP256R1)
    assert new_signing_key().private_numbers() != key.private_numbers()


def test_canonicalisation_reproduces_the_rfc7638_vector() -> None:
    # Given in the order the RFC's JWK lists them; the canonical form must sort them.
    members = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB"}
    assert thumbprint_of_members(members) == RFC7638_THUMBPRINT


def test_thumbprint_matches_an_independent_computation() -> None:
    key = new_signing_key().public_key()
    pyjwt_jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    canonical = (
        f'{{"crv":"{pyjwt_jwk["crv"]}","kty":"EC","x":"{pyjwt_jwk["x"]}","y":"{pyjwt_jwk["y"]}"}}'
    )
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest())
    assert jwk_thumbprint(key) == expected.decode().rstrip("=")


def test_kid_is_a_prefix_of_the_thumbprint() -> None:
    key = new_signing_key().public_key()
    assert len(thumbprint_kid(key)) == KID_LENGTH == 8
    assert jwk_thumbprint(key).startswith(thumbprint_kid(key))
    assert thumbprint_kid(key) != thumbprint_kid(new_signing_key().public_key())


def test_public_jwk_has_exactly_the_public_members() -> None:
    key = new_signing_key()
    jwk = public_jwk(key.public_key())
    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert "d" not in jwk
    assert jwk["kty"] == "EC"
    assert jwk["crv"] == "P-256"
    assert jwk["alg"] == "ES256"
    assert jwk["use"] == "sig"
    assert jwk["kid"] == thumbprint_kid(key.public_key())
    assert {k: jwk[k] for k in ("kty", "crv", "x", "y")} == ECAlgorithm.to_jwk(
        key.public_key(), as_dict=True
    )


def test_public_jwk_verifies_what_the_private_key_signs() -> None:
    key = new_signing_key()
    token = jwt.encode({"sub": "x"}, key, algorithm="ES256")
    published = jwt.PyJWK(public_jwk(key.public_key()))
    assert jwt.decode(token, published, algorithms=["ES256"]) == {"sub": "x"}


def test_coordinates_keep_their_leading_zero_bytes() -> None:
    # About one P-256 key in 256 has an x coordinate that starts with a zero byte.
    key = next(
        candidate
        for candidate in (ec.derive_private_key(d, ec.SECP256R1()) for d in range(1, 5000))
        if candidate.public_key().public_numbers().x < 2**248
    )
    jwk = public_jwk(key.public_key())
    assert len(_b64url_decode(jwk["x"])) == 32
    assert _b64url_decode(jwk["x"])[0] == 0
    loaded = ECAlgorithm.from_jwk(json.dumps(jwk))
    assert isinstance(loaded, ec.EllipticCurvePublicKey)
    assert loaded.public_numbers() == key.public_key().public_numbers()


def test_other_curves_are_refused() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(SigningKeyError):
        public_jwk(p384.public_key())
    with pytest.raises(SigningKeyError):
        wrap_private_key(p384, KEK, "kid")


def test_wrapped_key_round_trips() -> None:
    key = new_signing_key()
    kid = thumbprint_kid(key.public_key())
    blob = wrap_private_key(key, KEK, kid)
    assert unwrap_private_key(blob, KEK, kid).private_numbers() == key.private_numbers()


def test_wrapped_key_hides_the_private_scalar() -> None:
    key = new_signing_key()
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    assert scalar not in wrap_private_key(key, KEK, "kid")


def _flip_byte(blob: bytes, position: int) -> bytes:
    flipped = bytearray(blob)
    flipped[position] ^= 0x01
    return bytes(flipped)


WRAPPED = wrap_private_key(new_signing_key(), KEK, "kid-a")


@pytest.mark.parametrize(
    ("blob", "kek", "kid"),
    [
        (WRAPPED, KEK, "kid-b"),
        (WRAPPED, bytes(32), "kid-a"),
        (_flip_byte(WRAPPED, 0), KEK, "kid-a"),
        (_flip_byte(WRAPPED, 20), KEK, "kid-a"),
        (_flip_byte(WRAPPED, -1), KEK, "kid-a"),
        (WRAPPED[:20], KEK, "kid-a"),
    ],
    ids=["other-kid", "other-kek", "nonce", "ciphertext", "tag", "truncated"],
)
def test_wrapped_key_fails_under_another_kid_kek_or_tampering(
    blob: bytes, kek: bytes, kid: str
) -> None:
    assert unwrap_private_key(WRAPPED, KEK, "kid-a")  # the untouched blob opens
    with pytest.raises(DecryptionError):
        unwrap_private_key(blob, kek, kid)


def test_wrapping_needs_a_256_bit_kek() -> None:
    with pytest.raises(KeyMaterialError):
        wrap_private_key(new_signing_key(), bytes(16), "kid")
