"""Forged pagination cursors: every list route answers a cursor it never issued with 422.

A keyset cursor is base64url JSON that anyone can write. One whose time has an offset that
takes it outside the years a database driver can carry (year 0 or 10000 once in UTC) reached the
query and was a 500; a ports cursor is a port code, and any text was handed to SQL. Every list
route the OpenAPI document has is called with each forged cursor, so a new list route is
attacked too or fails the suite until it is listed here.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from ..api.actors import Actor, Admin
from ..api.problems import assert_problem
from .routes import operations

# Each list route, the query parameter that says where the previous page ended, and who may
# call it.
LIST_ROUTES = [
    ("/v1/admin/agencies", "cursor", "admin"),
    ("/v1/admin/audit", "cursor", "admin"),
    ("/v1/admin/clients", "cursor", "admin"),
    ("/v1/admin/partners", "cursor", "admin"),
    ("/v1/admin/ports", "cursor", "admin"),
    ("/v1/admin/reviews", "cursor", "admin"),
    ("/v1/admin/rules", "cursor", "admin"),
    ("/v1/admin/watchlist", "cursor", "admin"),
    ("/v1/applications", "cursor", "partner"),
    ("/v1/revocations", "since", "admin"),
    ("/v1/travellers", "cursor", "partner"),
    ("/v1/trips", "cursor", "partner"),
    ("/v1/vehicles", "cursor", "partner"),
    ("/v1/webhooks", "cursor", "partner"),
    ("/v1/webhooks/{webhook_id}/deliveries", "cursor", "partner"),
]
PAGE_PARAMETERS = {"cursor", "since"}


def keyset_cursor(created_at: str) -> str:
    """A cursor in the shape the API issues (``[created_at, id]`` as base64url JSON)."""
    raw = json.dumps([created_at, str(uuid.uuid4())]).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


FORGED = {
    "year 0 in UTC": keyset_cursor("0001-01-01T00:00:00+14:00"),
    "year 10000 in UTC": keyset_cursor("9999-12-31T23:59:59-14:00"),
}


@pytest.fixture(scope="module")
def callers(shared_admin: Admin) -> dict[str, Actor]:
    return {"admin": shared_admin, "partner": shared_admin.partner_actor()}


@pytest.fixture(scope="module")
def ids(callers: dict[str, Actor]) -> dict[str, str]:
    """The ids a list route's path names: the partner's own."""
    webhook = callers["partner"].post(
        "/v1/webhooks",
        json={"url": "https://93.184.215.14/hooks", "events": ["clearance.revoked"]},
    )
    assert webhook.status_code == 201, webhook.text
    return {"webhook_id": webhook.json()["id"]}


def test_every_list_route_is_attacked(shared_admin: Admin) -> None:
    lists = {
        (operation.path, parameter)
        for operation in operations(shared_admin.http)
        if operation.method == "GET"
        for parameter in PAGE_PARAMETERS & set(operation.query_params)
    }
    assert lists == {(path, parameter) for path, parameter, _ in LIST_ROUTES}


@pytest.mark.parametrize("cursor", FORGED.values(), ids=FORGED.keys())
@pytest.mark.parametrize(("path", "parameter", "caller"), LIST_ROUTES, ids=lambda v: str(v))
def test_a_forged_cursor_is_a_validation_failure(
    callers: dict[str, Actor],
    ids: dict[str, str],
    path: str,
    parameter: str,
    caller: str,
    cursor: str,
) -> None:
    response = callers[caller].get(path.format(**ids), params={parameter: cursor})
    problem = assert_problem(response, 422, "validation-failed")
    assert [error["field"] for error in problem["errors"]] == [parameter]


@pytest.mark.parametrize(
    ("path", "parameter"), [("/v1/admin/audit", "cursor"), ("/v1/revocations", "since")]
)
def test_a_numeric_cursor_fits_bigint_or_is_refused(
    shared_admin: Admin, path: str, parameter: str
) -> None:
    largest = shared_admin.get(path, params={parameter: "9" * 18})
    assert largest.status_code == 200, largest.text
    assert largest.json()["items"] == []
    too_long = shared_admin.get(path, params={parameter: "9" * 19})
    problem = assert_problem(too_long, 422, "validation-failed")
    assert [error["field"] for error in problem["errors"]] == [parameter]
