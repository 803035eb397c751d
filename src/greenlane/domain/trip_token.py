"""The trip token: one signature over a vehicle and everyone in it, for one crossing.

A compact JWS, ``ES256``, header ``{"alg": "ES256", "kid": ..., "typ": "gl-trip+jwt"}``; the
``typ`` keeps a trip token and a clearance token from ever being taken for each other. Claims,
all required:

- ``iss``, ``aud``, ``sub`` (the trip id), ``jti`` (12 random bytes, base64url), ``iat``,
  ``nbf``, ``exp``, as in a clearance token;
- ``prt`` the one port and ``dir`` the direction (``"entry"`` or ``"exit"``) it was filed for;
- ``vbh`` and ``vrc``: the vehicle binding and registration country, as in a clearance token;
- ``crw``: one string per member, ``<role><entries>.<clearance>.<binding>``, where ``role`` is
  ``d`` (driver), ``c`` (co-driver) or ``p`` (passenger), ``entries`` is ``s`` or ``m`` (the
  member's clearance is single or multiple entry, so that a lane without the central record
  knows whose entry it cannot confirm), ``clearance`` is the member's clearance id as 16 bytes
  in base64url (22 characters, not the 36 of its text form) and ``binding`` is the member's
  document binding, computed exactly as a clearance token's but salted with the trip's ``jti``.

A member costs 41 characters of JSON (55 in the token); a string per member instead of an object
saves the repeated key names, which would cost more than the member itself. The measured
lengths for 1, 4 and 10 people, and the QR symbol each needs, are in
``docs/figures/trip_tokens.md`` (``python -m bench.trip_tokens``).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.domain.clearance_token import (
    ALGORITHM,
    CLOCK_LEEWAY,
    MAX_TOKEN_CHARS,
    Entries,
    document_binding,
    vehicle_binding,
)
from greenlane.domain.crypto import base64url
from greenlane.domain.jws import TokenFailure, check_signed, strict_b64decode

MEDIA_TYPE = "gl-trip+jwt"
Role = Literal["driver", "co_driver", "passenger"]
Direction = Literal["entry", "exit"]
ROLES: tuple[Role, ...] = ("driver", "co_driver", "passenger")

_ROLE_CODES: Mapping[Role, str] = {"driver": "d", "co_driver": "c", "passenger": "p"}
_ROLE_NAMES: Mapping[str, Role] = {code: role for role, code in _ROLE_CODES.items()}
_ENTRY_CODES: Mapping[Entries, str] = {"single": "s", "multiple": "m"}
_ENTRY_NAMES: Mapping[str, Entries] = {code: name for name, code in _ENTRY_CODES.items()}
_UUID_CHARS = 22  # 16 bytes in unpadded base64url


@dataclass(frozen=True, slots=True)
class TripMember:
    role: Role
    entries: Entries
    clearance_id: str  # the UUID's text form
    document_binding: str


@dataclass(frozen=True, slots=True)
class TripClaims:
    issuer: str
    trip_id: str
    audience: str
    issued_at: int
    not_before: int
    expires_at: int
    token_id: str
    port: str
    direction: Direction
    vehicle_binding: str
    vehicle_country: str
    members: tuple[TripMember, ...]


@dataclass(frozen=True, slots=True)
class VerifiedTrip:
    kid: str
    claims: TripClaims


def member_binding(token_id: str, issuing_state: str, number: str) -> str:
    """A member's document binding: a clearance token's, salted with the trip's ``jti``."""
    return document_binding(token_id, issuing_state, number)


def trip_vehicle_binding(token_id: str, country: str, plate: str) -> str:
    return vehicle_binding(token_id, country, plate)


def issue_trip_token(claims: TripClaims, private_key: ec.EllipticCurvePrivateKey, kid: str) -> str:
    return jwt.encode(
        _payload(claims), private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": MEDIA_TYPE}
    )


def _payload(claims: TripClaims) -> dict[str, Any]:
    return {
        "iss": claims.issuer,
        "sub": claims.trip_id,
        "aud": claims.audience,
        "iat": claims.issued_at,
        "nbf": claims.not_before,
        "exp": claims.expires_at,
        "jti": claims.token_id,
        "prt": claims.port,
        "dir": claims.direction,
        "vbh": claims.vehicle_binding,
        "vrc": claims.vehicle_country,
        "crw": [_member_claim(member) for member in claims.members],
    }


def _member_claim(member: TripMember) -> str:
    clearance = base64url(uuid.UUID(member.clearance_id).bytes)
    code = _ROLE_CODES[member.role] + _ENTRY_CODES[member.entries]
    return f"{code}.{clearance}.{member.document_binding}"


class _Payload(msgspec.Struct):
    iss: str
    sub: str
    aud: str
    iat: int
    nbf: int
    exp: int
    jti: str
    prt: str
    dir: Direction
    vbh: str
    vrc: str
    crw: list[str]


_PAYLOAD_DECODER = msgspec.json.Decoder(_Payload)


def verify_trip_token(
    token: str,
    *,
    keys: Mapping[str, ec.EllipticCurvePublicKey],
    issuer: str,
    audience: str,
    now: int,
    leeway: int = CLOCK_LEEWAY,
) -> VerifiedTrip | TokenFailure:
    """The clearance token's checks (one signature for the whole vehicle), then the claims."""
    signed = check_signed(token, keys=keys, media_type=MEDIA_TYPE, max_chars=MAX_TOKEN_CHARS)
    if isinstance(signed, TokenFailure):
        return signed
    kid, raw = signed
    try:
        payload: _Payload | None = _PAYLOAD_DECODER.decode(raw)
    except msgspec.DecodeError:
        payload = None
    members = _members(payload.crw) if payload is not None else None
    if payload is None or members is None:
        return TokenFailure("token_malformed", "required claims are missing or mistyped")
    if payload.iss != issuer or payload.aud != audience:
        return TokenFailure("token_malformed", "the token is not for this issuer and audience")
    if payload.exp <= now - leeway:
        return TokenFailure("token_expired", "the token has expired")
    if payload.nbf > now + leeway:
        return TokenFailure("token_not_yet_valid", "the token is not valid yet")
    claims = TripClaims(
        issuer=payload.iss,
        trip_id=payload.sub,
        audience=payload.aud,
        issued_at=payload.iat,
        not_before=payload.nbf,
        expires_at=payload.exp,
        token_id=payload.jti,
        port=payload.prt,
        direction=payload.dir,
        vehicle_binding=payload.vbh,
        vehicle_country=payload.vrc,
        members=members,
    )
    return VerifiedTrip(kid=kid, claims=claims)


def _members(claims: Sequence[str]) -> tuple[TripMember, ...] | None:
    """The crew as signed, or None if a member is not one (a signed token of ours always is)."""
    members = []
    for claim in claims:
        parts = claim.split(".")
        if len(parts) != 3 or len(parts[0]) != 2 or len(parts[1]) != _UUID_CHARS:
            return None
        role = _ROLE_NAMES.get(parts[0][0])
        entries = _ENTRY_NAMES.get(parts[0][1])
        raw = strict_b64decode(parts[1])
        if role is None or entries is None or raw is None:
            return None
        members.append(TripMember(role, entries, str(uuid.UUID(bytes=raw)), parts[2]))
    return tuple(members) if members else None


def binds_plate(claims: TripClaims, plate: str) -> bool:
    expected = trip_vehicle_binding(claims.token_id, claims.vehicle_country, plate)
    return hmac.compare_digest(expected.encode(), claims.vehicle_binding.encode())


def valid_at(claims: TripClaims, moment: int, leeway: int = CLOCK_LEEWAY) -> bool:
    return claims.not_before - leeway <= moment < claims.expires_at + leeway
