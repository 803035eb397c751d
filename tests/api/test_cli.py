"""The ``greenlane`` command against the test database, as an operator runs it."""

from __future__ import annotations

import json

from litestar import Litestar
from litestar.testing import TestClient

from ..waiting import eventually
from .actors import sign_in
from .commands import greenlane


def test_clients_create_list_and_disable(
    client: TestClient[Litestar], environment: dict[str, str]
) -> None:
    created = greenlane(environment, "clients", "create", "--role", "admin", "--name", "Ops")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert len(lines) == 1
    credentials = json.loads(lines[0])
    assert set(credentials) == {"client_id", "client_secret"}
    token = sign_in(client, credentials["client_id"], credentials["client_secret"])
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    listed = greenlane(environment, "clients", "list")
    assert listed.returncode == 0
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["client_id"] for r in rows] == [credentials["client_id"]]
    assert credentials["client_secret"] not in listed.stdout

    disabled = greenlane(environment, "clients", "disable", credentials["client_id"])
    assert disabled.returncode == 0
    assert json.loads(disabled.stdout)["disabled"] is True
    audit = client.get("/v1/admin/audit", headers={"Authorization": f"Bearer {token}"})
    assert audit.status_code == 401


def test_bad_command_lines_fail_with_one_line(environment: dict[str, str]) -> None:
    missing = greenlane(environment, "clients", "create", "--role", "partner", "--name", "x")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "greenlane: partner_id: required for a partner client, else absent"
    ]
    unknown = greenlane(environment, "clients", "disable", "not-a-uuid")
    assert unknown.returncode == 2
    bad_setting = greenlane({**environment, "GREENLANE_PORT": "http"}, "migrate")
    assert bad_setting.returncode == 2
    assert bad_setting.stderr.strip() == (
        "greenlane: configuration error: GREENLANE_PORT: expected a whole number"
    )
    for command in ("serve", "migrate", "openapi", "clients", "keys", "data"):
        helped = greenlane(environment, command, "--help")
        assert helped.returncode == 0
        assert "usage: greenlane" in helped.stdout


def test_keys_rotate_on_the_command_line_reaches_the_running_app(
    client: TestClient[Litestar], environment: dict[str, str]
) -> None:
    before = client.app.state.runtime.keyring.signer.kid
    rotated = greenlane(environment, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    answer = json.loads(rotated.stdout)
    assert answer["active"] != before
    listed = [
        json.loads(line) for line in greenlane(environment, "keys", "list").stdout.splitlines()
    ]
    states = {key["kid"]: key["state"] for key in listed}
    assert states[answer["active"]] == "active"
    assert states[answer["next"]] == "next"
    assert states[before] == "retiring"
    eventually(
        lambda: client.app.state.runtime.keyring.signer.kid == answer["active"],
        what="the running app to sign with the rotated key",
    )
