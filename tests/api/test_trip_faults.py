"""A trip verified while PostgreSQL is away: answered in degraded mode from the spool, and every
crossing it promised recorded once the database is back."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from litestar.testing import TestClient

from greenlane.app import create_app
from greenlane.embedded_db import EmbeddedPostgres, ensure_database
from greenlane.migrate import upgrade
from greenlane.settings import Settings

from ..waiting import eventually
from .actors import Admin, make_admin_credentials
from .lane_setup import codes
from .test_verify_faults import fetch
from .trip_setup import crew


def test_a_trip_verified_during_an_outage_is_recorded_when_it_ends(
    tmp_path: Path, settings: Settings
) -> None:
    server = EmbeddedPostgres(tmp_path / "db")
    try:
        ensure_database(server.url("postgres"), "greenlane")
        url = server.url()
        upgrade(url)
        local = replace(
            settings,
            database_url=url,
            data_dir=tmp_path,
            db_connect_timeout=1.0,
            verify_commit_budget_ms=300,
        )
        app = create_app(local)
        with TestClient(app=app, raise_server_exceptions=False) as client:
            trips = crew(Admin(client, *make_admin_credentials(local)))
            trip = trips.file()
            once = trips.passenger()
            single = trips.partner.post(
                "/v1/applications", json=trips.single_entry(once.traveller_id)
            ).json()
            assert single["status"] == "approved"
            with_single = trips.file((trips.driver, "driver"), (once, "passenger"))
            question = trips.scan(trip, trips.driver, trips.co_driver)

            server.halt("immediate")
            during = trips.verify(question)
            again = trips.lane.post("/v1/verify/trip", json=question)
            unconfirmed = trips.verify(trips.scan(with_single, trips.driver, once))
            server.resume()

            assert during["mode"] == "degraded"
            assert during["decision"] == "green"
            assert again.headers["Idempotent-Replayed"] == "true"
            assert again.json() == during
            assert unconfirmed["decision"] == "refer"
            assert codes(unconfirmed["members"][1]) == ["single_entry_unconfirmed"]
            verifier = app.state.runtime.verifier
            eventually(
                lambda: not verifier.spool_has_work(),
                what="the spool to drain",
                timeout=15,
                interval=0.1,
            )
        promised = {during["crossing_id"], *(m["crossing_id"] for m in during["members"])}
        crossings = asyncio.run(fetch(url, "SELECT id, clearance_id FROM crossings"))
        assert {str(row["id"]) for row in crossings} == promised
        assert sum(row["clearance_id"] is None for row in crossings) == 1  # the vehicle's
    finally:
        server.stop()
