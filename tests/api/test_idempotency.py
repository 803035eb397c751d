"""Idempotency-Key on the creating POSTs: one record per key, the first answer replayed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from litestar.testing import AsyncTestClient

from greenlane.app import create_app
from greenlane.settings import Settings

from ..database import connect
from . import bodies
from .actors import Actor, Admin, make_admin_credentials
from .problems import assert_problem


@pytest.mark.parametrize(
    ("route", "make"), [("/v1/travellers", bodies.traveller), ("/v1/vehicles", bodies.vehicle)]
)
def test_a_replay_returns_the_first_answer(
    partner: Actor, route: str, make: Callable[[], dict[str, Any]]
) -> None:
    body = make()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = partner.post(route, json=body, headers=key)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = partner.post(route, json=body, headers=key)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert len(partner.get(route).json()["items"]) == 1


def test_key_order_and_spacing_do_not_make_a_different_body(partner: Actor) -> None:
    body = bodies.vehicle()
    key = {"Idempotency-Key": "order-test"}
    partner.post("/v1/vehicles", json=body, headers=key)
    reordered = dict(reversed(list(body.items())))
    assert (
        partner.post("/v1/vehicles", json=reordered, headers=key).headers["idempotent-replayed"]
        == "true"
    )


def test_the_same_key_with_another_body_is_422(partner: Actor) -> None:
    key = {"Idempotency-Key": "k-1"}
    assert partner.post("/v1/vehicles", json=bodies.vehicle(), headers=key).status_code == 201
    response = partner.post("/v1/vehicles", json=bodies.vehicle(), headers=key)
    problem = assert_problem(response, 422, "validation-failed")
    assert problem["errors"][0]["field"] == "Idempotency-Key"


def test_keys_belong_to_one_partner(admin: Admin, partner: Actor) -> None:
    other = admin.partner_actor()
    key = {"Idempotency-Key": "shared-key"}
    mine = partner.post("/v1/vehicles", json=bodies.vehicle(), headers=key)
    theirs = other.post("/v1/vehicles", json=bodies.vehicle(), headers=key)
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]


def test_a_failed_request_does_not_use_up_its_key(partner: Actor) -> None:
    key = {"Idempotency-Key": "retry-me"}
    bad = bodies.vehicle(vin="short")
    assert partner.post("/v1/vehicles", json=bad, headers=key).status_code == 422
    good = partner.post("/v1/vehicles", json=bodies.vehicle(), headers=key)
    assert good.status_code == 201
    assert "idempotent-replayed" not in good.headers


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\there"])
def test_bad_keys_are_refused(partner: Actor, key: str) -> None:
    response = partner.post("/v1/vehicles", json=bodies.vehicle(), headers={"Idempotency-Key": key})
    assert_problem(response, 422, "validation-failed")


def test_keys_expire_after_24_hours(partner: Actor, clean_database: str) -> None:
    body = bodies.vehicle()
    key = {"Idempotency-Key": "old-key"}
    first = partner.post("/v1/vehicles", json=body, headers=key).json()
    partner.delete(f"/v1/vehicles/{first['id']}")

    async def age() -> None:
        conn = await connect(clean_database)
        try:
            await conn.execute(
                "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
            )
        finally:
            await conn.close()

    asyncio.run(age())
    fresh = partner.post("/v1/vehicles", json=body, headers=key)
    assert fresh.status_code == 201
    assert "idempotent-replayed" not in fresh.headers
    assert fresh.json()["id"] != first["id"]


@pytest.mark.anyio
@pytest.mark.usefixtures("clean_database")
async def test_twenty_concurrent_requests_with_one_key_create_one_record(
    settings: Settings,
) -> None:
    admin_id, admin_secret = await anyio.to_thread.run_sync(make_admin_credentials, settings)
    async with AsyncTestClient(app=create_app(settings)) as client:

        async def token(client_id: str, secret: str) -> dict[str, str]:
            answer = await client.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            )
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

        admin = await token(admin_id, admin_secret)
        partner = (
            await client.post(
                "/v1/admin/partners",
                json={"name": "P", "country": "THA", "contact_email": "a@b.th"},
                headers=admin,
            )
        ).json()
        created = (
            await client.post(
                "/v1/admin/clients",
                json={"role": "partner", "name": "app", "partner_id": partner["id"]},
                headers=admin,
            )
        ).json()
        headers = {
            **await token(created["client_id"], created["client_secret"]),
            "Idempotency-Key": "burst",
        }
        body = bodies.traveller()
        answers = await asyncio.gather(
            *(client.post("/v1/travellers", json=body, headers=headers) for _ in range(20))
        )
        assert [a.status_code for a in answers] == [201] * 20
        assert len({a.content for a in answers}) == 1
        assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 19
        listed = (await client.get("/v1/travellers", headers=headers)).json()["items"]
        assert len(listed) == 1


def test_erasing_a_record_deletes_its_stored_answer(partner: Actor) -> None:
    body = bodies.traveller()
    key = {"Idempotency-Key": "erase-me"}
    first = partner.post("/v1/travellers", json=body, headers=key).json()
    assert partner.delete(f"/v1/travellers/{first['id']}").status_code == 204
    # The stored answer named the person; after the erasure the key is free again rather than
    # replaying their data.
    again = partner.post("/v1/travellers", json=body, headers=key)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first["id"]
