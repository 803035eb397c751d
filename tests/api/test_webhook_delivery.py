"""Webhooks end to end: a real receiver on 127.0.0.1 gets every event type and verifies it with
the SDK as a partner app would, and every fault the sender must survive is played out.

The app under test allows http and private destinations (the receiver is local), retries every
second and gives an attempt one second, so that a three-day schedule plays in seconds.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar, get_args

import pytest
from litestar import Litestar

from greenlane.app import create_app
from greenlane.client.webhooks import WebhookReceiver, WebhookVerificationError
from greenlane.db.pool import Database, create_pool
from greenlane.domain.webhooks import EVENT_TYPES
from greenlane.runtime import data_protection
from greenlane.services import webhooks
from greenlane.services.clearance_expiry import announce
from greenlane.services.context import Caller
from greenlane.services.webhook_events import emit
from greenlane.services.webhook_targets import Destinations
from greenlane.settings import Settings
from greenlane.wire.webhooks import (
    ApplicationApproved,
    ApplicationData,
    ApplicationInfoRequested,
    ApplicationReferred,
    ApplicationRejected,
    ClearanceExpiring,
    ClearanceReinstated,
    ClearanceRevoked,
    ClearanceSuspended,
    TripApproved,
    TripReferred,
    TripRejected,
    WebhookCreate,
    WebhookEvent,
    WebhookTest,
)

from ..waiting import eventually
from . import bodies
from .actors import Actor, Admin
from .problems import assert_problem
from .receiver import Answer, Receiver, receiving
from .test_applications import file, refer_by_watchlist, register
from .trip_setup import Crew, crew

SECOND = timedelta(seconds=1)
FAST: dict[str, Any] = {
    "webhook_allow_http": True,
    "webhook_allow_private": True,
    "webhook_timeout_seconds": 1.0,
    "webhook_retry_schedule": (SECOND,) * 9,
    "webhook_expiring_days": 30,  # every clearance the tests issue expires within 30 days
    "webhook_expiry_scan_seconds": 0.3,
}


@pytest.fixture
def app(settings: Settings, request: pytest.FixtureRequest) -> Litestar:
    overrides = {**FAST, **getattr(request, "param", {})}
    return create_app(replace(settings, **overrides))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def hook(partner: Actor, receiver: Receiver, events: list[str]) -> dict[str, Any]:
    response = partner.post("/v1/webhooks", json={"url": receiver.url, "events": events})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def approved(partner: Actor) -> dict[str, Any]:
    filed = file(partner, bodies.application(register(partner, bodies.traveller())))
    assert filed["status"] == "approved"
    return filed


T = TypeVar("T")


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """``work`` on a pool of its own, beside the app's: as another server process would."""

    async def run() -> T:
        assert settings.database_url is not None
        pool = await create_pool(settings, settings.database_url)
        try:
            return await work(Database(pool, 2.0))
        finally:
            await pool.close()

    return asyncio.run(run())


def deliveries(partner: Actor, webhook: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = partner.get(
        f"/v1/webhooks/{webhook['id']}/deliveries?limit=200"
    ).json()["items"]
    return items


def decide_trips(trips: Crew) -> dict[str, str]:
    """One trip of each decision, by two trip rules: a trip must name its cargo (or it is
    rejected) and a crew of more than one is referred. Status to trip id."""
    for effect, condition in (("deny", "trip.has_cargo_reference"), ("refer", "trip.size == 1")):
        rule = trips.admin.post(
            "/v1/admin/rules",
            json={
                "name": f"Trips: {condition}",
                "condition": condition,
                "effect": effect,
                "reason_code": f"trip_{effect}",
                "message": "A trip rule of the webhook tests.",
            },
        )
        assert rule.status_code == 201, rule.text
    alone = (trips.driver, "driver")
    filed = [
        trips.file(alone, cargo_reference="MAWB-1"),
        trips.file(cargo_reference="MAWB-1"),
        trips.file(alone),
    ]
    decided = {trip["status"]: trip["id"] for trip in filed}
    assert list(decided) == ["approved", "referred", "rejected"]
    return decided


def test_every_event_type_arrives_and_verifies(
    admin: Admin, partner: Actor, receiver: Receiver
) -> None:
    """Each type the SDK decodes, from a change made through the API, at a receiver on
    127.0.0.1 that verifies the signature and decodes the body as a partner app does."""
    webhook = hook(partner, receiver, list(EVENT_TYPES))
    first = approved(partner)
    body = bodies.traveller(nationality="DEU")
    body["document"].update(issuing_state="DEU", expiry_date=bodies.in_days(60))
    rejected = file(partner, bodies.application(register(partner, body)))
    assert rejected["status"] == "rejected"
    referred = refer_by_watchlist(admin, partner)
    decided = admin.post(
        f"/v1/admin/applications/{referred['id']}/decision",
        json={"decision": "approve", "note": "known"},
    ).json()
    refused = refer_by_watchlist(admin, partner)
    admin.post(
        f"/v1/admin/applications/{refused['id']}/decision",
        json={"decision": "reject", "note": "no"},
    )
    asked = refer_by_watchlist(admin, partner)
    request = admin.post(
        f"/v1/admin/reviews/{asked['id']}/request-info",
        json={"items": ["employer_letter"], "message": "Please send the letter."},
    )
    assert request.status_code == 200, request.text
    answered = partner.post(
        f"/v1/applications/{asked['id']}/information", json={"statement": "Attached."}
    )
    assert answered.status_code == 200, answered.text
    held = f"/v1/clearances/{first['clearance']['id']}"
    assert admin.post(f"{held}/suspend", json={"reason": "inquiry"}).status_code == 200
    assert admin.post(f"{held}/reinstate").status_code == 200
    revoked = partner.post(f"{held}/revoke")
    assert revoked.status_code == 200
    trips = crew(admin, partner)
    trip_ids = decide_trips(trips)
    ping = partner.post(f"/v1/webhooks/{webhook['id']}/test")
    assert ping.status_code == 202, ping.text

    def all_arrived() -> list[tuple[str, Any]] | None:
        events = receiver.events(webhook["secret"])
        kinds = {type(e) for _, e in events}
        expiring = {e.data.clearance_id for _, e in events if isinstance(e, ClearanceExpiring)}
        done = kinds == set(get_args(WebhookEvent)) and (
            uuid.UUID(decided["clearance"]["id"]) in expiring
        )
        return events if done else None

    events = eventually(all_arrived, what="every event type", timeout=30)
    applications = Counter(
        (e.type, str(e.data.application_id))
        for _, e in events
        if isinstance(
            e,
            ApplicationApproved
            | ApplicationReferred
            | ApplicationRejected
            | ApplicationInfoRequested,
        )
    )
    assert applications == Counter(
        {
            ("application.approved", first["id"]): 1,
            ("application.rejected", rejected["id"]): 1,
            ("application.referred", referred["id"]): 1,
            ("application.approved", referred["id"]): 1,
            ("application.referred", refused["id"]): 1,
            ("application.rejected", refused["id"]): 1,
            # referred, asked for information, answered: back with a reviewer
            ("application.referred", asked["id"]): 2,
            ("application.info_requested", asked["id"]): 1,
            # the trips' driver and co-driver
            ("application.approved", trips.driver.application["id"]): 1,
            ("application.approved", trips.co_driver.application["id"]): 1,
        }
    )
    approval = next(
        e
        for _, e in events
        if isinstance(e, ApplicationApproved) and str(e.data.application_id) == referred["id"]
    )
    assert str(approval.data.clearance_id) == decided["clearance"]["id"]
    changes = sorted(
        (e for _, e in events if isinstance(e, ClearanceSuspended | ClearanceRevoked
                                            | ClearanceReinstated)),
        key=lambda e: e.timestamp,
    )  # fmt: skip
    assert [(e.type, e.data.status, str(e.data.clearance_id)) for e in changes] == [
        ("clearance.suspended", "suspended", first["clearance"]["id"]),
        ("clearance.reinstated", "active", first["clearance"]["id"]),
        ("clearance.revoked", "revoked", first["clearance"]["id"]),
    ]
    trip_events = sorted(
        (e.data.status, e.type, str(e.data.trip_id), str(e.data.vehicle_id))
        for _, e in events
        if isinstance(e, TripApproved | TripReferred | TripRejected)
    )
    assert trip_events == [
        (status, f"trip.{status}", trip_id, trips.vehicle_id)
        for status, trip_id in sorted(trip_ids.items())
    ]
    [test] = [e for _, e in events if isinstance(e, WebhookTest)]
    assert str(test.data.webhook_id) == webhook["id"]
    expiring = [e.data.clearance_id for _, e in events if isinstance(e, ClearanceExpiring)]
    assert len(expiring) == len(set(expiring))  # each announced once
    ids = [message_id for message_id, _ in events]
    assert len(ids) == len(set(ids))
    # Thin: nothing a person could be recognised by.
    people = [body, bodies.traveller(), trips.driver.traveller, trips.co_driver.traveller]
    for received in receiver.received:
        text = received.body.decode()
        for person in people:
            assert person["surname"] not in text
            assert person["document"]["number"] not in text
        assert trips.vehicle["vin"] not in text
        assert "token" not in text


@pytest.mark.parametrize("app", [{"webhook_expiring_days": 1}], indirect=True)
def test_a_suspended_clearance_is_announced_as_expiring_and_suspended(
    admin: Admin, partner: Actor, receiver: Receiver, settings: Settings
) -> None:
    """The app's own scan looks a day ahead and finds nothing (these expire in ten days); the
    test's looks a month ahead once one clearance is suspended."""
    webhook = hook(partner, receiver, ["clearance.expiring"])
    held, free = (approved(partner)["clearance"]["id"] for _ in range(2))
    suspended = admin.post(f"/v1/clearances/{held}/suspend", json={"reason": "inquiry"})
    assert suspended.status_code == 200, suspended.text
    # None while the app's scan holds the lock; both once the test's scan runs.
    eventually(
        lambda: with_database(settings, lambda db: announce(db, 30)) == 2,
        what="both clearances announced",
        timeout=10,
    )
    eventually(lambda: receiver.count() == 2, what="both notices", timeout=10)
    statuses = {
        str(e.data.clearance_id): e.data.status
        for _, e in receiver.events(webhook["secret"])
        if isinstance(e, ClearanceExpiring)
    }
    assert statuses == {held: "suspended", free: "active"}


def test_a_change_that_rolls_back_emits_nothing(
    partner: Actor, receiver: Receiver, settings: Settings
) -> None:
    webhook = hook(partner, receiver, ["application.approved"])
    data = ApplicationData(
        application_id=uuid.uuid4(), status="approved", traveller_id=uuid.uuid4()
    )
    partner_id = uuid.UUID(partner.extra["partner_id"])

    async def emit_then_fail(db: Database) -> None:
        async with db.transaction() as conn:
            await emit(conn, partner_id, "application.approved", data)
            raise RuntimeError("the change failed after its event was written")

    async def emit_twice(db: Database) -> None:
        with pytest.raises(RuntimeError, match="the change failed"):
            await emit_then_fail(db)
        async with db.transaction() as conn:
            await emit(conn, partner_id, "application.approved", data)

    with_database(settings, emit_twice)
    eventually(lambda: receiver.count() == 1, what="the committed event", timeout=10)
    time.sleep(1.5)
    assert receiver.count() == 1
    assert len(deliveries(partner, webhook)) == 1


def test_a_receiver_that_is_down_gets_everything_once_it_is_back(
    partner: Actor, receiver: Receiver
) -> None:
    receiver.down()
    webhook = hook(partner, receiver, ["application.approved"])
    filed = [approved(partner)["id"] for _ in range(3)]

    def failing_twice() -> bool:
        found = deliveries(partner, webhook)
        return len(found) == 3 and all(len(d["attempts"]) >= 2 for d in found)

    eventually(failing_twice, what="two failed attempts each", timeout=15)
    assert all(
        a["outcome"] == "unreachable"
        for d in deliveries(partner, webhook)
        for a in d["attempts"]
        if a["outcome"] != "sending"
    )
    receiver.up()
    eventually(
        lambda: all(d["status"] == "delivered" for d in deliveries(partner, webhook)),
        what="every delivery after the receiver is back",
        timeout=15,
    )
    time.sleep(1.5)  # nothing more comes
    events = receiver.events(webhook["secret"])
    assert sorted(str(e.data.application_id) for _, e in events) == sorted(filed)  # type: ignore[union-attr]
    assert len({message_id for message_id, _ in events}) == 3


def test_410_disables_the_endpoint_and_says_why(partner: Actor, receiver: Receiver) -> None:
    receiver.answer = Answer(410)
    webhook = hook(partner, receiver, ["application.approved"])
    approved(partner)
    path = f"/v1/webhooks/{webhook['id']}"
    seen = eventually(
        lambda: (w := partner.get(path).json()) and not w["enabled"] and w,
        what="the endpoint disabled",
        timeout=10,
    )
    assert "410" in seen["disabled_reason"]
    [delivery] = deliveries(partner, webhook)
    assert delivery["status"] == "failed"
    assert [(a["outcome"], a["status_code"]) for a in delivery["attempts"]] == [("gone", 410)]
    approved(partner)  # not sent to a disabled endpoint
    time.sleep(1.5)
    assert receiver.count() == 1
    assert len(deliveries(partner, webhook)) == 1
    assert_problem(partner.post(f"{path}/test"), 409, "conflict")


def test_a_receiver_that_hangs_times_out_and_is_retried(partner: Actor, receiver: Receiver) -> None:
    receiver.answer = Answer(hang=3.0)
    webhook = hook(partner, receiver, ["application.approved"])
    approved(partner)
    eventually(lambda: receiver.count() >= 1, what="the first attempt", timeout=10)
    receiver.answer = Answer(200)
    [delivery] = eventually(
        lambda: (
            (found := deliveries(partner, webhook)) and found[0]["status"] == "delivered" and found
        ),
        what="the retry delivered",
        timeout=15,
    )
    outcomes = [a["outcome"] for a in delivery["attempts"]]
    assert outcomes[0] == "timeout"
    assert outcomes[-1] == "delivered"
    assert delivery["attempts"][0]["latency_ms"] < 2500


def test_a_redirect_is_not_followed(partner: Actor, receiver: Receiver) -> None:
    receiver.answer = Answer(302, {"Location": f"http://127.0.0.1:{receiver.port}/elsewhere"})
    webhook = hook(partner, receiver, ["application.approved"])
    approved(partner)
    eventually(lambda: receiver.count() >= 2, what="two attempts", timeout=10)
    assert {r.path for r in receiver.received} == {"/hooks"}
    [delivery] = deliveries(partner, webhook)
    finished = [a for a in delivery["attempts"] if a["outcome"] != "sending"]
    assert finished
    assert {(a["outcome"], a["status_code"]) for a in finished} == {("failed", 302)}
    assert delivery["status"] == "pending"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(partner: Actor, receiver: Receiver, status: int) -> None:
    receiver.answer = Answer(status, {"Retry-After": "3"})
    webhook = hook(partner, receiver, ["application.approved"])
    approved(partner)
    [delivery] = eventually(
        lambda: (
            (found := deliveries(partner, webhook))
            and found[0]["attempts"]
            and found[0]["attempts"][0]["outcome"] != "sending"
            and found
        ),
        what="the first attempt",
        timeout=10,
    )
    first = delivery["attempts"][0]
    assert (first["outcome"], first["status_code"]) == ("failed", status)
    wait = datetime.fromisoformat(delivery["next_attempt_at"]) - datetime.fromisoformat(
        first["started_at"]
    )
    assert wait >= timedelta(seconds=3)
    receiver.answer = Answer(204)
    eventually(
        lambda: deliveries(partner, webhook)[0]["status"] == "delivered",
        what="delivered after the wait",
        timeout=10,
    )
    assert receiver.count() == 2


@pytest.mark.parametrize("app", [{"webhook_retry_schedule": (SECOND, SECOND)}], indirect=True)
def test_the_schedule_ends_in_failure(partner: Actor, receiver: Receiver) -> None:
    receiver.answer = Answer(500)
    webhook = hook(partner, receiver, ["application.approved"])
    approved(partner)
    [delivery] = eventually(
        lambda: (
            (found := deliveries(partner, webhook)) and found[0]["status"] == "failed" and found
        ),
        what="the schedule spent",
        timeout=15,
    )
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500]
    assert "next_attempt_at" not in delivery
    assert receiver.count() == 3


def test_rotation_signs_with_both_secrets_during_the_overlap(
    partner: Actor, receiver: Receiver
) -> None:
    webhook = hook(partner, receiver, ["application.approved"])
    path = f"/v1/webhooks/{webhook['id']}"
    new = partner.post(f"{path}/rotate-secret", json={"overlap_seconds": 3600}).json()["secret"]
    approved(partner)
    eventually(lambda: receiver.count() == 1, what="a delivery", timeout=10)
    [received] = receiver.received
    assert len(received.headers["webhook-signature"].split()) == 2
    for secret in (webhook["secret"], new):
        WebhookReceiver(secret).receive(received.body, received.headers)
    newest = partner.post(f"{path}/rotate-secret", json={"overlap_seconds": 0}).json()["secret"]
    approved(partner)
    eventually(lambda: receiver.count() == 2, what="a second delivery", timeout=10)
    latest = receiver.received[1]
    assert len(latest.headers["webhook-signature"].split()) == 1
    WebhookReceiver(newest).receive(latest.body, latest.headers)
    with pytest.raises(WebhookVerificationError):
        WebhookReceiver(new).receive(latest.body, latest.headers)


def test_replay_sends_the_same_event_again(partner: Actor, receiver: Receiver) -> None:
    webhook = hook(partner, receiver, ["application.approved"])
    approved(partner)
    [first] = eventually(
        lambda: (
            (found := deliveries(partner, webhook)) and found[0]["status"] == "delivered" and found
        ),
        what="the delivery",
        timeout=10,
    )
    response = partner.post(f"/v1/webhooks/{webhook['id']}/deliveries/{first['id']}/replay")
    assert response.status_code == 202, response.text
    replayed = response.json()
    assert replayed["replay_of"] == first["id"]
    assert replayed["event_id"] == first["event_id"]
    eventually(
        lambda: (
            len(
                partner.get(f"/v1/webhooks/{webhook['id']}/deliveries?status=delivered").json()[
                    "items"
                ]
            )
            == 2
        ),
        what="the replay delivered",
        timeout=10,
    )
    one, two = receiver.received
    assert one.headers["webhook-id"] == two.headers["webhook-id"] == first["event_id"]
    assert one.body == two.body
    missing = partner.post(f"/v1/webhooks/{webhook['id']}/deliveries/{uuid.uuid4()}/replay")
    assert_problem(missing, 404, "not-found")


def test_deliveries_are_counted_in_the_metrics(partner: Actor, receiver: Receiver) -> None:
    webhook = hook(partner, receiver, ["application.approved"])
    approved(partner)
    eventually(
        lambda: deliveries(partner, webhook)[0]["status"] == "delivered",
        what="the delivery",
        timeout=10,
    )
    text = partner.get("/metrics").text
    assert 'greenlane_webhook_deliveries_total{outcome="delivered"}' in text
    assert "greenlane_webhook_oldest_undelivered_seconds" in text


@pytest.mark.parametrize("app", [{"webhook_allow_private": False}], indirect=True)
def test_a_destination_that_now_resolves_privately_is_refused_at_delivery(
    partner: Actor, receiver: Receiver, settings: Settings
) -> None:
    """Saved while its host was public; by the time of the attempt it is 127.0.0.1 (DNS
    rebinding). The endpoint is saved through the use case with private addresses allowed,
    which is what a later change of its DNS amounts to; the server delivering refuses them."""
    cipher, _index = data_protection(settings)

    async def save(db: Database) -> str:
        created = await webhooks.create(
            webhooks.Webhooks(db, cipher, Destinations(allow_http=True, allow_private=True)),
            WebhookCreate(url=receiver.url, events=["application.approved"]),
            Caller(partner_id=uuid.UUID(partner.extra["partner_id"]), actor="test"),
        )
        return str(created.id)

    webhook: dict[str, Any] = {"id": with_database(settings, save)}
    approved(partner)
    [delivery] = eventually(
        lambda: (found := deliveries(partner, webhook)) and found[0]["attempts"][1:] and found,
        what="two attempts",
        timeout=10,
    )
    assert [a["outcome"] for a in delivery["attempts"][:1]] == ["refused"]
    assert "status_code" not in delivery["attempts"][0]
    assert receiver.count() == 0
