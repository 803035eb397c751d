"""Federation through one server: its trust list, peer agencies and agreements, receipts taken.

A peer here is played by the test: an anchor key made in the test signs what the peer would.
Two live deployments talking to each other are in ``tests/federation``.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.app import create_app
from greenlane.domain.federation import (
    RECEIPT_TYPE,
    TRUST_LIST_TYPE,
    DocumentRefused,
    Receipt,
    anchor_thumbprint,
    read_trust_list,
    sign,
)
from greenlane.domain.signing_keys import new_signing_key
from greenlane.settings import Settings

from ..database import connect
from .actors import Actor, Admin, make_admin_credentials
from .lane_setup import issue
from .problems import assert_problem

AGENCIES = "/v1/admin/agencies"
TRUST_LIST = "/.well-known/greenlane/trust-list"
PEER_ISSUER = "https://gl.example.la"
OWN_ISSUER = "http://127.0.0.1:8000"


def agency_body(**changes: Any) -> dict[str, Any]:
    body = {
        "country": "LAO",
        "issuer": PEER_ISSUER,
        "trust_list_url": PEER_ISSUER + TRUST_LIST,
        "anchor_thumbprint": anchor_thumbprint(new_signing_key().public_key()),
    }
    body.update(changes)
    return body


def agreement_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ports": ["LAVTE"],
        "categories": ["business_visitor"],
        "valid_from": "2026-01-01",
        "valid_until": "2030-12-31",
    }
    body.update(changes)
    return body


def create(admin: Admin, **changes: Any) -> dict[str, Any]:
    response = admin.post(AGENCIES, json=agency_body(**changes))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_agencies_are_created_read_listed_changed_agreed_and_deleted(admin: Admin) -> None:
    made = create(admin)
    assert made["trust_list"] == {"status": "pending"}
    assert "agreement" not in made
    assert admin.get(f"{AGENCIES}/{made['id']}").json() == made
    assert [a["id"] for a in admin.get(AGENCIES).json()["items"]] == [made["id"]]

    other_anchor = anchor_thumbprint(new_signing_key().public_key())
    changed = admin.put(
        f"{AGENCIES}/{made['id']}", json=agency_body(anchor_thumbprint=other_anchor)
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["anchor_thumbprint"] == other_anchor

    agreed = admin.put(f"{AGENCIES}/{made['id']}/agreement", json=agreement_body())
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["agreement"] == {
        "ports": ["LAVTE"],
        "categories": ["business_visitor"],
        "valid_from": "2026-01-01",
        "valid_until": "2030-12-31",
    }

    assert admin.delete(f"{AGENCIES}/{made['id']}").status_code == 204
    assert_problem(admin.get(f"{AGENCIES}/{made['id']}"), 404, "not-found")

    actions = [
        (entry["action"], entry["subject"])
        for entry in admin.get("/v1/admin/audit", params={"limit": 200}).json()["items"]
        if entry["action"].startswith("agency.")
    ]
    assert actions == [
        ("agency.create", made["id"]),
        ("agency.update", made["id"]),
        ("agency.agreement", made["id"]),
        ("agency.delete", made["id"]),
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"country": "XXX"}, "country"),
        ({"country": "lao"}, "country"),
        ({"issuer": "gl.example.la"}, "issuer"),
        ({"issuer": "https://a-very-long-issuer-name.example.la"}, "issuer"),
        ({"issuer": OWN_ISSUER}, "issuer"),
        ({"trust_list_url": "ftp://gl.example.la/list"}, "trust_list_url"),
        ({"anchor_thumbprint": "too-short"}, "anchor_thumbprint"),
        ({"anchor_thumbprint": "+" * 43}, "anchor_thumbprint"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_agency_is_refused(admin: Admin, changes: dict[str, Any], field: str) -> None:
    problem = assert_problem(
        admin.post(AGENCIES, json=agency_body(**changes)), 422, "validation-failed"
    )
    assert field in problem["detail"]


def test_an_issuer_is_registered_once(admin: Admin) -> None:
    first = create(admin)
    assert_problem(admin.post(AGENCIES, json=agency_body()), 409, "conflict")
    other = create(admin, issuer="https://gl.example.vn", country="VNM")
    clash = admin.put(f"{AGENCIES}/{other['id']}", json=agency_body())
    assert_problem(clash, 409, "conflict")
    assert admin.get(f"{AGENCIES}/{first['id']}").json()["issuer"] == PEER_ISSUER


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"valid_until": "2025-12-31"}, "valid_until"),
        ({"ports": []}, "ports"),
        ({"ports": ["vientiane"]}, "ports"),
        ({"categories": ["tourist"]}, "categories"),
        ({"valid_from": "someday"}, "valid_from"),
        ({"extra": True}, "extra"),
    ],
)
def test_a_bad_agreement_is_refused(admin: Admin, changes: dict[str, Any], field: str) -> None:
    made = create(admin)
    answer = admin.put(f"{AGENCIES}/{made['id']}/agreement", json=agreement_body(**changes))
    assert field in assert_problem(answer, 422, "validation-failed")["detail"]


def test_unknown_agencies_are_not_found(admin: Admin) -> None:
    missing = f"{AGENCIES}/{uuid.uuid4()}"
    assert_problem(admin.get(missing), 404, "not-found")
    assert_problem(admin.put(missing, json=agency_body()), 404, "not-found")
    assert_problem(admin.put(f"{missing}/agreement", json=agreement_body()), 404, "not-found")
    assert_problem(admin.delete(missing), 404, "not-found")


def test_agencies_are_for_admins_only(lane_and_partner: tuple[Actor, Actor]) -> None:
    lane, partner = lane_and_partner
    for actor in (lane, partner):
        assert_problem(actor.get(AGENCIES), 403, "forbidden")
        assert_problem(actor.post(AGENCIES, json=agency_body()), 403, "forbidden")


# --- the trust list ---------------------------------------------------------------------------


@pytest.fixture
def thai(settings: Settings, clean_database: str) -> Iterator[TestClient[Litestar]]:
    """The server under test as an agency that names its country, so it publishes a list."""
    app = create_app(replace(settings, country="THA", trust_list_ttl_seconds=600))
    with TestClient(app=app, raise_server_exceptions=False) as client:
        yield client


def listed(client: TestClient[Litestar]) -> Any:
    answer = client.get(TRUST_LIST)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/jwt"
    header = msgspec.json.decode(_b64(answer.text.split(".")[0]))
    assert header["typ"] == TRUST_LIST_TYPE
    now = int(datetime.now(UTC).timestamp())
    return read_trust_list(answer.text, issuer=OWN_ISSUER, trusted={header["kid"]}, now=now)


@pytest.fixture
def keys_settled(database_url: str) -> Iterator[None]:
    """A rotation here leaves the old key retiring with nothing to verify: retire it as the
    next rotation would, so that the tests after see every key in the state it is in."""
    yield

    async def settle() -> None:
        conn = await connect(database_url)
        try:
            await conn.execute(
                "UPDATE signing_keys SET state = 'retired', retired_at = now()"
                " WHERE state = 'retiring' AND retire_after < now()"
            )
        finally:
            await conn.close()

    asyncio.run(settle())


@pytest.mark.usefixtures("keys_settled")
def test_the_trust_list_names_the_keys_and_is_signed_again_when_they_rotate(
    thai: TestClient[Litestar], settings: Settings
) -> None:
    first = listed(thai)
    assert first.country == "THA"
    assert first.iss == OWN_ISSUER
    assert 590 <= first.exp - first.iat <= 600
    assert len(first.anchors) == 2
    jwks = {key["kid"] for key in thai.get("/.well-known/jwks.json").json()["keys"]}
    assert {key.kid for key in first.keys} == jwks
    assert {key.state for key in first.keys} == {"active", "next"}

    admin = Admin(thai, *make_admin_credentials(settings))
    assert admin.post("/v1/admin/keys/rotate").status_code in (200, 201)
    second = listed(thai)
    was_next = next(key.kid for key in first.keys if key.state == "next")
    states = {key.kid: key.state for key in second.keys}
    assert states[was_next] == "active"
    assert sorted(states.values()) == ["active", "next"]  # the old key signed nothing: retired
    assert set(states) == {key["kid"] for key in thai.get("/.well-known/jwks.json").json()["keys"]}


def test_no_trust_list_without_a_country(client: TestClient[Litestar]) -> None:
    assert_problem(client.get(TRUST_LIST), 404, "not-found")


def test_a_list_signed_by_another_anchor_or_of_another_type_is_refused(
    thai: TestClient[Litestar],
) -> None:
    token = thai.get(TRUST_LIST).text
    now = int(datetime.now(UTC).timestamp())
    stranger = anchor_thumbprint(new_signing_key().public_key())
    with pytest.raises(DocumentRefused) as refused:
        read_trust_list(token, issuer=OWN_ISSUER, trusted={stranger}, now=now)
    assert refused.value.reason == "anchor_untrusted"


# --- receipts ---------------------------------------------------------------------------------


RECEIPTS = "/v1/federation/crossings"


def receipt(clearance_id: str, **changes: Any) -> Receipt:
    claims: dict[str, Any] = {
        "iss": PEER_ISSUER,
        "aud": OWN_ISSUER,
        "iat": int(datetime.now(UTC).timestamp()),
        "jti": str(uuid.uuid4()),
        "sub": clearance_id,
        "port": "LAVTE",
        "lane": "L1",
        "dir": "entry",
        "at": int(datetime.now(UTC).timestamp()),
        "decision": "green",
        "mode": "online",
    }
    claims.update(changes)
    return Receipt(**claims)


def test_a_peers_receipt_is_listed_with_the_clearance(
    admin: Admin, lane_and_partner: tuple[Actor, Actor]
) -> None:
    _lane, partner = lane_and_partner
    clearance = issue(partner).clearance_id
    anchor = new_signing_key()
    create(admin, anchor_thumbprint=anchor_thumbprint(anchor.public_key()))
    signed = sign(receipt(clearance), anchor, RECEIPT_TYPE)

    taken = admin.http.post(RECEIPTS, json={"receipt": signed})
    assert taken.status_code == 201, taken.text
    again = admin.http.post(RECEIPTS, json={"receipt": signed})
    assert again.status_code == 200
    assert again.json()["replayed"] is True

    crossings = partner.get(f"/v1/clearances/{clearance}").json()["crossings"]
    assert [(c["agency"], c["port_code"], c["lane_code"], c["direction"]) for c in crossings] == [
        ("LAO", "LAVTE", "L1", "entry")
    ]
    assert any(
        entry["action"] == "crossing.receipt"
        for entry in admin.get("/v1/admin/audit", params={"limit": 200}).json()["items"]
    )


def test_bad_receipts_are_refused(admin: Admin, lane_and_partner: tuple[Actor, Actor]) -> None:
    _lane, partner = lane_and_partner
    clearance = issue(partner).clearance_id
    anchor = new_signing_key()
    create(admin, anchor_thumbprint=anchor_thumbprint(anchor.public_key()))
    good = sign(receipt(clearance), anchor, RECEIPT_TYPE)
    head, body, signature = good.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    stranger = new_signing_key()

    refused = {
        "bad signature": f"{head}.{body}.{flipped}",
        "untrusted anchor": sign(receipt(clearance), stranger, RECEIPT_TYPE),
        "unknown agency": sign(
            receipt(clearance, iss="https://gl.example.kh"), anchor, RECEIPT_TYPE
        ),
        "another type": sign(receipt(clearance), anchor, TRUST_LIST_TYPE),
        "another audience": sign(
            receipt(clearance, aud="https://gl.example.vn"), anchor, RECEIPT_TYPE
        ),
        "not a JWS": "not.a-receipt",
    }
    for why, token in refused.items():
        answer = admin.http.post(RECEIPTS, json={"receipt": token})
        assert answer.status_code == 401, why
        assert_problem(answer, 401, "unauthorized")

    unknown = sign(receipt(str(uuid.uuid4())), anchor, RECEIPT_TYPE)
    assert_problem(admin.http.post(RECEIPTS, json={"receipt": unknown}), 404, "not-found")
    assert_problem(
        admin.http.post(RECEIPTS, json={"receipt": good, "more": 1}), 422, "validation-failed"
    )
    repeated = admin.http.post(
        RECEIPTS,
        content=f'{{"receipt": "{good}", "receipt": "{good}"}}',
        headers={"content-type": "application/json"},
    )
    assert_problem(repeated, 400, "bad-request")
    assert partner.get(f"/v1/clearances/{clearance}").json()["crossings"] == []


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
