"""Graceful shutdown under load: SIGTERM to ``greenlane serve --workers 2``.

Lanes verify in a closed loop. They stand for a load balancer's traffic: once a readiness
probe has seen the shutdown, they send nothing new. The run goes like this:

1. The database goes away (the proxy resets every connection), so answers turn ``degraded``
   and the spool fills. In the ``database back`` variant it returns just before SIGTERM.
2. A few verifies start whose bodies trickle in over a few seconds. They are still in flight
   when the server stops accepting connections.
3. SIGTERM, while a watcher polls ``/health/ready`` on fresh connections.

Promises:

- readiness answers 503 (``shutdown: in_progress``) before any connection is refused;
- every request sent gets its answer, the slow ones included, with no 5xx;
- the process exits within 15 seconds;
- the spool is flushed. With the database back, it is drained before the exit. Otherwise its
  records stay fsynced on disk and the next server on the same data directory drains them
  within 5 seconds;
- green answers = their crossings stored = crossings for the run's event ids, with no
  duplicates.

    PYTHONPATH=. python reliability/shutdown.py
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx
import msgspec
import psutil
from bench.harness import Pass, free_port, seed, server

from reliability.load import (
    Answer,
    VerifyLoad,
    access_token,
    answer_of,
    ledger,
    p99_ms,
    spool_files,
    spooled_records,
    verify_body,
)
from reliability.proxy import Mode
from reliability.stack import Stack, proxied
from reliability.table import Row, render

EXIT_BOUND = 15.0
DRAIN_BOUND = 5.0
LANES = 6
CLEARANCES = 20
SLOW_REQUESTS = 3
SLOW_BODY_SECONDS = 3.5  # the server stops accepting 2 s after SIGTERM: these straddle it
ONLINE_SECONDS = 1.0
DEGRADED_SECONDS = 1.0
PROBE_INTERVAL = 0.05


@dataclass(frozen=True, slots=True)
class Probe:
    """One readiness probe. It counts from when its answer came back, or, for a connection
    the server no longer serves (refused, or never answered), from when it was made."""

    at: float
    seen: str  # "stopping" (503 for the shutdown), another status code, or "closed"


def run_shutdown(*, database_back: bool) -> Row:
    with proxied() as stack:
        port = free_port()
        with server(stack.env, workers=2, port=port) as base_url:
            seeded = seed(base_url, stack.env, CLEARANCES)
            process = _serving_process(port)
            lane = (seeded.lane_id, seeded.lane_secret)
            passes = [p for p in seeded.passes if not p.single]
            run = asyncio.run(
                _sigterm_under_load(base_url, lane, passes, stack, process, database_back)
            )
        left = spooled_records(stack.data_dir)
        stack.proxy.set_mode(Mode.PASS)
        with server(stack.env, workers=1, port=free_port()):
            drained = asyncio.run(_drain_time(stack))
        stored = asyncio.run(ledger(stack.database.url(), [*run.answers, *run.slow]))
    name = "SIGTERM, database back" if database_back else "SIGTERM, database away"
    broken = [*run.broken(), *stored_promises(stored.balanced, left, drained, database_back)]
    answers = [*run.answers, *run.slow]
    return Row(
        part="shutdown",
        scenario=name,
        broken=tuple(broken),
        requests=len(answers),
        server_errors=sum(a.server_error for a in answers),
        p99_ms=p99_ms(run.answers),  # the slow requests take as long as their clients make them
        balance=stored.figure,
        duplicates=stored.duplicates,
        seconds=run.exit_seconds,
        bound=EXIT_BOUND,
        notes=f"{run.timeline()}; {_spool_note(left, drained)}",
    )


def stored_promises(balanced: bool, left: int, drained: float, database_back: bool) -> list[str]:
    broken = []
    if not balanced:
        broken.append("greens, stored and crossings differ")
    if database_back and left:
        broken.append(f"{left} spooled records not drained before the exit")
    if not drained <= DRAIN_BOUND:
        broken.append(f"the next start did not drain the spool within {DRAIN_BOUND:g} s")
    return broken


def _spool_note(left: int, drained: float) -> str:
    if not left:
        return "spool drained before the exit"
    return (
        f"{left} records fsynced at the exit, drained {drained:.2f} s after the next start"
        " was ready"
    )


@dataclass(frozen=True, slots=True)
class ShutdownRun:
    sigterm_at: float
    exit_seconds: float  # inf: it did not exit
    probes: Sequence[Probe]
    answers: Sequence[Answer]
    slow: Sequence[Answer]

    def first(self, seen: str) -> float | None:
        return next(
            (
                p.at - self.sigterm_at
                for p in self.probes
                if p.at >= self.sigterm_at and p.seen == seen
            ),
            None,
        )

    def broken(self) -> list[str]:
        stopping, closed = self.first("stopping"), self.first("closed")
        broken = []
        if stopping is None or (closed is not None and closed < stopping):
            broken.append("readiness did not turn 503 before connections were refused")
        elif any(p.seen == "200" and p.at - self.sigterm_at > stopping for p in self.probes):
            broken.append("a worker answered ready after another had turned 503")
        unanswered = [a for a in [*self.answers, *self.slow] if a.status != 200]
        if unanswered:
            broken.append(f"{len(unanswered)} requests sent without a 200 answer")
        straddled = closed is not None and all(
            a.ended - self.sigterm_at > closed for a in self.slow
        )
        if not straddled:
            broken.append("the slow requests did not outlast the close")
        if not self.exit_seconds <= EXIT_BOUND:
            broken.append(f"no exit within {EXIT_BOUND:g} s")
        return broken

    def timeline(self) -> str:
        stopping, closed = self.first("stopping"), self.first("closed")
        answered = sum(1 for a in self.slow if a.status == 200)
        return (
            f"503 after {_at(stopping)}, refused after {_at(closed)}; "
            f"{answered}/{len(self.slow)} slow requests answered after the close"
        )


def _at(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.2f} s"


def _serving_process(port: int) -> psutil.Process:
    """The ``greenlane serve`` child that bench.harness.server started on ``port``."""
    for child in psutil.Process().children():
        if "serve" in child.cmdline() and str(port) in child.cmdline():
            return child
    raise RuntimeError(f"no greenlane serve child on port {port}")


async def _sigterm_under_load(
    base_url: str,
    lane: tuple[str, str],
    passes: Sequence[Pass],
    stack: Stack,
    process: psutil.Process,
    database_back: bool,
) -> ShutdownRun:
    token = await access_token(base_url, *lane)
    probes: list[Probe] = []
    async with VerifyLoad(base_url, token, passes, LANES, phase="shutdown") as load:
        watching = asyncio.create_task(_watch(base_url, load, probes))
        await asyncio.sleep(ONLINE_SECONDS)
        stack.proxy.set_mode(Mode.RESET)
        await asyncio.sleep(DEGRADED_SECONDS)
        if database_back:
            stack.proxy.set_mode(Mode.PASS)
        slow = [
            asyncio.create_task(_slow_verify(base_url, token, passes[n]))
            for n in range(SLOW_REQUESTS)
        ]
        await asyncio.sleep(0.3)  # the slow requests have been accepted
        sigterm_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 3 * EXIT_BOUND)
            exit_seconds = time.monotonic() - sigterm_at
        except psutil.TimeoutExpired:
            exit_seconds = math.inf
        watching.cancel()
        await load.stopped()
    return ShutdownRun(sigterm_at, exit_seconds, probes, load.answers, await asyncio.gather(*slow))


async def _watch(base_url: str, load: VerifyLoad, probes: list[Probe]) -> None:
    """Probe readiness like a load balancer, on a fresh connection each time."""
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=1, limits=fresh) as client:
        while True:
            sent = time.monotonic()
            try:
                answer = await client.get("/health/ready")
            except httpx.HTTPError:
                probes.append(Probe(sent, "closed"))
            else:
                stopping = answer.json().get("checks", {}).get("shutdown") == "in_progress"
                seen = "stopping" if stopping else str(answer.status_code)
                probes.append(Probe(time.monotonic(), seen))
                if stopping:
                    load.stop()
            await asyncio.sleep(PROBE_INTERVAL)


async def _slow_verify(base_url: str, token: str, shown: Pass) -> Answer:
    """A verify whose body arrives over SLOW_BODY_SECONDS: accepted, but long in flight."""
    event_id = str(uuid.uuid4())
    body = msgspec.json.encode(verify_body(shown, event_id))

    async def trickle() -> AsyncIterator[bytes]:
        yield body[: len(body) // 2]
        await asyncio.sleep(SLOW_BODY_SECONDS)
        yield body[len(body) // 2 :]

    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
    }
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        try:
            response = await client.post("/v1/verify", content=trickle(), headers=headers)
        except httpx.HTTPError as exc:
            return Answer("slow", event_id, started, time.monotonic(), None, type(exc).__name__)
    return answer_of("slow", event_id, started, response)


async def _drain_time(stack: Stack) -> float:
    """Seconds from the next server's readiness until the spool directory is empty."""
    started = time.monotonic()
    for _ in range(int(2 * DRAIN_BOUND / 0.05)):
        if not spool_files(stack.data_dir):
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    return math.inf


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="SIGTERM under load, with the database away or back."
    )
    parser.parse_args(argv)
    rows = [run_shutdown(database_back=False), run_shutdown(database_back=True)]
    print(render(rows))
    return 0 if all(row.kept for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
