"""Fields the server owns, sent in a body anyway: each one is refused with 422 naming it.

A field the server owns is one it answers with but never takes (read off the wire structs, so a
new answer field is attacked without editing this file), plus the names a mass-assignment
attack tries whatever the answer shows (``partner_id``, ``version``, ...). The bodies are valid
but for that one field, so nothing else can be what refuses them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from greenlane.wire.applications import Application, ApplicationCreate
from greenlane.wire.clearances import Clearance, RevokeRequest
from greenlane.wire.lifecycle import (
    AppealCreate,
    DocumentReplaced,
    DocumentReplacement,
    InformationAnswer,
)
from greenlane.wire.registration import (
    Traveller,
    TravellerCreate,
    TravellerPatch,
    Vehicle,
    VehicleCreate,
    VehiclePatch,
)
from greenlane.wire.trips import Trip, TripCreate, TripVerifyAnswer, TripVerifyRequest
from greenlane.wire.verify import VerifyAnswer, VerifyRequest
from greenlane.wire.webhooks import (
    RotateSecret,
    Webhook,
    WebhookCreate,
    WebhookUpdate,
    WebhookWithSecret,
)

from ..api import bodies
from ..api.actors import Actor, Admin
from ..api.lane_setup import PORT, issue, question, single_trip
from ..api.problems import assert_problem
from ..api.trip_setup import trip_of
from .routes import partner_operations

ALWAYS_SERVER_OWNED = frozenset(
    {
        "id",
        "partner_id",
        "client_id",
        "status",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "deleted_at",
        "clearance",
        "reasons",
        "decision",
        "token",
        "version",
        "expires_at",
        "crossings",
        "revoked_at",
    }
)


@dataclass(frozen=True)
class World:
    partner: Actor
    lane: Actor
    ids: dict[str, str]


@dataclass(frozen=True)
class Body:
    """One body a client sends: where to, its wire shapes, and a valid example."""

    method: str
    path: str
    request: type[msgspec.Struct]
    answer: type[msgspec.Struct]
    valid: Callable[[World], dict[str, Any]]
    sender: str = "partner"
    application: str = "application_id"  # which of the world's applications the path names

    def url(self, world: World) -> str:
        return self.path.format(**{**world.ids, "application_id": world.ids[self.application]})

    def server_owned(self) -> list[str]:
        taken = wire_names(self.request)
        return sorted((ALWAYS_SERVER_OWNED | wire_names(self.answer)) - taken)


def wire_names(struct: type[msgspec.Struct]) -> frozenset[str]:
    return frozenset(field.encode_name for field in msgspec.structs.fields(struct))


def application(world: World) -> dict[str, Any]:
    return single_trip(world.ids)


BODIES = {
    "register a traveller": Body(
        "POST", "/v1/travellers", TravellerCreate, Traveller, lambda _: bodies.traveller()
    ),
    "change a traveller": Body(
        "PATCH",
        "/v1/travellers/{traveller_id}",
        TravellerPatch,
        Traveller,
        lambda _: {"surname": "Jaidee"},
    ),
    "register a vehicle": Body(
        "POST", "/v1/vehicles", VehicleCreate, Vehicle, lambda _: bodies.vehicle()
    ),
    "change a vehicle": Body(
        "PATCH", "/v1/vehicles/{vehicle_id}", VehiclePatch, Vehicle, lambda _: {"colour": "Red"}
    ),
    "file an application": Body(
        "POST", "/v1/applications", ApplicationCreate, Application, application
    ),
    "withdraw a clearance": Body(
        "POST",
        "/v1/clearances/{clearance_id}/revoke",
        RevokeRequest,
        Clearance,
        lambda _: {"reason": "lost phone"},
    ),
    "answer a request for information": Body(
        "POST",
        "/v1/applications/{application_id}/information",
        InformationAnswer,
        Application,
        lambda _: {"statement": "Attached."},
        application="waiting_id",
    ),
    "appeal a rejection": Body(
        "POST",
        "/v1/applications/{application_id}/appeal",
        AppealCreate,
        Application,
        lambda _: {"grounds": "Please look again."},
        application="rejected_id",
    ),
    "replace a travel document": Body(
        "PUT",
        "/v1/travellers/{traveller_id}/document",
        DocumentReplacement,
        DocumentReplaced,
        lambda _: {"document": {**bodies.traveller()["document"]}},
    ),
    "register a webhook": Body(
        "POST",
        "/v1/webhooks",
        WebhookCreate,
        WebhookWithSecret,
        lambda _: {"url": "https://93.184.215.14/hooks", "events": ["clearance.revoked"]},
    ),
    "change a webhook": Body(
        "PATCH",
        "/v1/webhooks/{webhook_id}",
        WebhookUpdate,
        Webhook,
        lambda _: {"description": "dispatch"},
    ),
    "rotate a webhook's secret": Body(
        "POST",
        "/v1/webhooks/{webhook_id}/rotate-secret",
        RotateSecret,
        WebhookWithSecret,
        lambda _: {"overlap_seconds": 60},
    ),
    "file a trip": Body("POST", "/v1/trips", TripCreate, Trip, lambda w: trip_of(w.ids, PORT)),
    "amend a trip": Body(
        "PUT", "/v1/trips/{trip_id}", TripCreate, Trip, lambda w: trip_of(w.ids, PORT)
    ),
    "verify a trip at a lane": Body(
        "POST",
        "/v1/verify/trip",
        TripVerifyRequest,
        TripVerifyAnswer,
        lambda _: {
            "token": "x",
            "direction": "entry",
            "event_id": str(uuid.uuid4()),
            "plate": "AB1",
            "documents": [],
        },
        "lane",
    ),
    # Not a partner's, but the same promise: a lane cannot bring its own decision.
    "verify at a lane": Body(
        "POST", "/v1/verify", VerifyRequest, VerifyAnswer, lambda _: question(token="x"), "lane"
    ),
}
CASES = [
    pytest.param(body, field, id=f"{name}: {field}")
    for name, body in BODIES.items()
    for field in body.server_owned()
]


def plausible(field: str) -> Any:
    """A value of the kind the server itself would write, so only the name can be refused."""
    if field == "id" or field.endswith("_id"):
        return str(uuid.uuid4())
    if field.endswith("_at"):
        return "2030-01-01T00:00:00Z"
    if field in ("reasons", "crossings", "ports"):
        return []
    if field == "version":
        return 1
    return "approved"


@pytest.fixture(scope="module")
def world(shared_admin: Admin) -> World:
    shared_admin.port(PORT)
    partner = shared_admin.partner_actor()
    filed = issue(partner, with_vehicle=True).application
    webhook = partner.post(
        "/v1/webhooks",
        json={"url": "https://93.184.215.14/hooks", "events": ["clearance.revoked"]},
    ).json()
    ids = {
        "traveller_id": filed["traveller_id"],
        "vehicle_id": filed["vehicle_id"],
        "clearance_id": filed["clearance"]["id"],
        "application_id": filed["id"],
        "waiting_id": waiting_for_information(shared_admin, partner),
        "rejected_id": rejected(partner),
        "webhook_id": webhook["id"],
    }
    trip = partner.post("/v1/trips", json=trip_of(ids, PORT))
    assert trip.status_code == 201, trip.text
    ids["trip_id"] = trip.json()["id"]
    return World(partner, shared_admin.lane_actor(PORT), ids)


def waiting_for_information(admin: Admin, partner: Actor) -> str:
    """An application referred for a watchlist hit, that a reviewer asked information about."""
    traveller = bodies.traveller()
    traveller_id = partner.post("/v1/travellers", json=traveller).json()["id"]
    document = traveller["document"]
    watched = {"kind": "document", "reason": "test", "number": document["number"]}
    added = admin.post("/v1/admin/watchlist", json={**watched, "issuing_state": "THA"})
    assert added.status_code == 201, added.text
    filed = partner.post("/v1/applications", json=bodies.application(traveller_id)).json()
    asked = admin.post(
        f"/v1/admin/reviews/{filed['id']}/request-info",
        json={"items": ["itinerary"], "message": "Where to?"},
    )
    assert asked.status_code == 200, asked.text
    application_id: str = filed["id"]
    return application_id


def rejected(partner: Actor) -> str:
    german = bodies.traveller(nationality="DEU")
    german["document"]["issuing_state"] = "DEU"
    traveller_id = partner.post("/v1/travellers", json=german).json()["id"]
    filed = partner.post("/v1/applications", json=bodies.application(traveller_id)).json()
    assert filed["status"] == "rejected", filed
    application_id: str = filed["id"]
    return application_id


def test_every_partner_body_is_covered(world: World) -> None:
    sent = {(b.method, b.path): b for b in BODIES.values() if b.sender == "partner"}
    with_bodies = {op.key: op for op in partner_operations(world.partner) if op.body_fields}
    assert set(with_bodies) == set(sent)
    for key, operation in with_bodies.items():
        assert operation.body_fields == wire_names(sent[key].request), key


def test_the_valid_bodies_are_accepted(world: World) -> None:
    """The control: without the extra field, each body goes through (not a 4xx)."""
    for name, body in BODIES.items():
        sender = world.lane if body.sender == "lane" else world.partner
        response = sender.request(body.method, body.url(world), json=body.valid(world))
        assert response.status_code < 300, (name, response.text)


@pytest.mark.parametrize(("body", "field"), CASES)
def test_a_server_owned_field_is_refused(world: World, body: Body, field: str) -> None:
    sender = world.lane if body.sender == "lane" else world.partner
    sent = {**body.valid(world), field: plausible(field)}
    response = sender.request(body.method, body.url(world), json=sent)
    errors = assert_problem(response, 422, "validation-failed")["errors"]
    assert isinstance(errors, list)
    assert [error["field"] for error in errors] == [field]
