"""Partners, ports, API clients, OAuth tokens and the audit log on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from greenlane.wire.common import Alpha3, Name, PortCode, Request

Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$", max_length=254)]
PortKind = Literal["passenger", "vehicle", "cargo"]
Role = Literal["admin", "partner", "lane"]
LaneCode = Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9_-]{1,32}$")]


class Recorded(msgspec.Struct, kw_only=True):
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class PartnerCreate(Request):
    name: Name
    country: Alpha3
    contact_email: Email


class Partner(Recorded, kw_only=True):
    id: uuid.UUID
    name: str
    country: str
    contact_email: str


class PortCreate(Request):
    code: PortCode
    name: Name
    country: Alpha3
    kinds: Annotated[list[PortKind], msgspec.Meta(min_length=1, max_length=3)]


class Port(Recorded, kw_only=True):
    code: str
    name: str
    country: str
    kinds: list[PortKind]


class ClientCreate(Request):
    role: Role
    name: Name
    partner_id: uuid.UUID | None = None
    port_code: PortCode | None = None
    lane_code: LaneCode | None = None


class Client(Recorded, kw_only=True):
    client_id: uuid.UUID
    role: Role
    name: str
    partner_id: uuid.UUID | None = None
    port_code: str | None = None
    lane_code: str | None = None
    disabled: bool


class ClientCreated(Client, kw_only=True):
    """The only answer that ever shows the secret: keep it, it cannot be shown again."""

    client_secret: str


class AccessToken(msgspec.Struct):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class OAuthError(msgspec.Struct, omit_defaults=True):
    """RFC 6749 §5.2 error body."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type"]
    error_description: str | None = None


class AuditEntry(msgspec.Struct):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]


class AuditVerification(msgspec.Struct, omit_defaults=True):
    ok: bool
    entries: int
    first_bad: int | None = None


class Me(msgspec.Struct, omit_defaults=True):
    client_id: uuid.UUID
    role: Role
    scope: str
    partner_id: uuid.UUID | None = None
    port_code: str | None = None
    lane_code: str | None = None
