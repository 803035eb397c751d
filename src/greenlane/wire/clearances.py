"""Clearances, revocations and signing keys on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from greenlane.wire.common import Request


class Crossing(msgspec.Struct, omit_defaults=True):
    id: uuid.UUID
    direction: Literal["entry", "exit"]
    port_code: str
    lane_code: str
    crossed_at: datetime
    mode: Literal["online", "degraded"]
    # A crossing at a peer agency's port (the country of that agency), from its signed receipt.
    agency: str | None = None


class Clearance(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: uuid.UUID
    application_id: uuid.UUID
    status: Literal["active", "revoked", "expired"]
    token: str
    not_before: datetime
    expires_at: datetime
    ports: list[str]
    entries: Literal["single", "multiple"]
    crossings: list[Crossing]
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    renews: uuid.UUID | None = None  # the clearance this one's application renewed
    # Suspended: lanes deny it (token_suspended) until an admin reinstates it. The status stays
    # one of the contract's three: a suspension is a hold on an active clearance.
    suspended_at: datetime | None = None
    suspension_reason: str | None = None


class RevokeRequest(Request):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class SuspendRequest(Request):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class Revocation(msgspec.Struct, omit_defaults=True):
    jti: str
    revoked_at: datetime
    # The token's own expiry: past it (and the verifiers' leeway) the entry can be forgotten.
    expires_at: datetime
    # A clearance's id (absent for a trip token's revocation): trip tokens name their members'
    # clearances by id, so an offline lane needs it to deny a revoked member.
    clearance_id: uuid.UUID | None = None


class RevocationPage(msgspec.Struct):
    items: list[Revocation]
    next_cursor: str | None


class SigningKey(msgspec.Struct, omit_defaults=True):
    kid: str
    state: Literal["next", "active", "retiring", "retired"]
    created_at: datetime
    activated_at: datetime | None = None
    retiring_at: datetime | None = None
    retire_after: datetime | None = None
    retired_at: datetime | None = None


class PublicJwk(msgspec.Struct):
    """One clearance verification key as the JWKS publishes it (RFC 7517, EC P-256)."""

    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str
    y: str
    kid: str
    alg: Literal["ES256"]
    use: Literal["sig"]


class JwkSet(msgspec.Struct):
    """Documents ``/.well-known/jwks.json``, which is served from bytes the key ring encodes."""

    keys: list[PublicJwk]


class Rotation(msgspec.Struct):
    active: str
    next: str
