"""Two greenlane processes on one database, as two hosts would be.

Each server is ``greenlane serve`` with its own data directory (its own spool) and the same
database and keys. A change made through one must reach both within a second (LISTEN/NOTIFY):

- a revocation: the revoked clearance is denied ``token_revoked``;
- a key rotation: the new next key is in the JWKS, and a clearance signed with the newly
  active key is green;
- a disabled client: its access token gets 401.

The database arbitrates what must happen once:

- one single-entry clearance presented at both at once: exactly one green, the other denied
  ``already_used``;
- one event id sent to both at once: the same answer byte for byte, and one crossing.

    PYTHONPATH=. python reliability/workers.py
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
from bench.harness import (
    PORT_CODE,
    Pass,
    Seeded,
    bearer,
    environment,
    free_port,
    greenlane,
    issue_pass,
    seed,
    server,
)

from greenlane.settings import PREFIX
from reliability.load import (
    Answer,
    Ledger,
    access_token,
    answer_of,
    ask,
    ledger,
    verify_body,
)
from reliability.stack import TcpPostgres
from reliability.table import Row, render

REACH_BOUND = 1.0
GIVE_UP = 5.0  # stop polling (and fail) after this long
POLL_INTERVAL = 0.02
CLEARANCES = 30  # every tenth is single-entry
TRIALS = 5
FRESH_DOCUMENT = 900_000  # documents issued here must not clash with the seeded ones


@dataclass(frozen=True, slots=True)
class Servers:
    a: httpx.AsyncClient
    b: httpx.AsyncClient
    lane: dict[str, str]  # headers: the same lane's access token is good at both
    partner: dict[str, str]
    admin: dict[str, str]

    @property
    def both(self) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        return self.a, self.b


def run_workers() -> list[Row]:
    # A server of our own: stopping the embedded one under .greenlane/ would stop it under
    # the rest of the test suite too.
    with TcpPostgres() as database, ExitStack() as running:
        url = database.url()
        data_dirs = [
            running.enter_context(tempfile.TemporaryDirectory(prefix="greenlane-host-"))
            for _ in range(2)
        ]
        env = environment(url, Path(data_dirs[0]))
        hosts = [{**env, PREFIX + "DATA_DIR": data_dir} for data_dir in data_dirs]
        urls = [running.enter_context(server(h, workers=1, port=free_port())) for h in hosts]
        seeded = seed(urls[0], env, CLEARANCES)
        admin = json.loads(
            greenlane(env, "clients", "create", "--role", "admin", "--name", "reliability")
        )
        return asyncio.run(_checks(urls, seeded, (admin["client_id"], admin["client_secret"]), url))


async def _checks(
    urls: Sequence[str], seeded: Seeded, admin: tuple[str, str], database_url: str
) -> list[Row]:
    async with (
        httpx.AsyncClient(base_url=urls[0], timeout=30) as a,
        httpx.AsyncClient(base_url=urls[1], timeout=30) as b,
    ):
        servers = Servers(
            a,
            b,
            lane=bearer(await access_token(urls[0], seeded.lane_id, seeded.lane_secret)),
            partner=bearer(await access_token(urls[0], seeded.partner_id, seeded.partner_secret)),
            admin=bearer(await access_token(urls[0], *admin)),
        )
        multiple = [p for p in seeded.passes if not p.single]
        single = [p for p in seeded.passes if p.single]
        return [
            await _revocation(servers, multiple[0]),
            await _rotation(servers),
            await _disabled_client(servers),
            await _single_entry_at_once(servers, single, database_url),
            await _same_event_at_once(servers, multiple[1 : 1 + TRIALS], database_url),
        ]


async def _reach(
    holds: Callable[[httpx.AsyncClient], Awaitable[bool]], servers: Servers
) -> list[float]:
    """Seconds until ``holds`` is true at each server (inf when it never is)."""

    async def at(host: httpx.AsyncClient) -> float:
        started = time.monotonic()
        while time.monotonic() - started < GIVE_UP:
            if await holds(host):
                return time.monotonic() - started
            await asyncio.sleep(POLL_INTERVAL)
        return math.inf

    return list(await asyncio.gather(*(at(host) for host in servers.both)))


async def _verify(host: httpx.AsyncClient, shown: Pass, lane: dict[str, str]) -> Answer:
    return await ask(host, "workers", verify_body(shown, str(uuid.uuid4())), lane)


def _reach_row(scenario: str, times: Sequence[float], what: str) -> Row:
    slowest = max(times)
    broken = () if slowest <= REACH_BOUND else (f"not at both within {REACH_BOUND:g} s",)
    seen = ", ".join(f"{name} {t:.3f} s" for name, t in zip("AB", times, strict=True))
    return Row(
        "workers", scenario, broken, seconds=slowest, bound=REACH_BOUND, notes=f"{what}: {seen}"
    )


async def _revocation(servers: Servers, shown: Pass) -> Row:
    sub = jwt.decode(shown.token, options={"verify_signature": False})["sub"]
    clearance_id = uuid.UUID(bytes=base64.urlsafe_b64decode(sub + "=="))  # the id's 16 bytes
    if (await _verify(servers.b, shown, servers.lane)).decision != "green":
        return Row("workers", "revocation", ("the clearance was not green before",))
    revoked = await servers.a.post(
        f"/v1/clearances/{clearance_id}/revoke",
        json={"reason": "reliability"},
        headers=servers.partner,
    )
    revoked.raise_for_status()

    async def denied(host: httpx.AsyncClient) -> bool:
        return "token_revoked" in (await _verify(host, shown, servers.lane)).codes

    times = await _reach(denied, servers)
    return _reach_row("revocation reaches both", times, "deny token_revoked after")


async def _rotation(servers: Servers) -> Row:
    rotated = await servers.a.post("/v1/admin/keys/rotate", headers=servers.admin)
    rotated.raise_for_status()
    active, upcoming = rotated.json()["active"], rotated.json()["next"]

    async def published(host: httpx.AsyncClient) -> bool:
        keys = (await host.get("/.well-known/jwks.json")).json()["keys"]
        return upcoming in {key["kid"] for key in keys}

    in_jwks = await _reach(published, servers)
    documents = itertools.count(FRESH_DOCUMENT)

    # Every worker already verifies with the promoted key (it was published as next), so
    # what shows the rotation reaching a worker is that the worker signs with it.
    async def signs_with_it(host: httpx.AsyncClient) -> bool:
        made = await issue_pass(host, servers.partner, next(documents), "plain")
        return bool(jwt.get_unverified_header(made.token)["kid"] == active)

    signing = await _reach(signs_with_it, servers)
    times = [max(pair) for pair in zip(in_jwks, signing, strict=True)]
    return _reach_row(
        "key rotation reaches both",
        times,
        "new next kid in the JWKS, new clearances signed by the new active key after",
    )


async def _disabled_client(servers: Servers) -> Row:
    created = await servers.a.post(
        "/v1/admin/clients",
        headers=servers.admin,
        json={"role": "lane", "name": "to disable", "port_code": PORT_CODE, "lane_code": "L9"},
    )
    created.raise_for_status()
    client = created.json()
    token = await access_token(
        str(servers.b.base_url), client["client_id"], client["client_secret"]
    )
    headers = bearer(token)
    for host in servers.both:
        (await host.get("/v1/revocations", headers=headers)).raise_for_status()
    disabled = await servers.a.delete(
        f"/v1/admin/clients/{client['client_id']}", headers=servers.admin
    )
    disabled.raise_for_status()

    async def refused(host: httpx.AsyncClient) -> bool:
        return (await host.get("/v1/revocations", headers=headers)).status_code == 401

    times = await _reach(refused, servers)
    return _reach_row("disabled client at both", times, "its access token 401 after")


async def _single_entry_at_once(servers: Servers, single: Sequence[Pass], database_url: str) -> Row:
    answers: list[Answer] = []
    broken: list[str] = []
    for shown in single:
        pair = await asyncio.gather(*(_verify(s, shown, servers.lane) for s in servers.both))
        answers.extend(pair)
        outcomes = sorted((a.decision, a.codes) for a in pair)
        if outcomes != [("deny", ("already_used",)), ("green", ())]:
            broken.append(f"answers {outcomes}")
    stored = await ledger(database_url, answers)
    if not stored.balanced:
        broken.append("greens, stored and crossings differ")
    return _arbitration_row(
        "one single-entry clearance at both at once",
        broken,
        answers,
        stored,
        f"{len(single)} clearances, each: one green, one deny already_used",
    )


async def _same_event_at_once(servers: Servers, shown: Sequence[Pass], database_url: str) -> Row:
    answers: list[Answer] = []
    identical = 0
    for each in shown:
        body = verify_body(each, str(uuid.uuid4()))
        started = time.monotonic()
        pair = await asyncio.gather(
            *(s.post("/v1/verify", json=body, headers=servers.lane) for s in servers.both)
        )
        identical += pair[0].content == pair[1].content
        answers.extend(answer_of("workers", body["event_id"], started, r) for r in pair)
    stored = await ledger(database_url, answers)
    broken = []
    if identical != len(shown):
        broken.append(f"{len(shown) - identical} pairs of answers differ")
    if not stored.balanced or stored.crossings != len(shown):
        broken.append("not one crossing per event id")
    return _arbitration_row(
        "one event id at both at once",
        broken,
        answers,
        stored,
        f"{identical}/{len(shown)} pairs identical byte for byte",
    )


def _arbitration_row(
    scenario: str, broken: Sequence[str], answers: Sequence[Answer], stored: Ledger, notes: str
) -> Row:
    """A row where the database arbitrates between the two servers' answers."""
    return Row(
        "workers",
        scenario,
        tuple(broken),
        requests=len(answers),
        # Both servers are up all along: no answer at all counts against them too.
        server_errors=sum(a.status is None or a.server_error for a in answers),
        balance=stored.figure,
        duplicates=stored.duplicates,
        notes=notes,
    )


def main() -> int:
    rows = run_workers()
    print(render(rows))
    return 0 if all(row.kept for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
