"""A JSON body that repeats a key is refused with 400 on every route that takes one.

A decoder that keeps the last of two values lets one body say two things (an MRZ for one
surname, a body naming another), and whatever reads the text instead of the decoded value sees
the other. Every operation with a JSON body in the app's OpenAPI document is sent one, so a
route added later is covered too or fails the suite until it is listed here. ``POST /v1/verify``
alone is left out: it stores no body, and it is the lane hot path.
"""

from __future__ import annotations

import json
import uuid

import pytest

from ..api import bodies
from ..api.actors import Actor, Admin
from ..api.problems import assert_problem
from .routes import operations, random_ids

# Each route that takes a JSON body, and who may call it.
BODY_ROUTES = [
    ("POST", "/v1/admin/applications/{application_id}/decision", "admin"),
    ("POST", "/v1/admin/applications/{application_id}/false-hits", "admin"),
    ("POST", "/v1/admin/clearances/{clearance_id}/revoke", "admin"),
    ("POST", "/v1/admin/clearances/{clearance_id}/second-line", "admin"),
    ("POST", "/v1/admin/clients", "admin"),
    ("POST", "/v1/admin/partners", "admin"),
    ("POST", "/v1/admin/ports", "admin"),
    ("POST", "/v1/admin/reviews/{application_id}/request-info", "admin"),
    ("POST", "/v1/admin/rules", "admin"),
    ("POST", "/v1/admin/rules/dry-run", "admin"),
    ("PUT", "/v1/admin/rules/{rule_id}", "admin"),
    ("POST", "/v1/admin/watchlist", "admin"),
    ("PUT", "/v1/admin/watchlist/{entry_id}", "admin"),
    ("POST", "/v1/admin/agencies", "admin"),
    ("PUT", "/v1/admin/agencies/{agency_id}", "admin"),
    ("PUT", "/v1/admin/agencies/{agency_id}/agreement", "admin"),
    ("POST", "/v1/applications", "partner"),
    ("POST", "/v1/applications/{application_id}/appeal", "partner"),
    ("POST", "/v1/applications/{application_id}/information", "partner"),
    ("POST", "/v1/clearances/{clearance_id}/revoke", "partner"),
    ("POST", "/v1/clearances/{clearance_id}/suspend", "admin"),
    ("POST", "/v1/travellers", "partner"),
    ("PATCH", "/v1/travellers/{traveller_id}", "partner"),
    ("PUT", "/v1/travellers/{traveller_id}/document", "partner"),
    ("POST", "/v1/vehicles", "partner"),
    ("PATCH", "/v1/vehicles/{vehicle_id}", "partner"),
    ("POST", "/v1/webhooks", "partner"),
    ("PATCH", "/v1/webhooks/{webhook_id}", "partner"),
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret", "partner"),
    ("POST", "/v1/trips", "partner"),
    ("PUT", "/v1/trips/{trip_id}", "partner"),
]
NOT_CHECKED = {("POST", "/v1/verify"), ("POST", "/v1/verify/trip")}
REPEATED = '{"reason": "first", "note": "x", "reason": "second"}'
DETAIL = "A key is repeated in an object of the JSON body."


@pytest.fixture(scope="module")
def shared_partner(shared_admin: Admin) -> Actor:
    return shared_admin.partner_actor()


def test_every_route_with_a_body_is_listed(shared_admin: Admin) -> None:
    with_body = {op.key for op in operations(shared_admin.http) if op.body_fields}
    assert with_body - NOT_CHECKED == {(method, path) for method, path, _ in BODY_ROUTES}


@pytest.mark.parametrize(("method", "path", "who"), BODY_ROUTES)
@pytest.mark.parametrize("nested", [False, True], ids=["top level", "nested"])
def test_a_repeated_key_is_400(
    shared_admin: Admin,
    shared_partner: Actor,
    method: str,
    path: str,
    who: str,
    nested: bool,
) -> None:
    caller = shared_admin if who == "admin" else shared_partner
    [operation] = [op for op in operations(caller.http) if op.key == (method, path)]
    body = f'{{"document": {REPEATED}}}' if nested else REPEATED
    response = caller.request(
        method,
        operation.path.format(**random_ids(operation)),
        content=body,
        headers={"content-type": "application/json"},
    )
    assert assert_problem(response, 400, "bad-request")["detail"] == DETAIL


def test_keys_that_differ_only_by_escaping_are_the_same_key(shared_partner: Actor) -> None:
    response = shared_partner.post(
        "/v1/vehicles",
        content='{"plate": "AB1", "pl\\u0061te": "AB2"}',
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 400, "bad-request")


def test_the_same_key_in_sibling_objects_is_no_repeat(shared_partner: Actor) -> None:
    # "number" and "issuing_state" are both in "document" and in "driving_licence".
    assert shared_partner.post("/v1/travellers", json=bodies.driver()).status_code == 201


def test_verify_is_left_on_its_fast_path(shared_admin: Admin) -> None:
    lane = shared_admin.lane_actor()
    question = json.dumps({"token": "x", "direction": "entry", "event_id": str(uuid.uuid4())})
    response = lane.post(
        "/v1/verify",
        content=question[:-1] + ', "token": "y"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200  # a deny for the token, not a 400 for the repeat
