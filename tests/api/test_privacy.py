"""Personal data at rest: a dump of every table holds no registered number or birth date."""

from __future__ import annotations

import asyncio
import json

from litestar.testing import TestClient

from greenlane.app import create_app
from greenlane.settings import load_settings, new_key_text

from ..database import connect
from . import bodies
from .actors import Actor, Admin
from .commands import greenlane


def _as_text(value: object) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


async def dump_everything(database_url: str) -> str:
    conn = await connect(database_url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        rows = []
        for table in tables:
            for record in await conn.fetch(f'SELECT * FROM "{table}"'):
                # bytea as Latin-1, so that a number stored as raw bytes would still show
                rows.append(json.dumps(dict(record), default=_as_text))
        return "\n".join(rows)
    finally:
        await conn.close()


def test_no_number_or_birth_date_in_clear_in_any_table(admin: Admin, clean_database: str) -> None:
    partner = admin.partner_actor()
    driver = bodies.driver(date_of_birth="1979-11-02")
    driver["document"]["number"] = "K8842217Q"
    driver["driving_licence"]["number"] = "TLX55190347"
    driver["mrz"] = bodies.td3(driver)
    # Clients choose idempotency keys, and some put personal data in them: stored only hashed.
    key = {"Idempotency-Key": "order-K8842217Q"}
    assert partner.post("/v1/travellers", json=driver, headers=key).status_code == 201
    dump = asyncio.run(dump_everything(clean_database))
    assert "Jaidee" in dump, "the dump must actually contain the registration"
    for secret in ("K8842217Q", "TLX55190347", "1979-11-02", "791102", "order-"):
        assert secret not in dump


def test_a_ciphertext_moved_to_another_row_does_not_open(admin: Admin, clean_database: str) -> None:
    partner = admin.partner_actor()
    first = partner.post("/v1/travellers", json=bodies.traveller()).json()
    second = partner.post(
        "/v1/travellers", json=bodies.traveller(date_of_birth="1990-01-01")
    ).json()

    async def swap() -> None:
        conn = await connect(clean_database)
        try:
            await conn.execute(
                "UPDATE travellers SET date_of_birth_enc ="
                " (SELECT date_of_birth_enc FROM travellers WHERE id = $1) WHERE id = $2",
                first["id"],
                second["id"],
            )
        finally:
            await conn.close()

    asyncio.run(swap())
    response = partner.get(f"/v1/travellers/{second['id']}")
    assert response.status_code == 500
    assert response.json()["type"] == "urn:greenlane:problem:internal-error"
    assert "1985" not in response.text


def test_rotating_the_data_key(
    admin: Admin, clean_database: str, environment: dict[str, str]
) -> None:
    partner = admin.partner_actor()
    created = partner.post("/v1/travellers", json=bodies.traveller()).json()
    old_key = environment["GREENLANE_DATA_KEYS"].split(":", 1)[1]
    new_key = new_key_text()
    both = {**environment, "GREENLANE_DATA_KEYS": f"1:{old_key},2:{new_key}"}
    done = greenlane(both, "data", "rewrap")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rewrapped"]["travellers"] == 2  # birth date and number

    only_new = load_settings({**environment, "GREENLANE_DATA_KEYS": f"2:{new_key}"})
    with TestClient(app=create_app(only_new), raise_server_exceptions=False) as client:
        reader = Actor(client, partner.client_id, partner.secret)
        again = reader.get(f"/v1/travellers/{created['id']}")
        assert again.status_code == 200
        assert again.json()["date_of_birth"] == created["date_of_birth"]
    assert json.loads(greenlane(both, "data", "rewrap").stdout)["rewrapped"]["travellers"] == 0
