"""Federation in the console over HTTP: peer agencies registered, agreed with and dropped by an
agency administrator, their trust lists' freshness on the Agencies page and on Today; and the
trips Today expects at the ports."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from greenlane.db import agencies as agencies_db
from greenlane.domain.federation import TRUST_LIST_TYPE, TrustList, sign
from greenlane.domain.signing_keys import new_signing_key
from greenlane.domain.staff import StaffRole

from ..api.actors import Admin
from ..api.test_agencies import AGENCIES, PEER_ISSUER, agency_body
from ..api.trip_setup import TRIP_PORT, arriving_in, crew
from ..database import connect, run
from .people import Person, signed_in
from .test_cases import audited

Enrol = Callable[[StaffRole], Person]
AGREEMENT = {
    "ports": ["LAVTE"],
    "categories": ["business_visitor", "commercial_driver"],
    "valid_from": "2026-01-01",
    "valid_until": "2030-12-31",
}


def agency_id_of(page: str) -> str:
    found: str = re.findall(r"/console/agencies/([0-9a-f-]{36})/agreement", page)[0]
    return found


def store_expired_list(database_url: str, agency_id: str) -> datetime:
    """The peer's last good trust list, as peer sync keeps it, expired an hour ago; returns
    when it was fetched."""
    now = int(time.time())
    token = sign(
        TrustList(
            iss=PEER_ISSUER, country="LAO", iat=now - 7200, exp=now - 3600, anchors=[], keys=[]
        ),
        new_signing_key(),
        TRUST_LIST_TYPE,
    )

    async def store() -> datetime:
        conn = await connect(database_url)
        try:
            await agencies_db.store_list(
                conn,
                uuid.UUID(agency_id),
                token=token,
                expires_at=datetime.fromtimestamp(now - 3600, UTC),
            )
            fetched: datetime = await conn.fetchval(
                "SELECT fetched_at FROM peer_trust_lists WHERE agency_id = $1", agency_id
            )
        finally:
            await conn.close()
        return fetched

    return run(store())


def test_an_agency_admin_trusts_a_peer_agrees_repins_and_stops_trusting_it(
    client: TestClient[Litestar],
    agency_admin: tuple[Person, str],
    admin: Admin,
    clean_database: str,
) -> None:
    person, csrf = agency_admin
    admin.port("LAVTE", country="LAO")
    body: dict[str, Any] = {"_csrf": csrf, **agency_body()}
    for bad in ({"anchor_thumbprint": "short"}, {"country": "XXX"}, {"issuer": "gl.example.la"}):
        refused = client.post("/console/agencies", data={**body, **bad})
        assert refused.status_code == 422, bad
    assert admin.get(AGENCIES).json()["items"] == []
    added = client.post("/console/agencies", data=body)
    assert added.status_code == 200, added.text
    agency_id = agency_id_of(added.text)
    assert "None yet: our lanes accept none of its clearances." in added.text
    listed = client.get("/console/agencies").text
    assert f"<code>{PEER_ISSUER}</code>" in listed
    assert '<span class="state pending">pending</span>' in listed
    twice = client.post("/console/agencies", data=body)
    assert twice.status_code == 409

    agreement = f"/console/agencies/{agency_id}/agreement"
    wrong: list[dict[str, Any]] = [{"categories": []}, {"ports": []}, {"valid_until": "2025-12-31"}]
    for changes in wrong:
        refused = client.post(agreement, data={"_csrf": csrf, **AGREEMENT, **changes})
        assert refused.status_code == 422, changes
    agreed = client.post(agreement, data={"_csrf": csrf, **AGREEMENT})
    assert agreed.status_code == 200, agreed.text
    assert "<b>business_visitor, commercial_driver</b>" in agreed.text
    assert admin.get(f"{AGENCIES}/{agency_id}").json()["agreement"] == AGREEMENT

    new_pin = agency_body()["anchor_thumbprint"]
    changed = client.post(
        f"/console/agencies/{agency_id}", data={**body, "anchor_thumbprint": new_pin}
    )
    assert f'value="{new_pin}"' in changed.text
    assert admin.get(f"{AGENCIES}/{agency_id}").json()["anchor_thumbprint"] == new_pin

    fetched = store_expired_list(clean_database, agency_id)
    for page in (client.get("/console/agencies").text, client.get("/console/").text):
        assert '<span class="state stale">stale</span>' in page
        assert fetched.strftime("%Y-%m-%d %H:%M:%S UTC") in page

    remove = f"/console/agencies/{agency_id}/remove"
    for unconfirmed in ({}, {"_confirm": "yes"}):
        assert client.post(remove, data={"_csrf": csrf, **unconfirmed}).status_code == 422
    assert admin.get(f"{AGENCIES}/{agency_id}").status_code == 200
    gone = client.post(remove, data={"_csrf": csrf, "_confirm": "stop"})
    assert gone.status_code == 200
    assert "No peer agency is trusted." in gone.text
    assert admin.get(f"{AGENCIES}/{agency_id}").status_code == 404
    for action in ("agency.create", "agency.update", "agency.agreement", "agency.delete"):
        [entry] = audited(admin, action)
        assert (entry["actor"], entry["subject"]) == (f"staff:{person.email}", agency_id)


def test_today_shows_the_trips_expected_in_the_coming_hours(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin
) -> None:
    truck = crew(admin)
    soon = truck.partner.post("/v1/trips", json=truck.trip())
    assert soon.status_code == 201, soon.text
    later = truck.trip(expected_at=arriving_in(timedelta(hours=8)))
    assert truck.partner.post("/v1/trips", json=later).status_code == 201
    signed_in(client, enrol("reviewer"))
    today = client.get("/console/").text
    trips = today.split('id="trips"')[1].split("</section>")[0]
    expected = datetime.fromisoformat(soon.json()["expected_at"])
    row = (
        f"<td>{expected.strftime('%Y-%m-%d %H:%M:%S UTC')}</td><td>{TRIP_PORT}</td>"
        "<td>entry</td><td>2</td>"
    )
    assert row in trips
    assert trips.count(f"<td>{TRIP_PORT}</td>") == 1  # the one in 8 hours is not yet expected
    assert 'id="peers"' not in today  # no peer agency: nothing to say
