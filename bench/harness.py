"""What the benchmarks and the load test share: a fresh database, a real server, seeded data.

The server is the ``greenlane serve`` command, started as a subprocess exactly as an operator
would, with a chosen number of workers; nothing is measured in-process.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from greenlane.migrate import upgrade
from greenlane.settings import PREFIX, SECRET_NAMES, new_key_text

ROOT = Path(__file__).resolve().parents[1]
PORT_CODE = "THBKK"
OTHER_PORT = "THLCH"


def with_database(url: str, name: str) -> str:
    """``url`` (a server's URL, whichever database it names) made to name database ``name``."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def database_server() -> Iterator[str]:
    """The URL of GREENLANE_BENCH_DATABASE_URL's server, or of the embedded one (started here and
    released at the end): a maintenance database on which to create the benches' own."""
    server_url = os.environ.get("GREENLANE_BENCH_DATABASE_URL")
    if server_url is not None:
        yield server_url
        return
    from greenlane.embedded_db import EmbeddedPostgres

    embedded = EmbeddedPostgres(ROOT / ".greenlane")
    try:
        yield embedded.url("postgres")
    finally:
        embedded.stop()


@contextmanager
def fresh_database(prefix: str = "bench", server_url: str | None = None) -> Iterator[str]:
    """A new, migrated database on ``server_url`` (by default on ``database_server()``),
    dropped at the end."""
    with ExitStack() as stack:
        if server_url is None:
            server_url = stack.enter_context(database_server())
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        asyncio.run(execute(server_url, f'CREATE DATABASE "{name}"'))
        try:
            url = with_database(server_url, name)
            upgrade(url)
            yield url
        finally:
            asyncio.run(execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def environment(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env.update({PREFIX + name: new_key_text() for name in SECRET_NAMES})
    env[PREFIX + "DATA_KEYS"] = "1:" + env[PREFIX + "DATA_KEYS"]
    env.update(
        {
            PREFIX + "DATABASE_URL": database_url,
            PREFIX + "DATA_DIR": str(data_dir),
            PREFIX + "LOG_LEVEL": "WARNING",
            PREFIX + "RATE_LIMIT_LANE": "100000000",
            PREFIX + "RATE_LIMIT_PARTNER": "100000000",
            PREFIX + "RATE_LIMIT_ADMIN": "100000000",
            PREFIX + "DB_POOL_MAX": "8",
        }
    )
    env.update({PREFIX + k: v for k, v in extra.items()})
    return env


def greenlane(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "greenlane", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(
    command: list[str], *, env: dict[str, str], ready_url: str, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server in a subprocess, in a process group of its own; yields it once ``ready_url``
    answers 200, and stops it (SIGTERM, then SIGKILL for the whole group) at the end."""
    process = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its workers share its process group, so one kill ends all
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{shlex.join(command)} did not become ready")
            time.sleep(0.2)
        yield process
    finally:
        # A graceful exit takes at most about 20 s (not ready, requests, drain, pool close).
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def serve_command(*, workers: int, port: int) -> list[str]:
    """``greenlane serve`` as an operator runs it."""
    return [
        sys.executable,
        "-m",
        "greenlane",
        "serve",
        "--workers",
        str(workers),
        "--port",
        str(port),
    ]


@contextmanager
def server(env: dict[str, str], *, workers: int, port: int) -> Iterator[str]:
    """``greenlane serve`` in a subprocess; yields its base URL once it is ready."""
    base_url = f"http://127.0.0.1:{port}"
    command = serve_command(workers=workers, port=port)
    with serving(command, env=env, ready_url=f"{base_url}/health/ready"):
        yield base_url


@dataclass(frozen=True)
class Pass:
    token: str
    number: str
    issuing_state: str
    single: bool


@dataclass(frozen=True)
class Seeded:
    base_url: str
    lane_id: str
    lane_secret: str
    partner_id: str
    partner_secret: str
    passes: list[Pass]
    revoked: list[Pass]
    elsewhere: list[Pass]  # valid at another port only

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Seeded:
        raw = json.loads(path.read_text())
        for key in ("passes", "revoked", "elsewhere"):
            raw[key] = [Pass(**p) for p in raw[key]]
        return cls(**raw)


def sign_in_form(client_id: str, secret: str) -> dict[str, str]:
    """The body of a client-credentials ``POST /oauth/token``."""
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


def access_token_of(answer: httpx.Response) -> str:
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(client: httpx.Client, client_id: str, secret: str) -> dict[str, str]:
    return bearer(
        access_token_of(client.post("/oauth/token", data=sign_in_form(client_id, secret)))
    )


def seed(base_url: str, env: dict[str, str], count: int) -> Seeded:
    """A port, a lane, a partner and ``count`` approved clearances (plus a few bad ones)."""
    admin = json.loads(greenlane(env, "clients", "create", "--role", "admin", "--name", "bench"))
    with httpx.Client(base_url=base_url, timeout=30) as client:
        as_admin = _token(client, admin["client_id"], admin["client_secret"])
        for code in (PORT_CODE, OTHER_PORT):
            client.post(
                "/v1/admin/ports",
                headers=as_admin,
                # Vehicle lanes for the trips of bench/trips.py (cars).
                json={
                    "code": code,
                    "name": code,
                    "country": "THA",
                    "kinds": ["passenger", "vehicle"],
                },
            ).raise_for_status()
        partner = client.post(
            "/v1/admin/partners",
            headers=as_admin,
            json={"name": "Bench Co", "country": "THA", "contact_email": "b@bench.th"},
        ).json()
        partner_client = client.post(
            "/v1/admin/clients",
            headers=as_admin,
            json={"role": "partner", "name": "bench", "partner_id": partner["id"]},
        ).json()
        lane = client.post(
            "/v1/admin/clients",
            headers=as_admin,
            json={"role": "lane", "name": "lane", "port_code": PORT_CODE, "lane_code": "L1"},
        ).json()
    passes = asyncio.run(
        _issue_all(base_url, partner_client["client_id"], partner_client["client_secret"], count)
    )
    plain = [p for p, kind in passes if kind == "plain"]
    revoked = [p for p, kind in passes if kind == "revoked"]
    elsewhere = [p for p, kind in passes if kind == "elsewhere"]
    return Seeded(
        base_url=base_url,
        lane_id=lane["client_id"],
        lane_secret=lane["client_secret"],
        partner_id=partner_client["client_id"],
        partner_secret=partner_client["client_secret"],
        passes=plain,
        revoked=revoked,
        elsewhere=elsewhere,
    )


async def _issue_all(
    base_url: str, client_id: str, secret: str, count: int
) -> list[tuple[Pass, str]]:
    extra = max(2, count // 50)
    kinds = ["plain"] * count + ["revoked"] * extra + ["elsewhere"] * extra
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        signed_in = await client.post("/oauth/token", data=sign_in_form(client_id, secret))
        headers = bearer(access_token_of(signed_in))

        async def one(n: int, kind: str) -> tuple[Pass, str]:
            async with limit:
                return await issue_pass(client, headers, n, kind), kind

        return list(await asyncio.gather(*(one(n, k) for n, k in enumerate(kinds))))


async def issue_pass(client: httpx.AsyncClient, headers: dict[str, str], n: int, kind: str) -> Pass:
    number = f"B{n:08d}"
    today = date.today()
    traveller = await client.post(
        "/v1/travellers",
        headers=headers,
        json={
            "given_names": "Bench",
            "surname": "Traveller",
            "date_of_birth": "1980-01-01",
            "sex": "F",
            "nationality": "THA",
            "document": {
                "type": "P",
                "number": number,
                "issuing_state": "THA",
                "expiry_date": (today + timedelta(days=3 * 365)).isoformat(),
            },
            "category": "business_visitor",
            "employer": {"name": "Bench Co", "country": "THA"},
        },
    )
    traveller.raise_for_status()
    single = n % 10 == 9
    filed = await client.post(
        "/v1/applications",
        headers=headers,
        json={
            "traveller_id": traveller.json()["id"],
            "ports": [OTHER_PORT if kind == "elsewhere" else PORT_CODE],
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=30)).isoformat(),
            "entries": "single" if single and kind == "plain" else "multiple",
            "purpose": "bench",
        },
    )
    filed.raise_for_status()
    clearance = filed.json()["clearance"]
    if kind == "revoked":
        await client.post(
            f"/v1/clearances/{clearance['id']}/revoke", headers=headers, json={"reason": "bench"}
        )
    return Pass(clearance["token"], number, "THA", single and kind == "plain")


async def count_rows(database_url: str, sql: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        value: int = await conn.fetchval(sql)
        return value
    finally:
        await conn.close()


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="greenlane-bench-"))
