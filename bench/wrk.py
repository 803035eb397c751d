"""One wrk run of ``bench/verify.lua``: what wrk counted, and the CPU time wrk itself spent."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import process_seconds

SCRIPT = Path(__file__).with_name("verify.lua")
# Every run of one bench gets its own number, which goes into its event ids: a repeated event id
# would be answered from the stored reply instead of being verified again.
_runs = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Result:
    requests: int  # answers wrk read
    seconds: float
    greens: int
    errors: int  # answers other than 200, and socket errors
    p50: float  # milliseconds
    p99: float
    p999: float
    cpu_seconds: float  # wrk's own utime + stime

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run(
    url: str,
    *,
    bodies: Path | None,
    authorization: str = "",
    pacing_ms: float,
    connections: int,
    threads: int,
    duration: int,
    path: str = "/v1/verify",
) -> Result:
    """Drive ``url`` for ``duration`` seconds: ``POST path`` with ``bodies``, or without
    them a GET of ``url`` itself. A closed loop if ``pacing_ms`` is 0; else each connection
    pauses that long on average between an answer and its next request."""
    env = os.environ | {
        "BENCH_BODIES": "" if bodies is None else str(bodies),
        "BENCH_AUTHORIZATION": authorization,
        "BENCH_RUN": str(next(_runs)),
        "BENCH_PACING_MS": f"{pacing_ms:.3f}",
        "BENCH_PATH": path,
    }
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
        "-s", str(SCRIPT), url,
    ]  # fmt: skip
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        # Waited for without reaping it: its /proc/<pid>/stat holds its whole cost until then.
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        cpu_seconds = process_seconds(process.pid)
        if process.wait() != 0:
            err.seek(0)
            raise RuntimeError(f"wrk failed: {err.read().strip()}")
        out.seek(0)
        line = next(line for line in out if line.startswith("RESULT "))
    counted = json.loads(line.removeprefix("RESULT "))
    return Result(
        requests=counted["requests"],
        seconds=counted["seconds"],
        greens=counted["greens"],
        errors=counted["errors"] + counted["socket_errors"],
        p50=counted["p50"],
        p99=counted["p99"],
        p999=counted["p999"],
        cpu_seconds=cpu_seconds,
    )
