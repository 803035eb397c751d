"""``greenlane federation-demo``: two agencies on one machine, federated, and one clearance walked
from the first across a lane of the second.

Thailand (agency A) and Lao PDR (agency B) are each a ``greenlane serve`` of their own, with its
own embedded PostgreSQL, its own keys and its own trust anchor. They exchange what agencies
exchange out of band (issuer, trust-list URL, anchor thumbprint), each registers the other, B
agrees to accept A's business visitors at its Thanaleng lane (LAVTE), A issues a clearance for
that port, B's lane verifies it (green, recorded at B), and B's signed crossing receipt shows at
A as a foreign crossing of the clearance.

The same :class:`Deployment` and :func:`federate` serve the tests and the reliability harness,
there on databases of a given PostgreSQL server instead of embedded ones.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx

from greenlane.settings import PREFIX, SECRET_NAMES, new_key_text

READY_WITHIN = 90.0
TRUST_LIST_PATH = "/.well-known/greenlane/trust-list"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Deployment:
    """One agency's running server, and an admin signed in to it."""

    name: str
    country: str
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    http: httpx.Client = field(init=False)
    admin: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    @property
    def issuer(self) -> str:
        """Its ``GREENLANE_ISSUER``: its own URL, unless peers reach it through another."""
        return self.env[PREFIX + "ISSUER"]

    @property
    def trust_list_url(self) -> str:
        return self.issuer + TRUST_LIST_PATH

    def command(self, *args: str) -> Any:
        """``greenlane ARGS`` against this deployment's database; its JSON output."""
        done = subprocess.run(  # noqa: S603 - our own command, arguments from this module
            [sys.executable, "-m", "greenlane", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    def sign_in(self, client_id: str, secret: str) -> dict[str, str]:
        answer = self.http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """An admin call that must succeed; its JSON body (None for 204)."""
        answer = self.http.request(method, path, headers=self.admin, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"{self.name}: {method} {path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None

    def client(self, role: str, **binding: str) -> dict[str, str]:
        """A new API client of ``role``, signed in: its bearer header."""
        made = self.call("POST", "/v1/admin/clients", json={"role": role, "name": role, **binding})
        return self.sign_in(made["client_id"], made["client_secret"])

    def anchor(self) -> str:
        """The thumbprint an administrator reads out to the other agency."""
        shown: str = self.command("federation", "show")["anchor_thumbprint"]
        return shown

    def restart(self) -> None:
        """Stop this server and start it again on the same port, data and keys."""
        stop(self.process)
        self.process = start(self.env, self.base_url)


def environment(
    *, data_dir: Path, port: int, country: str, database_url: str | None, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    if database_url is not None:
        env.update({PREFIX + name: new_key_text() for name in SECRET_NAMES})
        env[PREFIX + "DATA_KEYS"] = "1:" + env[PREFIX + "DATA_KEYS"]
        env[PREFIX + "DATABASE_URL"] = database_url
    env.update(
        {
            PREFIX + "DATA_DIR": str(data_dir),
            PREFIX + "PORT": str(port),
            PREFIX + "ISSUER": f"http://127.0.0.1:{port}",
            PREFIX + "COUNTRY": country,
            PREFIX + "LOG_LEVEL": "WARNING",
            PREFIX + "PEER_REFRESH_SECONDS": "2",
            PREFIX + "PEER_TIMEOUT_SECONDS": "2",
        }
    )
    env.update({PREFIX + key: value for key, value in extra.items()})
    return env


def start(env: dict[str, str], base_url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "greenlane", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + READY_WITHIN
    while True:
        try:
            if httpx.get(base_url + "/health/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"the server at {base_url} did not become ready")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def deployment(
    name: str,
    country: str,
    data_dir: Path,
    *,
    database_url: str | None = None,
    port: int | None = None,
    **settings: str,
) -> Iterator[Deployment]:
    """A server of its own (embedded database unless ``database_url``), with an admin."""
    port = port or free_port()
    env = environment(
        data_dir=data_dir, port=port, country=country, database_url=database_url, **settings
    )
    base_url = f"http://127.0.0.1:{port}"
    if database_url is None:
        # The secrets and the embedded database are made once, before the server starts.
        subprocess.run(
            [sys.executable, "-m", "greenlane", "migrate"],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    agency = Deployment(name, country, base_url, env, start(env, base_url))
    try:
        made = agency.command("clients", "create", "--role", "admin", "--name", f"{name} admin")
        agency.admin = agency.sign_in(made["client_id"], made["client_secret"])
        yield agency
    finally:
        agency.http.close()
        stop(agency.process)


class Agency(Protocol):
    """What another agency tells one that registers it: who it is and where its list is."""

    @property
    def country(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def trust_list_url(self) -> str: ...


def trust(at: Deployment, peer: Agency, anchor: str) -> str:
    """``at`` registers ``peer`` with the anchor thumbprint ``peer`` gave out of band."""
    made = at.call(
        "POST",
        "/v1/admin/agencies",
        json={
            "country": peer.country,
            "issuer": peer.issuer,
            "trust_list_url": peer.trust_list_url,
            "anchor_thumbprint": anchor,
        },
    )
    agency_id: str = made["id"]
    return agency_id


def agree(at: Deployment, agency_id: str, ports: list[str], categories: list[str]) -> None:
    today = date.today()
    at.call(
        "PUT",
        f"/v1/admin/agencies/{agency_id}/agreement",
        json={
            "ports": ports,
            "categories": categories,
            "valid_from": (today - timedelta(days=1)).isoformat(),
            "valid_until": (today + timedelta(days=365)).isoformat(),
        },
    )


def wait_for(what: str, ready: Callable[[], bool], within: float = 30.0) -> float:
    """Poll until ``ready()``; the seconds it took. RuntimeError past ``within``."""
    started = time.monotonic()
    while not ready():
        if time.monotonic() - started > within:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def peer_status(at: Deployment, country: str) -> str | None:
    peers = at.http.get("/health/ready").json().get("peers") or {}
    status: str | None = peers.get(country)
    return status


@dataclass
class Federated:
    """Two agencies that trust each other, with what the walk needs at each."""

    a: Deployment
    b: Deployment
    a_at_b: str  # the id under which B knows A
    b_at_a: str
    partner: dict[str, str]  # a partner of A
    lane: dict[str, str]  # a lane of B at PORT_B
    port_b: str


PORT_A = "THBKK"
PORT_B = "LAVTE"  # Vientiane, Thanaleng: the lane of B in the walk
OTHER_PORT_B = "LAHOU"  # a port of B that the agreement leaves out


def federate(a: Deployment, b: Deployment, *, categories: list[str] | None = None) -> Federated:
    """Register each with the other, agree at B, and wait until B holds A's trust list."""
    a_anchor, b_anchor = a.anchor(), b.anchor()
    a_at_b = trust(b, a, a_anchor)
    b_at_a = trust(a, b, b_anchor)
    agree(b, a_at_b, [PORT_B], categories or ["business_visitor"])
    # Vehicle lanes too at A: a vehicle's clearance, or a trip, names a port that takes them.
    for code, country in ((PORT_A, "THA"), (PORT_B, "LAO"), (OTHER_PORT_B, "LAO")):
        a.call(
            "POST",
            "/v1/admin/ports",
            json={
                "code": code,
                "name": code,
                "country": country,
                "kinds": ["passenger", "vehicle"],
            },
        )
    for code in (PORT_B, OTHER_PORT_B):
        b.call(
            "POST",
            "/v1/admin/ports",
            json={"code": code, "name": code, "country": "LAO", "kinds": ["passenger"]},
        )
    partner = a.call(
        "POST",
        "/v1/admin/partners",
        json={"name": "Mekong Trading", "country": "THA", "contact_email": "ops@mekong.example"},
    )
    wait_for("B to fetch A's trust list", lambda: peer_status(b, a.country) == "ok")
    return Federated(
        a=a,
        b=b,
        a_at_b=a_at_b,
        b_at_a=b_at_a,
        partner=a.client("partner", partner_id=partner["id"]),
        lane=b.client("lane", port_code=PORT_B, lane_code="L1"),
        port_b=PORT_B,
    )


@dataclass(frozen=True)
class Issued:
    clearance_id: str
    token: str
    document: dict[str, str]
    traveller_id: str


def issue(
    federated: Federated,
    *,
    ports: list[str] | None = None,
    category: str = "business_visitor",
    number: str | None = None,
    driving_licence: dict[str, Any] | None = None,
    vehicle_id: str | None = None,
) -> Issued:
    """A clearance of A for a Thai business visitor, valid at B's port (or ``ports``); with
    ``vehicle_id``, for driving that vehicle of A's partner."""
    a, headers = federated.a, federated.partner
    today = date.today()
    document = {"number": number or f"AA{uuid.uuid4().int % 10**7:07d}", "issuing_state": "THA"}
    traveller = a.http.post(
        "/v1/travellers",
        headers=headers,
        json={
            "given_names": "Somchai",
            "surname": "Jaidee",
            "date_of_birth": "1985-04-12",
            "sex": "M",
            "nationality": "THA",
            "document": {
                "type": "P",
                **document,
                "expiry_date": (today + timedelta(days=3 * 365)).isoformat(),
            },
            "category": category,
            "employer": {"name": "Mekong Trading", "country": "THA"},
            **({"driving_licence": driving_licence} if driving_licence else {}),
        },
    )
    traveller.raise_for_status()
    filed = a.http.post(
        "/v1/applications",
        headers=headers,
        json={
            "traveller_id": traveller.json()["id"],
            "ports": ports or [federated.port_b],
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=30)).isoformat(),
            "entries": "multiple",
            "purpose": "Trade fair in Vientiane",
            **({"vehicle_id": vehicle_id} if vehicle_id else {}),
        },
    )
    filed.raise_for_status()
    clearance = filed.json()["clearance"]
    return Issued(clearance["id"], clearance["token"], document, traveller.json()["id"])


def verify_at_b(
    federated: Federated, issued: Issued, *, lane: dict[str, str] | None = None
) -> dict[str, Any]:
    answer = federated.b.http.post(
        "/v1/verify",
        headers=lane or federated.lane,
        json={
            "token": issued.token,
            "direction": "entry",
            "event_id": str(uuid.uuid4()),
            "document": issued.document,
        },
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def foreign_crossings(federated: Federated, clearance_id: str) -> list[dict[str, Any]]:
    read = federated.a.http.get(f"/v1/clearances/{clearance_id}", headers=federated.partner)
    read.raise_for_status()
    return [c for c in read.json()["crossings"] if c.get("agency")]


def walk(out: Callable[[str], None] = print, keep: Path | None = None) -> int:
    """The demo: start both, federate them, walk one clearance across; 0 when it all held."""
    scratch = keep or Path(tempfile.mkdtemp(prefix="greenlane-federation-"))
    try:
        with ExitStack() as stack:
            out("Starting Thailand (agency A) and Lao PDR (agency B), each with its own database…")
            a = stack.enter_context(deployment("Thailand", "THA", scratch / "thailand"))
            out(f"  A: {a.base_url}  trust list {a.trust_list_url}")
            b = stack.enter_context(deployment("Lao PDR", "LAO", scratch / "lao"))
            out(f"  B: {b.base_url}  trust list {b.trust_list_url}")
            out("Out of band, each gives the other its anchor thumbprint (federation show)")
            federated = federate(a, b)
            out(f"  B trusts A (pinned {a.anchor()[:12]}…), business visitors at {PORT_B}")
            issued = issue(federated)
            out(f"A issues clearance {issued.clearance_id} for {PORT_B}")
            answer = verify_at_b(federated, issued)
            codes = [reason["code"] for reason in answer["reasons"]]
            crossing_id = answer.get("crossing_id")
            out(f"B's lane at {PORT_B}: {answer['decision']} {codes}, crossing {crossing_id}")
            seconds = wait_for(
                "A to list B's receipt",
                lambda: bool(foreign_crossings(federated, issued.clearance_id)),
            )
            crossing = foreign_crossings(federated, issued.clearance_id)[0]
            out(
                f"A lists crossing {crossing['id']} at {crossing['port_code']} "
                f"({crossing['agency']}) {seconds:.1f} s later, from B's signed receipt"
            )
            return 0 if answer["decision"] == "green" and crossing["id"] == crossing_id else 1
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
