"""The trip token: one signature over a vehicle and everyone in it, for one crossing.

A compact JWS, ``ES256``, header ``{"alg": "ES256", "kid": ..., "typ": "gl-trip+jwt"}``; the
``typ`` keeps a trip token and a clearance token from ever being taken for each other. Claims,
all required:

- ``iss``, ``aud``, ``sub`` (the trip id), ``jti`` (12 random bytes, base64url), ``iat``,
  ``nbf``, ``exp``, as in a clearance token;
- ``status`` ``{"status_list": {"idx", "uri"}}``: the trip token's own place in one of this
  issuer's status lists, exactly as a clearance token carries it (``status_list.py``), so an
  amended or cancelled trip's token reads revoked in the published list;
- ``prt`` the one port and ``dir`` the direction (``"entry"`` or ``"exit"``) it was filed for;
- ``vbh`` and ``vrc``: the vehicle binding and registration country, as in a clearance token;
- ``crw``: one string per member,
  ``<role><entries><category>.<clearance>.<binding>.<list>.<idx>``, where ``role`` is ``d``
  (driver), ``c`` (co-driver) or ``p`` (passenger), ``entries`` is ``s`` or ``m`` (the member's
  clearance is single or multiple entry, so that a lane without the central record knows whose
  entry it cannot confirm), ``category`` is the member's category as a clearance token writes it
  (``clearance_token.CATEGORY_CODES``: another agency's lane accepts only the categories its
  agreement names, as it does for a clearance), ``clearance`` is the member's clearance id as 16
  bytes in base64url (22 characters, not the 36 of its text form), ``binding`` is the member's
  document binding, computed exactly as a clearance token's but salted with the trip's ``jti``,
  and ``list`` and ``idx`` (decimal) are the status list entry of the member's clearance: the
  ``status.status_list`` its own clearance token carries, whose ``uri`` is this issuer's list
  ``list`` (``status_list.list_uri``). So a lane that holds the lists denies a suspended or
  revoked member without asking the centre, as it would deny their clearance.

A member costs 43 to 44 characters of JSON plus its status entry (at most 13 more: list 9,999,
index 2**20 - 1); a string per member instead of an object saves the repeated key names, which
would cost more than the member itself, and the entry's ``uri`` is rebuilt from ``iss`` rather
than written once per member. The measured lengths for 1, 4 and 10 people, and the QR symbol
each needs, are in ``docs/figures/trip_tokens.md`` (``python bench/trip_tokens.py``).
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
    CATEGORY_CODES,
    CATEGORY_NAMES,
    CLOCK_LEEWAY,
    ClaimsError,
    Entries,
    document_binding,
    vehicle_binding,
)
from greenlane.domain.crypto import base64url
from greenlane.domain.jws import TokenFailure, check_signed, strict_b64decode
from greenlane.domain.status_list import StatusClaim, StatusListReference, list_number, list_uri

MEDIA_TYPE = "gl-trip+jwt"
Role = Literal["driver", "co_driver", "passenger"]
Direction = Literal["entry", "exit"]
ROLES: tuple[Role, ...] = ("driver", "co_driver", "passenger")

_ROLE_CODES: Mapping[Role, str] = {"driver": "d", "co_driver": "c", "passenger": "p"}
_ROLE_NAMES: Mapping[str, Role] = {code: role for role, code in _ROLE_CODES.items()}
_ENTRY_CODES: Mapping[Entries, str] = {"single": "s", "multiple": "m"}
_ENTRY_NAMES: Mapping[str, Entries] = {code: name for name, code in _ENTRY_CODES.items()}
_UUID_CHARS = 22  # 16 bytes in unpadded base64url
_MEMBER_FIELDS = 5  # code, clearance, binding, status list, index
# No trip token is issued longer than this, and a lane refuses a longer one before parsing it.
# Apart from a clearance's MAX_TOKEN_CHARS: a trip at GREENLANE_TRIP_MAX_PEOPLE's ceiling of 20
# comes close to that (docs/figures/trip_tokens.md), and must still verify.
MAX_TRIP_TOKEN_CHARS = 3072
_MAX_LIST_DIGITS = 9  # as status_list.list_number reads a list's URI
_MAX_INDEX_DIGITS = 10  # the column's range is below 2**31


@dataclass(frozen=True, slots=True)
class TripMember:
    role: Role
    entries: Entries
    category: str  # as the member's clearance token carries it
    clearance_id: str  # the UUID's text form
    document_binding: str
    status: StatusListReference  # the member's clearance's, in one of this issuer's lists


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
    status: StatusListReference


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
    """The signed token; :class:`ClaimsError` for a member whose status is not in one of this
    issuer's lists, or a token longer than a lane reads (:data:`MAX_TRIP_TOKEN_CHARS`)."""
    token = jwt.encode(
        _payload(claims), private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": MEDIA_TYPE}
    )
    if len(token) > MAX_TRIP_TOKEN_CHARS:
        raise ClaimsError(
            "crew",
            f"the token would be {len(token)} characters, over {MAX_TRIP_TOKEN_CHARS}",
            code="token_too_long",
        )
    return token


def _payload(claims: TripClaims) -> dict[str, Any]:
    return {
        "iss": claims.issuer,
        "sub": claims.trip_id,
        "aud": claims.audience,
        "iat": claims.issued_at,
        "nbf": claims.not_before,
        "exp": claims.expires_at,
        "jti": claims.token_id,
        "status": {"status_list": {"idx": claims.status.idx, "uri": claims.status.uri}},
        "prt": claims.port,
        "dir": claims.direction,
        "vbh": claims.vehicle_binding,
        "vrc": claims.vehicle_country,
        "crw": [_member_claim(member, claims.issuer) for member in claims.members],
    }


def _member_claim(member: TripMember, issuer: str) -> str:
    clearance = base64url(uuid.UUID(member.clearance_id).bytes)
    code = _ROLE_CODES[member.role] + _ENTRY_CODES[member.entries] + CATEGORY_CODES[member.category]
    number = list_number(issuer, member.status.uri)
    if number is None:
        raise ClaimsError("crew", "a member's status is not in one of this issuer's lists")
    return f"{code}.{clearance}.{member.document_binding}.{number}.{member.status.idx}"


class _Payload(msgspec.Struct):
    iss: str
    sub: str
    aud: str
    iat: int
    nbf: int
    exp: int
    jti: str
    status: StatusClaim
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
    signed = check_signed(token, keys=keys, media_type=MEDIA_TYPE, max_chars=MAX_TRIP_TOKEN_CHARS)
    if isinstance(signed, TokenFailure):
        return signed
    kid, raw = signed
    try:
        payload: _Payload | None = _PAYLOAD_DECODER.decode(raw)
    except msgspec.DecodeError:
        payload = None
    members = _members(payload.crw, payload.iss) if payload is not None else None
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
        status=payload.status.status_list,
    )
    return VerifiedTrip(kid=kid, claims=claims)


def _members(claims: Sequence[str], issuer: str) -> tuple[TripMember, ...] | None:
    """The crew as signed, or None if a member is not one (a signed token of ours always is).
    A member's status entry is in ``issuer``'s lists: the token's own ``iss``, checked next."""
    members = []
    for claim in claims:
        parts = claim.split(".")
        if len(parts) != _MEMBER_FIELDS or len(parts[0]) < 3 or len(parts[1]) != _UUID_CHARS:
            return None
        role = _ROLE_NAMES.get(parts[0][0])
        entries = _ENTRY_NAMES.get(parts[0][1])
        category = CATEGORY_NAMES.get(parts[0][2:])
        raw = strict_b64decode(parts[1])
        number = int(parts[3]) if _decimal(parts[3], _MAX_LIST_DIGITS) else 0  # lists start at 1
        index = int(parts[4]) if _decimal(parts[4], _MAX_INDEX_DIGITS) else -1
        if (
            role is None
            or entries is None
            or category is None
            or raw is None
            or number < 1
            or index < 0
        ):
            return None
        status = StatusListReference(idx=index, uri=list_uri(issuer, number))
        clearance = str(uuid.UUID(bytes=raw))
        members.append(TripMember(role, entries, category, clearance, parts[2], status))
    return tuple(members) if members else None


def _decimal(text: str, digits: int) -> bool:
    """A non-negative integer written one way only: ASCII digits, no sign, no leading zero."""
    return (
        0 < len(text) <= digits
        and text.isascii()
        and text.isdigit()
        and (text == "0" or text[0] != "0")
    )


def binds_plate(claims: TripClaims, plate: str) -> bool:
    expected = trip_vehicle_binding(claims.token_id, claims.vehicle_country, plate)
    return hmac.compare_digest(expected.encode(), claims.vehicle_binding.encode())


def valid_at(claims: TripClaims, moment: int, leeway: int = CLOCK_LEEWAY) -> bool:
    return claims.not_before - leeway <= moment < claims.expires_at + leeway
