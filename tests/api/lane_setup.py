"""A port, a lane, a partner and approved clearances: what every verify test starts from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from . import bodies
from .actors import Actor, Admin

PORT = "THBKK"
OTHER_PORT = "THLCH"


@dataclass
class Issued:
    traveller: dict[str, Any]
    vehicle: dict[str, Any] | None
    application: dict[str, Any]

    @property
    def token(self) -> str:
        token: str = self.application["clearance"]["token"]
        return token

    @property
    def traveller_id(self) -> str:
        traveller_id: str = self.application["traveller_id"]
        return traveller_id

    @property
    def clearance_id(self) -> str:
        clearance_id: str = self.application["clearance"]["id"]
        return clearance_id

    def document(self) -> dict[str, str]:
        document = self.traveller["document"]
        return {"number": document["number"], "issuing_state": document["issuing_state"]}


def issue(
    partner: Actor,
    *,
    entries: str = "multiple",
    ports: list[str] | None = None,
    with_vehicle: bool = False,
    valid_from: str | None = None,
    traveller: dict[str, Any] | None = None,
) -> Issued:
    body = traveller or (bodies.driver() if with_vehicle else bodies.traveller())
    traveller_id = partner.post("/v1/travellers", json=body).json()["id"]
    vehicle = None
    application = bodies.application(
        traveller_id,
        ports=ports or [PORT],
        valid_from=valid_from or date.today().isoformat(),
        entries=entries,
        purpose="Deliveries",
    )
    if with_vehicle:
        vehicle = bodies.vehicle()
        application["vehicle_id"] = partner.post("/v1/vehicles", json=vehicle).json()["id"]
    filed = partner.post("/v1/applications", json=application).json()
    assert filed["status"] == "approved", filed
    return Issued(traveller=body, vehicle=vehicle, application=filed)


def single_trip(ids: dict[str, str]) -> dict[str, Any]:
    """A single-entry trip from today through PORT, for the traveller and vehicle in ``ids``."""
    return bodies.application(
        ids["traveller_id"],
        vehicle_id=ids["vehicle_id"],
        ports=[PORT],
        valid_from=date.today().isoformat(),
        valid_until=bodies.in_days(5),
        entries="single",
        purpose="Deliveries",
    )


def question(issued: Issued | None = None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "token": issued.token if issued else "",
        "direction": "entry",
        "event_id": str(uuid.uuid4()),
    }
    if issued is not None:
        body["document"] = issued.document()
        if issued.vehicle is not None:
            body["plate"] = issued.vehicle["plate"]
    body.update(changes)
    return body


def ask(lane: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/verify`` as ``lane``; the answer, which must be a 200."""
    response = lane.post("/v1/verify", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def codes(answer: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in answer["reasons"]]


def lanes_and_partner(admin: Admin) -> tuple[Actor, Actor]:
    admin.port(PORT, kinds=["passenger", "vehicle"])
    admin.port(OTHER_PORT, kinds=["passenger", "vehicle"])
    return admin.lane_actor(PORT, "L1"), admin.partner_actor()
