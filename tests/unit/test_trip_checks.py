"""The trip token and what a lane decides about a vehicle and the people in it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from greenlane.domain.clearance_token import (
    LANE_AUDIENCE,
    ClearanceClaims,
    TokenFailure,
    document_binding,
    issue_token,
    new_token_id,
)
from greenlane.domain.documents import canonical_plate
from greenlane.domain.lane_checks import Presented
from greenlane.domain.signing_keys import new_signing_key, thumbprint_kid
from greenlane.domain.status_list import StatusListReference, list_uri
from greenlane.domain.trip_checks import DocumentScannedTwice, TripCheck, check_trip
from greenlane.domain.trip_token import (
    Role,
    TripClaims,
    TripMember,
    issue_trip_token,
    member_binding,
    trip_vehicle_binding,
    verify_trip_token,
)
from greenlane.domain.verification import MemberRecord, VerificationRecord

from ..api import bodies

ISSUER = "https://greenlane.example"
PORT = "MYBKH"
NOW = 1_790_000_000
TODAY = date(2026, 9, 21)
KEY = new_signing_key()
KID = thumbprint_kid(KEY.public_key())
KEYS = {KID: KEY.public_key()}
PLATE = "WXY 1234"
PEOPLE = [bodies.driver(), bodies.driver(), bodies.traveller()]
ROLES: list[Role] = ["driver", "co_driver", "passenger"]
CLEARANCES = [str(uuid.uuid4()) for _ in PEOPLE]


def claims(*, single: bool = False, people: int = len(PEOPLE)) -> TripClaims:
    jti = new_token_id()
    return TripClaims(
        issuer=ISSUER,
        trip_id=str(uuid.uuid4()),
        audience=LANE_AUDIENCE,
        issued_at=NOW - 60,
        not_before=NOW - 3600,
        expires_at=NOW + 3600,
        token_id=jti,
        port=PORT,
        direction="entry",
        vehicle_binding=trip_vehicle_binding(jti, "MYS", canonical_plate(PLATE)),
        vehicle_country="MYS",
        members=tuple(
            TripMember(
                role=ROLES[i % len(ROLES)],
                entries="single" if single else "multiple",
                clearance_id=CLEARANCES[i % len(CLEARANCES)],
                document_binding=member_binding(
                    jti, "THA", PEOPLE[i % len(PEOPLE)]["document"]["number"]
                ),
            )
            for i in range(people)
        ),
    )


CLAIMS = claims()
TOKEN = issue_trip_token(CLAIMS, KEY, KID)


def typed(person: dict[str, object]) -> Presented:
    document = person["document"]
    assert isinstance(document, dict)
    return Presented(document_number=document["number"], issuing_state="THA")


def decide(
    documents: list[Presented],
    *,
    token: str = TOKEN,
    plate: str | None = PLATE,
    revoked: frozenset[str] = frozenset(),
    watchlisted: bool = False,
) -> TripCheck:
    return check_trip(
        token,
        lane_port=PORT,
        direction="entry",
        plate=plate,
        documents=documents,
        keys=KEYS,
        issuer=ISSUER,
        audience=LANE_AUDIENCE,
        revoked=revoked,
        now=NOW,
        today=TODAY,
        watchlisted=(lambda docs, plate, country: bool(docs)) if watchlisted else None,
    )


def test_the_token_round_trips_every_member() -> None:
    verified = verify_trip_token(TOKEN, keys=KEYS, issuer=ISSUER, audience=LANE_AUDIENCE, now=NOW)
    assert not isinstance(verified, TokenFailure)
    assert verified.claims == CLAIMS


def test_everyone_scanned_in_any_order_is_green() -> None:
    result = decide([typed(PEOPLE[2]), Presented(mrz=bodies.td3(PEOPLE[0])), typed(PEOPLE[1])])
    assert result.decision == "green"
    assert result.all_codes == ()
    assert [m.role for m in result.members] == ROLES


def test_someone_not_scanned_is_missing_and_a_stranger_is_not_listed() -> None:
    stranger = typed(bodies.traveller())
    result = decide([typed(PEOPLE[0]), stranger, typed(PEOPLE[2])])
    assert result.decision == "refer"
    assert result.codes == ("occupant_not_listed",)
    assert [m.codes for m in result.members] == [(), ("occupant_missing",), ()]


def test_a_revoked_member_is_denied_alone() -> None:
    result = decide([typed(p) for p in PEOPLE], revoked=frozenset({CLEARANCES[1]}))
    assert result.decision == "deny"
    assert [m.decision for m in result.members] == ["green", "deny", "green"]


def test_a_revoked_trip_token_denies_the_trip() -> None:
    result = decide([typed(p) for p in PEOPLE], revoked=frozenset({CLAIMS.token_id}))
    assert result.codes == ("token_revoked",)


def test_a_watchlisted_document_refers_its_member() -> None:
    result = decide([typed(p) for p in PEOPLE], watchlisted=True)
    assert result.decision == "refer"
    assert {m.codes for m in result.members} == {("watchlist_hit",)}


def test_the_plate_must_be_the_trips() -> None:
    assert decide([typed(p) for p in PEOPLE], plate="OTHER 1").codes == ("vehicle_mismatch",)
    assert decide([typed(p) for p in PEOPLE], plate="").codes == ("plate_not_presented",)


def test_an_unreadable_zone_is_a_document_not_presented() -> None:
    zone = bodies.td3(PEOPLE[0])
    broken = zone[:-1] + str((int(zone[-1]) + 1) % 10)
    result = decide([Presented(mrz=broken), typed(PEOPLE[1]), typed(PEOPLE[2])])
    assert result.codes == ("document_not_presented",)
    assert result.members[0].codes == ("occupant_missing",)


def test_a_document_scanned_twice_is_refused_with_its_position() -> None:
    with pytest.raises(DocumentScannedTwice) as raised:
        decide([typed(PEOPLE[0]), typed(PEOPLE[1]), Presented(mrz=bodies.td3(PEOPLE[0]))])
    assert raised.value.index == 2


def test_a_clearance_token_is_not_a_trip_token() -> None:
    jti = new_token_id()
    clearance = issue_token(
        ClearanceClaims(
            issuer=ISSUER,
            clearance_id=CLEARANCES[0],
            audience=LANE_AUDIENCE,
            issued_at=NOW,
            not_before=NOW - 60,
            expires_at=NOW + 60,
            token_id=jti,
            ports=(PORT,),
            entries="multiple",
            category="commercial_driver",
            nationality="THA",
            document_binding=document_binding(jti, "THA", PEOPLE[0]["document"]["number"]),
            status=StatusListReference(idx=3, uri=list_uri(ISSUER, 1)),
        ),
        KEY,
        KID,
    )
    result = decide([typed(PEOPLE[0])], token=clearance)
    assert (result.decision, result.codes, result.members) == ("deny", ("token_malformed",), ())


def test_a_trip_token_out_of_its_window_is_denied() -> None:
    late = issue_trip_token(replace(CLAIMS, expires_at=NOW - 3600), KEY, KID)
    assert decide([typed(p) for p in PEOPLE], token=late).codes == ("token_expired",)


def test_ten_people_fit_under_the_token_limit() -> None:
    ten = issue_trip_token(claims(people=10), KEY, KID)
    assert len(ten) < 1100  # docs/figures/trip_tokens.md has the measured lengths


def test_a_degraded_trip_record_leaves_single_entries_to_an_officer() -> None:
    record = VerificationRecord(
        lane_client=uuid.uuid4(),
        event_id=uuid.uuid4(),
        request_sha="00",
        port_code=PORT,
        lane_code="T1",
        direction="entry",
        decision="green",
        codes=(),
        single_entry=False,
        mode="online",
        latency_us=1,
        occurred_at=datetime.now(UTC),
        checked_at=datetime.now(UTC),
        crossing_id=uuid.uuid4(),
        trip_id=uuid.uuid4(),
        members=(
            MemberRecord(
                role="driver",
                clearance_id=uuid.uuid4(),
                decision="green",
                codes=(),
                single_entry=True,
                crossing_id=uuid.uuid4(),
            ),
        ),
    )
    degraded = record.degraded()
    assert degraded.mode == "degraded"
    assert degraded.decision == "refer"
    assert degraded.crossing_id is None
    assert degraded.members[0].codes == ("single_entry_unconfirmed",)
    assert degraded.members[0].crossing_id is None
