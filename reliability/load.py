"""A steady verify load, every answer kept, and the ledger that checks them against PostgreSQL.

Each lane asks again as soon as it is answered (a closed loop), with a fresh event id and a
multiple-entry pass with its document, so every answer should be ``green``. Every answer is
kept with its timing, so the harness can cut the run into phases afterwards and compare what
lanes were told with what the database holds.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from bench.harness import Pass, access_token_of, sign_in_form

ANSWER_TIMEOUT = 10.0  # well past any promised latency: a request still open then is lost


@dataclass(frozen=True, slots=True)
class Answer:
    phase: str
    event_id: str
    started: float  # time.monotonic()
    ended: float
    status: int | None  # None: no HTTP answer at all
    error: str | None = None  # the transport error's type when there was no answer
    decision: str | None = None
    mode: str | None = None
    crossing_id: str | None = None
    codes: tuple[str, ...] = ()

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def server_error(self) -> bool:
        return self.status is not None and self.status >= 500


def verify_body(p: Pass, event_id: str) -> dict[str, Any]:
    return {
        "token": p.token,
        "direction": "entry",
        "event_id": event_id,
        "document": {"number": p.number, "issuing_state": p.issuing_state},
    }


def answer_of(phase: str, event_id: str, started: float, response: httpx.Response) -> Answer:
    parts: dict[str, Any] = response.json() if response.status_code == 200 else {}
    return Answer(
        phase=phase,
        event_id=event_id,
        started=started,
        ended=time.monotonic(),
        status=response.status_code,
        decision=parts.get("decision"),
        mode=parts.get("mode"),
        crossing_id=parts.get("crossing_id"),
        codes=tuple(reason["code"] for reason in parts.get("reasons", [])),
    )


async def ask(
    client: httpx.AsyncClient, phase: str, body: dict[str, Any], headers: dict[str, str]
) -> Answer:
    started = time.monotonic()
    try:
        response = await client.post("/v1/verify", json=body, headers=headers)
    except httpx.HTTPError as exc:
        return Answer(phase, body["event_id"], started, time.monotonic(), None, type(exc).__name__)
    return answer_of(phase, body["event_id"], started, response)


@dataclass
class VerifyLoad:
    """``lanes`` lanes asking in a closed loop until :meth:`stop`; ``phase`` labels answers."""

    base_url: str
    access_token: str
    passes: Sequence[Pass]
    lanes: int
    phase: str = "start"
    answers: list[Answer] = field(default_factory=list)
    _stopping: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def __aenter__(self) -> VerifyLoad:
        self._tasks = [asyncio.create_task(self._lane(n)) for n in range(self.lanes)]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()
        await asyncio.gather(*self._tasks)

    def stop(self) -> None:
        """Send nothing new (as a load balancer that took this server out); requests already
        sent still get their answers."""
        self._stopping = True

    async def stopped(self) -> None:
        await asyncio.gather(*self._tasks)

    async def _lane(self, n: int) -> None:
        choose = random.Random(n)  # noqa: S311 - which pass to show, not a secret
        headers = {"Authorization": f"Bearer {self.access_token}"}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=ANSWER_TIMEOUT) as client:
            while not self._stopping:
                body = verify_body(choose.choice(self.passes), str(uuid.uuid4()))
                self.answers.append(await ask(client, self.phase, body, headers))

    def of(self, phase: str) -> list[Answer]:
        return [a for a in self.answers if a.phase == phase]


def p99_ms(answers: Iterable[Answer]) -> float:
    times = sorted(a.seconds for a in answers if a.status is not None)
    if not times:
        return math.nan
    return times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)] * 1000


@dataclass(frozen=True, slots=True)
class Ledger:
    """Green answers against the crossings PostgreSQL holds for the same event ids."""

    greens: int
    stored: int  # greens whose crossing_id is in the crossings table
    crossings: int  # crossings recorded for these event ids, whatever the answer was
    duplicates: int  # crossings beyond the first for an event id

    @property
    def balanced(self) -> bool:
        return self.greens == self.stored == self.crossings and self.duplicates == 0

    @property
    def figure(self) -> str:
        return f"{self.greens:,} = {self.stored:,} = {self.crossings:,}"


async def ledger(database_url: str, answers: Sequence[Answer]) -> Ledger:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id::text, event_id FROM crossings WHERE event_id = ANY($1::uuid[])",
            [a.event_id for a in answers],
        )
    finally:
        await conn.close()
    greens = {a.crossing_id for a in answers if a.decision == "green" and a.crossing_id}
    stored = {row["id"] for row in rows}
    return Ledger(
        greens=len(greens),
        stored=len(greens & stored),
        crossings=len(rows),
        duplicates=len(rows) - len({row["event_id"] for row in rows}),
    )


def spool_files(data_dir: Path) -> list[Path]:
    """Spool files of every worker, claimed for draining or not (the spool is empty without)."""
    return sorted((data_dir / "spool").glob("spool-*"))


def spooled_records(data_dir: Path) -> int:
    return sum(len(path.read_bytes().splitlines()) for path in spool_files(data_dir))


async def access_token(base_url: str, client_id: str, secret: str) -> str:
    """An access token by client credentials (any role)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        return access_token_of(
            await client.post("/oauth/token", data=sign_in_form(client_id, secret))
        )
