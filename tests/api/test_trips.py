"""Trips through the API: filing, the token and its QR code, amending and cancelling, and the
lane's one scan for a vehicle and everyone in it."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from greenlane.domain.default_rules import (
    TRIP_COMMERCIAL_DRIVER,
    TRIP_DRIVERS_LICENSED,
    TRIP_INSURANCE,
    TRIP_SEATS,
    DefaultRule,
)
from greenlane.domain.status_list import INVALID, VALID, list_uri
from greenlane.settings import Settings

from . import bodies
from .actors import Admin
from .lane_setup import OTHER_PORT, codes, issue
from .tokens import claims_of, published_status, sign, unreadable_statuses
from .trip_setup import TRIP_PORT, Crew, arriving_in, crew


@pytest.fixture
def trip_crew(admin: Admin) -> Crew:
    return crew(admin)


def header(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_a_truck_with_a_driver_and_a_co_driver_is_cleared_with_one_scan(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    assert trip["status"] == "approved", trip
    assert header(trip["token"])["typ"] == "gl-trip+jwt"
    assert [m["role"] for m in trip["members"]] == ["driver", "co_driver"]
    assert trip["members"][0]["clearance_id"] == trip_crew.driver.clearance_id

    answer = trip_crew.verify(trip_crew.scan(trip, trip_crew.co_driver, trip_crew.driver))

    assert answer["decision"] == "green", answer
    assert answer["trip_id"] == trip["id"]
    assert answer["mode"] == "online"
    registered = trip_crew.partner.get(f"/v1/vehicles/{trip_crew.vehicle_id}").json()
    assert answer["vehicle"] == {"plate": registered["plate"], "kind": "truck"}
    assert [m["decision"] for m in answer["members"]] == ["green", "green"]
    assert answer["members"][0]["holder"]["surname"] == "Jaidee"
    # A crossing for each member, on their own clearance, and one for the vehicle on the trip.
    people = (trip_crew.driver, trip_crew.co_driver)
    for member, person in zip(answer["members"], people, strict=True):
        clearance = trip_crew.partner.get(f"/v1/clearances/{person.clearance_id}").json()
        assert [c["id"] for c in clearance["crossings"]] == [member["crossing_id"]]
    filed = trip_crew.partner.get(f"/v1/trips/{trip['id']}").json()
    assert [c["id"] for c in filed["crossings"]] == [answer["crossing_id"]]


def test_a_replayed_event_gets_the_same_answer_and_records_nothing_new(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    question = trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver)
    first = trip_crew.lane.post("/v1/verify/trip", json=question)
    again = trip_crew.lane.post("/v1/verify/trip", json=question)

    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    clearance = trip_crew.partner.get(f"/v1/clearances/{trip_crew.driver.clearance_id}").json()
    assert len(clearance["crossings"]) == 1


def test_an_event_id_reused_for_another_question_is_refused(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    question = trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver)
    trip_crew.verify(question)
    other = {**question, "documents": question["documents"][:1]}
    assert trip_crew.lane.post("/v1/verify/trip", json=other).status_code == 422


def test_a_listed_person_not_scanned_is_occupant_missing(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    answer = trip_crew.verify(trip_crew.scan(trip, trip_crew.driver))

    assert answer["decision"] == "refer"
    assert codes(answer) == ["occupant_missing"]
    assert answer["members"][1]["decision"] == "refer"
    assert codes(answer["members"][1]) == ["occupant_missing"]
    assert "crossing_id" not in answer
    assert all("crossing_id" not in member for member in answer["members"])


def test_a_scanned_document_not_on_the_trip_is_occupant_not_listed(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    stranger = trip_crew.passenger()
    answer = trip_crew.verify(trip_crew.scan(trip, trip_crew.driver, stranger, trip_crew.co_driver))
    assert answer["decision"] == "refer"
    assert codes(answer) == ["occupant_not_listed"]
    assert [m["decision"] for m in answer["members"]] == ["green", "green"]


def test_documents_may_be_scanned_by_their_machine_readable_zone(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    zone = bodies.td3(trip_crew.co_driver.traveller)
    question = trip_crew.scan(trip, trip_crew.driver)
    question["documents"].append({"mrz": zone})
    assert trip_crew.verify(question)["decision"] == "green"


def test_a_member_whose_clearance_is_revoked_is_denied(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    revoked = trip_crew.partner.post(
        f"/v1/clearances/{trip_crew.co_driver.clearance_id}/revoke", json={"reason": "left"}
    )
    assert revoked.status_code == 200
    answer = trip_crew.verify(trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver))

    assert answer["decision"] == "deny"
    assert [m["decision"] for m in answer["members"]] == ["green", "deny"]
    assert codes(answer["members"][1]) == ["token_revoked"]
    assert "holder" not in answer["members"][1]


def test_a_single_entry_member_crosses_once_each_way(trip_crew: Crew) -> None:
    once = trip_crew.passenger()
    single = trip_crew.partner.post(
        "/v1/applications", json=trip_crew.single_entry(once.traveller_id)
    ).json()
    assert single["status"] == "approved"
    people = ((trip_crew.driver, "driver"), (once, "passenger"))
    first = trip_crew.file(*people)
    trip_crew.verify(trip_crew.scan(first, trip_crew.driver, once))
    # Their single-entry clearance is used, so a new trip cannot name them; the old token,
    # presented again, is refused for them.
    answer = trip_crew.verify(trip_crew.scan(first, trip_crew.driver, once))
    assert answer["decision"] == "deny"
    assert codes(answer["members"][1]) == ["already_used"]


def test_the_qr_code_is_served_as_svg_and_png(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    svg = trip_crew.partner.get(f"/v1/trips/{trip['id']}/qr")
    png = trip_crew.partner.get(f"/v1/trips/{trip['id']}/qr?format=png")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")


def _validity(trip: dict[str, Any]) -> tuple[datetime, datetime]:
    """The token's ``nbf`` and ``exp``, which the trip's ``not_before`` and ``expires_at`` say."""
    claims = claims_of(trip["token"])
    nbf, exp = (datetime.fromtimestamp(claims[name], UTC) for name in ("nbf", "exp"))
    said = [datetime.fromisoformat(trip[name]) for name in ("not_before", "expires_at")]
    assert [nbf, exp] == said
    return nbf, exp


def test_the_token_is_valid_around_the_arrival_within_every_members_clearance(
    trip_crew: Crew, settings: Settings
) -> None:
    window = timedelta(minutes=settings.trip_window_minutes)
    late = issue(trip_crew.partner, ports=[TRIP_PORT], valid_from=bodies.in_days(1))
    people = ((trip_crew.driver, "driver"), (late, "passenger"))
    clearances = [
        trip_crew.partner.get(f"/v1/clearances/{person.clearance_id}").json()
        for person, _ in people
    ]
    starts = max(datetime.fromisoformat(c["not_before"]) for c in clearances)
    ends = min(datetime.fromisoformat(c["expires_at"]) for c in clearances)
    # An hour after the later clearance starts: the window opens with it, not before.
    arrival = starts + timedelta(hours=1)
    trip = trip_crew.file(*people, expected_at=arrival.isoformat())
    assert _validity(trip) == (starts, arrival + window)
    # An hour before the first clearance ends: the window closes with it.
    arrival = ends - timedelta(hours=1)
    amended = trip_crew.partner.put(
        f"/v1/trips/{trip['id']}", json=trip_crew.trip(*people, expected_at=arrival.isoformat())
    )
    assert amended.status_code == 200, amended.text
    assert _validity(amended.json()) == (arrival - window, ends)
    # Well inside both clearances: the whole window either side of the arrival.
    arrival = starts + timedelta(days=2)
    inside = trip_crew.file(*people, expected_at=arrival.isoformat())
    assert _validity(inside) == (arrival - window, arrival + window)


def test_trips_are_listed_and_read_by_their_partner_only(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    listed = trip_crew.partner.get("/v1/trips").json()
    assert [t["id"] for t in listed["items"]] == [trip["id"]]
    other = trip_crew.admin.partner_actor()
    assert other.get(f"/v1/trips/{trip['id']}").status_code == 404
    assert other.get("/v1/trips").json()["items"] == []
    assert other.post(f"/v1/trips/{trip['id']}/cancel").status_code == 404


def test_cancelling_revokes_the_token(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    cancelled = trip_crew.partner.post(f"/v1/trips/{trip['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert "token" not in cancelled.json()
    assert trip_crew.partner.get(f"/v1/trips/{trip['id']}/qr").status_code == 409
    answer = trip_crew.verify(trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver))
    assert answer["decision"] == "deny"
    assert codes(answer) == ["token_revoked"]
    feed = trip_crew.lane.get("/v1/revocations?since=0").json()["items"]
    assert header(trip["token"])["kid"]  # the token named a key; its jti is now in the feed
    assert len(feed) == 1
    assert "clearance_id" not in feed[0]
    # Cancelling again changes nothing; an amendment of a cancelled trip is a conflict.
    assert trip_crew.partner.post(f"/v1/trips/{trip['id']}/cancel").status_code == 200
    amended = trip_crew.partner.put(f"/v1/trips/{trip['id']}", json=trip_crew.trip())
    assert amended.status_code == 409


def test_amending_reissues_the_token_and_revokes_the_old_one(trip_crew: Crew) -> None:
    trip = trip_crew.file((trip_crew.driver, "driver"))
    passenger = trip_crew.passenger()
    people = ((trip_crew.driver, "driver"), (passenger, "passenger"))
    amended = trip_crew.partner.put(f"/v1/trips/{trip['id']}", json=trip_crew.trip(*people))
    assert amended.status_code == 200, amended.text
    new = amended.json()
    assert new["status"] == "approved"
    assert new["amendments"] == 1
    assert new["token"] != trip["token"]

    old = trip_crew.verify(trip_crew.scan(trip, trip_crew.driver))
    assert old["decision"] == "deny"
    assert codes(old) == ["token_revoked"]
    fresh = trip_crew.verify(trip_crew.scan(new, passenger, trip_crew.driver))
    assert fresh["decision"] == "green"


def test_a_trip_token_at_the_single_verify_is_malformed(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    answer = trip_crew.lane.post(
        "/v1/verify",
        json={
            "token": trip["token"],
            "direction": "entry",
            "event_id": str(uuid.uuid4()),
            "document": trip_crew.driver.document(),
            "plate": trip_crew.vehicle["plate"],
        },
    ).json()
    assert answer["decision"] == "deny"
    assert codes(answer) == ["token_malformed"]


def test_a_clearance_at_the_trip_verify_is_malformed(trip_crew: Crew) -> None:
    clearance = {"token": trip_crew.driver.token}
    answer = trip_crew.verify(trip_crew.scan(clearance, trip_crew.driver))
    assert answer["decision"] == "deny"
    assert codes(answer) == ["token_malformed"]
    assert answer["members"] == []


def test_a_tampered_trip_token_is_denied(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    head, body, signature = trip["token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["crw"] = claims["crw"][:1]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    answer = trip_crew.verify(
        trip_crew.scan({"token": f"{head}.{forged}.{signature}"}, trip_crew.driver)
    )
    assert answer["decision"] == "deny"
    assert codes(answer) == ["signature_invalid"]


def test_a_document_scanned_twice_is_refused(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    question = trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver)
    question["documents"].append({"mrz": bodies.td3(trip_crew.driver.traveller)})
    response = trip_crew.lane.post("/v1/verify/trip", json=question)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["documents[2]"]


def test_a_document_both_typed_and_scanned_in_one_entry_is_refused(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    question = trip_crew.scan(trip, trip_crew.driver)
    question["documents"][0]["mrz"] = bodies.td3(trip_crew.driver.traveller)
    response = trip_crew.lane.post("/v1/verify/trip", json=question)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["documents[0]"]


def test_the_wrong_plate_is_a_vehicle_mismatch(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    answer = trip_crew.verify(
        trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver, plate="XX-0000")
    )
    assert answer["decision"] == "deny"
    assert codes(answer) == ["vehicle_mismatch"]


def test_a_trip_is_valid_at_its_port_and_direction_only(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    exit_answer = trip_crew.verify(
        trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver, direction="exit")
    )
    assert codes(exit_answer) == ["wrong_direction"]
    elsewhere = trip_crew.admin.lane_actor("THBKK", "L9")
    answer = elsewhere.post(
        "/v1/verify/trip", json=trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver)
    ).json()
    assert codes(answer) == ["wrong_port"]


# --- bad filings -----------------------------------------------------------------------------


def problem_fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return [error["field"] for error in response.json()["errors"]]


def test_an_unknown_or_foreign_traveller_is_not_found(trip_crew: Crew) -> None:
    stranger = {"traveller_id": str(uuid.uuid4()), "role": "passenger"}
    body = trip_crew.trip()
    body["crew"].append(stranger)
    assert trip_crew.partner.post("/v1/trips", json=body).status_code == 404

    other = trip_crew.admin.partner_actor()
    theirs = other.post("/v1/travellers", json=bodies.traveller()).json()["id"]
    body["crew"][-1] = {"traveller_id": theirs, "role": "passenger"}
    assert trip_crew.partner.post("/v1/trips", json=body).status_code == 404


def test_an_unknown_or_foreign_vehicle_is_not_found(trip_crew: Crew) -> None:
    unknown = trip_crew.trip(vehicle_id=str(uuid.uuid4()))
    assert trip_crew.partner.post("/v1/trips", json=unknown).status_code == 404
    other = trip_crew.admin.partner_actor()
    theirs = other.post("/v1/vehicles", json=bodies.vehicle()).json()["id"]
    foreign = trip_crew.trip(vehicle_id=theirs)
    assert trip_crew.partner.post("/v1/trips", json=foreign).status_code == 404


def test_a_member_twice_is_refused(trip_crew: Crew) -> None:
    people = ((trip_crew.driver, "driver"), (trip_crew.co_driver, "co_driver"))
    body = trip_crew.trip(*people, (trip_crew.co_driver, "passenger"))
    assert problem_fields(trip_crew.partner.post("/v1/trips", json=body)) == [
        "crew[2].traveller_id"
    ]


def test_a_trip_needs_exactly_one_driver(trip_crew: Crew) -> None:
    none = trip_crew.trip((trip_crew.co_driver, "co_driver"))
    assert problem_fields(trip_crew.partner.post("/v1/trips", json=none)) == ["crew"]
    two = trip_crew.trip((trip_crew.driver, "driver"), (trip_crew.co_driver, "driver"))
    assert problem_fields(trip_crew.partner.post("/v1/trips", json=two)) == ["crew"]


def test_more_people_than_the_maximum_are_refused(trip_crew: Crew) -> None:
    body = trip_crew.trip()
    body["crew"] += [{"traveller_id": str(uuid.uuid4()), "role": "passenger"} for _ in range(9)]
    assert problem_fields(trip_crew.partner.post("/v1/trips", json=body)) == ["crew"]


def test_a_member_without_a_clearance_for_the_port_and_time_is_named(trip_crew: Crew) -> None:
    uncleared = trip_crew.partner.post("/v1/travellers", json=bodies.traveller()).json()["id"]
    body = trip_crew.trip()
    body["crew"].append({"traveller_id": uncleared, "role": "passenger"})
    response = trip_crew.partner.post("/v1/trips", json=body)
    assert problem_fields(response) == ["crew[2].traveller_id"]
    # A clearance that has expired by the arrival does not carry its holder either.
    late = trip_crew.trip(expected_at=arriving_in(timedelta(days=30)))
    assert problem_fields(trip_crew.partner.post("/v1/trips", json=late)) == [
        "crew[0].traveller_id",
        "crew[1].traveller_id",
    ]


def test_the_driver_needs_the_clearance_issued_for_this_vehicle(trip_crew: Crew) -> None:
    swapped = trip_crew.trip((trip_crew.co_driver, "driver"), (trip_crew.driver, "co_driver"))
    assert problem_fields(trip_crew.partner.post("/v1/trips", json=swapped)) == [
        "crew[0].traveller_id"
    ]


def test_a_member_cleared_for_another_port_or_revoked_is_named(trip_crew: Crew) -> None:
    trip_crew.admin.port(OTHER_PORT)
    elsewhere = issue(trip_crew.partner, ports=[OTHER_PORT])
    revoked = trip_crew.passenger()
    gone = trip_crew.partner.post(
        f"/v1/clearances/{revoked.clearance_id}/revoke", json={"reason": "left"}
    )
    assert gone.status_code == 200, gone.text
    people = ((trip_crew.driver, "driver"), (elsewhere, "passenger"), (revoked, "passenger"))
    body = trip_crew.trip(*people)
    assert problem_fields(trip_crew.partner.post("/v1/trips", json=body)) == [
        "crew[1].traveller_id",
        "crew[2].traveller_id",
    ]


def test_too_short_a_notice_or_an_arrival_in_the_past_is_refused(trip_crew: Crew) -> None:
    soon = trip_crew.trip(expected_at=arriving_in(timedelta(minutes=10)))
    assert problem_fields(trip_crew.partner.post("/v1/trips", json=soon)) == ["expected_at"]
    past = trip_crew.trip(expected_at=arriving_in(timedelta(minutes=-10)))
    assert problem_fields(trip_crew.partner.post("/v1/trips", json=past)) == ["expected_at"]


def test_a_vehicle_kind_the_port_does_not_handle_is_rejected(admin: Admin) -> None:
    admin.port("THBKK", kinds=["passenger", "vehicle"])  # no cargo lanes for a truck
    partner = admin.partner_actor()
    driver = issue(partner, ports=["THBKK"], with_vehicle=True)
    body = {
        "vehicle_id": driver.application["vehicle_id"],
        "port_code": "THBKK",
        "direction": "entry",
        "expected_at": arriving_in(timedelta(hours=2)),
        "crew": [{"traveller_id": driver.traveller_id, "role": "driver"}],
    }
    filed = partner.post("/v1/trips", json=body).json()
    assert filed["status"] == "rejected"
    assert [r["reason_code"] for r in filed["reasons"]] == ["port_not_for_vehicle_kind"]
    assert "token" not in filed


def _an_unlicensed_co_driver(c: Crew) -> dict[str, Any]:
    return c.file((c.driver, "driver"), (c.passenger(), "co_driver"))


def _insurance_ending_before_the_arrival(c: Crew) -> dict[str, Any]:
    # The clearance was issued while the cover lasted; it ends before the trip arrives.
    patched = c.partner.patch(
        f"/v1/vehicles/{c.vehicle_id}", json={"insurance_expiry": bodies.in_days(1)}
    )
    assert patched.status_code == 200, patched.text
    return c.file(expected_at=arriving_in(timedelta(days=3)))


def _four_people_in_a_truck(c: Crew) -> dict[str, Any]:
    people = ((c.driver, "driver"), (c.co_driver, "co_driver"))
    return c.file(*people, (c.passenger(), "passenger"), (c.passenger(), "passenger"))


def _a_truck_driver_not_registered_as_commercial(c: Crew) -> dict[str, Any]:
    visitor = issue(
        c.partner,
        ports=[TRIP_PORT],
        with_vehicle=True,
        traveller=bodies.driver(category="business_visitor"),
    )
    return c.file((visitor, "driver"), vehicle_id=visitor.application["vehicle_id"])


@pytest.mark.parametrize(
    ("filing", "rule"),
    [
        pytest.param(filing, rule, id=rule.reason_code)
        for filing, rule in (
            (_an_unlicensed_co_driver, TRIP_DRIVERS_LICENSED),
            (_insurance_ending_before_the_arrival, TRIP_INSURANCE),
            (_four_people_in_a_truck, TRIP_SEATS),
            (_a_truck_driver_not_registered_as_commercial, TRIP_COMMERCIAL_DRIVER),
        )
    ],
)
def test_a_default_trip_rule_decides_the_trip(
    trip_crew: Crew, filing: Callable[[Crew], dict[str, Any]], rule: DefaultRule
) -> None:
    filed = filing(trip_crew)
    assert filed["status"] == {"deny": "rejected", "refer": "referred"}[rule.effect]
    assert filed["reasons"] == [
        {
            "rule_id": rule.id,
            "reason_code": rule.reason_code,
            "message": rule.message,
            "effect": rule.effect,
        }
    ]
    assert "token" not in filed


def test_an_unknown_port_is_refused(trip_crew: Crew) -> None:
    body = trip_crew.trip(port_code="ZZZZZ")
    assert problem_fields(trip_crew.partner.post("/v1/trips", json=body)) == ["port_code"]


def test_filing_accepts_an_idempotency_key(trip_crew: Crew) -> None:
    body = trip_crew.trip()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = trip_crew.partner.post("/v1/trips", json=body, headers=key)
    again = trip_crew.partner.post("/v1/trips", json=body, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(trip_crew.partner.get("/v1/trips").json()["items"]) == 1


# --- rules -----------------------------------------------------------------------------------


def test_a_trip_is_decided_by_the_trip_rules_and_dry_run(trip_crew: Crew) -> None:
    rule = trip_crew.admin.post(
        "/v1/admin/rules",
        json={
            "name": "Cargo reference for trucks",
            "condition": "trip.vehicle.kind != 'truck' || trip.has_cargo_reference",
            "effect": "refer",
            "reason_code": "cargo_reference_missing",
            "message": "A truck's trip names its cargo.",
        },
    )
    assert rule.status_code == 201, rule.text
    referred = trip_crew.file()
    assert referred["status"] == "referred"
    assert [r["reason_code"] for r in referred["reasons"]] == ["cargo_reference_missing"]
    assert "token" not in referred

    dry = trip_crew.admin.post(
        "/v1/admin/rules/dry-run", json={"trip": trip_crew.trip(cargo_reference="MAWB-1")}
    ).json()
    assert dry["status"] == "approved"
    assert {r["rule_id"] for r in dry["results"]} >= {rule.json()["id"]}
    by_id = trip_crew.admin.post("/v1/admin/rules/dry-run", json={"trip_id": referred["id"]}).json()
    assert by_id["status"] == "referred"
    # An application is not judged by a trip rule.
    application = trip_crew.passenger()
    assert application.application["status"] == "approved"


def test_a_condition_naming_trip_and_traveller_is_refused(admin: Admin) -> None:
    response = admin.post(
        "/v1/admin/rules",
        json={
            "name": "Mixed",
            "condition": "trip.size < 5 && traveller.nationality == 'THA'",
            "effect": "deny",
            "reason_code": "mixed",
            "message": "Mixed.",
        },
    )
    assert response.status_code == 422
    assert "trip" in response.json()["errors"][0]["message"]


def test_trips_and_single_verifies_committed_together_are_all_recorded(trip_crew: Crew) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from .lane_setup import question

    trip = trip_crew.file()
    trips = [trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver) for _ in range(6)]
    singles = [question(trip_crew.driver) for _ in range(6)]

    def ask(body: dict[str, Any]) -> str:
        path = "/v1/verify/trip" if "documents" in body else "/v1/verify"
        answer: str = trip_crew.lane.post(path, json=body).json()["decision"]
        return answer

    with ThreadPoolExecutor(max_workers=8) as pool:
        decisions = list(pool.map(ask, [body for pair in zip(trips, singles, strict=True)
                                        for body in pair]))  # fmt: skip
    assert decisions == ["green"] * 12
    driver = trip_crew.partner.get(f"/v1/clearances/{trip_crew.driver.clearance_id}").json()
    co_driver = trip_crew.partner.get(f"/v1/clearances/{trip_crew.co_driver.clearance_id}").json()
    vehicle = trip_crew.partner.get(f"/v1/trips/{trip['id']}").json()
    assert (len(driver["crossings"]), len(co_driver["crossings"])) == (12, 6)
    assert len(vehicle["crossings"]) == 6


# No delivery loops: the endpoint is a public address, and the delivery queued is what is
# checked here (test_webhook_delivery.py receives trip events at a local receiver).
@pytest.mark.parametrize("app", [{"webhook_concurrency": 0}], indirect=True)
def test_a_decision_is_announced_to_the_partners_webhooks(trip_crew: Crew) -> None:
    hook = trip_crew.partner.post(
        "/v1/webhooks",
        json={"url": "https://93.184.215.14/hooks", "events": ["trip.approved", "trip.referred"]},
    ).json()
    trip = trip_crew.file()
    deliveries = trip_crew.partner.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert [d["event_type"] for d in deliveries] == ["trip.approved"]
    assert trip["status"] == "approved"


def test_a_second_line_check_refers_its_member_once(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    asked = trip_crew.admin.post(
        f"/v1/admin/clearances/{trip_crew.co_driver.clearance_id}/second-line",
        json={"reason": "Check the cargo papers"},
    )
    assert asked.status_code in (200, 201), asked.text
    first = trip_crew.verify(trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver))
    assert first["decision"] == "refer"
    assert [codes(m) for m in first["members"]] == [[], ["second_line_check"]]
    assert "crossing_id" not in first
    again = trip_crew.verify(trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver))
    assert again["decision"] == "green"


def test_a_suspended_member_is_denied_until_reinstated(trip_crew: Crew) -> None:
    trip = trip_crew.file()
    clearance = f"/v1/clearances/{trip_crew.co_driver.clearance_id}"
    suspended = trip_crew.admin.post(f"{clearance}/suspend", json={"reason": "Under review"})
    assert suspended.status_code == 200, suspended.text
    answer = trip_crew.verify(trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver))
    assert answer["decision"] == "deny"
    assert codes(answer["members"][1]) == ["token_suspended"]
    assert trip_crew.admin.post(f"{clearance}/reinstate").status_code == 200
    again = trip_crew.verify(trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver))
    assert again["decision"] == "green"


def test_a_member_suspended_before_filing_is_carried_and_denied_at_the_lane(
    trip_crew: Crew,
) -> None:
    """A suspension is a hold on an active clearance, so filing takes it; the lane then denies
    that member, and so the trip."""
    clearance = f"/v1/clearances/{trip_crew.co_driver.clearance_id}"
    suspended = trip_crew.admin.post(f"{clearance}/suspend", json={"reason": "Under review"})
    assert suspended.status_code == 200, suspended.text
    trip = trip_crew.file()
    assert trip["status"] == "approved", trip
    assert trip["members"][1]["clearance_id"] == trip_crew.co_driver.clearance_id
    answer = trip_crew.verify(trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver))
    assert answer["decision"] == "deny"
    assert [m["decision"] for m in answer["members"]] == ["green", "deny"]
    assert [codes(m) for m in answer["members"]] == [[], ["token_suspended"]]


# --- status lists ----------------------------------------------------------------------------


def entry(reference: dict[str, Any]) -> str:
    """A status list entry as a trip token writes a member's: ``<list>.<idx>``."""
    return f"{reference['uri'].rsplit('/', 1)[1]}.{reference['idx']}"


def test_a_trip_token_has_its_own_status_entry_and_names_each_members(
    trip_crew: Crew, settings: Settings
) -> None:
    trip = trip_crew.file()
    claims = claims_of(trip["token"])
    own = claims["status"]["status_list"]
    assert own["uri"] == list_uri(settings.issuer, 1)
    assert 0 <= own["idx"] < settings.status_list_size
    assert published_status(trip_crew.partner.http, settings, trip["token"]) == VALID
    people = (trip_crew.driver, trip_crew.co_driver)
    members = [claims_of(person.token)["status"]["status_list"] for person in people]
    assert own not in members  # an entry of its own, never a member's
    assert [member.split(".", 3)[3] for member in claims["crw"]] == [entry(m) for m in members]


def test_cancelling_revokes_the_token_in_its_status_list(
    trip_crew: Crew, settings: Settings
) -> None:
    trip = trip_crew.file()
    trip_crew.partner.post(f"/v1/trips/{trip['id']}/cancel")
    # Served by the cancelling worker before it answered, as a clearance's revocation is.
    assert published_status(trip_crew.partner.http, settings, trip["token"]) == INVALID
    feed = trip_crew.lane.get("/v1/revocations?since=0").json()["items"]
    assert [item["jti"] for item in feed] == [claims_of(trip["token"])["jti"]]
    audit = trip_crew.admin.get("/v1/admin/audit?limit=200").json()["items"]
    actions = [entry["action"] for entry in audit]
    assert actions.count("trip.token.revoke") == 1


def test_amending_revokes_the_old_token_in_its_status_list(
    trip_crew: Crew, settings: Settings
) -> None:
    trip = trip_crew.file()
    new = trip_crew.partner.put(f"/v1/trips/{trip['id']}", json=trip_crew.trip()).json()
    http = trip_crew.partner.http
    assert published_status(http, settings, trip["token"]) == INVALID
    assert published_status(http, settings, new["token"]) == VALID
    old_entry = claims_of(trip["token"])["status"]["status_list"]
    assert claims_of(new["token"])["status"]["status_list"] != old_entry


def test_a_trip_token_revoked_or_suspended_in_the_lists_is_denied(trip_crew: Crew) -> None:
    """From the worker's lists alone: a trip token pointing at another clearance's entry, whose
    id no revocation feed names, follows that entry's status."""
    trip = trip_crew.file()
    elsewhere = trip_crew.passenger()
    claims = claims_of(trip["token"])
    claims["status"] = claims_of(elsewhere.token)["status"]
    token = sign(trip_crew.lane, claims, typ="gl-trip+jwt")
    people = (trip_crew.driver, trip_crew.co_driver)
    assert trip_crew.verify(trip_crew.scan({"token": token}, *people))["decision"] == "green"

    clearance = f"/v1/clearances/{elsewhere.clearance_id}"
    trip_crew.admin.post(f"{clearance}/suspend", json={"reason": "Under review"})
    suspended = trip_crew.verify(trip_crew.scan({"token": token}, *people))
    assert (suspended["decision"], codes(suspended)) == ("deny", ["token_suspended"])
    assert [codes(m) for m in suspended["members"]] == [[], []]

    trip_crew.partner.post(f"{clearance}/revoke", json={"reason": "left"})
    revoked = trip_crew.verify(trip_crew.scan({"token": token}, *people))
    assert (revoked["decision"], codes(revoked)) == ("deny", ["token_revoked"])


def test_a_status_the_lane_cannot_read_makes_a_trip_token_malformed(
    trip_crew: Crew, settings: Settings
) -> None:
    trip = trip_crew.file()
    claims = claims_of(trip["token"])
    people = (trip_crew.driver, trip_crew.co_driver)
    for name, status in unreadable_statuses(settings).items():
        token = sign(trip_crew.lane, {**claims, "status": status}, typ="gl-trip+jwt")
        answer = trip_crew.verify(trip_crew.scan({"token": token}, *people))
        assert (answer["decision"], codes(answer), answer["members"]) == (
            "deny",
            ["token_malformed"],
            [],
        ), name
    missing = {key: value for key, value in claims.items() if key != "status"}
    answer = trip_crew.verify(
        trip_crew.scan({"token": sign(trip_crew.lane, missing, typ="gl-trip+jwt")}, *people)
    )
    assert codes(answer) == ["token_malformed"]
    # A member's entry outside its list is no statement either: the whole token is refused.
    outside = dict(claims, crw=list(claims["crw"]))
    code, clearance, binding, number, _idx = outside["crw"][1].split(".")
    outside["crw"][1] = f"{code}.{clearance}.{binding}.{number}.{settings.status_list_size}"
    answer = trip_crew.verify(
        trip_crew.scan({"token": sign(trip_crew.lane, outside, typ="gl-trip+jwt")}, *people)
    )
    assert codes(answer) == ["token_malformed"]
    # The same claims as issued: the signature, not the claims, was the test.
    resigned = sign(trip_crew.lane, claims, typ="gl-trip+jwt")
    assert trip_crew.verify(trip_crew.scan({"token": resigned}, *people))["decision"] == "green"
