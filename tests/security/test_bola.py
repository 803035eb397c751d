"""Broken object-level authorisation: a partner reaching another partner's records by id.

Two partners each hold a traveller, a vehicle, an application and its clearance. Every partner
route that takes an id is called by each partner with the other's real id and with a random
one: both must be the same 404, so that the answer cannot tell "not yours" from "not there",
and the owner's record must be untouched afterwards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from ..api.actors import Actor, Admin
from ..api.lane_setup import PORT, issue, single_trip
from ..api.problems import assert_problem
from ..api.trip_setup import trip_of
from .routes import Operation, call, partner_operations, random_ids

# Where the owner reads back the record each path parameter names.
READ_BACK = {
    "traveller_id": "/v1/travellers/{traveller_id}",
    "vehicle_id": "/v1/vehicles/{vehicle_id}",
    "application_id": "/v1/applications/{application_id}",
    "clearance_id": "/v1/clearances/{clearance_id}",
    "webhook_id": "/v1/webhooks/{webhook_id}",
    "delivery_id": "/v1/webhooks/{webhook_id}/deliveries",  # the log that holds it
    "trip_id": "/v1/trips/{trip_id}",
}
# Bodies that would succeed on the caller's own record, so that only ownership can refuse them.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/v1/travellers/{traveller_id}"): {"employer": {"name": "Taken", "country": "THA"}},
    ("PATCH", "/v1/vehicles/{vehicle_id}"): {"colour": "Stolen red"},
    ("POST", "/v1/clearances/{clearance_id}/revoke"): {"reason": "not yours"},
    ("POST", "/v1/applications/{application_id}/information"): {"statement": "not yours"},
    ("POST", "/v1/applications/{application_id}/appeal"): {"grounds": "not yours"},
    ("PUT", "/v1/travellers/{traveller_id}/document"): {
        "document": {
            "type": "P",
            "number": "N1234567",
            "issuing_state": "THA",
            "expiry_date": "2036-01-01",
        }
    },
    ("PATCH", "/v1/webhooks/{webhook_id}"): {"url": "https://93.184.215.15/stolen"},
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): {"overlap_seconds": 0},
    ("PUT", "/v1/trips/{trip_id}"): {
        "vehicle_id": str(uuid.uuid4()),
        "port_code": PORT,
        "direction": "entry",
        "expected_at": "2030-01-01T00:00:00Z",
        "crew": [{"traveller_id": str(uuid.uuid4()), "role": "driver"}],
    },
}
ID_ROUTES = [
    ("GET", "/v1/travellers/{traveller_id}"),
    ("PATCH", "/v1/travellers/{traveller_id}"),
    ("DELETE", "/v1/travellers/{traveller_id}"),
    ("GET", "/v1/vehicles/{vehicle_id}"),
    ("PATCH", "/v1/vehicles/{vehicle_id}"),
    ("DELETE", "/v1/vehicles/{vehicle_id}"),
    ("GET", "/v1/applications/{application_id}"),
    ("GET", "/v1/clearances/{clearance_id}"),
    ("GET", "/v1/clearances/{clearance_id}/qr"),
    ("POST", "/v1/clearances/{clearance_id}/revoke"),
    ("POST", "/v1/applications/{application_id}/information"),
    ("POST", "/v1/applications/{application_id}/appeal"),
    ("POST", "/v1/clearances/{clearance_id}/renew"),
    ("PUT", "/v1/travellers/{traveller_id}/document"),
    ("GET", "/v1/webhooks/{webhook_id}"),
    ("PATCH", "/v1/webhooks/{webhook_id}"),
    ("DELETE", "/v1/webhooks/{webhook_id}"),
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"),
    ("POST", "/v1/webhooks/{webhook_id}/test"),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"),
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"),
    ("GET", "/v1/trips/{trip_id}"),
    ("PUT", "/v1/trips/{trip_id}"),
    ("POST", "/v1/trips/{trip_id}/cancel"),
    ("GET", "/v1/trips/{trip_id}/qr"),
]
# Ids a partner names inside a body: another partner's must be as unknown as a random one.
BODY_ID_FIELDS = [
    ("POST", "/v1/applications", "traveller_id"),
    ("POST", "/v1/applications", "vehicle_id"),
    ("POST", "/v1/trips", "vehicle_id"),
    ("PUT", "/v1/trips/{trip_id}", "vehicle_id"),
]
CALLERS = ("first", "second")
TARGETS = ("the other partner's id", "a random id")


@dataclass(frozen=True)
class Holdings:
    actor: Actor
    ids: dict[str, str]

    def records(self) -> dict[str, Any]:
        """The owner's view of every record it holds; must not change under attack."""
        seen = {}
        for name, url in READ_BACK.items():
            response = self.actor.get(url.format(**self.ids))
            assert response.status_code == 200, response.text
            seen[name] = response.json()
        return seen


def holdings(partner: Actor) -> Holdings:
    application = issue(partner, with_vehicle=True).application
    webhook = partner.post(
        "/v1/webhooks",
        json={"url": "https://93.184.215.14/hooks", "events": ["clearance.revoked"]},
    ).json()
    delivery = partner.post(f"/v1/webhooks/{webhook['id']}/test").json()
    trip = partner.post("/v1/trips", json=trip_of(application, PORT))
    assert trip.status_code == 201, trip.text
    return Holdings(
        partner,
        {
            "traveller_id": application["traveller_id"],
            "vehicle_id": application["vehicle_id"],
            "application_id": application["id"],
            "clearance_id": application["clearance"]["id"],
            "webhook_id": webhook["id"],
            "delivery_id": delivery["id"],
            "trip_id": trip.json()["id"],
        },
    )


@pytest.fixture(scope="module")
def partners(shared_admin: Admin) -> dict[str, Holdings]:
    shared_admin.port(PORT)
    return {name: holdings(shared_admin.partner_actor()) for name in CALLERS}


@pytest.fixture(scope="module")
def reachable(partners: dict[str, Holdings]) -> dict[tuple[str, str], Operation]:
    return {operation.key: operation for operation in partner_operations(partners["first"].actor)}


def other(caller: str) -> str:
    return CALLERS[1 - CALLERS.index(caller)]


def test_the_matrix_covers_every_partner_route_with_an_id(
    reachable: dict[tuple[str, str], Operation],
) -> None:
    with_ids = {key for key, operation in reachable.items() if operation.path_params}
    assert with_ids == set(ID_ROUTES)
    assert {p for key in with_ids for p in reachable[key].path_params} <= set(READ_BACK)
    named_in_bodies = {
        (*key, name)
        for key, operation in reachable.items()
        for name in operation.body_fields
        if name.endswith("_id")
    }
    assert named_in_bodies == set(BODY_ID_FIELDS)


def test_each_partner_reads_its_own_records(partners: dict[str, Holdings]) -> None:
    """The control: the same routes answer 200 for the owner, so a 404 below is the guard."""
    for holder in partners.values():
        assert holder.records()
        qr = holder.actor.get(f"/v1/clearances/{holder.ids['clearance_id']}/qr")
        assert qr.status_code == 200


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ID_ROUTES, ids=" ".join)
def test_another_partners_record_is_a_404_like_a_missing_one(
    partners: dict[str, Holdings],
    reachable: dict[tuple[str, str], Operation],
    route: tuple[str, str],
    caller: str,
    target: str,
) -> None:
    operation = reachable[route]
    me, owner = partners[caller], partners[other(caller)]
    before = owner.records()
    ids = owner.ids if target == TARGETS[0] else random_ids(operation)
    answer = call(me.actor, operation, ids, BODIES.get(route))
    missing = call(me.actor, operation, random_ids(operation), BODIES.get(route))
    assert_problem(missing, 404, "not-found")
    assert answer.status_code == missing.status_code
    assert answer.headers["content-type"] == missing.headers["content-type"]
    assert answer.json() == missing.json()
    assert owner.records() == before


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    "field", [field for _, path, field in BODY_ID_FIELDS if path == "/v1/applications"]
)
def test_an_application_cannot_name_another_partners_records(
    partners: dict[str, Holdings], field: str, caller: str, target: str
) -> None:
    me, owner = partners[caller], partners[other(caller)]
    body = single_trip(me.ids)
    filed_before = me.actor.get("/v1/applications").json()["items"]
    chosen = owner.ids[field] if target == TARGETS[0] else str(uuid.uuid4())
    answer = me.actor.post("/v1/applications", json={**body, field: chosen})
    missing = me.actor.post("/v1/applications", json={**body, field: str(uuid.uuid4())})
    assert_problem(missing, 404, "not-found")
    assert answer.status_code == missing.status_code
    assert answer.json() == missing.json()
    assert me.actor.get("/v1/applications").json()["items"] == filed_before


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("caller", CALLERS)
def test_a_trip_cannot_name_another_partners_vehicle_or_traveller(
    partners: dict[str, Holdings], caller: str, target: str
) -> None:
    me, owner = partners[caller], partners[other(caller)]
    body = trip_of(me.ids, PORT)
    filed_before = me.actor.get("/v1/trips").json()["items"]
    for field in ("vehicle_id", "traveller_id"):
        chosen = owner.ids[field] if target == TARGETS[0] else str(uuid.uuid4())
        if field == "vehicle_id":
            answer = me.actor.post("/v1/trips", json={**body, field: chosen})
        else:
            crew = [*body["crew"], {"traveller_id": chosen, "role": "passenger"}]
            answer = me.actor.post("/v1/trips", json={**body, "crew": crew})
        assert_problem(answer, 404, "not-found")
    assert me.actor.get("/v1/trips").json()["items"] == filed_before


def test_lists_never_show_another_partners_records(
    partners: dict[str, Holdings], reachable: dict[tuple[str, str], Operation]
) -> None:
    lists = [
        operation
        for operation in reachable.values()
        if operation.method == "GET" and "cursor" in operation.query_params
    ]
    assert {operation.path for operation in lists} >= {
        "/v1/travellers",
        "/v1/vehicles",
        "/v1/applications",
        "/v1/webhooks",
        "/v1/webhooks/{webhook_id}/deliveries",
    }
    for caller in CALLERS:
        me, owner = partners[caller], partners[other(caller)]
        for operation in lists:
            listed = call(me.actor, operation, me.ids).text
            assert any(own in listed for own in me.ids.values()), operation.path
            for theirs in owner.ids.values():
                assert theirs not in listed, operation.path
