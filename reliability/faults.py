"""Fault injection under a steady verify load: ``make faults`` (``--short`` runs in CI).

A PostgreSQL of our own on TCP, the fault proxy in front of it, and ``greenlane serve
--workers 2`` reaching the database only through the proxy, with short database timeouts. Lanes
verify in a closed loop the whole time; each fault is applied for a few seconds, then lifted:

    pass (baseline), latency 300 ms (over the 200 ms commit budget), blackhole, reset,
    pg_ctl stop then start.

For each, a row: 5xx answers (0), verify p99 (at most the command timeout + 1 s), green
answers = those whose crossing is stored = crossings stored for the run's event ids (once the
spool has drained), duplicate crossings per event id (0) and the seconds from the database's
return until every answer is ``online`` again and the spool is empty (at most 5).

    PYTHONPATH=. python reliability/faults.py [--short]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import Pass, free_port, seed, server

from reliability.load import (
    Answer,
    Ledger,
    VerifyLoad,
    access_token,
    ledger,
    p99_ms,
    spool_files,
)
from reliability.proxy import FaultProxy, Mode
from reliability.stack import COMMAND_TIMEOUT, Stack, TcpPostgres, proxied
from reliability.table import Row, render

LATENCY_MS = 300
P99_BOUND_MS = (COMMAND_TIMEOUT + 1) * 1000
RECOVERY_BOUND = 5.0
RECOVERY_LIMIT = 20.0  # give up waiting (and fail) after this long
SETTLED = 1.0  # seconds of online answers with an empty spool that count as recovered
BASELINE = "pass (baseline)"


@dataclass(frozen=True, slots=True)
class Plan:
    fault_seconds: float  # how long each fault (and the baseline) lasts
    lanes: int  # concurrent lanes
    clearances: int  # seeded clearances


SHORT = Plan(fault_seconds=2.5, lanes=6, clearances=30)
FULL = Plan(fault_seconds=8.0, lanes=16, clearances=200)


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    apply: Callable[[], None]
    lift: Callable[[], None]  # returns once the database is reachable again


def faults(proxy: FaultProxy, database: TcpPostgres) -> list[Fault]:
    def mode(chosen: Mode, latency_ms: int = 0) -> Callable[[], None]:
        return lambda: proxy.set_mode(chosen, latency_ms=latency_ms)

    back = mode(Mode.PASS)
    return [
        Fault(f"latency {LATENCY_MS} ms", mode(Mode.LATENCY, LATENCY_MS), back),
        Fault("blackhole", mode(Mode.BLACKHOLE), back),
        Fault("reset", mode(Mode.RESET), back),
        Fault("pg_ctl stop, start", database.stop, database.start),
    ]


def run_faults(plan: Plan) -> list[Row]:
    with proxied() as stack, server(stack.env, workers=2, port=free_port()) as base_url:
        seeded = seed(base_url, stack.env, plan.clearances)
        passes = [p for p in seeded.passes if not p.single]
        lane = (seeded.lane_id, seeded.lane_secret)
        planned = faults(stack.proxy, stack.database)
        return asyncio.run(_under_load(plan, base_url, lane, passes, planned, stack))


async def _under_load(
    plan: Plan,
    base_url: str,
    lane: tuple[str, str],
    passes: Sequence[Pass],
    planned: Sequence[Fault],
    stack: Stack,
) -> list[Row]:
    token = await access_token(base_url, *lane)
    recoveries: dict[str, float] = {}
    async with VerifyLoad(base_url, token, passes, plan.lanes, phase=BASELINE) as load:
        await asyncio.sleep(plan.fault_seconds)
        for fault in planned:
            load.phase = fault.name
            await asyncio.to_thread(fault.apply)
            await asyncio.sleep(plan.fault_seconds)
            await asyncio.to_thread(fault.lift)
            recoveries[fault.name] = await _recovery(load, fault.name, stack.data_dir)
        load.phase = "after"
    await _drained(stack.data_dir)
    rows = []
    for name in [BASELINE, *(fault.name for fault in planned)]:
        answers = load.of(name)
        stored = await ledger(stack.database.url(), answers)
        rows.append(_row(name, answers, stored, recoveries.get(name)))
    return rows


async def _recovery(load: VerifyLoad, phase: str, data_dir: Path) -> float:
    """Seconds from the database's return until answers are online and the spool is empty.

    Recovered means: the spool has no file, no degraded answer came since, and an online
    answer did, for ``SETTLED`` seconds on end. ``inf`` when that never happens.
    """
    returned = time.monotonic()
    empty_since: float | None = None
    while (now := time.monotonic()) - returned < RECOVERY_LIMIT:
        if spool_files(data_dir):
            empty_since = None
        elif empty_since is None:
            empty_since = now
        answers = load.of(phase)
        last_degraded = max((a.ended for a in answers if a.mode == "degraded"), default=returned)
        if empty_since is not None:
            recovered = max(empty_since, last_degraded)
            online_after = any(a.mode == "online" and a.started >= recovered for a in answers)
            if online_after and now - recovered >= SETTLED:
                return max(0.0, recovered - returned)
        await asyncio.sleep(0.05)
    return math.inf


async def _drained(data_dir: Path) -> None:
    for _ in range(int(RECOVERY_LIMIT / 0.1)):
        if not spool_files(data_dir):
            return
        await asyncio.sleep(0.1)


def _row(name: str, answers: Sequence[Answer], stored: Ledger, recovery: float | None) -> Row:
    answered = [a for a in answers if a.status is not None]
    server_errors = sum(a.server_error for a in answered)
    refused = sum(1 for a in answered if a.status is not None and 400 <= a.status < 500)
    not_green = sum(1 for a in answered if a.status == 200 and a.decision != "green")
    degraded = sum(1 for a in answered if a.mode == "degraded")
    p99 = p99_ms(answers)
    broken = [
        f"{count} {what}"
        for count, what in (
            (server_errors, "5xx"),
            (len(answers) - len(answered), "without an answer"),
            (refused, "4xx"),
            (not_green, "not green"),
        )
        if count
    ]
    if not p99 <= P99_BOUND_MS:
        broken.append(f"p99 over {P99_BOUND_MS:g} ms")
    if not stored.balanced:
        broken.append("greens, stored and crossings differ")
    if recovery is not None:
        if not recovery <= RECOVERY_BOUND:
            broken.append(f"not recovered within {RECOVERY_BOUND:g} s")
        if degraded == 0:
            broken.append("the fault never showed (no degraded answer)")
    return Row(
        part="faults",
        scenario=name,
        broken=tuple(broken),
        requests=len(answers),
        server_errors=server_errors,
        p99_ms=p99,
        balance=stored.figure,
        duplicates=stored.duplicates,
        seconds=recovery,
        bound=None if recovery is None else RECOVERY_BOUND,
        notes=f"{len(answered) - degraded:,} online, {degraded:,} degraded",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--short", action="store_true", help="the CI version (about a minute)")
    args = parser.parse_args(argv)
    rows = run_faults(SHORT if args.short else FULL)
    print(render(rows))
    return 0 if all(row.kept for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
