"""Federation between two live deployments: Thailand (A) issues, Lao PDR (B) verifies.

Both are ``greenlane serve`` processes on databases of their own; B fetches A's trust list over
HTTP, its lanes decide A's clearances, and its receipts reach A. The tests run in this order
(they share the two servers): the walk, the agreement's limits, an untrusted issuer, A's trips
at B, A's key and anchor rotations, a peer's bad trust lists, and last A going down and coming
back.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from greenlane.client.offline import OfflineVerifier
from greenlane.client.sync import LaneClient
from greenlane.domain.signing_keys import new_signing_key
from greenlane.federation_demo import (
    OTHER_PORT_B,
    PORT_B,
    Deployment,
    Federated,
    Issued,
    foreign_crossings,
    issue,
    peer_status,
    start,
    stop,
    verify_at_b,
    wait_for,
)
from greenlane.wire.trips import ScannedDocument
from greenlane.wire.verify import PresentedDocument

from .conftest import A_STATUS_LIST_TTL, A_TRUST_LIST_TTL, Outcome, count, outcome
from .fake_peer import fake_peer, trusted_by


def agency_at(at: Deployment, agency_id: str) -> dict[str, Any]:
    found: dict[str, Any] = at.call("GET", f"/v1/admin/agencies/{agency_id}")
    return found


def test_a_clearance_of_a_crosses_at_b_and_a_lists_the_crossing(agencies: Federated) -> None:
    issued = issue(agencies)
    answer = verify_at_b(agencies, issued)
    assert outcome(answer) == ("green", [])
    assert answer["clearance_id"] == issued.clearance_id
    # Recorded at B like any crossing of its own.
    recorded = "SELECT count(*) FROM crossings WHERE clearance_id = $1"
    assert count(agencies.b, recorded, uuid.UUID(issued.clearance_id)) == 1

    wait_for(
        "A to list B's receipt", lambda: bool(foreign_crossings(agencies, issued.clearance_id))
    )
    crossing = foreign_crossings(agencies, issued.clearance_id)[0]
    assert crossing["id"] == answer["crossing_id"]
    assert (crossing["agency"], crossing["port_code"], crossing["lane_code"]) == (
        "LAO",
        PORT_B,
        "L1",
    )
    assert crossing["direction"] == "entry"
    # The receipt names no one: A's clearance says who it was; B's record holds no name of A's.
    assert count(agencies.b, "SELECT count(*) FROM federation_outbox") == 0


def test_b_accepts_only_what_the_agreement_covers(agencies: Federated) -> None:
    b = agencies.b
    elsewhere = issue(agencies, ports=[OTHER_PORT_B])
    other_lane = b.client("lane", port_code=OTHER_PORT_B, lane_code="L2")
    # B's port, named in the token, but not in the agreement.
    assert outcome(verify_at_b(agencies, elsewhere, lane=other_lane)) == ("deny", ["wrong_port"])
    # The agreed port, not in the token.
    assert outcome(verify_at_b(agencies, elsewhere)) == ("deny", ["wrong_port"])

    investor = issue(agencies, category="investor")
    assert outcome(verify_at_b(agencies, investor)) == ("deny", ["category_not_agreed"])

    watched = issue(agencies)
    b.call(
        "POST",
        "/v1/admin/watchlist",
        json={"kind": "document", "reason": "reported at B", **watched.document},
    )
    assert outcome(verify_at_b(agencies, watched)) == ("refer", ["watchlist_hit"])

    wrong_document = issue(agencies)
    presented = {"number": "ZZ0000000", "issuing_state": "THA"}
    mismatched = verify_at_b(agencies, replace(wrong_document, document=presented))
    assert outcome(mismatched) == ("deny", ["document_mismatch"])


def test_an_issuer_b_does_not_trust_is_denied(agencies: Federated) -> None:
    with fake_peer() as stranger:
        token, document = stranger.clearance(PORT_B)
    answer = agencies.b.http.post(
        "/v1/verify",
        headers=agencies.lane,
        json={
            "token": token,
            "direction": "entry",
            "event_id": str(uuid.uuid4()),
            "document": document,
        },
    )
    assert outcome(answer.json()) == ("deny", ["issuer_untrusted"])


def test_a_revocation_at_a_reaches_b_within_its_status_list_ttl(agencies: Federated) -> None:
    issued = issue(agencies)
    assert outcome(verify_at_b(agencies, issued)) == ("green", [])
    revoked = agencies.a.http.post(
        f"/v1/clearances/{issued.clearance_id}/revoke",
        headers=agencies.partner,
        json={"reason": "left the company"},
    )
    assert revoked.status_code == 200, revoked.text
    # Within A's ttl and one refresh of B (2 s), with room for a busy machine.
    wait_for(
        "B to deny the revoked clearance",
        lambda: outcome(verify_at_b(agencies, issued)) == ("deny", ["token_revoked"]),
        within=A_STATUS_LIST_TTL + 10,
    )


@dataclass(frozen=True)
class Car:
    """A car of A's partner and the people A cleared to ride in it across B's port."""

    vehicle_id: str
    plate: str
    driver: Issued
    passenger: Issued


def car(agencies: Federated, *, ports: list[str] | None = None) -> Car:
    plate = f"1AB-{uuid.uuid4().int % 10**4:04d}"
    made = agencies.a.http.post(
        "/v1/vehicles",
        headers=agencies.partner,
        json={
            "plate": plate,
            "registration_country": "THA",
            "vin": "JTDBR32E720123456",
            "kind": "car",
            "make": "Toyota",
            "insurance_expiry": (date.today() + timedelta(days=365)).isoformat(),
        },
    )
    made.raise_for_status()
    vehicle_id = made.json()["id"]
    licence = {
        "number": f"DL{uuid.uuid4().int % 10**8:08d}",
        "issuing_state": "THA",
        "classes": ["B"],
        "expiry_date": (date.today() + timedelta(days=730)).isoformat(),
    }
    driver = issue(agencies, ports=ports, driving_licence=licence, vehicle_id=vehicle_id)
    return Car(vehicle_id, plate, driver, issue(agencies, ports=ports))


def file_trip(agencies: Federated, riding: Car, *, port: str = PORT_B) -> dict[str, Any]:
    """A's trip of ``riding`` through ``port`` of B, arriving within the hour: its token."""
    filed = agencies.a.http.post(
        "/v1/trips",
        headers=agencies.partner,
        json={
            "vehicle_id": riding.vehicle_id,
            "port_code": port,
            "direction": "entry",
            "expected_at": (datetime.now(UTC) + timedelta(minutes=45)).isoformat(),
            "crew": [
                {"traveller_id": riding.driver.traveller_id, "role": "driver"},
                {"traveller_id": riding.passenger.traveller_id, "role": "passenger"},
            ],
        },
    )
    assert filed.status_code == 201, filed.text
    trip: dict[str, Any] = filed.json()
    assert trip["status"] == "approved", trip
    return trip


def verify_trip_at_b(
    agencies: Federated,
    token: str,
    plate: str,
    documents: list[dict[str, str]],
    lane: dict[str, str] | None = None,
) -> dict[str, Any]:
    answer = agencies.b.http.post(
        "/v1/verify/trip",
        headers=lane or agencies.lane,
        json={
            "token": token,
            "direction": "entry",
            "event_id": str(uuid.uuid4()),
            "plate": plate,
            "documents": documents,
        },
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def cross(
    agencies: Federated, trip: dict[str, Any], riding: Car, lane: dict[str, str] | None = None
) -> dict[str, Any]:
    """B's lane (``lane``, or the agreed port's) scans the trip, its plate and both people."""
    documents = [riding.driver.document, riding.passenger.document]
    return verify_trip_at_b(agencies, trip["token"], riding.plate, documents, lane)


def members(answer: dict[str, Any]) -> list[Outcome]:
    return [outcome(member) for member in answer["members"]]


def test_a_trip_of_a_crosses_at_b_and_each_member_s_crossing_goes_back_to_a(
    agencies: Federated,
) -> None:
    riding = car(agencies)
    trip = file_trip(agencies, riding)
    answer = cross(agencies, trip, riding)
    assert outcome(answer) == ("green", [])
    assert answer["trip_id"] == trip["id"]
    assert [(m["role"], m["clearance_id"]) for m in answer["members"]] == [
        ("driver", riding.driver.clearance_id),
        ("passenger", riding.passenger.clearance_id),
    ]
    assert members(answer) == [("green", []), ("green", [])]
    # Recorded at B like any trip: the vehicle's crossing and one for each member.
    recorded = "SELECT count(*) FROM crossings WHERE trip_id = $1"
    assert count(agencies.b, recorded, uuid.UUID(trip["id"])) == 3
    # Each member's crossing goes back to A as a receipt of their own clearance.
    people = {riding.driver.clearance_id, riding.passenger.clearance_id}

    def listed() -> dict[str, list[tuple[str, str, str]]]:
        return {
            person: [
                (c["id"], c["agency"], c["port_code"]) for c in foreign_crossings(agencies, person)
            ]
            for person in people
        }

    wait_for("A to list each member's receipt", lambda: all(listed().values()))
    assert listed() == {
        m["clearance_id"]: [(m["crossing_id"], "LAO", PORT_B)] for m in answer["members"]
    }


def test_a_member_revoked_at_a_is_denied_at_b_and_the_trip_is_not_green(
    agencies: Federated,
) -> None:
    riding = car(agencies)
    trip = file_trip(agencies, riding)
    revoked = agencies.a.http.post(
        f"/v1/clearances/{riding.passenger.clearance_id}/revoke",
        headers=agencies.partner,
        json={"reason": "left the company"},
    )
    assert revoked.status_code == 200, revoked.text
    wait_for(
        "B to deny the revoked member",
        lambda: (
            members(cross(agencies, trip, riding)) == [("green", []), ("deny", ["token_revoked"])]
        ),
        within=A_STATUS_LIST_TTL + 10,
    )
    answer = cross(agencies, trip, riding)
    assert outcome(answer) == ("deny", ["token_revoked"])
    # Nobody crossed: neither the vehicle nor the member still green.
    assert "crossing_id" not in answer
    assert [m.get("crossing_id") for m in answer["members"]] == [None, None]


def test_b_accepts_a_trip_only_as_the_agreement_covers_it(agencies: Federated) -> None:
    b = agencies.b
    riding = car(agencies, ports=[PORT_B, OTHER_PORT_B])
    other_lane = b.client("lane", port_code=OTHER_PORT_B, lane_code="L3")
    # B's port, named in the token, but not in the agreement: as for a clearance.
    elsewhere = file_trip(agencies, riding, port=OTHER_PORT_B)
    assert outcome(cross(agencies, elsewhere, riding, other_lane)) == ("deny", ["wrong_port"])
    # The agreed port, not the token's.
    assert outcome(cross(agencies, elsewhere, riding)) == ("deny", ["wrong_port"])

    # A member of a category the agreement leaves out is denied; the others are not.
    investor = replace(riding, passenger=issue(agencies, category="investor"))
    answer = cross(agencies, file_trip(agencies, investor), investor)
    assert outcome(answer) == ("deny", ["category_not_agreed"])
    assert members(answer) == [("green", []), ("deny", ["category_not_agreed"])]

    # B's own watchlist, on each document presented in the vehicle.
    b.call(
        "POST",
        "/v1/admin/watchlist",
        json={"kind": "document", "reason": "reported at B", **riding.passenger.document},
    )
    answer = cross(agencies, file_trip(agencies, riding), riding)
    assert outcome(answer) == ("refer", ["watchlist_hit"])
    assert members(answer) == [("green", []), ("refer", ["watchlist_hit"])]


def test_a_trip_of_an_issuer_b_does_not_trust_is_denied(agencies: Federated) -> None:
    with fake_peer() as stranger:
        token, plate, documents = stranger.trip(PORT_B)
    answer = verify_trip_at_b(agencies, token, plate, documents)
    assert outcome(answer) == ("deny", ["issuer_untrusted"])
    assert answer["members"] == []


def test_when_a_rotates_its_keys_b_follows_and_old_tokens_stay_green(agencies: Federated) -> None:
    before = issue(agencies)
    # Twice: the key that signs next is then one B cannot have seen before its next refresh.
    agencies.a.command("keys", "rotate")
    agencies.a.command("keys", "rotate")
    after = issue(agencies)
    wait_for(
        "B to take A's new key",
        lambda: verify_at_b(agencies, after)["decision"] == "green",
        within=20,
    )
    assert outcome(verify_at_b(agencies, before)) == ("green", [])


def test_anchor_rotations_reach_the_peer_through_the_list_the_old_anchor_signed(
    agencies: Federated,
) -> None:
    a, b = agencies.a, agencies.b
    for _ in range(2):
        _rotate_anchor(a, seen_by=b, as_agency=agencies.a_at_b)
        assert agency_at(b, agencies.a_at_b)["trust_list"]["status"] == "ok"
    for _ in range(2):
        _rotate_anchor(b, seen_by=a, as_agency=agencies.b_at_a)
    # Receipts are now signed by an anchor A never had pinned: it trusts it through B's lists.
    issued = issue(agencies)
    assert verify_at_b(agencies, issued)["decision"] == "green"
    wait_for(
        "A to take the receipt", lambda: bool(foreign_crossings(agencies, issued.clearance_id))
    )


def _rotate_anchor(agency: Deployment, *, seen_by: Deployment, as_agency: str) -> None:
    """Rotate ``agency``'s anchor; return once ``seen_by`` has taken a list it signed (a peer
    must, before the next rotation: that is the overlap)."""
    active = agency.command("federation", "rotate-anchor")["active"]

    def signed_by_it() -> bool:
        return bool(agency_at(seen_by, as_agency)["trust_list"].get("signed_by") == active)

    what = f"{seen_by.name} to take the list the new anchor signed"
    try:
        wait_for(what, signed_by_it, within=20)
    except RuntimeError:
        pytest.fail(f"{what}: {agency_at(seen_by, as_agency)['trust_list']}")


def test_b_keeps_its_last_good_list_and_says_why_it_refused_a_new_one(agencies: Federated) -> None:
    b = agencies.b
    with fake_peer() as peer:
        agency_id = trusted_by(b, peer, PORT_B)
        token, document = peer.clearance(PORT_B)
        trip = peer.trip(PORT_B)

        def verify_trip() -> Outcome:
            return outcome(verify_trip_at_b(agencies, *trip))

        def verify() -> Outcome:
            answer = b.http.post(
                "/v1/verify",
                headers=agencies.lane,
                json={
                    "token": token,
                    "direction": "entry",
                    "event_id": str(uuid.uuid4()),
                    "document": document,
                },
            )
            return outcome(answer.json())

        assert verify() == ("green", [])
        assert verify_trip() == ("green", [])
        faults = {
            "anchor_untrusted": peer.trust_list(anchor=new_signing_key()),
            "expired": peer.trust_list(lifetime=-120),
            "wrong_type": peer.trust_list(media_type="JWT"),
            "oversized": peer.trust_list() + "A" * 70_000,
            "malformed": "not a list",
        }
        for reason, served in faults.items():
            peer.serve_list(served)
            _await_refusal(b, agency_id, reason)
            assert peer_status(b, peer.country) == "refused"
            assert verify() == ("green", []), reason  # the last good list is still in use
        # A redirect to another host (the same server, named otherwise) is not followed.
        peer.answer = (
            302,
            {"Location": peer.trust_list_url.replace("127.0.0.1", "localhost")},
            b"",
        )
        _await_refusal(b, agency_id, "redirected_elsewhere")

        metrics = b.http.get("/metrics").text
        assert (
            _gauge(metrics, "greenlane_peer_trust_list_status", peer="VNM", status="refused") == 1
        )
        for reason in (*faults, "redirected_elsewhere"):
            assert _gauge(
                metrics, "greenlane_peer_trust_list_refusals_total", peer="VNM", reason=reason
            ), reason

        # A list that expires while the peer is down: its clearances are referred after.
        peer.serve_list(peer.trust_list(lifetime=3))
        wait_for("a fresh list", lambda: agency_at(b, agency_id)["trust_list"]["status"] == "ok")
        peer.answer = (503, {}, b"")
        wait_for("the list to go stale", lambda: peer_status(b, peer.country) == "stale", within=15)
        assert verify() == ("refer", ["issuer_data_stale"])
        assert verify_trip() == ("refer", ["issuer_data_stale"])
        metrics = b.http.get("/metrics").text
        assert _gauge(metrics, "greenlane_peer_trust_list_status", peer="VNM", status="stale") == 1
        b.call("DELETE", f"/v1/admin/agencies/{agency_id}")


def _await_refusal(b: Deployment, agency_id: str, reason: str) -> None:
    wait_for(
        f"B to refuse the list ({reason})",
        lambda: agency_at(b, agency_id)["trust_list"].get("refused") == reason,
        within=15,
    )


def _gauge(metrics: str, name: str, **labels: str) -> float:
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_an_offline_lane_of_b_carries_the_peers_trust_list(
    agencies: Federated, tmp_path: Path
) -> None:
    b = agencies.b
    made = b.call(
        "POST",
        "/v1/admin/clients",
        json={"role": "lane", "name": "offline", "port_code": PORT_B, "lane_code": "OFF1"},
    )
    state = tmp_path / "lane.json"
    with LaneClient(b.base_url, made["client_id"], made["client_secret"]) as lane:
        OfflineVerifier(lane, port=PORT_B, issuer=b.issuer, state_path=state).refresh()
        issued = issue(agencies)
        riding = car(agencies)
        trip = file_trip(agencies, riding)
        with fake_peer() as stranger:
            foreign, foreign_document = stranger.clearance(PORT_B)
            foreign_trip, foreign_plate, foreign_documents = stranger.trip(PORT_B)
        # Restarted without its server: what it holds is on its disk.
        offline = OfflineVerifier(lane, port=PORT_B, issuer=b.issuer, state_path=state)
        answer = offline.verify(
            issued.token, "entry", document=PresentedDocument(**issued.document)
        )
        assert (answer.decision, answer.mode, answer.reasons) == ("green", "degraded", [])
        untrusted = offline.verify(foreign, "entry", document=PresentedDocument(**foreign_document))
        assert [reason.code for reason in untrusted.reasons] == ["issuer_untrusted"]
        # A's trip, decided as B's server decides it; the stranger's denied.
        scanned = [riding.driver.document, riding.passenger.document]
        crossed = offline.verify_trip(
            trip["token"],
            "entry",
            plate=riding.plate,
            documents=[ScannedDocument(**document) for document in scanned],
        )
        assert (crossed.decision, crossed.reasons) == ("green", [])
        assert [member.decision for member in crossed.members] == ["green", "green"]
        stranger_trip = offline.verify_trip(
            foreign_trip,
            "entry",
            plate=foreign_plate,
            documents=[ScannedDocument(**document) for document in foreign_documents],
        )
        assert [reason.code for reason in stranger_trip.reasons] == ["issuer_untrusted"]
        # The sync: B's server decides the same.
        report = offline.sync()
        assert not report.disagreements


def test_while_a_is_down_b_verifies_until_the_list_expires_and_loses_no_receipt(
    agencies: Federated,
) -> None:
    a, b = agencies.a, agencies.b
    issued = issue(agencies)
    stop(a.process)
    try:
        assert outcome(verify_at_b(agencies, issued)) == ("green", [])
        wait_for("B to notice A is down", lambda: peer_status(b, "THA") == "refused", within=10)
        assert outcome(verify_at_b(agencies, issued)) == ("green", [])
        wait_for(
            "A's list to expire at B",
            lambda: peer_status(b, "THA") == "stale",
            within=A_TRUST_LIST_TTL + 10,
        )
        assert outcome(verify_at_b(agencies, issued)) == ("refer", ["issuer_data_stale"])
        # The receipt of the green crossing waits in B's outbox, tried again and again.
        assert count(b, "SELECT count(*) FROM federation_outbox WHERE attempts > 0") >= 1
    finally:
        a.process = start(a.env, a.base_url)
    wait_for("B to take A's list again", lambda: peer_status(b, "THA") == "ok", within=20)
    assert outcome(verify_at_b(agencies, issued)) == ("green", [])
    wait_for(
        "A to list the crossings made while it was down",
        lambda: len(foreign_crossings(agencies, issued.clearance_id)) == 3,
        within=90,
    )
