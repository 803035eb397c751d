"""Token Status Lists, as draft-ietf-oauth-status-list-20 defines them: pure and reusable.

What is here, and nothing else (no I/O): the bit array (:class:`StatusList`), its compressed
text (``lst``), the Status List Token in JWT form (signed by :func:`sign_status_list`, checked by
:func:`verify_status_list`), the ``status`` claim a referenced token carries
(:class:`StatusClaim`), the URI of one of our lists, and the keyed permutation that spreads
indices over a list. The server, the offline lane and a peer agency's reader all use it.

The draft's rules, in the order a reader meets them:

- **Bits** (§4.1): each token owns ``bits`` bits (1, 2, 4 or 8) at its index. Index ``i`` is in
  byte ``i * bits // 8``, and the tokens of a byte are packed from its least significant bit,
  so index 0 of a 2-bit list is the byte's two lowest bits.
- **Compression** (§4.1): the byte array is DEFLATE in the ZLIB format (RFC 1950/1951) at the
  highest level, then base64url without padding (§4.2). Python's ``zlib`` at level 9 is what
  the draft's own examples were made with, so they are reproduced byte for byte.
- **Values** (§7): 0 VALID, 1 INVALID (revoked), 2 SUSPENDED; 3 and 0x0C to 0x0F are reserved
  for applications. greenlane writes only 0, 1 and 2 (two bits a token).
- **The token** (§5.1): header ``typ`` ``statuslist+jwt``; claims ``sub`` (the list's URI,
  equal to the referenced token's ``uri``), ``iat``, ``exp``, ``ttl`` (seconds a consumer may
  cache it) and ``status_list`` ``{bits, lst}``. It is served as ``application/statuslist+jwt``.
- **An index outside the list** (§8.3 step 6): no statement about the token can be made and
  it must be rejected. :meth:`StatusList.get` raises :class:`IndexError` for it.

A decoder never trusts the size a list claims: decompression stops at :data:`MAX_ENTRIES`
entries, so a small hostile ``lst`` cannot inflate into a lane's memory.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.domain.crypto import base64url
from greenlane.domain.jws import ALGORITHM, TokenFailure, check_signed, strict_b64decode

VALID: Final = 0
INVALID: Final = 1
SUSPENDED: Final = 2
Bits = Literal[1, 2, 4, 8]
ALLOWED_BITS: Final = (1, 2, 4, 8)
TOKEN_TYPE: Final = "statuslist+jwt"
MEDIA_TYPE: Final = "application/statuslist+jwt"
# The highest zlib level, as the draft recommends (and as its examples were made).
COMPRESSION_LEVEL: Final = 9
# No list we read may hold more entries than this (16 Mi, 4 MiB at 2 bits): far above what an
# issuer needs per list, far below what would hurt a lane.
MAX_ENTRIES: Final = 1 << 24
# The path of one of our lists under the issuer: every worker and the SDK build it here.
PATH_PREFIX: Final = "/v1/status-lists/"


class StatusListError(ValueError):
    """A status list that cannot be read: bad base64url, bad zlib, too large, bad bits."""


class StatusList:
    """A bit array of ``size`` token statuses, ``bits`` bits each, every one VALID at first."""

    __slots__ = ("_bytes", "_mask", "_per_byte", "bits")

    def __init__(self, size: int, bits: int) -> None:
        if bits not in ALLOWED_BITS:
            raise StatusListError("bits must be 1, 2, 4 or 8")
        if size < 0:
            raise StatusListError("the size cannot be negative")
        self.bits = bits
        self._per_byte = 8 // bits
        self._mask = (1 << bits) - 1
        self._bytes = bytearray(-(-size // self._per_byte))

    @classmethod
    def from_bytes(cls, data: bytes, bits: int) -> StatusList:
        statuses = cls(0, bits)
        statuses._bytes = bytearray(data)
        return statuses

    @classmethod
    def decode(cls, lst: str, bits: int, *, max_entries: int = MAX_ENTRIES) -> StatusList:
        """The list a ``lst`` claim holds; :class:`StatusListError` if it cannot be read."""
        if bits not in ALLOWED_BITS:
            raise StatusListError("bits must be 1, 2, 4 or 8")
        compressed = strict_b64decode(lst)
        if compressed is None:
            raise StatusListError("lst is not base64url")
        limit = -(-max_entries * bits // 8)
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(compressed, limit)
        except zlib.error:
            raise StatusListError("lst is not ZLIB-compressed") from None
        if inflater.unconsumed_tail:
            raise StatusListError(f"the list holds more than {max_entries} entries")
        if not inflater.eof:
            raise StatusListError("lst is not ZLIB-compressed")
        return cls.from_bytes(data, bits)

    @property
    def size(self) -> int:
        """How many statuses the list holds."""
        return len(self._bytes) * self._per_byte

    def get(self, index: int) -> int:
        """The status at ``index``; :class:`IndexError` outside the list (no statement)."""
        if not 0 <= index < self.size:
            raise IndexError("the index is outside the status list")
        byte, slot = divmod(index, self._per_byte)
        return (self._bytes[byte] >> (slot * self.bits)) & self._mask

    def set(self, index: int, status: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError("the index is outside the status list")
        if not 0 <= status <= self._mask:
            raise StatusListError(f"a status of {self.bits} bits is 0 to {self._mask}")
        byte, slot = divmod(index, self._per_byte)
        shift = slot * self.bits
        self._bytes[byte] = (self._bytes[byte] & ~(self._mask << shift) & 0xFF) | (status << shift)

    def to_bytes(self) -> bytes:
        return bytes(self._bytes)

    def compressed(self) -> bytes:
        """The byte array, DEFLATE in ZLIB format at the highest level (§4.1 step 4)."""
        return zlib.compress(self._bytes, COMPRESSION_LEVEL)

    def encode(self) -> str:
        """The ``lst`` claim: the compressed array in base64url without padding."""
        return base64url(self.compressed())


# --- the referenced token's claim (§6.2) ---------------------------------------------------


class StatusListReference(msgspec.Struct, frozen=True):
    """``status.status_list`` of a referenced token: where its status is, and at which index."""

    idx: Annotated[int, msgspec.Meta(ge=0)]
    uri: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]


class StatusClaim(msgspec.Struct, frozen=True):
    """The ``status`` claim; other status mechanisms it may name are ignored."""

    status_list: StatusListReference


def list_uri(issuer: str, number: int) -> str:
    """The URI of our list ``number``: its ``sub``, and the ``uri`` our tokens carry."""
    return f"{issuer}{PATH_PREFIX}{number}"


def list_number(issuer: str, uri: str) -> int | None:
    """The number of our list at ``uri``; None for a URI that is not one of this issuer's."""
    prefix = issuer + PATH_PREFIX
    if not uri.startswith(prefix):
        return None
    digits = uri[len(prefix) :]
    if not digits.isascii() or not digits.isdigit() or digits[0] == "0" or len(digits) > 9:
        return None
    return int(digits)


# --- the Status List Token (§5.1) ----------------------------------------------------------


class StatusListClaimSet(msgspec.Struct, frozen=True, omit_defaults=True):
    bits: int
    lst: str
    aggregation_uri: str | None = None


class StatusListPayload(msgspec.Struct, frozen=True, omit_defaults=True):
    """The claims of a Status List Token as they must be typed; other claims are ignored."""

    sub: str
    iat: int
    status_list: StatusListClaimSet
    exp: int | None = None
    ttl: Annotated[int, msgspec.Meta(gt=0)] | None = None
    iss: str | None = None


_PAYLOAD = msgspec.json.Decoder(StatusListPayload)


@dataclass(frozen=True, slots=True)
class VerifiedStatusList:
    uri: str
    kid: str
    issued_at: int
    expires_at: int | None
    ttl: int | None
    statuses: StatusList


def sign_status_list(
    statuses: StatusList,
    *,
    uri: str,
    issued_at: int,
    expires_at: int,
    ttl: int,
    private_key: ec.EllipticCurvePrivateKey,
    kid: str,
    aggregation_uri: str | None = None,
) -> str:
    """The Status List Token in JWT form (compact JWS, ES256)."""
    claims: dict[str, Any] = {
        "sub": uri,
        "iat": issued_at,
        "exp": expires_at,
        "ttl": ttl,
        "status_list": {"bits": statuses.bits, "lst": statuses.encode()},
    }
    if aggregation_uri is not None:
        claims["status_list"]["aggregation_uri"] = aggregation_uri
    return jwt.encode(
        claims, private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": TOKEN_TYPE}
    )


def verify_status_list(
    token: str,
    *,
    keys: Mapping[str, ec.EllipticCurvePublicKey],
    uri: str,
    now: int,
    leeway: int,
    max_entries: int = MAX_ENTRIES,
) -> VerifiedStatusList | TokenFailure:
    """Check a Status List Token as §8.3 says: signature by one of ``keys``, ``typ``, ``sub``
    equal to the ``uri`` the referenced token named, not expired, a list that decodes."""
    signed = check_signed(
        token, keys=keys, media_type=TOKEN_TYPE, max_chars=_max_chars(max_entries)
    )
    if isinstance(signed, TokenFailure):
        return signed
    kid, raw = signed
    try:
        payload = _PAYLOAD.decode(raw)
    except msgspec.DecodeError:
        return TokenFailure("token_malformed", "required claims are missing or mistyped")
    if payload.sub != uri:
        return TokenFailure("token_malformed", "the list is not the one asked for (sub)")
    if payload.exp is not None and payload.exp <= now - leeway:
        return TokenFailure("token_expired", "the status list has expired")
    if payload.iat > now + leeway:
        return TokenFailure("token_not_yet_valid", "the status list is issued in the future")
    try:
        statuses = StatusList.decode(
            payload.status_list.lst, payload.status_list.bits, max_entries=max_entries
        )
    except StatusListError as exc:
        return TokenFailure("token_malformed", str(exc))
    return VerifiedStatusList(
        uri=payload.sub,
        kid=kid,
        issued_at=payload.iat,
        expires_at=payload.exp,
        ttl=payload.ttl,
        statuses=statuses,
    )


def _max_chars(max_entries: int) -> int:
    """The longest token a list of ``max_entries`` 8-bit entries could need, incompressible:
    base64url twice (the ``lst`` inside the payload) plus room for the other claims."""
    return max_entries * 16 // 9 + 4096


# --- spreading indices (the draft's §12.4 and §12.5: non-sequential indices) ---------------

_ROUNDS = 6


def scattered_index(key: bytes, position: int, size: int) -> int:
    """The index of the ``position``-th token issued into a list of ``size`` entries.

    A keyed permutation of ``range(size)`` (a balanced Feistel network with cycle walking), so
    that indices are spread over the whole list in an order no one without the key can predict,
    and no two positions share an index: no double allocation, and no retries. ``size`` is a
    power of two.
    """
    if size < 2 or size & (size - 1) or not 0 <= position < size:
        raise ValueError("the size must be a power of two and the position inside it")
    half_bits = size.bit_length() // 2  # ceil(log2(size) / 2)
    half_mask = (1 << half_bits) - 1
    value = position
    while True:
        left, right = value >> half_bits, value & half_mask
        for round_number in range(_ROUNDS):
            mixed = hmac.new(key, bytes([round_number]) + right.to_bytes(4, "big"), hashlib.sha256)
            left, right = right, left ^ (int.from_bytes(mixed.digest()[:4], "big") & half_mask)
        value = (left << half_bits) | right
        if value < size:  # cycle walking: a permutation of the larger domain, restricted
            return value
