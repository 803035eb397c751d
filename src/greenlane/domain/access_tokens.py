"""OAuth 2.0 access tokens (RFC 9068 ``at+jwt``) for API clients.

They are signed with HS256 under a key of their own (``GREENLANE_ACCESS_TOKEN_KEY``): only this
service issues and checks them, so a shared secret is enough, verification costs microseconds,
and a clearance signing key can never be confused with them. The algorithm, ``typ``, issuer and
audience are pinned; nothing in the token chooses how it is checked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import jwt

from greenlane.domain.crypto import COMPACT_JWS

ALGORITHM = "HS256"
TOKEN_TYPE = "at+jwt"
AUDIENCE = "greenlane-api"
MAX_TOKEN_LENGTH = 2048
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "role", "scope"]
# PyJWT reads times with int(), so "0" or "1e3" would pass its checks; ours are JSON integers.
TIME_CLAIMS = ("exp", "iat", "nbf")

Role = Literal["admin", "partner", "lane"]
ROLES: tuple[Role, ...] = ("admin", "partner", "lane")

SCOPES: dict[Role, str] = {
    "admin": "admin",
    "partner": "travellers vehicles applications clearances",
    "lane": "verify revocations",
}


class InvalidAccessToken(ValueError):
    """The token is not one this service issued, or no longer valid. Deliberately vague."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    client_id: str
    role: Role
    scope: str
    expires_at: int


def issue_access_token(
    *, key: bytes, issuer: str, client_id: str, role: Role, now: int, ttl: int
) -> str:
    claims = {
        "iss": issuer,
        "sub": client_id,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
        "client_id": client_id,
        "role": role,
        "scope": SCOPES[role],
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE})


def decode_access_token(token: str, *, key: bytes, issuer: str, now: int) -> AccessClaims:
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidAccessToken("token too long")
    if COMPACT_JWS.fullmatch(token) is None:  # the verified-token cache keys on the text
        raise InvalidAccessToken("not a compact JWS")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("typ") != TOKEN_TYPE or header.get("alg") != ALGORITHM or "crit" in header:
            raise InvalidAccessToken("not an access token")
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer,
            leeway=0,
            options={"require": REQUIRED_CLAIMS, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken("invalid token") from exc
    if not all(_is_integer(claims[name]) for name in TIME_CLAIMS):
        raise InvalidAccessToken("invalid token")
    role = claims["role"]
    if claims["exp"] <= now or role not in ROLES or not isinstance(claims["sub"], str):
        raise InvalidAccessToken("invalid token")
    if claims["client_id"] != claims["sub"] or claims["scope"] != SCOPES[role]:
        raise InvalidAccessToken("invalid token")
    return AccessClaims(
        client_id=claims["sub"], role=role, scope=claims["scope"], expires_at=claims["exp"]
    )


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
