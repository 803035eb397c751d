"""Trips through the SDK: a partner files and manages them, a lane verifies them online, and an
offline lane decides them with the server's own function and syncs them later."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from greenlane.client import LaneClient, OfflineVerifier, PartnerClient
from greenlane.domain.trip_token import Role
from greenlane.settings import Settings
from greenlane.wire.trips import CrewMember, ScannedDocument, TripCreate, TripVerifyAnswer

from .actors import Admin
from .lane_setup import Issued
from .sdk import sdk
from .trip_setup import TRIP_PORT, Crew, crew


@pytest.fixture
def trip_crew(admin: Admin) -> Crew:
    return crew(admin)


def scanned(*people: Issued) -> list[ScannedDocument]:
    return [msgspec.convert(person.document(), ScannedDocument) for person in people]


def filing(trips: Crew, *people: tuple[Issued, Role]) -> TripCreate:
    listed: tuple[tuple[Issued, Role], ...] = people or (
        (trips.driver, "driver"),
        (trips.co_driver, "co_driver"),
    )
    return TripCreate(
        vehicle_id=uuid.UUID(trips.vehicle_id),
        port_code=TRIP_PORT,
        direction="entry",
        expected_at=datetime.now(UTC) + timedelta(hours=2),
        crew=[CrewMember(uuid.UUID(person.traveller_id), role) for person, role in listed],
    )


def codes(answer: TripVerifyAnswer) -> list[str]:
    return [reason.code for reason in answer.reasons]


def test_a_partner_files_amends_and_cancels_trips(trip_crew: Crew) -> None:
    partner = sdk(PartnerClient, trip_crew.partner)
    trip = partner.file_trip(filing(trip_crew))
    assert trip.status == "approved"
    assert partner.get_trip(trip.id) == trip
    assert [listed.id for listed in partner.list_trips()] == [trip.id]
    assert partner.trip_qr(trip.id, "png").startswith(b"\x89PNG")
    amended = partner.amend_trip(trip.id, filing(trip_crew, (trip_crew.driver, "driver")))
    assert amended.token != trip.token
    assert partner.cancel_trip(trip.id).status == "cancelled"


def test_a_lane_verifies_a_trip_online(trip_crew: Crew) -> None:
    trip = sdk(PartnerClient, trip_crew.partner).file_trip(filing(trip_crew))
    assert trip.token is not None
    lane = sdk(LaneClient, trip_crew.lane)
    answer = lane.verify_trip(
        trip.token,
        "entry",
        plate=trip_crew.vehicle["plate"],
        documents=scanned(trip_crew.co_driver, trip_crew.driver),
    )
    assert answer.decision == "green"
    assert answer.mode == "online"


def test_an_offline_lane_decides_trips_as_the_server_does_and_syncs_them(
    trip_crew: Crew, settings: Settings, tmp_path: Path
) -> None:
    partner = sdk(PartnerClient, trip_crew.partner)
    once = trip_crew.passenger()
    single = trip_crew.partner.post(
        "/v1/applications", json=trip_crew.single_entry(once.traveller_id)
    ).json()
    assert single["status"] == "approved"
    everyone = partner.file_trip(filing(trip_crew))
    with_once = partner.file_trip(
        filing(trip_crew, (trip_crew.driver, "driver"), (once, "passenger"))
    )
    partner.revoke_clearance(trip_crew.co_driver.clearance_id)
    assert everyone.token is not None
    assert with_once.token is not None
    lane = sdk(LaneClient, trip_crew.lane)
    offline = OfflineVerifier(
        lane, port=TRIP_PORT, issuer=settings.issuer, state_path=tmp_path / "lane.json"
    )
    offline.refresh()
    plate = trip_crew.vehicle["plate"]

    revoked = offline.verify_trip(
        everyone.token,
        "entry",
        plate=plate,
        documents=scanned(trip_crew.driver, trip_crew.co_driver),
    )
    assert revoked.decision == "deny"
    assert [m.decision for m in revoked.members] == ["green", "deny"]
    assert revoked.mode == "degraded"
    first = offline.verify_trip(
        with_once.token, "entry", plate=plate, documents=scanned(once, trip_crew.driver)
    )
    assert first.decision == "green"
    again = offline.verify_trip(
        with_once.token, "entry", plate=plate, documents=scanned(once, trip_crew.driver)
    )
    assert codes(again) == ["already_used"]  # the lane's own record of the single entry
    assert offline.pending() == 3

    report = offline.sync()
    assert offline.pending() == 0
    assert len(report.recorded) == 3
    assert report.disagreements == ()


def test_an_offline_lane_reads_trip_and_member_statuses_from_the_lists(
    trip_crew: Crew, settings: Settings, tmp_path: Path
) -> None:
    """A suspension is known only from the lists (the feed names revocations), so a lane that
    denies it read the member's entry the trip token names."""
    partner = sdk(PartnerClient, trip_crew.partner)
    trip = partner.file_trip(filing(trip_crew))
    cancelled = partner.file_trip(filing(trip_crew))
    partner.cancel_trip(cancelled.id)
    assert trip.token is not None
    assert cancelled.token is not None
    offline = OfflineVerifier(
        sdk(LaneClient, trip_crew.lane),
        port=TRIP_PORT,
        issuer=settings.issuer,
        state_path=tmp_path / "lane.json",
    )
    offline.refresh()
    plate = trip_crew.vehicle["plate"]
    everyone = scanned(trip_crew.driver, trip_crew.co_driver)
    assert offline.verify_trip(trip.token, "entry", plate=plate, documents=everyone).decision == (
        "green"
    )
    revoked = offline.verify_trip(cancelled.token, "entry", plate=plate, documents=everyone)
    assert (revoked.decision, codes(revoked)) == ("deny", ["token_revoked"])

    clearance = f"/v1/clearances/{trip_crew.co_driver.clearance_id}"
    trip_crew.admin.post(f"{clearance}/suspend", json={"reason": "Under review"})
    offline.refresh()
    suspended = offline.verify_trip(trip.token, "entry", plate=plate, documents=everyone)
    assert suspended.decision == "deny"
    assert [[r.code for r in m.reasons] for m in suspended.members] == [[], ["token_suspended"]]

    trip_crew.admin.post(f"{clearance}/reinstate")
    offline.refresh()
    again = offline.verify_trip(trip.token, "entry", plate=plate, documents=everyone)
    assert again.decision == "green"


def test_an_offline_lane_past_its_lists_exp_refers_a_trip(
    trip_crew: Crew, settings: Settings, tmp_path: Path
) -> None:
    # Arriving tomorrow, so that the token is still valid when the lists have expired.
    tomorrow = msgspec.structs.replace(
        filing(trip_crew), expected_at=datetime.now(UTC) + timedelta(hours=24)
    )
    trip = sdk(PartnerClient, trip_crew.partner).file_trip(tomorrow)
    assert trip.token is not None
    moment = [datetime.now(UTC)]
    offline = OfflineVerifier(
        sdk(LaneClient, trip_crew.lane),
        port=TRIP_PORT,
        issuer=settings.issuer,
        state_path=tmp_path / "lane.json",
        clock=lambda: moment[0],
        max_age=timedelta(days=7),  # so that only the lists' own exp is in play
    )
    offline.refresh()
    plate = trip_crew.vehicle["plate"]
    everyone = scanned(trip_crew.driver, trip_crew.co_driver)
    moment[0] += timedelta(hours=21)  # the token's window has opened; the lists hold
    assert offline.verify_trip(trip.token, "entry", plate=plate, documents=everyone).decision == (
        "green"
    )
    moment[0] += timedelta(hours=5)  # past exp: signed at most an hour earlier + 25 h
    stale = offline.verify_trip(trip.token, "entry", plate=plate, documents=everyone)
    assert (stale.decision, codes(stale)) == ("refer", ["lane_data_stale"])
    assert [[r.code for r in m.reasons] for m in stale.members] == [["lane_data_stale"]] * 2
