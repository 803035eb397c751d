"""Clients of the API as tests use it: sign in like a real client, then call with a bearer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.db.pool import Database, create_pool
from greenlane.services.identity import create_client
from greenlane.settings import Settings
from greenlane.wire.identity import ClientCreate

from ..database import run


def make_admin_credentials(settings: Settings) -> tuple[str, str]:
    """What ``greenlane clients create --role admin`` does, without a subprocess."""
    assert settings.database_url is not None
    url = settings.database_url

    async def create() -> tuple[str, str]:
        pool = await create_pool(settings, url)
        try:
            created = await create_client(
                Database(pool, 2.0),
                ClientCreate(role="admin", name="test admin"),
                actor="cli",
                pepper=settings.secret_pepper.reveal(),
            )
        finally:
            await pool.close()
        return str(created.client_id), created.client_secret

    return run(create())


def sign_in(client: TestClient[Litestar], client_id: str, secret: str) -> str:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@dataclass
class Actor:
    """One signed-in API client."""

    http: TestClient[Litestar]
    client_id: str
    secret: str
    token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.token:
            self.token = sign_in(self.http, self.client_id, self.secret)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


class Admin(Actor):
    """An administrator, with shortcuts to set up what other tests need."""

    def partner(self, name: str = "Acme Logistics", country: str = "THA") -> dict[str, Any]:
        response = self.post(
            "/v1/admin/partners",
            json={"name": name, "country": country, "contact_email": "ops@acme.example"},
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def port(
        self, code: str = "THBKK", country: str = "THA", kinds: list[str] | None = None
    ) -> dict[str, Any]:
        response = self.post(
            "/v1/admin/ports",
            json={
                "code": code,
                "name": f"Port {code}",
                "country": country,
                "kinds": kinds or ["passenger", "vehicle"],
            },
        )
        assert response.status_code in (201, 409), response.text
        body: dict[str, Any] = response.json()
        return body

    def new_client(self, **body: Any) -> tuple[str, str]:
        response = self.post("/v1/admin/clients", json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        return created["client_id"], created["client_secret"]

    def partner_actor(self, name: str | None = None) -> Actor:
        partner = self.partner(name or f"Partner {uuid.uuid4().hex[:6]}")
        client_id, secret = self.new_client(
            role="partner", name="partner app", partner_id=partner["id"]
        )
        return Actor(self.http, client_id, secret, extra={"partner_id": partner["id"]})

    def lane_actor(self, port_code: str = "THBKK", lane_code: str = "L1") -> Actor:
        self.port(port_code, country="THA" if port_code.startswith("TH") else "CHN")
        client_id, secret = self.new_client(
            role="lane", name="lane", port_code=port_code, lane_code=lane_code
        )
        return Actor(self.http, client_id, secret, extra={"port_code": port_code})
