"""``greenlane demo`` end to end, against a real ``greenlane serve`` subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.harness import environment, free_port, fresh_database, greenlane, server


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with fresh_database("demo") as database_url:
        env = environment(
            database_url, tmp_path_factory.mktemp("demo"), ISSUER=url, LOG_LEVEL="WARNING"
        )
        with server(env, workers=1, port=port) as base_url:
            yield base_url, env


def demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenlane", "demo", *args],
        env={**env, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_demo_tours_a_running_server(running: tuple[str, dict[str, str]]) -> None:
    url, env = running
    admin = json.loads(greenlane(env, "clients", "create", "--role", "admin", "--name", "demo"))
    # `=` keeps a secret that starts with "-" from reading as an option.
    done = demo(
        env,
        f"--url={url}",
        f"--client-id={admin['client_id']}",
        f"--client-secret={admin['client_secret']}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    steps = [
        "An administrator sets up a partner, a port and their API clients",
        "The partner registers a commercial driver and a truck",
        "The driver's phone shows the clearance as a QR code",
        "The lane scans the QR code",
        "the same event again",
        "another passport",
        "The partner files a trip: the truck, its driver and co-driver",
        "The lane scans the trip's QR code, the plate and both passports",
        "the truck and both drivers crossed together",
        "revokes the clearance",
        "link to the centre is cut",
        "sends its spool to the server",
    ]
    for step in steps:
        assert step in out, step
    # online, its replay, the trip, and offline
    assert out.count("decision GREEN") == 4
    assert "  driver: Somchai Jaidee, green" in out
    assert "  co_driver: Malee Srisuk, green" in out
    # The tour itself stops (exit 1) when the replay's answer differs from the first in any field.
    assert "the same answer and the same crossing" in out
    assert "DENY (document_mismatch)" in out
    assert out.count("DENY (token_revoked)") == 2  # online after the revocation, and offline
    assert "mode degraded" in out
    assert "▀" in out or "▄" in out  # the QR code, drawn with half blocks
    assert "nothing is recorded twice" in out
    assert admin["client_secret"] not in out


def test_the_demo_makes_its_own_admin_for_a_local_database(
    running: tuple[str, dict[str, str]],
) -> None:
    url, env = running
    local = {k: v for k, v in env.items() if not k.startswith("GREENLANE_DEMO_")}
    done = demo(local, "--url", url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "signed in as admin client" in done.stdout


def test_the_demo_says_what_is_missing(running: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, env = running
    elsewhere = {
        k: v for k, v in env.items() if k not in ("GREENLANE_DATABASE_URL", "GREENLANE_DATA_DIR")
    }
    elsewhere["GREENLANE_DATA_DIR"] = str(tmp_path / "nothing-here")
    no_admin = demo(elsewhere, "--url", url)
    assert no_admin.returncode == 2
    assert "--client-id" in no_admin.stdout
    unreachable = demo(
        env, "--url", "http://127.0.0.1:9", "--client-id", "x", "--client-secret", "y"
    )
    assert unreachable.returncode == 1
    assert "make run" in unreachable.stdout
