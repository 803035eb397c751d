"""Federation on the wire: peer agencies, agreements, crossing receipts, peers for lanes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from greenlane.wire.common import Alpha3, PortCode, Request
from greenlane.wire.identity import Recorded
from greenlane.wire.registration import Category

# An issuer is a URL of at most 24 characters (it is in every clearance token, twice).
Issuer = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=24)]
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/?#]+[^\s#]*$", max_length=500)]
# RFC 7638 SHA-256 thumbprint: 32 bytes, unpadded base64url.
Thumbprint = Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9_-]{43}$")]
TrustListStatus = Literal["pending", "ok", "stale", "refused"]


class AgencyCreate(Request):
    country: Alpha3
    issuer: Issuer
    trust_list_url: Url
    anchor_thumbprint: Thumbprint


class AgreementSet(Request):
    ports: Annotated[list[PortCode], msgspec.Meta(min_length=1, max_length=200)]
    categories: Annotated[list[Category], msgspec.Meta(min_length=1, max_length=20)]
    valid_from: date
    valid_until: date


class Agreement(msgspec.Struct):
    ports: list[str]
    categories: list[str]
    valid_from: date
    valid_until: date


class PeerTrustList(msgspec.Struct, omit_defaults=True):
    """How this agency's copy of the peer's trust list stands.

    ``ok``: verified and not expired; ``stale``: the last good one has expired; ``refused``:
    the last fetch was refused or failed (``refused`` says why) while a good one is still in
    use; ``pending``: none was ever fetched.
    """

    status: TrustListStatus
    attempted_at: datetime | None = None
    fetched_at: datetime | None = None
    expires_at: datetime | None = None
    refused: str | None = None
    keys: int | None = None
    signed_by: str | None = None  # the thumbprint of the anchor that signed the list in use


class Agency(Recorded, kw_only=True, omit_defaults=True):
    id: uuid.UUID
    country: str
    issuer: str
    trust_list_url: str
    anchor_thumbprint: str
    trust_list: PeerTrustList
    agreement: Agreement | None = None


class ReceiptSubmit(Request):
    """``POST /v1/federation/crossings``: a peer's signed crossing receipt (compact JWS)."""

    receipt: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class ReceiptAccepted(msgspec.Struct):
    id: uuid.UUID
    clearance_id: uuid.UUID
    replayed: bool


class LanePeer(msgspec.Struct):
    """A trusted peer as a lane needs it offline: its signed trust list, the anchors this
    agency trusts for it, and the agreement."""

    issuer: str
    country: str
    trust_list: str
    anchors: list[str]
    agreement: Agreement
    # The peer's status lists as this agency last took them: each verifies with the keys of
    # the trust list, so the lane checks them itself.
    status_lists: list[str] = msgspec.field(default_factory=list)


class LanePeers(msgspec.Struct):
    items: list[LanePeer]


class AnchorRotation(msgspec.Struct):
    active: str
    next: str
