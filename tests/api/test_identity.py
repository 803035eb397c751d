"""Identity and access through the HTTP API: sign-in, guards, records, audit, isolation."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace

import anyio
import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient

from greenlane.app import create_app
from greenlane.domain.access_tokens import AUDIENCE
from greenlane.services import audit as audit_service
from greenlane.settings import Settings, new_key_text

from ..database import connect
from ..waiting import eventually
from .actors import Actor, Admin, make_admin_credentials, sign_in
from .problems import assert_problem
from .tokens import b64


def token_request(client: TestClient[Litestar], **form: str) -> httpx.Response:
    return client.post("/oauth/token", data=form)


# --- POST /oauth/token -------------------------------------------------------------------------


def test_sign_in_with_form_credentials(client: TestClient[Litestar], settings: Settings) -> None:
    client_id, secret = make_admin_credentials(settings)
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "admin"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == client_id
    assert claims["role"] == "admin"
    assert claims["exp"] - claims["iat"] == 900


def test_sign_in_with_http_basic(client: TestClient[Litestar], settings: Settings) -> None:
    client_id, secret = make_admin_credentials(settings)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert (
        client.get("/v1/me", headers=bearer(response.json()["access_token"])).json()["role"]
        == "admin"
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_invalid_client(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": response.json()["error_description"],
    }
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["cache-control"] == "no-store"


def test_wrong_secret_is_invalid_client(client: TestClient[Litestar], settings: Settings) -> None:
    client_id, _ = make_admin_credentials(settings)
    assert_invalid_client(
        token_request(
            client, grant_type="client_credentials", client_id=client_id, client_secret="nope"
        )
    )


# Fixed values, not uuid4(): every pytest-xdist worker must collect the same test ids.
UNKNOWN_CLIENT_IDS = ["865e2f4e-cac2-442e-b4dc-3a5d0968d53b", "not-a-uuid", "x" * 500]


@pytest.mark.parametrize("client_id", UNKNOWN_CLIENT_IDS)
def test_unknown_client_is_invalid_client(client: TestClient[Litestar], client_id: str) -> None:
    assert_invalid_client(
        token_request(
            client, grant_type="client_credentials", client_id=client_id, client_secret="s"
        )
    )


def test_disabled_client_cannot_sign_in_and_its_tokens_stop(admin: Admin) -> None:
    client_id, secret = admin.new_client(role="admin", name="soon gone")
    other = Actor(admin.http, client_id, secret)
    assert other.get("/v1/me").status_code == 200
    assert admin.delete(f"/v1/admin/clients/{client_id}").json()["disabled"] is True
    assert_problem(other.get("/v1/me"), 401, "unauthorized")
    assert_invalid_client(
        token_request(
            admin.http, grant_type="client_credentials", client_id=client_id, client_secret=secret
        )
    )


def test_missing_grant_type_is_invalid_request(client: TestClient[Litestar]) -> None:
    response = token_request(client, client_id="a", client_secret="b")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token"])
def test_other_grant_types_are_unsupported(client: TestClient[Litestar], grant: str) -> None:
    response = token_request(client, grant_type=grant, client_id="a", client_secret="b")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_missing_credentials_are_invalid_client(client: TestClient[Litestar]) -> None:
    assert_invalid_client(token_request(client, grant_type="client_credentials"))


def test_repeated_failures_for_one_client_are_throttled_and_audited(
    admin: Admin, settings: Settings
) -> None:
    client_id, secret = admin.new_client(role="admin", name="target")
    for _ in range(10):
        assert_invalid_client(
            token_request(
                admin.http, grant_type="client_credentials", client_id=client_id, client_secret="x"
            )
        )
    throttled = token_request(
        admin.http, grant_type="client_credentials", client_id=client_id, client_secret="y"
    )
    body = assert_problem(throttled, 429, "rate-limited")
    assert int(throttled.headers["retry-after"]) >= 1
    assert "secret" not in json.dumps(body)
    # The real client is not locked out by someone failing on purpose with its id.
    rightful = token_request(
        admin.http, grant_type="client_credentials", client_id=client_id, client_secret=secret
    )
    assert rightful.status_code == 200
    actions = [e["action"] for e in admin.get("/v1/admin/audit?limit=200").json()["items"]]
    assert actions.count("auth.signin_throttled") == 1


# --- access tokens on the API -------------------------------------------------------------------


def forged(
    settings: Settings,
    *,
    claims: Mapping[str, object] | None = None,
    key: bytes | ec.EllipticCurvePrivateKey | None = None,
    algorithm: str = "HS256",
    headers: Mapping[str, object] | None = None,
) -> str:
    """An access token as the service would sign it (its key, HS256, ``typ`` at+jwt), but
    for the claims, key, algorithm or header fields given."""
    now = int(time.time())
    payload: dict[str, object] = {
        "iss": settings.issuer,
        "sub": str(uuid.uuid4()),
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
        "client_id": "",
        "role": "admin",
        "scope": "admin",
    }
    payload.update(claims or {})
    payload["client_id"] = payload["sub"]
    return jwt.encode(
        payload,
        settings.access_token_key.reveal() if key is None else key,
        algorithm=algorithm,
        headers={"typ": "at+jwt", **(headers or {})},
    )


def unsigned(header: dict[str, object], claims: dict[str, object]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def hs256_with(secret: bytes, claims: dict[str, object]) -> str:
    """HS256 by hand: PyJWT itself refuses a public key as an HMAC secret."""
    signing_input = unsigned({"alg": "HS256", "typ": "at+jwt"}, claims)[:-1]
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_a_real_token_works_and_forgeries_do_not(admin: Admin, settings: Settings) -> None:
    real = jwt.decode(admin.token, options={"verify_signature": False})
    public_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    as_admin = {"sub": real["sub"]}
    attempts = {
        "foreign key": forged(settings, key=new_key_text().encode(), claims=as_admin),
        "alg none": unsigned({"alg": "none", "typ": "at+jwt"}, {**real}),
        "alg None": unsigned({"alg": "None", "typ": "at+jwt"}, {**real}),
        "public key as HMAC secret": hs256_with(public_pem, real),
        "expired": forged(settings, claims={"sub": real["sub"], "exp": int(time.time()) - 1}),
        "wrong audience": forged(settings, claims={"sub": real["sub"], "aud": "greenlane-lanes"}),
        "wrong issuer": forged(settings, claims={"sub": real["sub"], "iss": "https://evil"}),
        "clearance-style token": forged(
            settings,
            key=ec.generate_private_key(ec.SECP256R1()),
            algorithm="ES256",
            headers={"typ": "gl-clearance+jwt", "kid": "abc"},
            claims=as_admin,
        ),
        "clearance typ with the right key": forged(
            settings, headers={"typ": "gl-clearance+jwt"}, claims=as_admin
        ),
        "crit header": forged(settings, headers={"crit": ["exp"]}, claims=as_admin),
        "garbage": "not.a.token",
        "oversized": "a" * 5000,
    }
    assert admin.get("/v1/me").status_code == 200
    assert admin.get("/v1/admin/partners").status_code == 200
    for name, token in attempts.items():
        response = admin.http.get("/v1/admin/partners", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.headers["content-type"] == "application/problem+json", name
    assert admin.http.get("/v1/admin/partners").status_code == 401
    assert (
        admin.http.get("/v1/admin/partners", headers={"Authorization": "Basic x"}).status_code
        == 401
    )


def test_a_role_changed_in_the_token_is_refused(admin: Admin, settings: Settings) -> None:
    partner = admin.partner_actor()
    claims = jwt.decode(partner.token, options={"verify_signature": False})
    escalated = forged(settings, claims={"sub": claims["sub"], "role": "admin", "scope": "admin"})
    assert admin.http.get("/v1/admin/partners", headers=bearer(escalated)).status_code == 401


def test_role_guards(admin: Admin) -> None:
    partner = admin.partner_actor()
    lane = admin.lane_actor()
    for actor in (partner, lane):
        assert_problem(actor.get("/v1/admin/partners"), 403, "forbidden")
        assert_problem(actor.post("/v1/admin/ports", json={}), 403, "forbidden")
        assert_problem(actor.get("/v1/admin/audit"), 403, "forbidden")
    assert partner.get("/v1/me").json()["partner_id"] == partner.extra["partner_id"]
    assert lane.get("/v1/me").json()["port_code"] == "THBKK"


@pytest.mark.usefixtures("clean_database")
def test_rate_limit_is_per_client_with_retry_after(settings: Settings) -> None:
    limited = replace(settings, rate_limit_admin=3)
    with TestClient(app=create_app(limited), raise_server_exceptions=False) as client:
        first = Admin(client, *make_admin_credentials(settings))
        second = Admin(client, *make_admin_credentials(settings))
        for _ in range(3):
            assert first.get("/v1/me").status_code == 200
        response = first.get("/v1/me")
        assert_problem(response, 429, "rate-limited")
        assert int(response.headers["retry-after"]) >= 1
        assert second.get("/v1/me").status_code == 200


# --- records ----------------------------------------------------------------------------------


def test_partners_are_created_and_listed_with_who_made_them(admin: Admin) -> None:
    made = [admin.partner(f"Partner {i}") for i in range(3)]
    assert made[0]["created_by"] == f"client:{admin.client_id}"
    assert made[0]["updated_at"] == made[0]["created_at"]
    first = admin.get("/v1/admin/partners?limit=2").json()
    assert [p["id"] for p in first["items"]] == [p["id"] for p in made[:2]]
    rest = admin.get(f"/v1/admin/partners?limit=2&cursor={first['next_cursor']}").json()
    assert [p["id"] for p in rest["items"]] == [made[2]["id"]]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "country": "THA", "contact_email": "a@b.co"}, "name"),
        ({"name": "A", "country": "XYZ", "contact_email": "a@b.co"}, "country"),
        ({"name": "A", "country": "tha", "contact_email": "a@b.co"}, "country"),
        ({"name": "A", "country": "THA", "contact_email": "nope"}, "contact_email"),
        ({"name": "A", "country": "THA", "contact_email": "a@b.co", "role": "admin"}, "role"),
        ({"name": "A", "country": "THA"}, "contact_email"),
        ({"name": 5, "country": "THA", "contact_email": "a@b.co"}, "name"),
    ],
)
def test_bad_partners_are_422_naming_the_field(
    admin: Admin, body: dict[str, object], field: str
) -> None:
    problem = assert_problem(admin.post("/v1/admin/partners", json=body), 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == [field]


def test_malformed_json_is_400(admin: Admin) -> None:
    response = admin.post(
        "/v1/admin/partners", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "bad-request")


def test_ports(admin: Admin) -> None:
    created = admin.post(
        "/v1/admin/ports",
        json={
            "code": "CNPXG",
            "name": "Pingxiang",
            "country": "CHN",
            "kinds": ["vehicle", "cargo"],
        },
    )
    assert created.status_code == 201
    assert created.json()["kinds"] == ["vehicle", "cargo"]
    duplicate = admin.post(
        "/v1/admin/ports",
        json={"code": "CNPXG", "name": "Again", "country": "CHN", "kinds": ["vehicle"]},
    )
    assert_problem(duplicate, 409, "conflict")
    assert [p["code"] for p in admin.get("/v1/admin/ports").json()["items"]] == ["CNPXG"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "CN-PX", "name": "P", "country": "CHN", "kinds": ["vehicle"]}, "code"),
        ({"code": "cnpxg", "name": "P", "country": "CHN", "kinds": ["vehicle"]}, "code"),
        ({"code": "THPXG", "name": "P", "country": "CHN", "kinds": ["vehicle"]}, "code"),
        ({"code": "CNPXG", "name": "P", "country": "ZZZ", "kinds": ["vehicle"]}, "country"),
        ({"code": "CNPXG", "name": "P", "country": "CHN", "kinds": []}, "kinds"),
        ({"code": "CNPXG", "name": "P", "country": "CHN", "kinds": ["boat"]}, "kinds[0]"),
        ({"code": "CNPXG", "name": "P", "country": "CHN", "kinds": ["cargo", "cargo"]}, "kinds"),
    ],
)
def test_bad_ports_are_422(admin: Admin, body: dict[str, object], field: str) -> None:
    problem = assert_problem(admin.post("/v1/admin/ports", json=body), 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == [field]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"role": "partner", "name": "p"}, ["partner_id"]),
        ({"role": "lane", "name": "l", "port_code": "THBKK"}, ["lane_code"]),
        ({"role": "admin", "name": "a", "lane_code": "L1"}, ["lane_code"]),
        ({"role": "partner", "name": "p", "partner_id": str(uuid.uuid4())}, ["partner_id"]),
        ({"role": "lane", "name": "l", "port_code": "ZZZZZ", "lane_code": "L1"}, ["port_code"]),
        ({"role": "root", "name": "r"}, ["role"]),
    ],
)
def test_bad_clients_are_422(admin: Admin, body: dict[str, object], fields: list[str]) -> None:
    problem = assert_problem(admin.post("/v1/admin/clients", json=body), 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == fields


def test_client_secrets_are_shown_once_and_stored_hashed(admin: Admin, database_url: str) -> None:
    client_id, secret = admin.new_client(role="admin", name="ops")
    assert len(base64.urlsafe_b64decode(secret + "==")) >= 32
    listed = admin.get("/v1/admin/clients").json()["items"]
    assert secret not in json.dumps(listed)
    assert {c["client_id"] for c in listed} >= {client_id, admin.client_id}

    async def stored() -> bytes:
        conn = await connect(database_url)
        try:
            return bytes(
                await conn.fetchval(
                    "SELECT secret_hash FROM clients WHERE id = $1", uuid.UUID(client_id)
                )
            )
        finally:
            await conn.close()

    assert secret.encode() not in asyncio.run(stored())


def test_disabling_an_unknown_client_is_404(admin: Admin) -> None:
    assert_problem(admin.delete(f"/v1/admin/clients/{uuid.uuid4()}"), 404, "not-found")
    assert_problem(admin.delete("/v1/admin/clients/not-a-uuid"), 404, "not-found")


def test_disabling_reaches_another_worker_within_a_second(admin: Admin, settings: Settings) -> None:
    client_id, secret = admin.new_client(role="admin", name="two workers")
    with TestClient(app=create_app(settings), raise_server_exceptions=False) as other_worker:
        token = sign_in(other_worker, client_id, secret)
        assert other_worker.get("/v1/me", headers=bearer(token)).status_code == 200
        admin.delete(f"/v1/admin/clients/{client_id}")
        eventually(
            lambda: other_worker.get("/v1/me", headers=bearer(token)).status_code != 200,
            what="the other worker to refuse the disabled client's token",
        )


# --- audit -------------------------------------------------------------------------------------


def test_admin_actions_are_audited_and_the_chain_verifies(admin: Admin) -> None:
    partner = admin.partner()
    admin.port("CNPXG", country="CHN")
    client_id, _ = admin.new_client(role="partner", name="app", partner_id=partner["id"])
    admin.delete(f"/v1/admin/clients/{client_id}")
    entries = admin.get("/v1/admin/audit").json()["items"]
    assert [e["action"] for e in entries] == [
        "client.create",
        "partner.create",
        "port.create",
        "client.create",
        "client.disable",
    ]
    assert entries[1]["actor"] == f"client:{admin.client_id}"
    assert entries[3]["subject"] == client_id
    assert [e["id"] for e in entries] == list(range(1, 6))
    assert admin.get("/v1/admin/audit/verify").json() == {"ok": True, "entries": 5}


def test_the_app_cannot_rewrite_the_audit_log(admin: Admin, database_url: str) -> None:
    admin.partner()

    async def try_rewrite() -> list[str]:
        conn = await connect(database_url)
        errors = []
        try:
            for sql in (
                "UPDATE audit_log SET actor = 'someone else'",
                "DELETE FROM audit_log",
                "TRUNCATE audit_log",
            ):
                try:
                    await conn.execute(sql)
                except asyncpg.PostgresError as exc:
                    errors.append(type(exc).__name__)
        finally:
            await conn.close()
        return errors

    assert asyncio.run(try_rewrite()) == ["InsufficientPrivilegeError"] * 3
    assert admin.get("/v1/admin/audit/verify").json()["ok"] is True


@pytest.mark.parametrize("chunk", [1000, 2], ids=["one read", "read two at a time"])
def test_an_edited_entry_is_named_by_verify(
    admin: Admin, database_url: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_service, "VERIFY_CHUNK", chunk)
    for i in range(4):
        admin.partner(f"P{i}")

    async def tamper(entry_id: int) -> None:
        conn = await connect(database_url)
        try:
            # Only the table owner, bypassing triggers, can do this; verification must notice.
            await conn.execute("SET session_replication_role = replica")
            await conn.execute(
                'UPDATE audit_log SET details = \'{"country": "XXX"}\' WHERE id = $1', entry_id
            )
        finally:
            await conn.close()

    asyncio.run(tamper(3))
    assert admin.get("/v1/admin/audit/verify").json() == {"ok": False, "entries": 5, "first_bad": 3}


@pytest.mark.anyio
@pytest.mark.usefixtures("clean_database")
async def test_concurrent_writers_extend_one_chain(settings: Settings) -> None:
    client_id, secret = await anyio.to_thread.run_sync(make_admin_credentials, settings)
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        headers = bearer(response.json()["access_token"])
        bodies = [
            {"name": f"Concurrent {i}", "country": "VNM", "contact_email": "x@y.vn"}
            for i in range(20)
        ]
        results = await asyncio.gather(
            *(client.post("/v1/admin/partners", json=b, headers=headers) for b in bodies)
        )
        assert [r.status_code for r in results] == [201] * 20
        verification = (await client.get("/v1/admin/audit/verify", headers=headers)).json()
        assert verification == {"ok": True, "entries": 21}
