"""A port with cargo lanes, a lane there, a partner, a truck and cleared people: what every trip
test starts from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import bodies
from .actors import Actor, Admin
from .lane_setup import Issued, issue

TRIP_PORT = "THSKA"  # Sadao, a road crossing with cargo lanes


@dataclass
class Crew:
    admin: Admin
    partner: Actor
    lane: Actor
    vehicle: dict[str, Any]
    vehicle_id: str
    driver: Issued
    co_driver: Issued

    def trip(self, *people: tuple[Issued, str], **changes: Any) -> dict[str, Any]:
        """A trip body: the truck, arriving in two hours, with ``people`` (driver and co-driver
        when none are given)."""
        listed = people or ((self.driver, "driver"), (self.co_driver, "co_driver"))
        body: dict[str, Any] = {
            "vehicle_id": self.vehicle_id,
            "port_code": TRIP_PORT,
            "direction": "entry",
            "expected_at": arriving_in(timedelta(hours=2)),
            "crew": [
                {"traveller_id": person.traveller_id, "role": role} for person, role in listed
            ],
        }
        body.update(changes)
        return body

    def file(self, *people: tuple[Issued, str], **changes: Any) -> dict[str, Any]:
        response = self.partner.post("/v1/trips", json=self.trip(*people, **changes))
        assert response.status_code == 201, response.text
        filed: dict[str, Any] = response.json()
        return filed

    def scan(self, trip: dict[str, Any], *people: Issued, **changes: Any) -> dict[str, Any]:
        """The lane's question for ``trip``: its plate, and the documents of ``people``."""
        body: dict[str, Any] = {
            "token": trip["token"],
            "direction": "entry",
            "event_id": str(uuid.uuid4()),
            "plate": self.vehicle["plate"],
            "documents": [person.document() for person in people],
        }
        body.update(changes)
        return body

    def verify(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.lane.post("/v1/verify/trip", json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def single_entry(self, traveller_id: str) -> dict[str, Any]:
        """An application for a single-entry clearance through the trip's port, from today."""
        return bodies.application(
            traveller_id,
            ports=[TRIP_PORT],
            valid_from=bodies.in_days(0),
            entries="single",
            purpose="Visiting family",
        )

    def passenger(self, **traveller: Any) -> Issued:
        return issue(self.partner, ports=[TRIP_PORT], traveller=bodies.traveller(**traveller))


def trip_of(ids: dict[str, str], port: str) -> dict[str, Any]:
    """A trip body for the vehicle and its driver in ``ids``, arriving in two hours."""
    return {
        "vehicle_id": ids["vehicle_id"],
        "port_code": port,
        "direction": "entry",
        "expected_at": arriving_in(timedelta(hours=2)),
        "crew": [{"traveller_id": ids["traveller_id"], "role": "driver"}],
    }


def arriving_in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


def crew(admin: Admin, partner: Actor | None = None) -> Crew:
    """The trip port, a lane there, and the crew of ``partner`` (a new partner when none)."""
    admin.port(TRIP_PORT, kinds=["passenger", "vehicle", "cargo"])
    lane = admin.lane_actor(TRIP_PORT, "T1")
    partner = partner or admin.partner_actor()
    driver = issue(partner, ports=[TRIP_PORT], with_vehicle=True)
    assert driver.vehicle is not None
    vehicle_id = driver.application["vehicle_id"]
    co_driver = issue(partner, ports=[TRIP_PORT], traveller=bodies.driver())
    return Crew(admin, partner, lane, driver.vehicle, vehicle_id, driver, co_driver)
