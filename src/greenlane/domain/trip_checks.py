"""What a lane decides about a trip: the vehicle's token, its plate and everyone in it.

The server's ``POST /v1/verify/trip`` and the offline lane both decide with :func:`check_trip`,
built from the single verify's parts (``lane_checks``): the same document and plate reading,
the same watchlist question, the same reason codes, the same way of turning codes into a
decision. In order:

1. The documents scanned in the vehicle are read (typed or machine-readable zone, in any order).
   The same document twice is a malformed question (:class:`DocumentScannedTwice`), not an
   answer: the lane scanned someone twice and must say who was really there.
2. The token: one signature for the whole vehicle, and status entries (the trip token's own and
   each member's clearance's) that point into a list the lane holds, at an index inside it; a
   failing token stops here (``deny``, and nothing in it is trusted, so no member is named).
3. The trip's own checks: the lane's port and direction, the trip token's status and
   revocation, the plate (its binding, and the vehicle watchlist), and every scanned document
   that is nobody's on the manifest (``occupant_not_listed``) or could not be read
   (``document_not_presented``).
4. Each member, as a single verify checks a clearance: their clearance's status (revoked,
   suspended) and revocation, their document's binding (found among the scans by it, or
   ``occupant_missing``), the watchlist. Single entry is checked where crossings are known (the
   database, or the lane's own record).

The trip is green only when the trip's checks and every member are.

Another agency's trip token (federation) is recognised as a peer's clearance is, by a key that
is not ours, and judged with the single verify's peer functions (``lane_checks.peer_of`` and
``agreement_codes``): verified with the peer's keys, each status read from the peer's lists, the
lane's port in the agreement as well as in the token, each member's category in the agreement
(``category_not_agreed`` denies that member), and ``issuer_data_stale`` past the expiry of the
peer's lists. The watchlist asked is this agency's, as for every trip.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.domain.clearance_token import TokenFailure
from greenlane.domain.federation import PeerTrust
from greenlane.domain.lane_checks import (
    Decision,
    Document,
    Presented,
    StatusOf,
    Watchlisted,
    agreement_codes,
    decision_of,
    ordered,
    peer_of,
    read_documents,
    read_plate,
    status_code,
)
from greenlane.domain.trip_token import (
    Direction,
    Role,
    TripClaims,
    TripMember,
    binds_plate,
    member_binding,
    verify_trip_token,
)


class DocumentScannedTwice(ValueError):
    """``documents[index]`` is a document already scanned earlier in the same question."""

    def __init__(self, index: int) -> None:
        super().__init__(f"documents[{index}] was already scanned")
        self.index = index


@dataclass(frozen=True, slots=True)
class MemberCheck:
    role: Role
    clearance_id: str
    single_entry: bool
    decision: Decision
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TripCheck:
    decision: Decision  # the whole trip's: its own codes and every member's
    codes: tuple[str, ...]  # the trip's own
    claims: TripClaims | None
    members: tuple[MemberCheck, ...]  # in the manifest's order
    plate: str | None
    issuer: str | None = None  # a peer agency's issuer; None for this agency's own trips

    @property
    def all_codes(self) -> tuple[str, ...]:
        """Every distinct code of the trip and its members, in the one fixed order."""
        return ordered({*self.codes, *(code for m in self.members for code in m.codes)})


def check_trip(
    token: str,
    *,
    lane_port: str,
    direction: Direction,
    plate: str | None,
    documents: Sequence[Presented],
    keys: Mapping[str, ec.EllipticCurvePublicKey],
    issuer: str,
    audience: str,
    revoked: Container[str],
    status_of: StatusOf,
    now: int,
    today: date,
    watchlisted: Watchlisted | None = None,
    peers: Mapping[str, PeerTrust] | None = None,
) -> TripCheck:
    scanned = _scanned(documents, today)
    verified = verify_trip_token(token, keys=keys, issuer=issuer, audience=audience, now=now)
    peer: PeerTrust | None = None
    # As for a clearance: only a key that is not ours makes the issuer worth looking at.
    if isinstance(verified, TokenFailure) and verified.code == "key_unknown" and peers is not None:
        trusted = peer_of(token, issuer=issuer, peers=peers, now=now)
        if isinstance(trusted, str):
            return TripCheck("deny", (trusted,), None, (), None)
        peer = trusted
        verified = verify_trip_token(
            token, keys=peer.keys, issuer=peer.issuer, audience=audience, now=now
        )
        # Every status is the peer's; our revocation feed names none of its tokens.
        status_of, revoked = peer.status_of, ()
    issued_by = peer.issuer if peer else None
    if isinstance(verified, TokenFailure):
        return TripCheck("deny", (verified.code,), None, (), None, issued_by)
    claims = verified.claims
    # Every entry is looked up before anything else is decided: one the lists cannot make a
    # statement about (not this issuer's list, an index outside it) makes the whole token
    # unreadable, as it does a clearance token.
    listed = status_code(status_of(claims.status))
    members_listed = [status_code(status_of(member.status)) for member in claims.members]
    if "token_malformed" in (listed, *members_listed):
        return TripCheck("deny", ("token_malformed",), None, (), None)
    codes = agreement_codes(peer, lane_port=lane_port, now=now) if peer else set()
    if lane_port != claims.port:
        codes.add("wrong_port")
    if direction != claims.direction:
        codes.add("wrong_direction")
    if listed is not None:
        codes.add(listed)
    if claims.token_id in revoked:
        codes.add("token_revoked")
    read = read_plate(Presented(plate=plate))
    if read is None:
        codes.add("plate_not_presented")
    elif not binds_plate(claims, read):
        codes.add("vehicle_mismatch")
    if watchlisted is not None and watchlisted((), read, claims.vehicle_country):
        codes.add("watchlist_hit")
    found: dict[int, Document] = {}
    # A member's binding does not depend on the member (all are salted with the trip's jti),
    # so each scan is hashed once and looked up, not compared with every member in turn.
    positions = {member.document_binding: i for i, member in enumerate(claims.members)}
    for document in scanned:
        if document is None:
            codes.add("document_not_presented")
            continue
        position = positions.get(member_binding(claims.token_id, *document))
        if position is None:
            codes.add("occupant_not_listed")
        else:
            found[position] = document
    agreed = peer.categories if peer else None
    members = tuple(
        _member(member, members_listed[position], found.get(position), revoked, watchlisted, agreed)
        for position, member in enumerate(claims.members)
    )
    trip_codes = ordered(codes)
    every = (*trip_codes, *(code for member in members for code in member.codes))
    return TripCheck(decision_of(every), trip_codes, claims, members, read, issued_by)


def _scanned(documents: Sequence[Presented], today: date) -> list[Document | None]:
    """Each scan's document, None for one that cannot be read; a repeat is refused."""
    scanned: list[Document | None] = []
    for index, presented in enumerate(documents):
        read = read_documents(presented, today)
        document = read.documents[0] if read.documents and not read.unreadable else None
        if document is not None and document in scanned:
            raise DocumentScannedTwice(index)
        scanned.append(document)
    return scanned


def _member(
    member: TripMember,
    listed: str | None,  # what the status lists say of the member's clearance
    document: Document | None,
    revoked: Container[str],
    watchlisted: Watchlisted | None,
    agreed: Container[str] | None,  # the categories a peer's agreement names; None for ours
) -> MemberCheck:
    codes: set[str] = set()
    if agreed is not None and member.category not in agreed:
        codes.add("category_not_agreed")
    if listed is not None:
        codes.add(listed)
    if member.clearance_id in revoked:
        codes.add("token_revoked")
    if document is None:
        codes.add("occupant_missing")
    elif watchlisted is not None and watchlisted((document,), None, None):
        codes.add("watchlist_hit")
    found = ordered(codes)
    return MemberCheck(
        role=member.role,
        clearance_id=member.clearance_id,
        single_entry=member.entries == "single",
        decision=decision_of(found),
        codes=found,
    )
