"""The lanes' direct path (``api/lane_direct.py``) answers as Litestar's routes do, byte for byte.

Every question goes to two applications on one database: the default one, which serves the
lanes' routes below the framework, and one with ``GREENLANE_LANE_DIRECT=false``, where Litestar
serves them like every other route. Status, headers and body must agree; only what differs
between any two requests is set aside: the request id, and a fresh answer's crossing id and time.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.api.body_deadline import BodyDeadline
from greenlane.api.lane_direct import LaneDirect
from greenlane.app import create_app
from greenlane.observability import RequestObserver
from greenlane.settings import Settings

from .actors import Actor, Admin
from .lane_setup import Issued, issue, lanes_and_partner, question
from .trip_setup import Crew, crew

# Set aside: differs between any two requests, or between two fresh crossings.
VARYING_HEADERS = {"x-request-id", "content-length"}
VARYING_FIELDS = {"crossing_id", "checked_at", "request_id"}


@pytest.fixture
def framework(settings: Settings, clean_database: str) -> Iterator[TestClient[Litestar]]:
    """The same deployment with the lanes' routes served by Litestar."""
    app = create_app(dataclasses.replace(settings, lane_direct=False))
    with TestClient(app=app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def lane_and_issued(admin: Admin) -> tuple[Actor, Issued]:
    lane, partner = lanes_and_partner(admin)
    return lane, issue(partner)


def send(client: TestClient[Litestar], path: str, body: Any, headers: dict[str, str]) -> Any:
    if isinstance(body, bytes):  # where it says %s, an event id of its own
        content = body.replace(b"%s", str(uuid.uuid4()).encode())
        return client.post(path, content=content, headers=headers)
    return client.post(path, json=body, headers=headers)


def both(
    lane: Actor,
    framework: TestClient[Litestar],
    path: str,
    body: Any,
    headers: dict[str, str] | None = None,
) -> tuple[httpx.Response, httpx.Response]:
    """The direct answer and the framework's to the same request, each under an event id of
    its own (the same one twice would make the second answer a replay)."""
    sent = {**lane.headers, **(headers or {})}
    return send(lane.http, path, body, sent), send(framework, path, _another_event(body), sent)


def same_event(
    lane: Actor, framework: TestClient[Litestar], body: dict[str, Any]
) -> tuple[httpx.Response, httpx.Response]:
    """The direct answer and the framework's to the very same question, event id included."""
    direct = lane.post("/v1/verify", json=body)
    return direct, framework.post("/v1/verify", json=body, headers=lane.headers)


def _another_event(body: Any) -> Any:
    if isinstance(body, dict) and "event_id" in body:
        return {**body, "event_id": str(uuid.uuid4())}
    return body


def assert_alike(direct: httpx.Response, through: httpx.Response) -> None:
    assert direct.status_code == through.status_code, (direct.text, through.text)
    assert _headers(direct) == _headers(through)
    if direct.headers.get("content-type", "").endswith("json"):
        assert _settled(direct.json()) == _settled(through.json())
    else:
        assert direct.content == through.content


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k not in VARYING_HEADERS]


def _settled(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _settled(v) for k, v in value.items() if k not in VARYING_FIELDS}
    if isinstance(value, list):
        return [_settled(v) for v in value]
    return value


def test_the_direct_path_serves_lanes_by_default(
    app: Litestar, lane_and_issued: tuple[Actor, Issued], framework: TestClient[Litestar]
) -> None:
    """The comparisons below mean something only if the default application is not the
    framework one: its lanes' routes go through LaneDirect, inside the observer and deadline."""
    observer = app.asgi_handler
    assert isinstance(observer, RequestObserver)
    assert isinstance(observer.app, BodyDeadline)
    assert isinstance(observer.app.app, LaneDirect)
    lane, issued = lane_and_issued
    direct, through = both(lane, framework, "/v1/verify", question(issued))
    assert direct.json()["decision"] == through.json()["decision"] == "green"
    assert_alike(direct, through)


def test_a_replay_is_the_same_bytes_both_ways(
    lane_and_issued: tuple[Actor, Issued], framework: TestClient[Litestar]
) -> None:
    lane, issued = lane_and_issued
    asked = question(issued)
    first = lane.post("/v1/verify", json=asked)
    direct, through = same_event(lane, framework, asked)
    assert direct.headers["Idempotent-Replayed"] == through.headers["Idempotent-Replayed"]
    assert direct.content == through.content == first.content
    assert_alike(direct, through)


def _questions(issued: Issued) -> dict[str, tuple[Any, dict[str, str]]]:
    """What a lane may send, well or badly, with the headers it sends it with."""
    long_ago = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    return {
        "a denied token": (question(None, token="not-a-token"), {}),
        "a document that differs": (
            question(issued, document={"number": "X1234567", "issuing_state": "THA"}),
            {},
        ),
        "no access token": (question(issued), {"Authorization": ""}),
        "a forged access token": (question(issued), {"Authorization": "Bearer x.y.z"}),
        "not JSON": (b"{not json", {"Content-Type": "application/json"}),
        "an empty body": (b"", {"Content-Type": "application/json"}),
        "an unknown field": ({**question(issued), "colour": "red"}, {}),
        "a field missing": ({"token": issued.token, "direction": "entry"}, {}),
        "a wrong type": ({**question(issued), "direction": 7}, {}),
        # The framework converts leniently: a number for a time is taken as seconds.
        "a time as a number": ({**question(issued), "observed_at": 1_700_000_000}, {}),
        "a time long ago": ({**question(issued), "observed_at": long_ago}, {}),
        "a time with no zone": ({**question(issued), "observed_at": "2026-01-01T00:00:00"}, {}),
        "a body over 64 KiB": ({**question(issued), "token": "x" * 70_000}, {}),
        "a repeated key": (
            b'{"token": "a", "token": "b", "direction": "entry", "event_id": "%s"}',
            {"Content-Type": "application/json"},
        ),
        "a malformed Host": (question(issued), {"Host": "bad host"}),
    }


@pytest.mark.parametrize(
    "case",
    [
        "a denied token",
        "a document that differs",
        "no access token",
        "a forged access token",
        "not JSON",
        "an empty body",
        "an unknown field",
        "a field missing",
        "a wrong type",
        "a time as a number",
        "a time long ago",
        "a time with no zone",
        "a body over 64 KiB",
        "a repeated key",
        "a malformed Host",
    ],
)
def test_every_kind_of_question_gets_the_same_answer(
    case: str, lane_and_issued: tuple[Actor, Issued], framework: TestClient[Litestar]
) -> None:
    lane, issued = lane_and_issued
    body, headers = _questions(issued)[case]
    direct, through = both(lane, framework, "/v1/verify", body, headers)
    assert direct.status_code != 500
    assert_alike(direct, through)


def test_an_event_id_reused_for_another_question_is_refused_alike(
    lane_and_issued: tuple[Actor, Issued], framework: TestClient[Litestar]
) -> None:
    lane, issued = lane_and_issued
    asked = question(issued)
    assert lane.post("/v1/verify", json=asked).status_code == 200
    direct, through = same_event(lane, framework, {**asked, "direction": "exit"})
    assert direct.status_code == 422
    assert_alike(direct, through)


def test_a_client_of_another_role_is_refused_alike(
    admin: Admin, framework: TestClient[Litestar]
) -> None:
    partner = admin.partner_actor()
    direct, through = both(partner, framework, "/v1/verify", question(None, token="x"))
    assert direct.status_code == 403
    assert_alike(direct, through)


@pytest.fixture
def trip_crew(admin: Admin) -> Crew:
    return crew(admin)


def test_trips_are_answered_alike(trip_crew: Crew, framework: TestClient[Litestar]) -> None:
    trip = trip_crew.file()
    asked = trip_crew.scan(trip, trip_crew.driver, trip_crew.co_driver)
    direct, through = both(trip_crew.lane, framework, "/v1/verify/trip", asked)
    assert direct.json()["decision"] == "green"
    assert_alike(direct, through)
    fresh = trip_crew.scan(trip, trip_crew.driver)
    for body in ({**fresh, "documents": "none"}, b"[", {**fresh, "seats": 3}):
        assert_alike(*both(trip_crew.lane, framework, "/v1/verify/trip", body))
