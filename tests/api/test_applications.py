"""Applications and clearances through the HTTP API: decisions, tokens, keys, QR, revocation."""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import zxingcpp
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from litestar.testing import TestClient
from PIL import Image

from greenlane.app import create_app
from greenlane.domain.clearance_token import VerifiedToken, binding_matches, verify_token
from greenlane.settings import Settings

from ..waiting import eventually
from . import bodies
from .actors import Actor, Admin
from .lane_setup import PORT
from .problems import assert_problem
from .tokens import expire_retiring_key


def register(partner: Actor, body: dict[str, Any], route: str = "/v1/travellers") -> str:
    response = partner.post(route, json=body)
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


def file(partner: Actor, body: dict[str, Any]) -> dict[str, Any]:
    response = partner.post("/v1/applications", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def jwks_keys(client: TestClient[Litestar]) -> dict[str, ec.EllipticCurvePublicKey]:
    document = client.get("/.well-known/jwks.json").json()
    return {k["kid"]: jwt.PyJWK.from_dict(k).key for k in document["keys"]}


def verify(client: TestClient[Litestar], settings: Settings, token: str) -> VerifiedToken:
    verified = verify_token(
        token,
        keys=jwks_keys(client),
        issuer=settings.issuer,
        audience="gl-lanes",
        now=int(time.time()) + 2 * 86400,  # inside the window, which starts tomorrow
    )
    assert isinstance(verified, VerifiedToken), verified
    return verified


def test_an_approved_application_carries_a_signed_clearance(
    partner: Actor, settings: Settings
) -> None:
    traveller = bodies.traveller()
    traveller_id = register(partner, traveller)
    filed = file(partner, bodies.application(traveller_id))
    assert filed["status"] == "approved"
    assert filed["reasons"] == []
    token = filed["clearance"]["token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["typ"] == "gl-clearance+jwt"
    claims = verify(partner.http, settings, token).claims
    assert claims.clearance_id == filed["clearance"]["id"]
    assert claims.issuer == settings.issuer
    assert claims.ports == (PORT,)
    assert claims.entries == "multiple"
    assert claims.category == "business_visitor"
    assert claims.nationality == "THA"
    assert claims.vehicle_binding is None
    not_before = datetime.fromisoformat(bodies.in_days(1)).replace(tzinfo=UTC)
    assert claims.not_before == int(not_before.timestamp())
    assert claims.expires_at - claims.not_before == 10 * 86400
    payload = json.loads(jwt.utils.base64url_decode(token.split(".")[1]))
    for private in (traveller["document"]["number"], "Jaidee", "Somchai", "1985"):
        assert private not in json.dumps(payload)
    verified = verify(partner.http, settings, token)
    assert binding_matches(verified, issuing_state="THA", number=traveller["document"]["number"])
    assert not binding_matches(verified, issuing_state="THA", number="E00000000")
    got = partner.get(f"/v1/applications/{filed['id']}").json()
    history = got.pop("history")  # a single application shows its history; a filing has one step
    assert got == filed
    assert [(step["event"], step["party"], step["details"]) for step in history] == [
        ("application.filed", "partner", {"status": "approved"})
    ]
    clearance = partner.get(f"/v1/clearances/{filed['clearance']['id']}").json()
    assert clearance["status"] == "active"
    assert clearance["token"] == token
    assert clearance["crossings"] == []
    assert clearance["application_id"] == filed["id"]


def test_a_token_with_five_ports_and_a_vehicle_stays_under_600_characters(
    admin: Admin, partner: Actor
) -> None:
    ports = [PORT, "THLCH", "THNKP", "THSDN", "THMKM"]
    for code in ports[1:]:
        admin.port(code, kinds=["vehicle"])
    driver_id = register(partner, bodies.driver())
    vehicle_id = register(partner, bodies.vehicle(), "/v1/vehicles")
    filed = file(
        partner, bodies.application(driver_id, vehicle_id=vehicle_id, ports=ports, entries="single")
    )
    assert filed["status"] == "approved", filed["reasons"]
    assert len(filed["clearance"]["token"]) < 600


def test_rejected_applications_name_every_reason(partner: Actor) -> None:
    body = bodies.traveller(nationality="DEU")
    body["document"].update(issuing_state="DEU", expiry_date=bodies.in_days(60))
    filed = file(partner, bodies.application(register(partner, body)))
    assert filed["status"] == "rejected"
    assert "clearance" not in filed
    assert {r["reason_code"] for r in filed["reasons"]} == {
        "nationality_not_eligible",
        "document_validity_insufficient",
    }
    assert all(r["effect"] == "deny" and r["rule_id"] for r in filed["reasons"])


def refer_by_watchlist(admin: Admin, partner: Actor) -> dict[str, Any]:
    body = bodies.traveller()
    admin.post(
        "/v1/admin/watchlist",
        json={
            "kind": "document",
            "issuing_state": "THA",
            "number": body["document"]["number"],
            "reason": "check",
        },
    )
    filed = file(partner, bodies.application(register(partner, body)))
    assert filed["status"] == "referred"
    assert [r["reason_code"] for r in filed["reasons"]] == ["watchlist_hit"]
    return filed


def test_a_referral_waits_for_an_admin_who_approves(admin: Admin, partner: Actor) -> None:
    filed = refer_by_watchlist(admin, partner)
    reviews = admin.get("/v1/admin/reviews").json()["items"]
    assert [r["id"] for r in reviews] == [filed["id"]]
    assert reviews[0]["partner_id"] == partner.extra["partner_id"]
    decided = admin.post(
        f"/v1/admin/applications/{filed['id']}/decision",
        json={"decision": "approve", "note": "known person"},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    seen = partner.get(f"/v1/applications/{filed['id']}").json()
    assert seen["status"] == "approved"
    assert seen["decision"]["note"] == "known person"
    assert seen["clearance"]["token"]
    assert admin.get("/v1/admin/reviews").json()["items"] == []
    again = admin.post(
        f"/v1/admin/applications/{filed['id']}/decision",
        json={"decision": "reject", "note": "changed my mind"},
    )
    assert_problem(again, 409, "conflict")
    actions = [e["action"] for e in admin.get("/v1/admin/audit?limit=200").json()["items"]]
    assert "application.approve" in actions
    assert "clearance.issue" in actions


def test_a_referral_can_be_rejected(admin: Admin, partner: Actor) -> None:
    filed = refer_by_watchlist(admin, partner)
    decided = admin.post(
        f"/v1/admin/applications/{filed['id']}/decision",
        json={"decision": "reject", "note": "no"},
    ).json()
    assert decided["status"] == "rejected"
    assert "clearance" not in decided
    listed = partner.get("/v1/applications?status=rejected").json()["items"]
    assert [a["id"] for a in listed] == [filed["id"]]
    assert partner.get("/v1/applications?status=approved").json()["items"] == []


def test_deciding_an_unknown_or_unreferred_application(admin: Admin, partner: Actor) -> None:
    approved = file(partner, bodies.application(register(partner, bodies.traveller())))
    url = f"/v1/admin/applications/{approved['id']}/decision"
    assert_problem(admin.post(url, json={"decision": "approve", "note": "x"}), 409, "conflict")
    unknown = f"/v1/admin/applications/{uuid.uuid4()}/decision"
    assert_problem(admin.post(unknown, json={"decision": "approve", "note": "x"}), 404, "not-found")
    assert_problem(
        admin.post(url, json={"decision": "maybe", "note": "x"}), 422, "validation-failed"
    )


def problem_fields(response: httpx.Response) -> list[str]:
    problem = assert_problem(response, 422, "validation-failed")
    return [e["field"] for e in problem["errors"]]


def test_bad_applications(admin: Admin, partner: Actor) -> None:
    mine = register(partner, bodies.traveller())
    other = admin.partner_actor("Other")
    theirs = register(other, bodies.driver())
    their_vehicle = register(other, bodies.vehicle(), "/v1/vehicles")
    my_vehicle = register(partner, bodies.vehicle(), "/v1/vehicles")

    def post(**changes: Any) -> httpx.Response:
        return partner.post("/v1/applications", json=bodies.application(mine, **changes))

    assert_problem(
        partner.post("/v1/applications", json=bodies.application(theirs)), 404, "not-found"
    )
    assert_problem(
        partner.post("/v1/applications", json=bodies.application(str(uuid.uuid4()))),
        404,
        "not-found",
    )
    assert_problem(post(vehicle_id=their_vehicle), 404, "not-found")
    assert problem_fields(post(ports=["THZZZ"])) == ["ports[0]"]
    assert problem_fields(post(ports=["thbkk"])) == ["ports[0]"]
    assert problem_fields(post(ports=[])) == ["ports"]
    assert problem_fields(post(ports=[PORT] * 6)) == ["ports"]
    assert problem_fields(post(ports=[PORT, PORT])) == ["ports"]
    assert problem_fields(post(valid_from=bodies.in_days(-1))) == ["valid_from"]
    assert problem_fields(post(valid_from=bodies.in_days(5), valid_until=bodies.in_days(4))) == [
        "valid_until"
    ]
    assert problem_fields(post(valid_until=bodies.in_days(1 + 366))) == ["valid_until"]
    assert problem_fields(post(vehicle_id=my_vehicle)) == ["vehicle_id"]
    assert problem_fields(post(entries="twice")) == ["entries"]
    assert problem_fields(post(partner_id=str(uuid.uuid4()))) == ["partner_id"]
    assert partner.get("/v1/applications").json()["items"] == []


def test_another_partners_applications_and_clearances_are_404(admin: Admin, partner: Actor) -> None:
    other = admin.partner_actor("Other")
    filed = file(other, bodies.application(register(other, bodies.traveller())))
    for url in (
        f"/v1/applications/{filed['id']}",
        f"/v1/clearances/{filed['clearance']['id']}",
        f"/v1/clearances/{filed['clearance']['id']}/qr",
    ):
        assert_problem(partner.get(url), 404, "not-found")
    revoke = partner.post(f"/v1/clearances/{filed['clearance']['id']}/revoke", json={"reason": "x"})
    assert_problem(revoke, 404, "not-found")
    assert partner.get("/v1/applications").json()["items"] == []


def test_idempotent_application(partner: Actor) -> None:
    body = bodies.application(register(partner, bodies.traveller()))
    key = {"Idempotency-Key": "app-1"}
    first = partner.post("/v1/applications", json=body, headers=key)
    again = partner.post("/v1/applications", json=body, headers=key)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert len(partner.get("/v1/applications").json()["items"]) == 1


# --- QR ------------------------------------------------------------------------------------


def test_the_qr_code_holds_exactly_the_token(partner: Actor) -> None:
    filed = file(partner, bodies.application(register(partner, bodies.traveller())))
    url = f"/v1/clearances/{filed['clearance']['id']}/qr"
    svg = partner.get(url)
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    png = partner.get(url + "?format=png")
    assert png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [d.text for d in decoded] == [filed["clearance"]["token"]]
    assert decoded[0].ec_level == "M"
    assert_problem(partner.get(url + "?format=gif"), 422, "validation-failed")


# --- revocation ------------------------------------------------------------------------------


def test_revocation_by_the_partner_and_the_feed(
    admin: Admin, partner: Actor, settings: Settings
) -> None:
    filed = file(partner, bodies.application(register(partner, bodies.traveller())))
    clearance_url = f"/v1/clearances/{filed['clearance']['id']}"
    lane = admin.lane_actor(PORT)
    start = lane.get("/v1/revocations").json()
    assert start["items"] == []
    revoked = partner.post(f"{clearance_url}/revoke", json={"reason": "trip cancelled"})
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revocation_reason"] == "trip cancelled"
    again = partner.post(f"{clearance_url}/revoke", json={"reason": "again"})
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert again.json()["revocation_reason"] == "trip cancelled"
    claims = verify(partner.http, settings, filed["clearance"]["token"]).claims
    jti = claims.token_id
    feed = lane.get(f"/v1/revocations?since={start['next_cursor']}").json()
    assert [item["jti"] for item in feed["items"]] == [jti]
    expires_at = datetime.fromisoformat(feed["items"][0]["expires_at"])
    assert expires_at.timestamp() == claims.expires_at
    assert lane.get(f"/v1/revocations?since={feed['next_cursor']}").json()["items"] == []
    runtime = partner.http.app.state.runtime
    assert jti in runtime.revocations.revoked
    assert_problem(partner.get("/v1/revocations"), 403, "forbidden")


def test_an_admin_revokes_any_clearance(admin: Admin, partner: Actor) -> None:
    filed = file(partner, bodies.application(register(partner, bodies.traveller())))
    url = f"/v1/admin/clearances/{filed['clearance']['id']}/revoke"
    assert admin.post(url, json={"reason": "fraud"}).json()["status"] == "revoked"
    assert partner.get(f"/v1/clearances/{filed['clearance']['id']}").json()["status"] == "revoked"
    assert_problem(admin.post(url, json={}), 422, "validation-failed")
    missing = f"/v1/admin/clearances/{uuid.uuid4()}/revoke"
    assert_problem(admin.post(missing, json={"reason": "x"}), 404, "not-found")


def test_erasing_a_traveller_revokes_their_clearances(partner: Actor) -> None:
    traveller_id = register(partner, bodies.traveller())
    filed = file(partner, bodies.application(traveller_id))
    assert partner.delete(f"/v1/travellers/{traveller_id}").status_code == 204
    clearance = partner.get(f"/v1/clearances/{filed['clearance']['id']}").json()
    assert clearance["status"] == "revoked"
    assert clearance["revocation_reason"] == "traveller erased"


def test_a_revocation_reaches_another_worker_within_a_second(
    partner: Actor, settings: Settings
) -> None:
    filed = file(partner, bodies.application(register(partner, bodies.traveller())))
    with TestClient(app=create_app(settings)) as other_worker:
        partner.post(f"/v1/clearances/{filed['clearance']['id']}/revoke", json={"reason": "x"})
        jti = verify(partner.http, settings, filed["clearance"]["token"]).claims.token_id
        eventually(
            lambda: jti in other_worker.app.state.runtime.revocations.revoked,
            what="the other worker to hear of the revocation",
        )


# --- keys ----------------------------------------------------------------------------------


def test_the_jwks_is_public_cacheable_and_holds_no_private_part(admin: Admin) -> None:
    client = admin.http
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jwk-set+json"
    max_age = int(response.headers["cache-control"].split("max-age=")[1])
    assert "public" in response.headers["cache-control"]
    assert 0 < max_age <= 300
    keys = response.json()["keys"]
    states = {k["kid"]: k["state"] for k in admin.get("/v1/admin/keys").json()["items"]}
    # the active key, the next one (published ahead of use) and any still retiring
    assert {k["kid"] for k in keys} == {kid for kid, state in states.items() if state != "retired"}
    assert sorted(states.values()).count("active") == 1
    for key in keys:
        assert "d" not in key
        assert key["kty"] == "EC"
        assert key["crv"] == "P-256"
        assert key["alg"] == "ES256"
        assert key["use"] == "sig"
        assert key["kid"]


def test_rotation_keeps_old_tokens_valid_until_their_key_retires(
    admin: Admin, partner: Actor, settings: Settings, clean_database: str
) -> None:
    before = file(partner, bodies.application(register(partner, bodies.traveller())))
    old_kid = jwt.get_unverified_header(before["clearance"]["token"])["kid"]
    published_next = [
        k["kid"] for k in admin.get("/v1/admin/keys").json()["items"] if k["state"] == "next"
    ]
    rotated = admin.post("/v1/admin/keys/rotate")
    assert rotated.status_code == 200
    assert rotated.json()["active"] == published_next[0]
    after = file(partner, bodies.application(register(partner, bodies.traveller())))
    new_kid = jwt.get_unverified_header(after["clearance"]["token"])["kid"]
    assert new_kid == published_next[0] != old_kid
    verify(partner.http, settings, before["clearance"]["token"])
    verify(partner.http, settings, after["clearance"]["token"])
    states = {k["kid"]: k["state"] for k in admin.get("/v1/admin/keys").json()["items"]}
    assert states[old_kid] == "retiring"
    assert "keys.rotate" in [e["action"] for e in admin.get("/v1/admin/audit").json()["items"]]

    expire_retiring_key(clean_database, old_kid)
    admin.post("/v1/admin/keys/rotate")
    states = {k["kid"]: k["state"] for k in admin.get("/v1/admin/keys").json()["items"]}
    assert states[old_kid] == "retired"
    assert old_kid not in jwks_keys(partner.http)
    refused = verify_token(
        before["clearance"]["token"],
        keys=jwks_keys(partner.http),
        issuer=settings.issuer,
        audience="gl-lanes",
        now=int(time.time()) + 2 * 86400,
    )
    assert not isinstance(refused, VerifiedToken)
    assert refused.code == "key_unknown"


def test_every_worker_signs_with_the_new_key_within_a_second(
    admin: Admin, partner: Actor, settings: Settings
) -> None:
    with TestClient(app=create_app(settings)) as other_worker:
        rotated = admin.post("/v1/admin/keys/rotate").json()
        eventually(
            lambda: other_worker.app.state.runtime.keyring.signer.kid == rotated["active"],
            what="the other worker to sign with the new key",
        )
        assert rotated["next"] in other_worker.get("/.well-known/jwks.json").text


def test_only_admins_manage_keys_and_reviews(partner: Actor) -> None:
    for url in ("/v1/admin/keys", "/v1/admin/reviews"):
        assert_problem(partner.get(url), 403, "forbidden")
    assert_problem(partner.post("/v1/admin/keys/rotate"), 403, "forbidden")


def test_a_partner_withdraws_without_a_body(partner: Actor) -> None:
    filed = file(partner, bodies.application(register(partner, bodies.traveller())))
    withdrawn = partner.post(f"/v1/clearances/{filed['clearance']['id']}/revoke")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "revoked"
    assert withdrawn.json()["revocation_reason"] == "withdrawn by the partner"
