"""What two agencies sign for each other: trust lists and crossing receipts, and a peer's trust.

Both documents are compact JWS signed with the agency's trust-anchor key (ES256). The header
carries the anchor's public key (``jwk``) and its full RFC 7638 thumbprint (``kid``); a reader
uses that key only if its thumbprint is one it already trusts for that agency: the one an
administrator pinned, exchanged out of band, or one the agency's last good trust list named as
its next anchor. So nothing in a document chooses its own key, and an anchor rotation reaches
peers through a list the old anchor signed.

- **Trust list** (``typ`` ``gl-trust-list+jwt``): issuer, country, the anchors (active and
  next), the clearance signing keys with their states and validity, the status-list URIs, and a
  short ``exp``. A peer refuses it when it is oversized, not a compact JWS, of another ``typ``,
  signed by an anchor it does not trust, badly signed, for another issuer, or expired.
- **Crossing receipt** (``typ`` ``gl-crossing-receipt+jwt``): that a clearance of the audience
  crossed at the issuer's port: clearance id, port, lane, direction, time, decision, mode. No
  personal data: the issuing agency already knows whose clearance it is.

:class:`PeerTrust` is what a lane needs of one peer to decide its clearances and trips
(``lane_checks.check``, ``trip_checks.check_trip``): its keys, its status lists, the agreement
and when its data goes stale.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import jwt
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.domain.clearance_token import ALGORITHM, public_keys
from greenlane.domain.crypto import COMPACT_JWS
from greenlane.domain.jws import TokenFailure
from greenlane.domain.signing_keys import jwk_thumbprint, public_jwk, thumbprint_of_members
from greenlane.domain.status_list import (
    StatusListReference,
    VerifiedStatusList,
    verify_status_list,
)

TRUST_LIST_TYPE = "gl-trust-list+jwt"
RECEIPT_TYPE = "gl-crossing-receipt+jwt"
# A trust list names a handful of keys and status lists: a few kilobytes. Anything far larger
# is refused before it is parsed.
MAX_TRUST_LIST_BYTES = 64 * 1024
MAX_RECEIPT_CHARS = 4096
# Seconds another agency's clock may be off when a list's expiry is checked.
CLOCK_LEEWAY = 30

Refusal = Literal[
    "oversized", "malformed", "wrong_type", "anchor_untrusted", "signature_invalid", "expired"
]


class DocumentRefused(ValueError):
    """A trust list or receipt that must not be used; ``reason`` is one of :data:`Refusal`."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason: Refusal = reason
        self.message = message


class AnchorJwk(msgspec.Struct, forbid_unknown_fields=False):
    """The members RFC 7638 hashes for a P-256 key."""

    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str
    y: str


class ListedKey(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A clearance signing key in a trust list: its JWK, state, and until when it verifies."""

    kty: str
    crv: str
    x: str
    y: str
    kid: str
    alg: str = ALGORITHM
    use: str = "sig"
    state: Literal["next", "active", "retiring"]
    valid_until: int | None = None  # a retiring key's last token expires then


class TrustList(msgspec.Struct, kw_only=True, omit_defaults=True):
    iss: str
    country: str
    iat: int
    exp: int
    anchors: list[str]  # thumbprints: the active anchor first, then the next one
    keys: list[ListedKey]
    status_lists: list[str] = msgspec.field(default_factory=list)


class Receipt(msgspec.Struct, kw_only=True):
    iss: str  # the agency whose lane saw the crossing
    aud: str  # the agency that issued the clearance
    iat: int
    jti: str  # the receipt's id (the crossing id at the reporting agency)
    sub: str  # the clearance id
    port: str
    lane: str
    dir: Literal["entry", "exit"]
    at: int  # when it crossed, Unix seconds
    decision: Literal["green", "refer", "deny"]
    mode: Literal["online", "degraded"]


_TRUST_LIST = msgspec.json.Decoder(TrustList)
_RECEIPT = msgspec.json.Decoder(Receipt)
_HEADER = msgspec.json.Decoder(dict[str, Any])


def anchor_header(public_key: ec.EllipticCurvePublicKey, media_type: str) -> dict[str, Any]:
    """The JWS header of a document the anchor signs: its public key and full thumbprint."""
    members = {name: public_jwk(public_key)[name] for name in ("crv", "kty", "x", "y")}
    return {"typ": media_type, "kid": thumbprint_of_members(members), "jwk": members}


def sign(document: msgspec.Struct, private_key: ec.EllipticCurvePrivateKey, media_type: str) -> str:
    """The document as a compact JWS under the anchor ``private_key``."""
    payload = msgspec.to_builtins(document)
    return jwt.encode(
        payload,
        private_key,
        algorithm=ALGORITHM,
        headers=anchor_header(private_key.public_key(), media_type),
    )


def open_signed(token: str, *, media_type: str, trusted: Collection[str]) -> tuple[str, bytes]:
    """(the signing anchor's thumbprint, the verified payload bytes), or :class:`DocumentRefused`.

    The algorithm is ES256 whatever the header says; the key is the header's ``jwk`` only if
    its thumbprint is in ``trusted``.
    """
    parts = COMPACT_JWS.fullmatch(token)
    if parts is None:
        raise DocumentRefused("malformed", "not a compact JWS")
    try:
        header = _HEADER.decode(_b64decode(parts.group(1)))
    except (msgspec.DecodeError, ValueError):
        raise DocumentRefused("malformed", "the header is not a JSON object") from None
    if header.get("alg") != ALGORITHM or "crit" in header:
        raise DocumentRefused("malformed", f"the algorithm must be {ALGORITHM}, without crit")
    if header.get("typ") != media_type:
        raise DocumentRefused("wrong_type", f"the type must be {media_type}")
    try:
        members = msgspec.convert(header.get("jwk"), AnchorJwk)
    except msgspec.ValidationError:
        raise DocumentRefused("malformed", "the header carries no P-256 anchor key") from None
    thumbprint = thumbprint_of_members(
        {"crv": members.crv, "kty": members.kty, "x": members.x, "y": members.y}
    )
    if thumbprint not in trusted:
        raise DocumentRefused("anchor_untrusted", "signed by an anchor that is not trusted")
    keys = public_keys([{**msgspec.to_builtins(members), "kid": thumbprint}])
    key = keys.get(thumbprint)
    if key is None:
        raise DocumentRefused("malformed", "the anchor key is not a P-256 point")
    try:
        jwt.api_jws.PyJWS().decode_complete(token, key, algorithms=[ALGORITHM])
    except (jwt.InvalidSignatureError, InvalidSignature):
        raise DocumentRefused("signature_invalid", "the signature does not verify") from None
    except jwt.PyJWTError:
        raise DocumentRefused("malformed", "not a readable JWS") from None
    return thumbprint, _b64decode(parts.group(2))


def read_trust_list(
    token: str, *, issuer: str, trusted: Collection[str], now: int | None
) -> TrustList:
    """A peer's trust list, verified; :class:`DocumentRefused` says why it is not usable.

    ``now`` None skips the expiry: a lane that holds a list it verified before keeps using it,
    and refers the peer's clearances as stale past its ``exp``.
    """
    if len(token) > MAX_TRUST_LIST_BYTES:
        raise DocumentRefused("oversized", f"longer than {MAX_TRUST_LIST_BYTES} bytes")
    _thumbprint, payload = open_signed(token, media_type=TRUST_LIST_TYPE, trusted=trusted)
    try:
        listed = _TRUST_LIST.decode(payload)
    except msgspec.DecodeError:
        raise DocumentRefused("malformed", "the claims are missing or mistyped") from None
    if listed.iss != issuer:
        raise DocumentRefused("malformed", "the list is another agency's")
    if now is not None and listed.exp <= now - CLOCK_LEEWAY:
        raise DocumentRefused("expired", "the list has expired")
    return listed


def read_receipt(token: str, *, audience: str, trusted: Mapping[str, Collection[str]]) -> Receipt:
    """A peer's crossing receipt for this agency, verified with that peer's trusted anchors.

    ``trusted`` maps each peer's issuer to its anchors' thumbprints; a receipt from any other
    issuer is ``anchor_untrusted``.
    """
    if len(token) > MAX_RECEIPT_CHARS:
        raise DocumentRefused("oversized", f"longer than {MAX_RECEIPT_CHARS} characters")
    claimed = claimed_issuer(token)
    anchors = trusted.get(claimed) if claimed is not None else None
    if anchors is None:
        raise DocumentRefused("anchor_untrusted", "the receipt is not from a trusted agency")
    _thumbprint, payload = open_signed(token, media_type=RECEIPT_TYPE, trusted=anchors)
    try:
        receipt = _RECEIPT.decode(payload)
    except msgspec.DecodeError:
        raise DocumentRefused("malformed", "the claims are missing or mistyped") from None
    if receipt.aud != audience or receipt.iss != claimed:
        raise DocumentRefused("malformed", "the receipt is not for this agency")
    return receipt


class _Issuer(msgspec.Struct):
    iss: str


class _Subject(msgspec.Struct):
    sub: str


_ISSUER = msgspec.json.Decoder(_Issuer)
_SUBJECT = msgspec.json.Decoder(_Subject)


def claimed_subject(token: str) -> str | None:
    """The ``sub`` a token claims, unverified: a status list's URI, to know which list it is
    before it is verified as that list."""
    parts = COMPACT_JWS.fullmatch(token)
    if parts is None:
        return None
    try:
        return _SUBJECT.decode(_b64decode(parts.group(2))).sub
    except (msgspec.DecodeError, ValueError):
        return None


def stored_trust_list(token: str) -> TrustList:
    """A trust list this agency verified when it fetched it, read back from its own store."""
    parts = COMPACT_JWS.fullmatch(token)
    assert parts is not None, "only verified lists are stored"
    return _TRUST_LIST.decode(_b64decode(parts.group(2)))


def signing_anchor(token: str) -> str:
    """The thumbprint of the anchor that signed a list this agency verified and stored."""
    parts = COMPACT_JWS.fullmatch(token)
    assert parts is not None, "only verified lists are stored"
    kid: str = _HEADER.decode(_b64decode(parts.group(1)))["kid"]
    return kid


def claimed_issuer(token: str) -> str | None:
    """The ``iss`` a token claims, read without verifying it: only to choose whose keys to
    verify it with."""
    parts = COMPACT_JWS.fullmatch(token)
    if parts is None:
        return None
    try:
        return _ISSUER.decode(_b64decode(parts.group(2))).iss
    except (msgspec.DecodeError, ValueError):
        return None


def trust_list_keys(listed: TrustList, now: int) -> dict[str, ec.EllipticCurvePublicKey]:
    """The clearance keys a list vouches for now: a retiring key past its validity is left out."""
    live = [
        msgspec.to_builtins(key)
        for key in listed.keys
        if key.valid_until is None or key.valid_until + CLOCK_LEEWAY > now
    ]
    return public_keys(live)


def anchor_thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    return jwk_thumbprint(public_key)


# A peer's clearance's status, as the lane check asks it (see ``lane_checks.StatusOf``).
StatusOf = Callable[[StatusListReference], int | str]


def peer_trust(
    listed: TrustList,
    *,
    country: str,
    ports: Collection[str],
    categories: Collection[str],
    valid_from: date,
    valid_until: date,
    now: int,
    status_of: StatusOf,
) -> PeerTrust:
    """What the lane check needs of one peer: its list, and our agreement with it (in force
    from 00:00 UTC of ``valid_from`` to 24:00 UTC of ``valid_until``)."""
    return PeerTrust(
        issuer=listed.iss,
        country=country,
        keys=trust_list_keys(listed, now),
        status_of=status_of,
        ports=frozenset(ports),
        categories=frozenset(categories),
        agreed_from=_midnight(valid_from),
        agreed_until=_midnight(valid_until + timedelta(days=1)),
        data_expires_at=listed.exp,
    )


def peer_lists(
    listed: TrustList, tokens: Mapping[str, str], now: int
) -> dict[str, VerifiedStatusList]:
    """The peer's status lists that verify with the keys of its trust list, by URI; only the
    URIs the trust list names are read."""
    keys = trust_list_keys(listed, now)
    held: dict[str, VerifiedStatusList] = {}
    for uri in listed.status_lists:
        token = tokens.get(uri)
        if token is None:
            continue
        # An expired list is left out: the peer's clearances on it are then referred stale.
        verified = verify_status_list(token, keys=keys, uri=uri, now=now, leeway=CLOCK_LEEWAY)
        if not isinstance(verified, TokenFailure):
            held[uri] = verified
    return held


def peer_status(
    declared: Collection[str],
    lists: Mapping[str, VerifiedStatusList],
    reference: StatusListReference,
    now: int,
) -> int | str:
    """A peer's clearance's status: ``token_malformed`` for a list its trust list does not name
    or an index outside the list (no statement can be made: the draft says reject), and
    ``issuer_data_stale`` while this agency holds no current copy of the list."""
    if reference.uri not in declared:
        return "token_malformed"
    held = lists.get(reference.uri)
    if held is None or (held.expires_at is not None and held.expires_at <= now):
        return "issuer_data_stale"
    try:
        return held.statuses.get(reference.idx)
    except IndexError:
        return "token_malformed"


def _midnight(day: date) -> int:
    return int(datetime.combine(day, time.min, UTC).timestamp())


@dataclass(frozen=True, slots=True)
class PeerTrust:
    """What a lane decides a peer's clearance with: all of it from the peer's last good lists
    and this agency's agreement with it. Times are Unix seconds."""

    issuer: str
    country: str
    keys: Mapping[str, ec.EllipticCurvePublicKey]
    status_of: StatusOf  # from the peer's status lists this agency holds
    ports: frozenset[str]
    categories: frozenset[str]
    agreed_from: int
    agreed_until: int
    data_expires_at: int  # the earliest expiry of its trust list and status lists


def _b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
