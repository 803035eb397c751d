"""The service's skeleton through HTTP: problems, health, metrics, OpenAPI and migrations."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.app import create_app
from greenlane.embedded_db import EmbeddedPostgres, ensure_database
from greenlane.migrate import downgrade, upgrade
from greenlane.observability import JsonFormatter
from greenlane.openapi import openapi_document, render
from greenlane.settings import Settings

from ..conftest import ROOT, with_database
from ..database import connect
from ..waiting import eventually
from .problems import PROBLEM, assert_problem


def test_unknown_route_is_a_404_problem(client: TestClient[Litestar]) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "not-found")


def test_wrong_method_is_a_405_problem(client: TestClient[Litestar]) -> None:
    assert_problem(client.delete("/health/live"), 405, "method-not-allowed")


def test_body_over_64_kib_is_a_413_problem(client: TestClient[Litestar]) -> None:
    response = client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&pad=" + b"x" * (64 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 413, "body-too-large")


def test_liveness_and_readiness(client: TestClient[Litestar]) -> None:
    assert client.get("/health/live").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["schema"] == "ok"
    assert ready.json()["checks"]["signing_key"] == "ok"


def test_every_request_gets_a_request_id(client: TestClient[Litestar]) -> None:
    assert len(client.get("/health/live").headers["x-request-id"]) == 32
    echoed = client.get("/health/live", headers={"x-request-id": "lane-7-abc"})
    assert echoed.headers["x-request-id"] == "lane-7-abc"
    refused = client.get("/health/live", headers={"x-request-id": "bad id\x7f"})
    assert refused.headers["x-request-id"] != "bad id\x7f"


def test_metrics_count_requests_by_route(client: TestClient[Litestar]) -> None:
    client.get("/health/live")
    client.get("/v1/nothing-here")
    text = client.get("/metrics").text
    assert 'greenlane_http_requests_total{method="GET",route="/health/live",status="200"}' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "greenlane_http_request_duration_seconds_bucket" in text
    assert "greenlane_db_pool_size" in text


def test_access_log_has_one_json_line_per_request_without_headers(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="greenlane.access"):
        client.get("/v1/nothing-here", headers={"authorization": "Bearer sekrit-token"})
    records = [r for r in caplog.records if r.name == "greenlane.access"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["route"] == "<unmatched>"
    assert entry["status"] == 404
    assert {"ts", "request_id", "method", "duration_ms"} <= set(entry)
    assert "sekrit-token" not in line


def test_readiness_turns_503_when_the_database_stops(tmp_path: Path, settings: Settings) -> None:
    server = EmbeddedPostgres(tmp_path / "db")
    try:
        ensure_database(server.url("postgres"), "greenlane")
        url = server.url()
        upgrade(url)
        app = create_app(replace(settings, database_url=url, db_connect_timeout=1.0))
        with TestClient(app=app, raise_server_exceptions=False) as client:
            assert client.get("/health/ready").status_code == 200
            server.halt()
            live = app.state.runtime.live
            # the LISTEN connection's loss is noticed at once
            eventually(lambda: not live.connected, what="the lost listener to be noticed")
            down = client.get("/health/ready")
            assert down.status_code == 503
            assert down.json()["checks"]["database"] == "unavailable"
            assert client.get("/health/live").status_code == 200
            server.resume()
            assert client.get("/health/ready").status_code == 200
            # and the listener comes back by itself
            eventually(
                lambda: live.connected,
                what="the listener to reconnect",
                timeout=10.0,
                interval=0.05,
            )
    finally:
        server.stop()


def test_migrations_go_up_down_and_up_again(server_url: str) -> None:
    name = f"greenlane_migrations_{uuid.uuid4().hex[:8]}"
    ensure_database(server_url, name)
    url = with_database(server_url, name)

    async def tables() -> set[str]:
        conn = await connect(url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {row["tablename"] for row in rows}
        finally:
            await conn.close()

    try:
        upgrade(url)
        at_head = asyncio.run(tables())
        assert {"partners", "ports", "clients", "audit_log"} <= at_head
        downgrade(url, "base")
        assert asyncio.run(tables()) == {"alembic_version"}
        upgrade(url)
        assert asyncio.run(tables()) == at_head
    finally:

        async def drop() -> None:
            conn = await connect(server_url)
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await conn.close()

        asyncio.run(drop())


def test_committed_openapi_matches_the_app(settings: Settings) -> None:
    committed = (ROOT / "openapi" / "openapi.json").read_text()
    assert committed == render(openapi_document(settings)), "run `make openapi` and commit"


def test_openapi_documents_problem_json_errors(settings: Settings) -> None:
    document = openapi_document(settings)
    media_types = {
        media
        for name, path in document["paths"].items()
        if name != "/oauth/token"  # RFC 6749 fixes its error bodies as application/json
        for operation in path.values()
        for status, response in operation.get("responses", {}).items()
        if status.startswith(("4", "5"))
        and (name, status) != ("/health/ready", "503")  # readiness answers its Health body
        for media in response.get("content", {})
    }
    assert media_types == {PROBLEM}
