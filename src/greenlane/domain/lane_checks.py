"""What a lane decides about a clearance token: the checks the server and an offline lane share.

Cheapest first: the token (size, header, signature, window, issuer and audience, and that its
``status`` points into a list the lane holds, at an index inside it), then the port, the
token's status (revoked, suspended) and the revocation list, the document and vehicle bindings
and the watchlist. Only the token checks stop early (nothing in a token that failed them can be
trusted); after them every applicable reason is collected, so an officer sees all that is wrong
at once. Single-entry use is checked where the crossings are known: by the database on the
server, by the lane's own record offline.

A lane may present a document twice, typed and as the scanned machine-readable zone. Every
source presented must vouch for the clearance: none wins over another, or the booked number
typed in would let any passport on the reader through. So the sources must name one document,
that document must be the token's binding, and the zone's nationality must be the token's; a
source that cannot be read leaves the document unconfirmed.

Another agency's clearance (federation, ``domain/federation.py``) is recognised by a key that is
not ours; only then is its ``iss`` read, so this agency's own tokens pay nothing for it. An
issuer that is no trusted peer, or whose agreement is not in force, is denied
``issuer_untrusted``. A peer's token is verified with the keys of its last good trust list and
its revocations, and must also be for a port and a category the agreement names; past the expiry
of the peer's lists every answer is referred ``issuer_data_stale``. The rest (bindings,
watchlist) is the same for every issuer. A peer's trip token is recognised and judged by the same
functions (:func:`peer_of`, :func:`agreement_codes`; ``trip_checks``).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal, NamedTuple

from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.domain.clearance_token import (
    CLOCK_LEEWAY,
    ClearanceClaims,
    TokenFailure,
    VerifiedToken,
    binding_matches,
    plate_matches,
    valid_at,
    verify_token,
)
from greenlane.domain.countries import normalise_state_code
from greenlane.domain.documents import (
    DocumentFieldError,
    canonical_document_number,
    canonical_plate,
)
from greenlane.domain.federation import PeerTrust, claimed_issuer
from greenlane.domain.mrz import MrzError, parse_mrz
from greenlane.domain.status_list import SUSPENDED, VALID, StatusListReference

Decision = Literal["green", "refer", "deny"]

REASONS: Mapping[str, tuple[Decision, str]] = {
    "token_malformed": ("deny", "The token is not a readable clearance."),
    "signature_invalid": ("deny", "The token's signature does not verify."),
    "key_unknown": ("deny", "The token was signed by a key that is not trusted."),
    "issuer_untrusted": ("deny", "The clearance's issuer is not an agency trusted here."),
    "token_expired": ("deny", "The clearance has expired."),
    "token_not_yet_valid": ("deny", "The clearance is not valid yet."),
    "token_revoked": ("deny", "The clearance has been revoked."),
    "token_suspended": ("deny", "The clearance is suspended."),
    "wrong_port": ("deny", "The clearance is not valid at this port."),
    "category_not_agreed": ("deny", "The agreement with the issuer does not cover this category."),
    "wrong_direction": ("deny", "The trip was filed for the other direction."),
    "document_mismatch": ("deny", "The document is not the one the clearance was issued for."),
    "vehicle_mismatch": ("deny", "The vehicle is not the one the clearance was issued for."),
    "already_used": ("deny", "This single-entry clearance was already used in this direction."),
    "document_not_presented": ("refer", "Scan the traveller's travel document."),
    "plate_not_presented": ("refer", "Read the vehicle's registration plate."),
    "watchlist_hit": ("refer", "Refer the traveller to an officer."),
    "occupant_not_listed": ("refer", "A document scanned in the vehicle is not on the trip."),
    "occupant_missing": ("refer", "A person on the trip was not scanned."),
    "single_entry_unconfirmed": (
        "refer",
        "Single entry cannot be confirmed while the central record is unreachable.",
    ),
    "issuer_data_stale": ("refer", "The issuing agency's keys or status lists are out of date."),
    "lane_data_stale": ("refer", "The lane's keys or revocation list are out of date."),
    # Added by the central record (a reviewer's flag), never by a lane's own checks.
    "second_line_check": ("refer", "Send the traveller to a second-line check."),
}


_ORDER = {code: position for position, code in enumerate(REASONS)}

# Why a crossing's observed time is refused; the server answers it as a 422 on observed_at.
OUTSIDE_VALIDITY = (
    f"must fall within the clearance's validity (nbf to exp, give or take {CLOCK_LEEWAY} s)"
)


def ordered(codes: Iterable[str]) -> tuple[str, ...]:
    """Codes in one fixed order (the order of REASONS), wherever they were found."""
    return tuple(sorted(codes, key=_ORDER.__getitem__))


def decision_of(codes: tuple[str, ...]) -> Decision:
    effects = {REASONS[code][0] for code in codes}
    if "deny" in effects:
        return "deny"
    return "refer" if effects else "green"


Document = tuple[str, str]  # canonical (issuing state, number)


@dataclass(frozen=True, slots=True)
class Presented:
    """What the lane read: a document typed, its MRZ scanned, and a plate, each optional."""

    document_number: str | None = None
    issuing_state: str | None = None
    mrz: str | None = None
    plate: str | None = None


@dataclass(frozen=True, slots=True)
class LaneCheck:
    decision: Decision
    codes: tuple[str, ...]
    claims: ClearanceClaims | None
    documents: tuple[Document, ...]  # every distinct document actually presented, typed first
    plate: str | None  # canonical plate actually presented
    issuer: str | None = None  # a peer agency's issuer; None for this agency's own clearances


# A token's status from the status lists the lane holds: the draft's value (0 valid, 1 revoked,
# 2 suspended), or the code that stands when no statement can be made: "token_malformed" (not a
# list of this issuer, or an index outside it: the draft says reject the token) or
# "lane_data_stale" (an offline lane without a current copy of the list).
StatusOf = Callable[[StatusListReference], int | str]


def status_code(status: int | str) -> str | None:
    """The reason a status from the lists gives, None for VALID: ``token_suspended``,
    ``token_revoked`` (also for a value greenlane never writes: no green on it), or the code
    standing for no statement (``token_malformed``, ``lane_data_stale``) as it is."""
    if isinstance(status, str):
        return status
    if status == VALID:
        return None
    return "token_suspended" if status == SUSPENDED else "token_revoked"


# (documents presented, plate, the token's vehicle country) -> whether any is on the watchlist
Watchlisted = Callable[[Sequence[Document], str | None, str | None], bool]


class Read(NamedTuple):
    """The document sources a lane presented, as far as they could be read."""

    documents: tuple[Document, ...]  # distinct, typed first
    nationality: str | None  # as the scanned zone prints it
    unreadable: bool  # a source was presented that could not be read


def read_documents(presented: Presented, today: date) -> Read:
    documents: list[Document] = []
    nationality: str | None = None
    unreadable = False
    if presented.document_number is not None and presented.issuing_state is not None:
        try:
            number = canonical_document_number(presented.document_number)
        except DocumentFieldError:
            unreadable = True
        else:
            documents.append((normalise_state_code(presented.issuing_state), number))
    if presented.mrz is not None:
        try:
            zone = parse_mrz(presented.mrz, today=today)
            scanned = (zone.issuing_state, canonical_document_number(zone.document_number))
        except (DocumentFieldError, MrzError):
            unreadable = True
        else:
            nationality = zone.nationality
            if scanned not in documents:
                documents.append(scanned)
    return Read(tuple(documents), nationality, unreadable)


def _vouches(verified: VerifiedToken, read: Read) -> bool:
    """Whether the sources name one document, the token's, held by the token's national."""
    if len(read.documents) != 1:
        return False
    if read.nationality is not None and read.nationality != verified.claims.nationality:
        return False
    state, number = read.documents[0]
    return binding_matches(verified, issuing_state=state, number=number)


def read_plate(presented: Presented) -> str | None:
    if presented.plate is None:
        return None
    try:
        return canonical_plate(presented.plate)
    except DocumentFieldError:
        return None


def check(
    token: str,
    *,
    lane_port: str,
    presented: Presented,
    keys: Mapping[str, ec.EllipticCurvePublicKey],
    issuer: str,
    audience: str,
    revoked: Container[str],
    status_of: StatusOf,
    now: int,
    today: date,
    watchlisted: Watchlisted | None = None,
    peers: Mapping[str, PeerTrust] | None = None,
) -> LaneCheck:
    verified = verify_token(token, keys=keys, issuer=issuer, audience=audience, now=now)
    if isinstance(verified, TokenFailure):
        # A peer's token names a key that is not ours: only then is its issuer looked at, so
        # this agency's own tokens cost nothing more for federation.
        if verified.code == "key_unknown" and peers is not None:
            return _check_peer(
                token,
                lane_port=lane_port,
                presented=presented,
                issuer=issuer,
                audience=audience,
                now=now,
                today=today,
                watchlisted=watchlisted,
                peers=peers,
            )
        return LaneCheck("deny", (verified.code,), None, (), None)
    return _decide(verified, set(), lane_port, presented, revoked, status_of, today, watchlisted)


def _check_peer(
    token: str,
    *,
    lane_port: str,
    presented: Presented,
    issuer: str,
    audience: str,
    now: int,
    today: date,
    watchlisted: Watchlisted | None,
    peers: Mapping[str, PeerTrust],
) -> LaneCheck:
    """A token from another agency: its keys, its status lists, and what we agreed with it."""
    peer = peer_of(token, issuer=issuer, peers=peers, now=now)
    if isinstance(peer, str):
        return LaneCheck("deny", (peer,), None, (), None)
    verified = verify_token(token, keys=peer.keys, issuer=peer.issuer, audience=audience, now=now)
    if isinstance(verified, TokenFailure):
        return LaneCheck("deny", (verified.code,), None, (), None, peer.issuer)
    codes = agreement_codes(peer, lane_port=lane_port, now=now)
    if verified.claims.category not in peer.categories:
        codes.add("category_not_agreed")
    result = _decide(verified, codes, lane_port, presented, (), peer.status_of, today, watchlisted)
    return replace(result, issuer=peer.issuer)


def peer_of(
    token: str, *, issuer: str, peers: Mapping[str, PeerTrust], now: int
) -> PeerTrust | str:
    """The peer agency a token signed by a key that is not ours claims to come from, if it is
    trusted here now; else the code to deny it with: ``key_unknown`` for a token claiming no
    issuer or this agency (a key of ours we do not hold), ``issuer_untrusted`` for an issuer
    that is no peer, or whose agreement is not in force. A clearance's and a trip's alike."""
    claimed = claimed_issuer(token)
    if claimed is None or claimed == issuer:
        return "key_unknown"
    peer = peers.get(claimed)
    if peer is None or not peer.agreed_from <= now < peer.agreed_until:
        return "issuer_untrusted"
    return peer


def agreement_codes(peer: PeerTrust, *, lane_port: str, now: int) -> set[str]:
    """What the agreement and the peer's data say of any of its tokens at this lane, whatever
    the token claims: ``wrong_port`` for a port the agreement leaves out, and
    ``issuer_data_stale`` past the expiry of the peer's lists (its status lists are asked
    entry by entry). Each person's category is the caller's to check against
    ``peer.categories``."""
    codes: set[str] = set()
    if lane_port not in peer.ports:
        codes.add("wrong_port")
    if now >= peer.data_expires_at:
        codes.add("issuer_data_stale")
    return codes


def _decide(
    verified: VerifiedToken,
    codes: set[str],
    lane_port: str,
    presented: Presented,
    revoked: Container[str],
    status_of: StatusOf,
    today: date,
    watchlisted: Watchlisted | None,
) -> LaneCheck:
    """Every check after the token's own, for this agency's tokens and a peer's alike."""
    claims = verified.claims
    status = status_of(claims.status)
    if status == "token_malformed":
        return LaneCheck("deny", ("token_malformed",), None, (), None)
    if lane_port not in claims.ports:
        codes.add("wrong_port")
    code = status_code(status)
    if code is not None:
        codes.add(code)
    if claims.token_id in revoked:
        codes.add("token_revoked")
    read = read_documents(presented, today)
    if read.unreadable or not read.documents:
        codes.add("document_not_presented")
    if read.documents and not _vouches(verified, read):
        codes.add("document_mismatch")
    plate = read_plate(presented)
    if claims.vehicle_binding is not None:
        if plate is None:
            codes.add("plate_not_presented")
        elif not plate_matches(verified, plate=plate):
            codes.add("vehicle_mismatch")
    if watchlisted is not None and watchlisted(read.documents, plate, claims.vehicle_country):
        codes.add("watchlist_hit")
    found = ordered(codes)
    return LaneCheck(decision_of(found), found, claims, read.documents, plate)


def observed_in_validity(result: LaneCheck, observed_at: int) -> bool:
    """Whether a crossing the lane says it saw at ``observed_at`` (Unix seconds) falls within
    the clearance's validity, so that no crossing is recorded for a time the clearance did not
    cover. A token that failed its checks has no validity to fall in: its deny says enough."""
    return result.claims is None or valid_at(result.claims, observed_at)
