"""Compact JWS put together by hand, so that an attack can put anything in any part.

PyJWT refuses to make most of what the corpus needs (a public key as an HMAC secret, a DER
signature, a header that is not an object), which is exactly why attackers do not use it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ..api.tokens import b64, part

# Signs the ASCII signing input (``header.payload``) and returns the raw signature bytes.
Sign = Callable[[bytes], bytes]

# A header or claim set value that means "leave this member out".
DROP: Any = object()

_SCALAR_BYTES = 32  # P-256
_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def changed(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied; a change to :data:`DROP` removes the member."""
    merged = {**base, **changes}
    return {name: value for name, value in merged.items() if value is not DROP}


def compact(
    header: Mapping[str, Any] | bytes, payload: Mapping[str, Any] | bytes, sign: Sign
) -> str:
    """``header.payload.signature``; bytes are taken as the exact JSON text of the part."""
    head = b64(header) if isinstance(header, bytes) else part(dict(header))
    body = b64(payload) if isinstance(payload, bytes) else part(dict(payload))
    signing_input = f"{head}.{body}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def remade(
    token: str,
    sign: Sign,
    header: Mapping[str, Any] | bytes | None = None,
    claims: Mapping[str, Any] | bytes | None = None,
) -> str:
    """``token`` with header and claims changed (see :func:`changed`) or replaced (bytes)."""
    base_header = jwt.get_unverified_header(token)
    base_claims = jwt.decode(token, options={"verify_signature": False})
    return compact(
        header if isinstance(header, bytes) else changed(base_header, header or {}),
        claims if isinstance(claims, bytes) else changed(base_claims, claims or {}),
        sign,
    )


def unsigned(_: bytes) -> bytes:
    """What ``alg: none`` promises: no signature at all."""
    return b""


def hmac_with(secret: bytes, algorithm: str = "HS256") -> Sign:
    return lambda data: hmac.new(secret, data, _HASHES[algorithm]).digest()


def es256_der(key: ec.EllipticCurvePrivateKey) -> Sign:
    """ECDSA as X.509 and most libraries encode it, which RFC 7518 §3.4 does not allow."""
    return lambda data: key.sign(data, ec.ECDSA(hashes.SHA256()))


def es256(key: ec.EllipticCurvePrivateKey) -> Sign:
    """ECDSA as JWS wants it: ``r ‖ s``, each 32 bytes big-endian."""

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(es256_der(key)(data))
        return r.to_bytes(_SCALAR_BYTES, "big") + s.to_bytes(_SCALAR_BYTES, "big")

    return sign


def fixed(signature: bytes) -> Sign:
    """The same bytes whatever is signed (zero signatures, wrong lengths)."""
    return lambda _: signature


def swap_alphabet(token: str) -> str:
    """The same bytes in standard base64 (``+``, ``/``), which JWS does not allow."""
    swapped = token.translate(str.maketrans("-_", "+/"))
    assert swapped != token
    return swapped


def respelled_signature(token: str) -> str:
    """The same signature bytes spelt with non-zero padding bits in the last character."""
    head, signature = token.rsplit(".", 1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare_bits = (6 * len(signature)) % 8
    last = alphabet.index(signature[-1])
    return f"{head}.{signature[:-1]}{alphabet[last | ((1 << spare_bits) - 1)]}"


def signature_bytes(token: str) -> bytes:
    signature = token.rsplit(".", 1)[1]
    return base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))


def with_signature(token: str, signature: bytes) -> str:
    head = token.rsplit(".", 1)[0]
    return f"{head}.{b64(signature)}"
