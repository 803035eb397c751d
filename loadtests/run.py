"""One load test run: a fresh database, a real server, seeded passes, Locust headless.

    python loadtests/run.py [--duration 60s] [--users N] [--workers W] [--count C]

The server is ``greenlane serve`` with W workers on a free loopback port; Locust runs as a
subprocess on the same machine, with ``loadtests/locustfile.py``, whose gate decides the exit
code, which this script passes on. The database is dropped at the end; it lives on the embedded
server under ``.greenlane/``, or on ``GREENLANE_BENCH_DATABASE_URL`` when that is set. The
figures go to ``docs/figures/loadtest.md`` as well, replacing the previous run's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import figures  # noqa: E402
from bench.harness import (  # noqa: E402
    environment,
    free_port,
    fresh_database,
    scratch_dir,
    seed,
    server,
)

LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"


def locust(base_url: str, seed_file: Path, report: Path, args: argparse.Namespace) -> int:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.users),
        "--run-time",
        args.duration,
        "--host",
        base_url,
        "--only-summary",
    ]
    env = {
        **os.environ,
        "GREENLANE_LOADTEST_SEED": str(seed_file),
        "GREENLANE_LOADTEST_REPORT": str(report),
    }
    return subprocess.run(command, env=env, check=False).returncode


def summary(report: Path) -> str:
    """The figures the locustfile's gate measured, in one line."""
    if not report.exists():
        return "Locust wrote no report"
    seen = json.loads(report.read_text())
    return (
        f"POST /v1/verify: {seen['requests']} requests, {seen['failures']} failures, "
        f"p50 {seen['p50_ms']} ms, p99 {seen['p99_ms']} ms, {seen['rps']:.0f} requests/s"
    )


def write_figures(report: Path, args: argparse.Namespace, code: int) -> None:
    """The run's row in docs/figures/loadtest.md; a run that measured nothing leaves the file."""
    if not report.exists():
        return
    seen = json.loads(report.read_text())
    row = [
        args.duration,
        str(args.users),
        str(args.workers),
        f"{seen['requests']:,.0f}",
        f"{seen['failures']:,.0f}",
        f"{seen['p50_ms']:,.0f}",
        f"{seen['p99_ms']:,.0f}",
        f"{seen['rps']:,.0f}",
        "passed" if code == 0 else f"FAILED (exit {code})",
    ]
    print(f"written to {figures.write(figures.LOADTEST, [row])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", default="60s", help="Locust --run-time (e.g. 30s, 2m)")
    parser.add_argument("--users", type=int, default=20, help="concurrent lanes")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--count", type=int, default=300, help="valid passes to seed")
    args = parser.parse_args()

    data_dir = scratch_dir()
    try:
        with fresh_database("loadtest") as database_url:
            env = environment(database_url, data_dir)
            with server(env, workers=args.workers, port=free_port()) as base_url:
                seeded = seed(base_url, env, args.count)
                with tempfile.TemporaryDirectory(prefix="greenlane-loadtest-") as scratch:
                    seed_file = Path(scratch) / "seed.json"
                    seeded.save(seed_file)
                    report = Path(scratch) / "report.json"
                    code = locust(base_url, seed_file, report, args)
                    print(
                        f"{summary(report)} "
                        f"({args.users} lanes, {args.workers} workers, {args.duration}); "
                        f"exit {code}"
                    )
                    write_figures(report, args, code)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
