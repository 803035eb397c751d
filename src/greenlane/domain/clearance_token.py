"""The clearance token: issued by the server, verified by the server and by offline lanes.

A compact JWS, ``ES256``, header ``{"alg": "ES256", "kid": ..., "typ": "gl-clearance+jwt"}``.
Claims, all required:

- ``iss`` issuer, ``aud`` audience, ``jti`` the token id (9 random bytes, base64url): strings;
- ``sub`` the clearance id: its 16 bytes in base64url (22 characters, not the 36 of the UUID's
  text), read back as the UUID;
- ``iat``, ``nbf``, ``exp``: integers, Unix seconds;
- ``status`` ``{"status_list": {"idx", "uri"}}``: where the token's status is published, as
  draft-ietf-oauth-status-list says (``status_list.py``);
- ``gl`` the terms, fields separated by single spaces: the entry rule (``s`` single, ``m``
  multiple) followed by the category's code (:data:`CATEGORY_CODES`), as in ``mict``; the
  nationality (ISO 3166 alpha-3); the document binding; the vehicle's registration country
  followed by the vehicle binding, or ``-`` without a vehicle; then each port code. For
  example ``mict CHN q0IPIPbl1SwO CHNx6hQ3Vb0Ae1K CNPXG THBKK``.

The token has to fit a QR code that a lane camera reads, so it must stay under 600 characters.
A JWT spends about 190 of them on the header and signature alone, and the status claim names
the issuer a second time, which is why everything else is compact: one claim for the terms
(a claim apiece cost about eight characters each in names and quotes), the category as a short
code, random values of 72 bits (12 characters), the clearance id in bytes, and the ``jti``
doubling as the salt of the bindings instead of a separate salt claim. Five ports and a vehicle
fit with an issuer of up to 24 characters (``settings.MAX_ISSUER_LENGTH``) in the first
9,999 status lists; :func:`issue_token` refuses anything longer.

A binding is ``base64url(SHA-256(P("document") ‖ P(jti) ‖ P(issuing_state) ‖ P(number))[:9])``
and ``base64url(SHA-256(P("vehicle") ‖ P(jti) ‖ P(registration_country) ‖ P(plate))[:9])``,
where ``P(s)`` is the UTF-8 bytes of ``s`` behind their length as 4 bytes big-endian and the
values are canonical (see ``documents.py``). The jti is unpredictable until the token is issued
and unique to it, so bindings of one document in two tokens cannot be linked and no table can be
built in advance; 72 bits leave a second preimage out of reach (2**72 hashes to match a given
binding, and a forger would also need a real document with that number), which is all a lane
relies on.

Verification pins everything the token could otherwise choose for itself (``jws.py``). It
returns a :class:`TokenFailure` carrying the contract's decision code rather than raising,
because a failing token is an ordinary answer on a lane.
"""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.domain.crypto import base64url, encode_parts
from greenlane.domain.jws import ALGORITHM as ALGORITHM
from greenlane.domain.jws import FailureCode as FailureCode
from greenlane.domain.jws import TokenFailure as TokenFailure
from greenlane.domain.jws import check_signed, strict_b64decode
from greenlane.domain.status_list import StatusClaim, StatusListReference

LANE_AUDIENCE = "gl-lanes"
# The `typ` header (RFC 7515 §4.1.9): tells a clearance apart from any other JWT we sign.
MEDIA_TYPE = "gl-clearance+jwt"
# Issued tokens are shorter than this, so that they fit a QR code.
QR_LIMIT = 600
# Verification refuses anything longer before parsing it: far above what we issue, far below
# what could cost a lane noticeable work.
MAX_TOKEN_CHARS = 2048
# Seconds a lane's clock may be off: exp and nbf are checked this much more loosely.
CLOCK_LEEWAY = 30
TOKEN_ID_BYTES = 9
BINDING_BYTES = 9
_ID_BYTES = 16  # a UUID
_COUNTRY_CHARS = 3
_NO_VEHICLE = "-"
_FIRST_PORT = 4  # the gl claim's fields: scope, nationality, document, vehicle, ports...

Entries = Literal["single", "multiple"]

CATEGORY_CODES: Mapping[str, str] = MappingProxyType(
    {
        "business_visitor": "bv",
        "intra_corporate_transferee": "ict",
        "installer_servicer": "is",
        "contractual_service_supplier": "css",
        "investor": "inv",
        "accompanying_family": "af",
        "commercial_driver": "cd",
    }
)
CATEGORY_NAMES: Mapping[str, str] = MappingProxyType(
    {code: name for name, code in CATEGORY_CODES.items()}
)
_ENTRY_CODES: Mapping[Entries, Literal["s", "m"]] = {"single": "s", "multiple": "m"}
_ENTRY_NAMES: Mapping[str, Entries] = {code: name for name, code in _ENTRY_CODES.items()}


class ClaimsError(ValueError):
    """Claims that cannot be put into a token."""

    def __init__(self, field: str, message: str, code: str = "invalid_claims") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class ClearanceClaims:
    issuer: str
    clearance_id: str
    audience: str
    issued_at: int
    not_before: int
    expires_at: int
    token_id: str
    ports: tuple[str, ...]
    entries: Entries
    category: str
    nationality: str
    document_binding: str
    status: StatusListReference
    vehicle_binding: str | None = None
    vehicle_country: str | None = None


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    kid: str
    claims: ClearanceClaims


def new_token_id() -> str:
    """A fresh ``jti``; it is also the bindings' salt, so it must come from here."""
    return base64url(secrets.token_bytes(TOKEN_ID_BYTES))


def document_binding(token_id: str, issuing_state: str, number: str) -> str:
    """The ``dbh`` claim for a canonical issuing state and document number."""
    return _binding("document", token_id, issuing_state, number)


def vehicle_binding(token_id: str, country: str, plate: str) -> str:
    """The ``vbh`` claim for a canonical registration country and plate."""
    return _binding("vehicle", token_id, country, plate)


def _binding(label: str, token_id: str, *values: str) -> str:
    digest = hashlib.sha256(encode_parts(label, token_id, *values)).digest()
    return base64url(digest[:BINDING_BYTES])


def issue_token(claims: ClearanceClaims, private_key: ec.EllipticCurvePrivateKey, kid: str) -> str:
    """The signed token; :class:`ClaimsError` if it would not fit under :data:`QR_LIMIT`."""
    token = jwt.encode(
        _payload(claims),
        private_key,
        algorithm=ALGORITHM,
        headers={"kid": kid, "typ": MEDIA_TYPE},
    )
    if len(token) >= QR_LIMIT:
        raise ClaimsError(
            "ports",
            f"the token would be {len(token)} characters, over the QR limit of {QR_LIMIT}",
            code="token_too_long",
        )
    return token


def _payload(claims: ClearanceClaims) -> dict[str, Any]:
    return {
        "iss": claims.issuer,
        "sub": _compact_id(claims.clearance_id),
        "aud": claims.audience,
        "iat": claims.issued_at,
        "nbf": claims.not_before,
        "exp": claims.expires_at,
        "jti": claims.token_id,
        "status": {"status_list": {"idx": claims.status.idx, "uri": claims.status.uri}},
        "gl": _terms(claims),
    }


def _compact_id(clearance_id: str) -> str:
    try:
        return base64url(uuid.UUID(clearance_id).bytes)
    except ValueError:
        raise ClaimsError("clearance_id", "is not a UUID") from None


def _terms(claims: ClearanceClaims) -> str:
    """The ``gl`` claim: what the clearance allows, fields separated by single spaces, as
    OAuth writes scopes (a claim apiece cost eight characters each in quotes and names)."""
    category = CATEGORY_CODES.get(claims.category)
    if category is None:
        raise ClaimsError("category", "is not a clearance category")
    if len(claims.nationality) != _COUNTRY_CHARS:
        raise ClaimsError("nationality", "is not an ISO 3166 alpha-3 code")
    if claims.vehicle_binding is None:
        vehicle = _NO_VEHICLE
    elif claims.vehicle_country is None or len(claims.vehicle_country) != _COUNTRY_CHARS:
        raise ClaimsError("vehicle_country", "is required with a vehicle binding (alpha-3)")
    else:
        # The lane reads only the plate; the registration country rides along so that the
        # lane can recompute the binding, which covers country and plate.
        vehicle = claims.vehicle_country + claims.vehicle_binding
    return " ".join(
        (
            _ENTRY_CODES[claims.entries] + category,
            claims.nationality,
            claims.document_binding,
            vehicle,
            *claims.ports,
        )
    )


class _Payload(msgspec.Struct):
    """The claims as they must be typed on the wire; unknown claims are ignored."""

    iss: str
    sub: str
    aud: str
    iat: int
    nbf: int
    exp: int
    jti: str
    status: StatusClaim
    gl: str


_PAYLOAD_DECODER = msgspec.json.Decoder(_Payload)


def verify_token(
    token: str,
    *,
    keys: Mapping[str, ec.EllipticCurvePublicKey],
    issuer: str,
    audience: str,
    now: int,
    leeway: int = CLOCK_LEEWAY,
) -> VerifiedToken | TokenFailure:
    """Check a token cheapest test first: size, shape, header, signature, then claims."""
    signed = check_signed(token, keys=keys, media_type=MEDIA_TYPE, max_chars=MAX_TOKEN_CHARS)
    if isinstance(signed, TokenFailure):
        return signed
    kid, raw = signed
    payload = _decode_payload(raw)
    if payload is None:
        return TokenFailure("token_malformed", "required claims are missing or mistyped")
    return _check_claims(payload, kid, issuer=issuer, audience=audience, now=now, leeway=leeway)


def _decode_payload(raw: bytes) -> _Payload | None:
    try:
        return _PAYLOAD_DECODER.decode(raw)
    except msgspec.DecodeError:
        return None


def _check_claims(
    payload: _Payload, kid: str, *, issuer: str, audience: str, now: int, leeway: int
) -> VerifiedToken | TokenFailure:
    if payload.iss != issuer or payload.aud != audience:
        return TokenFailure("token_malformed", "the token is not for this issuer and audience")
    clearance_id = _expanded_id(payload.sub)
    terms = _read_terms(payload.gl)
    if clearance_id is None or terms is None:
        return TokenFailure("token_malformed", "required claims are missing or mistyped")
    if payload.exp <= now - leeway:
        return TokenFailure("token_expired", "the token has expired")
    if payload.nbf > now + leeway:
        return TokenFailure("token_not_yet_valid", "the token is not valid yet")
    entries, category, nationality, document, vehicle_country, vehicle, ports = terms
    claims = ClearanceClaims(
        issuer=payload.iss,
        clearance_id=clearance_id,
        audience=payload.aud,
        issued_at=payload.iat,
        not_before=payload.nbf,
        expires_at=payload.exp,
        token_id=payload.jti,
        ports=ports,
        entries=entries,
        category=category,
        nationality=nationality,
        document_binding=document,
        status=payload.status.status_list,
        vehicle_binding=vehicle,
        vehicle_country=vehicle_country,
    )
    return VerifiedToken(kid=kid, claims=claims)


def _expanded_id(sub: str) -> str | None:
    raw = strict_b64decode(sub)
    return str(uuid.UUID(bytes=raw)) if raw is not None and len(raw) == _ID_BYTES else None


_Terms = tuple[Entries, str, str, str, str | None, str | None, tuple[str, ...]]


def _read_terms(text: str) -> _Terms | None:
    """The ``gl`` claim's fields, or None when any is missing or malformed."""
    fields = text.split(" ")
    if len(fields) < _FIRST_PORT + 1 or not all(fields):
        return None
    scope, nationality, document, vehicle, *ports = fields
    entries = _ENTRY_NAMES.get(scope[:1])
    category = CATEGORY_NAMES.get(scope[1:])
    if entries is None or category is None or len(nationality) != _COUNTRY_CHARS:
        return None
    if vehicle == _NO_VEHICLE:
        return entries, category, nationality, document, None, None, tuple(ports)
    if len(vehicle) <= _COUNTRY_CHARS:
        return None
    country, binding = vehicle[:_COUNTRY_CHARS], vehicle[_COUNTRY_CHARS:]
    return entries, category, nationality, document, country, binding, tuple(ports)


def valid_at(claims: ClearanceClaims, moment: int, leeway: int = CLOCK_LEEWAY) -> bool:
    """Whether ``moment`` (Unix seconds) is within the token's validity: the window
    :func:`verify_token` admits ``now`` in, with the same leeway."""
    return claims.not_before - leeway <= moment < claims.expires_at + leeway


def binding_matches(verified: VerifiedToken, *, issuing_state: str, number: str) -> bool:
    """Whether a canonical scanned document is the one the token was issued for."""
    claims = verified.claims
    expected = document_binding(claims.token_id, issuing_state, number)
    return hmac.compare_digest(expected.encode(), claims.document_binding.encode())


def plate_matches(verified: VerifiedToken, *, plate: str) -> bool:
    """Whether a canonical plate is the token's vehicle; False if the token has no vehicle."""
    claims = verified.claims
    if claims.vehicle_binding is None or claims.vehicle_country is None:
        return False
    expected = vehicle_binding(claims.token_id, claims.vehicle_country, plate)
    return hmac.compare_digest(expected.encode(), claims.vehicle_binding.encode())


def public_keys(jwks: Iterable[Mapping[str, Any]]) -> dict[str, ec.EllipticCurvePublicKey]:
    """The ES256 keys of a JWKS by ``kid``; anything else in it is ignored, never trusted."""
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for jwk in jwks:
        kid = jwk.get("kid")
        try:
            key = jwt.PyJWK(dict(jwk), algorithm=ALGORITHM).key
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        if isinstance(kid, str) and isinstance(key, ec.EllipticCurvePublicKey):
            keys[kid] = key
    return keys
