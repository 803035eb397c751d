"""ES256 signing keys for clearance tokens: creation, publication as JWK, storage under a KEK.

Private keys never leave the process unencrypted: at rest they are PKCS #8 DER sealed with
AES-256-GCM under the key-encryption key, with the ``kid`` as associated data so that a
wrapped key cannot be swapped onto another key's record.
"""

import hashlib
import json
from collections.abc import Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from greenlane.domain.crypto import base64url, open_sealed, require_key, seal

_COORDINATE_BYTES = 32
# 48 bits of the thumbprint. A kid only has to tell our own few keys apart (the signature is
# still checked against the key it names, and two keys sharing a kid would collide on the
# table's primary key, once in 2**48 / n**2 rotations); every character of it is spent again
# in each clearance token, which must stay under 600 characters for a lane camera's QR code.
KID_LENGTH = 8


class SigningKeyError(ValueError):
    """A key that is not an ES256 (P-256) key."""

    code = "invalid_signing_key"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def new_signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _require_p256(public_key: ec.EllipticCurvePublicKey) -> None:
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise SigningKeyError("key", "ES256 needs a P-256 key")


def _ec_members(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The members RFC 7638 §3.2 requires for an EC key; coordinates are fixed-width."""
    _require_p256(public_key)
    numbers = public_key.public_numbers()
    return {
        "crv": "P-256",
        "kty": "EC",
        "x": base64url(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
        "y": base64url(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
    }


def thumbprint_of_members(members: Mapping[str, str]) -> str:
    """RFC 7638 §3: SHA-256 of the required members as JSON, keys sorted, no whitespace."""
    canonical = json.dumps(dict(members), sort_keys=True, separators=(",", ":"))
    return base64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def jwk_thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """The full RFC 7638 SHA-256 thumbprint of a P-256 public key."""
    return thumbprint_of_members(_ec_members(public_key))


def thumbprint_kid(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key's ``kid``: the first :data:`KID_LENGTH` characters of its RFC 7638 thumbprint."""
    return jwk_thumbprint(public_key)[:KID_LENGTH]


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The RFC 7517 JWK published in the JWKS; it has no ``d``, whatever key is passed."""
    return {
        **_ec_members(public_key),
        "kid": thumbprint_kid(public_key),
        "alg": "ES256",
        "use": "sig",
    }


def wrap_private_key(key: ec.EllipticCurvePrivateKey, kek: bytes, kid: str) -> bytes:
    """``nonce ‖ AES-256-GCM(PKCS #8 DER)`` under ``kek``, bound to ``kid``."""
    _require_p256(key.public_key())
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return seal(_kek_cipher(kek), der, kid.encode("utf-8"))


def unwrap_private_key(blob: bytes, kek: bytes, kid: str) -> ec.EllipticCurvePrivateKey:
    """The key sealed by :func:`wrap_private_key`; ``DecryptionError`` if it does not open."""
    der = open_sealed(_kek_cipher(kek), blob, kid.encode("utf-8"))
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SigningKeyError("key", "the wrapped key is not an elliptic-curve key")
    _require_p256(key.public_key())
    return key


def _kek_cipher(kek: bytes) -> AESGCM:
    return AESGCM(require_key(kek, name="key encryption key"))
