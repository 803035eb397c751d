"""Webhook endpoints as a partner manages them, and every bad input, with the operator's
defaults: https only, no private destinations (the delivery tests allow both)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from greenlane.app import create_app
from greenlane.settings import Settings

from . import bodies
from .actors import Actor, Admin
from .problems import assert_problem
from .test_applications import file, register

# A public address, so that no DNS lookup is needed in the tests.
PUBLIC_URL = "https://93.184.215.14/hooks/greenlane"


@pytest.fixture
def app(settings: Settings) -> Litestar:
    """No delivery loops: an endpoint registered here is a real public address, never called."""
    return create_app(replace(settings, webhook_concurrency=0))


def create(partner: Actor, **changes: Any) -> dict[str, Any]:
    body = {"url": PUBLIC_URL, "events": ["application.approved"], **changes}
    response = partner.post("/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_shows_the_secret_once(partner: Actor) -> None:
    created = create(partner, description="ops", events=["clearance.revoked"] * 2)
    assert created["secret"].startswith("whsec_")
    assert created["enabled"] is True
    assert created["events"] == ["clearance.revoked"]
    assert created["description"] == "ops"
    read = partner.get(f"/v1/webhooks/{created['id']}").json()
    assert "secret" not in read
    assert read == {k: v for k, v in created.items() if k != "secret"}
    assert [w["id"] for w in partner.get("/v1/webhooks").json()["items"]] == [created["id"]]


def test_the_secret_is_encrypted_at_rest(partner: Actor, clean_database: str) -> None:
    created = create(partner)

    async def stored() -> bytes:
        conn = await asyncpg.connect(clean_database)
        try:
            row = await conn.fetchrow(
                "SELECT secret_enc FROM webhook_endpoints WHERE id = $1",
                uuid.UUID(created["id"]),
            )
        finally:
            await conn.close()
        assert row is not None
        value: bytes = row["secret_enc"]
        return value

    blob = asyncio.run(stored())
    secret = created["secret"].encode()
    assert secret not in blob
    assert secret.removeprefix(b"whsec_") not in blob


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("not a url", "not an absolute http(s) URL"),
        ("https://", "not an absolute http(s) URL"),
        ("ftp://93.184.215.14/x", "not an absolute http(s) URL"),
        ("https://93.184.215.14:99999/x", "not a URL"),
        ("http://93.184.215.14/hooks", "must be https"),
        ("https://user:pw@93.184.215.14/hooks", "must not carry a user name or password"),
        ("https://127.0.0.1/hooks", "non-public address"),
        ("https://localhost/hooks", "non-public address"),
        ("https://10.1.2.3/hooks", "non-public address"),
        ("https://192.168.0.10/hooks", "non-public address"),
        ("https://169.254.169.254/latest/meta-data", "non-public address"),
        ("https://100.64.0.1/hooks", "non-public address"),
        ("https://[::1]/hooks", "non-public address"),
        ("https://[fd00:ec2::254]/hooks", "non-public address"),
        ("https://[::ffff:127.0.0.1]/hooks", "non-public address"),
        ("https://0.0.0.0/hooks", "non-public address"),
        ("https://hooks.partner.invalid/x", "does not resolve"),
    ],
)
def test_a_bad_or_private_url_is_refused_naming_the_field(
    partner: Actor, url: str, why: str
) -> None:
    response = partner.post("/v1/webhooks", json={"url": url, "events": ["application.approved"]})
    body = assert_problem(response, 422, "validation-failed")
    assert [e["field"] for e in body["errors"]] == ["url"]
    assert why in body["errors"][0]["message"]
    assert partner.get("/v1/webhooks").json()["items"] == []


def test_changing_the_url_is_checked_the_same_way(partner: Actor) -> None:
    created = create(partner)
    response = partner.patch(
        f"/v1/webhooks/{created['id']}", json={"url": "https://169.254.169.254/x"}
    )
    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"][0]["field"] == "url"
    assert partner.get(f"/v1/webhooks/{created['id']}").json()["url"] == PUBLIC_URL


@pytest.mark.parametrize(
    "body",
    [
        {"url": PUBLIC_URL, "events": []},
        {"url": PUBLIC_URL, "events": ["application.eaten"]},
        {"url": PUBLIC_URL},
        {"events": ["application.approved"]},
        {"url": PUBLIC_URL, "events": ["application.approved"], "secret": "whsec_mine"},
        {"url": "", "events": ["application.approved"]},
        {"url": PUBLIC_URL + "x" * 2100, "events": ["application.approved"]},
        {"url": PUBLIC_URL, "events": ["application.approved"], "description": "d" * 501},
    ],
)
def test_malformed_bodies_are_422(partner: Actor, body: dict[str, Any]) -> None:
    assert_problem(partner.post("/v1/webhooks", json=body), 422, "validation-failed")


def test_another_partners_endpoint_is_not_found(admin: Admin, partner: Actor) -> None:
    theirs = create(admin.partner_actor("Other Partner"))
    base = f"/v1/webhooks/{theirs['id']}"
    some_delivery = uuid.uuid4()
    for method, path, body in [
        ("GET", base, None),
        ("PATCH", base, {"enabled": False}),
        ("DELETE", base, None),
        ("POST", f"{base}/rotate-secret", None),
        ("POST", f"{base}/test", None),
        ("GET", f"{base}/deliveries", None),
        ("POST", f"{base}/deliveries/{some_delivery}/replay", None),
    ]:
        response = partner.request(method, path, json=body)
        assert_problem(response, 404, "not-found")
    assert partner.get("/v1/webhooks").json()["items"] == []


def test_only_partners_manage_webhooks(admin: Admin, lane_and_partner: tuple[Actor, Actor]) -> None:
    lane, _partner = lane_and_partner
    for caller in (admin, lane):
        assert_problem(caller.get("/v1/webhooks"), 403, "forbidden")


def test_patch_disable_enable_and_delete(partner: Actor) -> None:
    created = create(partner)
    path = f"/v1/webhooks/{created['id']}"
    disabled = partner.patch(path, json={"enabled": False}).json()
    assert disabled["enabled"] is False
    assert disabled["disabled_reason"] == "disabled by the partner"
    assert_problem(partner.post(f"{path}/test"), 409, "conflict")
    enabled = partner.patch(
        path, json={"enabled": True, "events": ["clearance.revoked"], "description": "new"}
    ).json()
    assert enabled["enabled"] is True
    assert "disabled_reason" not in enabled
    assert enabled["events"] == ["clearance.revoked"]
    assert enabled["description"] == "new"
    assert partner.delete(path).status_code == 204
    assert_problem(partner.get(path), 404, "not-found")
    assert_problem(partner.delete(path), 404, "not-found")


def test_rotation_shows_a_new_secret_and_the_overlap(admin: Admin, partner: Actor) -> None:
    created = create(partner)
    path = f"/v1/webhooks/{created['id']}/rotate-secret"
    rotated = partner.post(path).json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_until"] > rotated["updated_at"]
    ended = partner.post(path, json={"overlap_seconds": 0}).json()
    assert "previous_secret_until" not in ended
    too_long = partner.post(path, json={"overlap_seconds": 8 * 24 * 3600})
    assert_problem(too_long, 422, "validation-failed")
    audit = admin.get("/v1/admin/audit?limit=200").json()["items"]
    assert {"webhook.create", "webhook.rotate_secret"} <= {e["action"] for e in audit}
    assert all(created["secret"] not in str(e) for e in audit)


def test_no_events_reach_an_endpoint_that_does_not_listen(partner: Actor) -> None:
    create(partner, events=["clearance.revoked"])
    traveller_id = register(partner, bodies.traveller())
    assert file(partner, bodies.application(traveller_id))["status"] == "approved"
    webhook_id = partner.get("/v1/webhooks").json()["items"][0]["id"]
    assert partner.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["items"] == []
