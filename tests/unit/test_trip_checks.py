"""The trip token and what a lane decides about a vehicle and the people in it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import jwt
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
from greenlane.domain.status_list import (
    INVALID,
    SUSPENDED,
    VALID,
    StatusListReference,
    list_uri,
)
from greenlane.domain.trip_checks import DocumentScannedTwice, TripCheck, check_trip
from greenlane.domain.trip_token import (
    MAX_TRIP_TOKEN_CHARS,
    MEDIA_TYPE,
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
# The trip token's own entry, and each member's clearance's (in another list, as happens when a
# list filled between the clearances and the trip).
TRIP_STATUS = StatusListReference(idx=7, uri=list_uri(ISSUER, 2))
MEMBER_STATUSES = [StatusListReference(idx=900 + i, uri=list_uri(ISSUER, 1)) for i in range(20)]


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
                category="business_visitor",
                clearance_id=CLEARANCES[i % len(CLEARANCES)],
                document_binding=member_binding(
                    jti, "THA", PEOPLE[i % len(PEOPLE)]["document"]["number"]
                ),
                status=MEMBER_STATUSES[i % len(MEMBER_STATUSES)],
            )
            for i in range(people)
        ),
        status=TRIP_STATUS,
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
    statuses: Mapping[StatusListReference, int | str] | None = None,
    watchlisted: bool = False,
) -> TripCheck:
    """The lane's decision, with every status VALID but those in ``statuses``."""
    held = statuses or {}
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
        status_of=lambda reference: held.get(reference, VALID),
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


def test_twenty_people_are_issued_and_verified() -> None:
    # The most GREENLANE_TRIP_MAX_PEOPLE allows; docs/figures/trip_tokens.md has the measured
    # lengths, with the longest issuer and status entries.
    twenty = claims(people=20)
    token = issue_trip_token(twenty, KEY, KID)
    verified = verify_trip_token(token, keys=KEYS, issuer=ISSUER, audience=LANE_AUDIENCE, now=NOW)
    assert not isinstance(verified, TokenFailure)
    assert verified.claims == twenty


def test_a_token_longer_than_a_lane_reads_is_not_issued() -> None:
    with pytest.raises(ValueError, match=str(MAX_TRIP_TOKEN_CHARS)):
        issue_trip_token(claims(people=60), KEY, KID)


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


# --- status lists ----------------------------------------------------------------------------


def test_a_revoked_or_suspended_trip_token_denies_the_trip() -> None:
    everyone = [typed(p) for p in PEOPLE]
    revoked = decide(everyone, statuses={TRIP_STATUS: INVALID})
    assert (revoked.decision, revoked.codes) == ("deny", ("token_revoked",))
    assert [m.codes for m in revoked.members] == [(), (), ()]
    suspended = decide(everyone, statuses={TRIP_STATUS: SUSPENDED})
    assert (suspended.decision, suspended.codes) == ("deny", ("token_suspended",))
    # Revoked in the list and in the feed of revoked ids: said once.
    both = decide(everyone, statuses={TRIP_STATUS: INVALID}, revoked=frozenset({CLAIMS.token_id}))
    assert both.codes == ("token_revoked",)
    # A value greenlane never writes: no green on it.
    assert decide(everyone, statuses={TRIP_STATUS: 3}).codes == ("token_revoked",)


def test_a_suspended_or_revoked_member_is_denied_alone_from_the_lists() -> None:
    result = decide(
        [typed(p) for p in PEOPLE],
        statuses={MEMBER_STATUSES[1]: SUSPENDED, MEMBER_STATUSES[2]: INVALID},
    )
    assert result.decision == "deny"
    assert result.codes == ()
    assert [m.codes for m in result.members] == [(), ("token_suspended",), ("token_revoked",)]
    assert [m.decision for m in result.members] == ["green", "deny", "deny"]


def test_lists_the_lane_does_not_hold_refer_what_they_would_decide() -> None:
    stale = "lane_data_stale"
    trip = decide([typed(p) for p in PEOPLE], statuses={TRIP_STATUS: stale})
    assert (trip.decision, trip.codes) == ("refer", (stale,))
    member = decide([typed(p) for p in PEOPLE], statuses={MEMBER_STATUSES[0]: stale})
    assert member.decision == "refer"
    assert [m.codes for m in member.members] == [(stale,), (), ()]


@pytest.mark.parametrize("whose", ["trip", "member"])
def test_an_entry_the_lists_say_nothing_about_makes_the_token_malformed(whose: str) -> None:
    entry = TRIP_STATUS if whose == "trip" else MEMBER_STATUSES[2]
    result = decide([typed(p) for p in PEOPLE], statuses={entry: "token_malformed"})
    assert (result.decision, result.codes, result.members) == ("deny", ("token_malformed",), ())


def _signed(payload: dict[str, Any]) -> str:
    """A trip token with exactly ``payload``, signed by the lane's trusted key."""
    return jwt.encode(payload, KEY, algorithm="ES256", headers={"kid": KID, "typ": MEDIA_TYPE})


def _issued_payload() -> dict[str, Any]:
    payload: dict[str, Any] = jwt.decode(TOKEN, options={"verify_signature": False})
    return payload


@pytest.mark.parametrize(
    "status",
    [
        {"other_mechanism": {}},
        {"status_list": [7, TRIP_STATUS.uri]},
        {"status_list": {"idx": "7", "uri": TRIP_STATUS.uri}},
        {"status_list": {"idx": -1, "uri": TRIP_STATUS.uri}},
        {"status_list": {"idx": 7}},
        {"status_list": {"uri": TRIP_STATUS.uri}},
        "7",
        None,
    ],
)
def test_a_missing_or_mistyped_status_claim_is_malformed(status: object) -> None:
    payload = _issued_payload()
    payload["status"] = status
    result = decide([typed(p) for p in PEOPLE], token=_signed(payload))
    assert (result.decision, result.codes, result.members) == ("deny", ("token_malformed",), ())


def test_a_token_without_a_status_claim_is_malformed() -> None:
    payload = _issued_payload()
    del payload["status"]
    result = decide([typed(p) for p in PEOPLE], token=_signed(payload))
    assert result.codes == ("token_malformed",)
    # The same payload with its status: the signature, not the claims, was the test.
    assert decide([typed(p) for p in PEOPLE], token=_signed(_issued_payload())).decision == "green"


@pytest.mark.parametrize(
    "entry",
    ["", ".1", ".1.", ".0.5", ".01.5", ".1.05", ".1.-5", ".1.1.5", ".1.+5", ".1.\u0665", ".x.5"],
)
def test_a_member_whose_status_entry_is_not_one_is_malformed(entry: str) -> None:
    payload = _issued_payload()
    code, clearance, binding, *_ = payload["crw"][1].split(".")
    payload["crw"][1] = f"{code}.{clearance}.{binding}{entry}"
    result = decide([typed(p) for p in PEOPLE], token=_signed(payload))
    assert result.codes == ("token_malformed",)


def test_a_member_status_is_read_in_this_issuers_lists() -> None:
    verified = verify_trip_token(TOKEN, keys=KEYS, issuer=ISSUER, audience=LANE_AUDIENCE, now=NOW)
    assert not isinstance(verified, TokenFailure)
    assert [m.status for m in verified.claims.members] == MEMBER_STATUSES[:3]
    assert _issued_payload()["crw"][0].endswith(".1.900")
    elsewhere = StatusListReference(idx=1, uri="https://elsewhere.example/v1/status-lists/1")
    foreign = replace(CLAIMS, members=(replace(CLAIMS.members[0], status=elsewhere),))
    with pytest.raises(ValueError, match="this issuer's lists"):
        issue_trip_token(foreign, KEY, KID)
