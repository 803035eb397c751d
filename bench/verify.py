"""The lane hot path, measured side by side with the peer: ``make bench``.

Starts ``greenlane serve`` with W workers on a fresh database holding many clearances and,
where the peer is present beside the clone (``bench/peer.py``), the peer with as many workers
on the same PostgreSQL; elsewhere it says so and measures greenlane alone. Then, with wrk on
loopback (``bench/verify.lua``, every event id unique) and in rounds that alternate between
the two systems, so that drift in the machine hits both:

  - verifies per second at saturation: a closed loop on C connections;
  - for greenlane, in the same rounds, 4-person trips per second at saturation
    (``POST /v1/verify/trip``, ``bench/trips.py``): a trip checks one signature for everyone;
  - ``GET /health/live`` the same way: the framework's floor;
  - p50 / p99 / p99.9 at 25 % and 50 % of each system's own saturation rate (the median of
    its rounds), every connection paced by wrk's ``delay()`` with jitter;
  - for every run, the CPU time of the server's processes, of every PostgreSQL process and of
    wrk, per verification (``bench/cpu.py``); for greenlane, the transactions its database
    committed (``bench/commits.py``).

Each figure is the median of its rounds. Then greenlane's crossings stored against the green
answers it sent, and one verification taken apart (``bench/parts.py``). The table goes to
``docs/figures/bench-verify.md`` (``bench/verify_table.py``).

    PYTHONPATH=. python bench/verify.py [--rounds 3] [--duration 10] [--connections 64]
                                        [--threads 1] [--workers 2] [--count 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from bench import figures, parts, peer, trips, verify_table, wrk
from bench.commits import Commits
from bench.cpu import Split, postmaster, tree_seconds
from bench.harness import (
    Seeded,
    access_token_of,
    count_rows,
    database_server,
    environment,
    free_port,
    fresh_database,
    seed,
    serve_command,
    serving,
    sign_in_form,
)
from bench.verify_table import (
    LIVE,
    LOADS,
    SATURATION,
    TRIP,
    Measured,
    Runs,
    load,
    median_rate,
)

PROBE_SECONDS = 3  # a paced run that finds the pause giving the rate asked for
WARM_UP_SECONDS = 2
ISSUER = "http://127.0.0.1:8000"  # greenlane's default, which the bench leaves alone
STARTED = time.monotonic()


@dataclass(frozen=True, slots=True)
class System:
    name: str
    base_url: str
    pid: int  # the server's parent process; its workers are its children
    bodies: Path
    authorization: str
    commits: Commits | None  # counted for greenlane only
    trip_bodies: Path | None = None  # greenlane's 4-person trip questions


class Bench:
    """The runs of one bench: options shared by every run, and where each run's CPU goes."""

    def __init__(self, args: argparse.Namespace, postgres: int) -> None:
        self.connections: int = args.connections
        self.threads: int = args.threads
        self.duration: int = args.duration
        self.postgres = postgres  # the postmaster's process id

    def measure(
        self,
        system: System,
        *,
        pacing_ms: float = 0.0,
        live: bool = False,
        duration: int = 0,
        trip: bool = False,
    ) -> Measured:
        commits = None if live else system.commits  # /health/live touches no database
        reading = None if commits is None else commits.before_run()
        before = tree_seconds(system.pid), tree_seconds(self.postgres)
        run = self.drive(system, pacing_ms=pacing_ms, live=live, duration=duration, trip=trip)
        after = tree_seconds(system.pid), tree_seconds(self.postgres)
        if commits is not None:
            commits.after_run()
        cpu = Split(after[0] - before[0], after[1] - before[1], run.cpu_seconds)
        return Measured(run, cpu, reading)

    def warm_up(self, system: System) -> None:
        """Caches, pools and connections filled before anything counts. Nothing is read before
        it, but its transactions must be published before the first count."""
        self.drive(system, duration=min(WARM_UP_SECONDS, self.duration))
        if system.commits is not None:
            system.commits.after_run()

    def drive(
        self,
        system: System,
        *,
        pacing_ms: float = 0.0,
        live: bool = False,
        duration: int = 0,
        trip: bool = False,
    ) -> wrk.Result:
        path = trips.PATH if trip else "/v1/verify"
        return wrk.run(
            system.base_url + ("/health/live" if live else path),
            path=path,
            bodies=None if live else (system.trip_bodies if trip else system.bodies),
            authorization=system.authorization,
            pacing_ms=pacing_ms,
            connections=self.connections,
            threads=self.threads,
            duration=duration or self.duration,
        )

    def pace(self, system: System, rate: float) -> float:
        """The mean pause per connection that makes ``system`` answer ``rate`` a second, found
        with a short probe: a connection's cycle is its pause plus a request's own latency."""
        pacing = self.connections / rate * 1000
        probe = self.measure(system, pacing_ms=pacing, duration=min(PROBE_SECONDS, self.duration))
        return self.repace(pacing, probe.run.rate, rate)

    def repace(self, pacing_ms: float, answered: float, wanted: float) -> float:
        """The pause that turns ``answered`` into ``wanted``, assuming the latency stays."""
        latency_ms = self.connections / answered * 1000 - pacing_ms
        return max(1.0, self.connections / wanted * 1000 - latency_ms)


def rounds(bench: Bench, systems: Sequence[System], count: int) -> Runs:
    """Saturation and /health/live rounds first; then paced rounds at fractions of each system's
    median saturation rate. Each round runs every system in turn, so drift hits both."""
    runs: defaultdict[str, defaultdict[str, list[Measured]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for n in range(count):
        progress(f"round {n + 1} of {count}: saturation, /health/live")
        for live, key in ((False, SATURATION), (True, LIVE)):
            for system in systems:
                runs[system.name][key].append(bench.measure(system, live=live))
        for system in systems:
            if system.trip_bodies is not None:
                runs[system.name][TRIP].append(bench.measure(system, trip=True))
    loads = [(system, fraction) for fraction in LOADS for system in systems]
    wanted = [fraction * median_rate(runs[system.name][SATURATION]) for system, fraction in loads]
    pacing = [bench.pace(system, rate) for (system, _), rate in zip(loads, wanted, strict=True)]
    for n in range(count):
        progress(f"round {n + 1} of {count}: paced at {', '.join(map(load, LOADS))}")
        for i, (system, fraction) in enumerate(loads):
            measured = bench.measure(system, pacing_ms=pacing[i])
            runs[system.name][load(fraction)].append(measured)
            # Held on the rate asked for as the machine drifts.
            pacing[i] = bench.repace(pacing[i], measured.run.rate, wanted[i])
    return runs


def write_bodies(seeded: Seeded, path: Path) -> Path:
    """greenlane's request bodies, in the peer's format: one JSON object a line, no event id.
    Single-entry passes are left out: they are green once only."""
    with path.open("w") as out:
        for p in seeded.passes:
            if not p.single:
                document = {"number": p.number, "issuing_state": p.issuing_state}
                out.write(
                    json.dumps({"token": p.token, "direction": "entry", "document": document})
                )
                out.write("\n")
    return path


def green_answers_sent(base_url: str) -> int:
    """Green verify answers the server sent, summed over its workers (from /metrics)."""
    total = 0.0
    for line in httpx.get(f"{base_url}/metrics").text.splitlines():
        if line.startswith("greenlane_verify_decisions_total{") and 'decision="green"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def progress(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:4.0f} s] {message}", flush=True)


@contextmanager
def greenlane(
    args: argparse.Namespace, url: str, server_url: str, scratch: Path
) -> Iterator[tuple[System, Seeded]]:
    """``greenlane serve`` on the fresh database ``url``, seeded, with its lane signed in."""
    data = scratch / "greenlane"
    data.mkdir()
    # As shipped: every request logged at the default level, as the peer's uvicorn does. One
    # sign-in lasts the whole bench, so no sign-in lands between two transaction counts.
    env = environment(url, data, LOG_LEVEL="INFO", ACCESS_TOKEN_TTL="7200", **dict(args.set))
    base_url = f"http://127.0.0.1:{args.port}"
    command = serve_command(workers=args.workers, port=args.port)
    with serving(command, env=env, ready_url=f"{base_url}/health/ready") as process:
        progress(f"seeding greenlane with {args.count} clearances")
        seeded = seed(base_url, env, args.count)
        form = sign_in_form(seeded.lane_id, seeded.lane_secret)
        access = access_token_of(httpx.post(f"{base_url}/oauth/token", data=form))
        bodies = write_bodies(seeded, scratch / "greenlane-bodies.txt")
        progress(f"filing {args.trips} 4-person trips")
        trip_bodies = trips.seed_trips(seeded, args.trips, scratch / "greenlane-trips.txt")
        commits = Commits(server_url, urlsplit(url).path.lstrip("/"))
        yield (
            System(
                "greenlane",
                base_url,
                process.pid,
                bodies,
                f"Bearer {access}",
                commits,
                trip_bodies,
            ),
            seeded,
        )


@contextmanager
def the_peer(args: argparse.Namespace, server_url: str, scratch: Path) -> Iterator[System | None]:
    if not peer.present():
        progress(f"the peer is absent ({peer.HOME} not found): greenlane alone")
        yield None
        return
    progress(f"seeding the peer ({peer.HOME}) with {args.count} bodies")
    with peer.running(server_url, workers=args.workers, port=free_port(), count=args.count,
                      scratch=scratch / "peer") as running:  # fmt: skip
        yield System("peer", running.base_url, running.pid, running.bodies, "", None)


def setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.isupper():
        raise argparse.ArgumentTypeError(f"not NAME=VALUE: {text!r}")
    return name, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk's")
    parser.add_argument("--workers", type=int, default=2, help="each system's")
    parser.add_argument("--count", type=int, default=2000, help="clearances, and peer bodies")
    parser.add_argument("--port", type=int, default=8471)
    parser.add_argument("--trips", type=int, default=100, help="4-person trips, greenlane's")
    parser.add_argument(
        "--set",
        type=setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a greenlane setting, without GREENLANE_ (e.g. LANE_DIRECT=false); repeatable",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench: wrk is needed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    with (
        database_server() as server_url,
        fresh_database("bench_verify", server_url) as url,
        tempfile.TemporaryDirectory(prefix="greenlane-bench-") as scratch,
        greenlane(args, url, server_url, Path(scratch)) as (mine, seeded),
        the_peer(args, server_url, Path(scratch)) as theirs,
    ):
        bench = Bench(args, postmaster(server_url))
        systems = [mine] if theirs is None else [mine, theirs]
        progress("warming up")
        for system in systems:
            bench.warm_up(system)
        runs = rounds(bench, systems, args.rounds)
        assert mine.commits is not None
        mine.commits.finish()
        progress("crossings, sign-in and one verification's parts")
        # wrk cuts the requests in flight when a run ends: the server may have sent those
        # answers (and stored their crossings) without wrk reading them. The server's own
        # count of green answers sent is the one to compare with.
        sent = green_answers_sent(mine.base_url)
        # A trip's crossings (its people's and its vehicle's) answer trip verifies, which are
        # counted apart (greenlane_verify_trip_decisions_total).
        stored = asyncio.run(
            count_rows(url, "SELECT count(*) FROM crossings WHERE trip_id IS NULL")
        )
        greenlane_only = [
            ("sign-in (`POST /oauth/token`), sequential median",
             f"{parts.sign_in_ms(seeded):.2f} ms"),
            *((f"one verification: {name}, median", f"{value:,.1f} µs")
              for name, value in parts.cost_split(seeded, url, ISSUER).items()),
        ]  # fmt: skip
    rows = verify_table.rows(
        runs, mine.commits, crossings=(stored, sent), greenlane_only=greenlane_only
    )
    print()
    print(f"greenlane verify benchmark: {args.workers} workers each, wrk -t{args.threads} "
          f"-c{args.connections}, {args.rounds} rounds of {args.duration} s runs")  # fmt: skip
    print(figures.markdown_table(figures.VERIFY.columns, rows))
    print(f"written to {figures.write(figures.VERIFY, rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
