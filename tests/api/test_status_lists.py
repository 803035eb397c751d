"""Token Status Lists through the HTTP API: every token's index, the published lists, conditional
GETs, suspension, and what a lane answers for a status it cannot read."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from dataclasses import replace

import jwt
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.app import create_app
from greenlane.domain.clearance_token import QR_LIMIT, public_keys
from greenlane.domain.jws import TokenFailure
from greenlane.domain.status_list import (
    INVALID,
    SUSPENDED,
    VALID,
    list_uri,
    verify_status_list,
)
from greenlane.settings import Settings

from ..database import connect
from ..waiting import eventually
from .actors import Actor, Admin
from .lane_setup import Issued, ask, codes, issue, question
from .problems import assert_problem
from .tokens import claims_of, part, published_status, sign, status_list, unreadable_statuses

MEDIA_TYPE = "application/statuslist+jwt"


def status_of(http: TestClient[Litestar], settings: Settings, issued: Issued) -> int:
    return published_status(http, settings, issued.token)


def test_every_clearance_carries_its_place_in_a_status_list(
    lane_and_partner: tuple[Actor, Actor], settings: Settings
) -> None:
    _lane, partner = lane_and_partner
    issued = [issue(partner, with_vehicle=True) for _ in range(3)]
    references = [claims_of(i.token)["status"]["status_list"] for i in issued]
    assert {r["uri"] for r in references} == {list_uri(settings.issuer, 1)}
    indices = [r["idx"] for r in references]
    assert len(set(indices)) == 3  # never twice
    assert indices != sorted(indices) or max(indices) > 2  # spread, not 0, 1, 2
    assert all(0 <= idx < settings.status_list_size for idx in indices)
    assert all(len(i.token) < QR_LIMIT for i in issued)
    assert all(status_of(partner.http, settings, i) == VALID for i in issued)


def test_a_published_list_is_what_the_draft_says(partner: Actor, settings: Settings) -> None:
    issue(partner)
    response = partner.http.get("/v1/status-lists/1")  # no credentials: public
    assert response.status_code == 200
    assert response.headers["content-type"] == MEDIA_TYPE
    assert response.headers["cache-control"] == f"public, max-age={settings.status_list_ttl}"
    assert response.headers["access-control-allow-origin"] == "*"
    assert jwt.get_unverified_header(response.text)["typ"] == "statuslist+jwt"
    claims = claims_of(response.text)
    assert claims["sub"] == list_uri(settings.issuer, 1)
    assert claims["ttl"] == settings.status_list_ttl == 300
    assert claims["iat"] <= time.time() < claims["exp"]
    assert claims["status_list"]["bits"] == 2
    assert claims["status_list"]["aggregation_uri"] == settings.issuer + "/v1/status-lists"
    listed = status_list(partner.http, settings)
    assert listed.statuses.size == settings.status_list_size  # pre-filled, whatever is issued
    every = partner.http.get("/v1/status-lists")
    assert every.status_code == 200
    assert every.json() == {"status_lists": [list_uri(settings.issuer, 1)]}
    assert "max-age" in every.headers["cache-control"]


def test_a_list_comes_gzipped_to_who_asks(partner: Actor) -> None:
    plain = partner.http.get("/v1/status-lists/1", headers={"Accept-Encoding": "identity"})
    zipped = partner.http.get("/v1/status-lists/1", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.text == plain.text  # httpx inflates it
    assert zipped.headers["etag"] == plain.headers["etag"]
    assert len(gzip.compress(plain.content)) < len(plain.content)


def test_a_list_that_does_not_exist_is_404(client: TestClient[Litestar], admin: Admin) -> None:
    for number in ("2", "999999999", "0", "-1", "99999999999999999999999"):
        assert_problem(client.get(f"/v1/status-lists/{number}"), 404, "not-found")
    assert_problem(client.get("/v1/status-lists/1?time=1686925000"), 501, "not-implemented")
    for text in ("1e3", "one", "1.0"):
        response = client.get(f"/v1/status-lists/{text}")
        assert response.status_code in (400, 404), (text, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"


def test_conditional_gets_answer_304_until_the_list_changes(
    lane_and_partner: tuple[Actor, Actor], settings: Settings
) -> None:
    _lane, partner = lane_and_partner
    issued = issue(partner)
    first = partner.http.get("/v1/status-lists/1")
    etag = first.headers["etag"]
    again = partner.http.get("/v1/status-lists/1", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert "max-age" in again.headers["cache-control"]
    listed = partner.http.get("/v1/status-lists/1", headers={"If-None-Match": f'"x", {etag}'})
    assert listed.status_code == 304

    partner.post(f"/v1/clearances/{issued.clearance_id}/revoke", json={"reason": "lost"})
    stale = partner.http.get("/v1/status-lists/1", headers={"If-None-Match": etag})
    assert stale.status_code == 200  # a stale ETag gets the new list
    assert stale.headers["etag"] != etag
    assert status_of(partner.http, settings, issued) == INVALID
    current = partner.http.get(
        "/v1/status-lists/1", headers={"If-None-Match": stale.headers["etag"]}
    )
    assert current.status_code == 304


def test_a_revocation_shows_in_the_list_and_at_the_lane(
    lane_and_partner: tuple[Actor, Actor], admin: Admin, settings: Settings
) -> None:
    lane, partner = lane_and_partner
    kept, revoked = issue(partner), issue(partner)
    response = admin.post(
        f"/v1/admin/clearances/{revoked.clearance_id}/revoke", json={"reason": "fraud"}
    )
    assert response.status_code == 200
    assert status_of(partner.http, settings, revoked) == INVALID
    assert status_of(partner.http, settings, kept) == VALID
    assert codes(ask(lane, question(revoked))) == ["token_revoked"]
    assert ask(lane, question(kept))["decision"] == "green"
    # The feed of revoked ids goes on as before.
    feed = lane.get("/v1/revocations").json()["items"]
    assert [item["jti"] for item in feed] == [claims_of(revoked.token)["jti"]]


def test_suspension_and_reinstatement(
    lane_and_partner: tuple[Actor, Actor], admin: Admin, settings: Settings
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    path = f"/v1/clearances/{issued.clearance_id}"
    suspended = admin.post(f"{path}/suspend", json={"reason": "under investigation"})
    assert suspended.status_code == 200, suspended.text
    body = suspended.json()
    assert body["status"] == "active"
    assert body["suspended_at"] is not None
    assert body["suspension_reason"] == "under investigation"
    assert status_of(partner.http, settings, issued) == SUSPENDED
    answer = ask(lane, question(issued))
    assert (answer["decision"], codes(answer)) == ("deny", ["token_suspended"])
    assert admin.post(f"{path}/suspend", json={"reason": "again"}).status_code == 200

    reinstated = admin.post(f"{path}/reinstate")
    assert reinstated.status_code == 200
    assert "suspended_at" not in reinstated.json()
    assert status_of(partner.http, settings, issued) == VALID
    assert ask(lane, question(issued))["decision"] == "green"
    assert admin.post(f"{path}/reinstate").status_code == 200  # nothing to lift: no change

    actions = [e["action"] for e in admin.get("/v1/admin/audit?limit=200").json()["items"]]
    assert actions.count("clearance.suspend") == 1
    assert actions.count("clearance.reinstate") == 1

    admin.post(f"{path}/suspend", json={"reason": "stolen"})
    partner.post(f"{path}/revoke", json={"reason": "stolen"})
    assert status_of(partner.http, settings, issued) == INVALID  # revoked wins, for good
    assert_problem(admin.post(f"{path}/reinstate"), 409, "conflict")
    assert_problem(admin.post(f"{path}/suspend", json={"reason": "x"}), 409, "conflict")


def test_suspension_is_for_admins_and_needs_a_reason(
    lane_and_partner: tuple[Actor, Actor], admin: Admin
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    path = f"/v1/clearances/{issued.clearance_id}"
    assert_problem(partner.post(f"{path}/suspend", json={"reason": "x"}), 403, "forbidden")
    assert_problem(lane.post(f"{path}/reinstate"), 403, "forbidden")
    assert_problem(admin.post(f"{path}/suspend", json={}), 422, "validation-failed")
    assert_problem(admin.post(f"{path}/suspend", json={"reason": ""}), 422, "validation-failed")
    assert_problem(
        admin.post(f"{path}/suspend", json={"reason": "x", "until": "ever"}),
        422,
        "validation-failed",
    )
    assert_problem(
        admin.post(
            "/v1/clearances/00000000-0000-0000-0000-000000000000/suspend", json={"reason": "x"}
        ),
        404,
        "not-found",
    )
    assert_problem(
        admin.post("/v1/clearances/00000000-0000-0000-0000-000000000000/reinstate"),
        404,
        "not-found",
    )


def test_a_status_the_lane_cannot_read_is_a_malformed_token(
    lane_and_partner: tuple[Actor, Actor], settings: Settings
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    claims = claims_of(issued.token)
    for name, status in unreadable_statuses(settings).items():
        token = sign(lane, {**claims, "status": status})
        answer = ask(lane, question(issued, token=token))
        assert (answer["decision"], codes(answer)) == ("deny", ["token_malformed"]), name
    missing = {key: value for key, value in claims.items() if key != "status"}
    answer = ask(lane, question(issued, token=sign(lane, missing)))
    assert codes(answer) == ["token_malformed"]
    # The same claims with the status as issued: the signature, not the claims, was the test.
    assert ask(lane, question(issued, token=sign(lane, claims)))["decision"] == "green"


def test_a_new_list_starts_when_one_is_full(settings: Settings, clean_database: str) -> None:
    small = replace(settings, status_list_size=16)
    with TestClient(app=create_app(small), raise_server_exceptions=False) as http:
        from tests.api.actors import make_admin_credentials

        admin = Admin(http, *make_admin_credentials(small))
        admin.port("THBKK", kinds=["passenger", "vehicle"])
        partner = admin.partner_actor()
        issued = [issue(partner) for _ in range(17)]
        references = [claims_of(i.token)["status"]["status_list"] for i in issued]
        first = [r["idx"] for r in references if r["uri"] == list_uri(small.issuer, 1)]
        assert sorted(first) == list(range(16))  # every index once, in a scattered order
        assert first != list(range(16))
        assert references[16]["uri"] == list_uri(small.issuer, 2)
        assert http.get("/v1/status-lists").json() == {
            "status_lists": [list_uri(small.issuer, 1), list_uri(small.issuer, 2)]
        }
        assert status_list(http, small, 2).statuses.size == 16


def test_every_worker_serves_a_change_within_a_second(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, clean_database: str
) -> None:
    _lane, partner = lane_and_partner
    issued = issue(partner)
    reference = claims_of(issued.token)["status"]["status_list"]
    with TestClient(app=create_app(settings), raise_server_exceptions=False) as elsewhere:
        before = elsewhere.get("/v1/status-lists/1").headers["etag"]
        assert before == partner.http.get("/v1/status-lists/1").headers["etag"]  # same bytes
        partner.post(f"/v1/clearances/{issued.clearance_id}/revoke", json={"reason": "lost"})
        eventually(
            lambda: status_list(elsewhere, settings).statuses.get(reference["idx"]) == INVALID,
            what="the other worker to serve the revocation",
        )
        assert (
            elsewhere.get("/v1/status-lists/1").headers["etag"]
            == (partner.http.get("/v1/status-lists/1").headers["etag"])
        )


def test_a_change_no_worker_was_told_of_is_served_within_a_second(
    partner: Actor, settings: Settings, clean_database: str
) -> None:
    """As if the NOTIFY were lost (a LISTEN connection does not survive a PostgreSQL
    restart): the once-a-second version check still finds it."""
    issued = issue(partner)
    reference = claims_of(issued.token)["status"]["status_list"]

    async def suspend_silently() -> None:
        conn = await connect(clean_database)
        try:
            async with conn.transaction():
                await conn.execute(
                    "UPDATE token_statuses SET status = 2 WHERE list_id = 1 AND idx = $1",
                    reference["idx"],
                )
                await conn.execute(
                    "UPDATE status_list_tokens SET version = version + 1 WHERE list_id = 1"
                )
        finally:
            await conn.close()

    asyncio.run(suspend_silently())
    eventually(
        lambda: status_list(partner.http, settings).statuses.get(reference["idx"]) == SUSPENDED,
        what="the version check to find the change",
        timeout=3.0,
    )


def test_a_tampered_list_does_not_verify(partner: Actor, settings: Settings) -> None:
    token = partner.http.get("/v1/status-lists/1").text
    header, _payload, signature = token.split(".")
    claims = claims_of(token)
    forged = f"{header}.{part({**claims, 'ttl': 1})}.{signature}"
    keys = public_keys(partner.http.get("/.well-known/jwks.json").json()["keys"])
    found = verify_status_list(
        forged, keys=keys, uri=claims["sub"], now=int(time.time()), leeway=30
    )
    assert isinstance(found, TokenFailure)
    assert found.code == "signature_invalid"


@pytest.mark.parametrize("ports", [1, 5])
def test_a_clearance_with_a_vehicle_fits_a_qr_code(
    lane_and_partner: tuple[Actor, Actor], admin: Admin, ports: int
) -> None:
    _lane, partner = lane_and_partner
    codes_ = ["THBKK", "THLCH", "THSGZ", "THNKP", "THMDH"][:ports]
    for code in codes_:
        admin.port(code, kinds=["passenger", "vehicle"])
    issued = issue(partner, with_vehicle=True, ports=codes_)
    assert len(issued.token) < QR_LIMIT


# No delivery loops: the endpoint is a public address, and the outbox is what is checked here
# (test_webhook_delivery.py receives these events at a local receiver).
@pytest.mark.parametrize("app", [{"webhook_concurrency": 0}], indirect=True)
def test_suspension_and_reinstatement_reach_the_partners_webhooks(
    lane_and_partner: tuple[Actor, Actor], admin: Admin, clean_database: str
) -> None:
    """Written to the outbox in the suspension's own transaction, for an endpoint listening."""
    _lane, partner = lane_and_partner
    listening = partner.post(
        "/v1/webhooks",
        json={
            "url": "https://93.184.215.14/hooks/greenlane",  # public: no DNS lookup needed
            "events": ["clearance.suspended", "clearance.reinstated"],
        },
    )
    assert listening.status_code == 201, listening.text
    issued = issue(partner)
    path = f"/v1/clearances/{issued.clearance_id}"
    admin.post(f"{path}/suspend", json={"reason": "inquiry"})
    admin.post(f"{path}/suspend", json={"reason": "again"})  # no change, no event
    admin.post(f"{path}/reinstate")

    async def written() -> list[tuple[str, str, str]]:
        conn = await connect(clean_database)
        try:
            rows = await conn.fetch(
                "SELECT type, body FROM webhook_events ORDER BY occurred_at, type"
            )
        finally:
            await conn.close()
        return [
            (row["type"], json.loads(row["body"])["data"]["clearance_id"],
             json.loads(row["body"])["data"]["status"])
            for row in rows
        ]  # fmt: skip

    assert asyncio.run(written()) == [
        ("clearance.suspended", issued.clearance_id, "suspended"),
        ("clearance.reinstated", issued.clearance_id, "active"),
    ]
