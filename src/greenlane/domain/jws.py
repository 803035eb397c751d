"""Compact JWS as greenlane reads it: ES256 only, a known ``typ``, a key the caller passes.

Shared by every JWT greenlane verifies (clearance tokens, status list tokens, and what builds on
them). Everything the token could otherwise choose for itself is pinned: the algorithm is ES256
whatever the header says, ``jku``, ``x5u`` and ``jwk`` headers are never looked at, and only keys
the caller passes are used. A failure is a :class:`TokenFailure` carrying the contract's decision
code rather than an exception, because a failing token is an ordinary answer on a lane.
"""

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from greenlane.domain.crypto import COMPACT_JWS, base64url

ALGORITHM = "ES256"
MAX_KID_CHARS = 64

FailureCode = Literal[
    "token_malformed",
    "signature_invalid",
    "key_unknown",
    "token_expired",
    "token_not_yet_valid",
]

_SCALAR_BYTES = 32
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_HEADER_DECODER = msgspec.json.Decoder(dict[str, Any])
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class TokenFailure:
    """Why a token was refused; ``message`` never quotes the token."""

    code: FailureCode
    message: str


def check_signed(
    token: str,
    *,
    keys: Mapping[str, ec.EllipticCurvePublicKey],
    media_type: str,
    max_chars: int,
) -> tuple[str, bytes] | TokenFailure:
    """The kid and payload bytes of a compact JWS that is ES256, of type ``media_type`` and
    signed by one of ``keys``; cheapest test first. Shared by every JWT greenlane reads."""
    if len(token) > max_chars:
        return TokenFailure("token_malformed", f"longer than {max_chars} characters")
    parts = COMPACT_JWS.fullmatch(token)
    if parts is None:
        return TokenFailure("token_malformed", "not a compact JWS")
    header = _decode_header(parts.group(1))
    if header is None:
        return TokenFailure("token_malformed", "the header is not a JSON object")
    header_problem = _header_problem(header, media_type)
    if header_problem is not None:
        return TokenFailure("token_malformed", header_problem)
    kid: str = header["kid"]
    key = keys.get(kid)
    if key is None or not isinstance(key.curve, ec.SECP256R1):
        return TokenFailure("key_unknown", "the token names a key that is not in the key set")
    signing_input = token[: parts.end(2)].encode("ascii")
    if not _signature_valid(key, strict_b64decode(parts.group(3)), signing_input):
        return TokenFailure("signature_invalid", "the signature does not verify")
    raw = strict_b64decode(parts.group(2))
    if raw is None:
        return TokenFailure("token_malformed", "the payload is not base64url")
    return kid, raw


def strict_b64decode(part: str) -> bytes | None:
    """Strict base64url without padding: one spelling per value, so a token string cannot be
    varied; None for anything else."""
    if len(part) % 4 == 1 or not _BASE64URL.fullmatch(part):
        return None
    data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    return data if base64url(data) == part else None


def _decode_header(part: str) -> dict[str, Any] | None:
    raw = strict_b64decode(part)
    if raw is None:
        return None
    try:
        return _HEADER_DECODER.decode(raw)
    except msgspec.DecodeError:
        return None


def _header_problem(header: Mapping[str, Any], media_type: str) -> str | None:
    if header.get("alg") != ALGORITHM:
        return f"the algorithm must be {ALGORITHM}"
    if header.get("typ") != media_type:
        return f"the type must be {media_type}"
    # RFC 7515 §4.1.11: a verifier must refuse extensions it does not understand; we know none.
    if "crit" in header:
        return "critical header extensions are not supported"
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_CHARS:
        return f"the kid must be a string of 1 to {MAX_KID_CHARS} characters"
    return None


def _signature_valid(
    key: ec.EllipticCurvePublicKey, signature: bytes | None, signing_input: bytes
) -> bool:
    """JWS carries ECDSA signatures as fixed-width ``r ‖ s`` (RFC 7518 §3.4), not DER."""
    if signature is None or len(signature) != 2 * _SCALAR_BYTES:
        return False
    r = int.from_bytes(signature[:_SCALAR_BYTES], "big")
    s = int.from_bytes(signature[_SCALAR_BYTES:], "big")
    try:
        key.verify(encode_dss_signature(r, s), signing_input, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True
