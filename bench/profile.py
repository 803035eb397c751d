"""Where a worker's time goes on the lane hot path: ``make bench-profile``.

Starts ``greenlane serve`` as ``make bench`` does (2 workers, a fresh database of 2,000 approved
clearances, every request logged at the default level), drives it with wrk on loopback, and
samples every worker with py-spy while it does: at saturation (a closed loop on 64
connections), at about half of that rate (each connection paced, with jitter), and for
4-person trips at saturation (``POST /v1/verify/trip``, the trips of ``bench/trips.py``). py-spy
counts only samples where a thread runs Python or native code, not where the event loop waits
in ``epoll``, so the shares below are shares of the CPU a worker spends.

Each sample is charged two ways:

  - **by layer**, to the innermost frame that belongs to a known layer: the HTTP server
    (uvicorn and httptools), the event loop and its sockets (asyncio), the framework
    (Litestar), the PostgreSQL driver (asyncpg), the signature (cryptography), logging,
    metrics, and greenlane's own modules, each by name. A frame of the standard library that is
    none of these is charged to its module (``uuid``, ``datetime``, ...).
  - **inclusively**, to each of greenlane's stages that is anywhere on its stack: the verify
    handler, ``lane_checks.check``, the group commit, the middleware, the access log.

The table goes to ``docs/figures/profile-verify.md``; ``docs/performance.md`` reads it.

    PYTHONPATH=. python bench/profile.py [--duration 15] [--rate 250] [--workers 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from bench import figures, trips, wrk
from bench.harness import (
    access_token_of,
    database_server,
    environment,
    fresh_database,
    seed,
    serve_command,
    serving,
    sign_in_form,
)
from bench.verify import write_bodies

CONNECTIONS = 64
# The dev extra installs py-spy beside this interpreter, which `make` does not put on PATH.
PY_SPY = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()

# Innermost frame first: the first of these found in a frame's file names its layer.
LAYERS: tuple[tuple[str, str], ...] = (
    ("/cryptography/", "signature (cryptography)"),
    ("/asyncpg/", "PostgreSQL driver (asyncpg)"),
    ("/prometheus_client/", "metrics (prometheus_client)"),
    ("/uvicorn/", "HTTP server (uvicorn, httptools)"),
    ("/httptools/", "HTTP server (uvicorn, httptools)"),
    ("/litestar/", "framework (Litestar)"),
    ("/msgspec/", "JSON (msgspec)"),
    ("/jwt/", "PyJWT"),
)

# Stages of greenlane's own, counted wherever they are on a sample's stack: a file, and the
# function in it (None: any). The handlers' frames are not on the group commit's stack, which
# runs as a task of its own.
STAGES: tuple[tuple[str, str | None, str], ...] = (
    ("/greenlane/api/lane_direct.py", None, "the lanes' routes, all they call but the commit"),
    ("/greenlane/domain/lane_checks.py", "check", "the checks of one token (signature included)"),
    ("/greenlane/domain/trip_checks.py", "check_trip", "the checks of one trip token"),
    ("/greenlane/services/group_commit.py", None, "the group commit (statement and commit)"),
    ("/greenlane/api/security.py", None, "sign-in and roles (api/security.py)"),
    ("/greenlane/tally.py", None, "metrics tallied"),
    ("/logging/", None, "logging, anywhere"),
)


@dataclass(frozen=True, slots=True)
class Profile:
    load: str
    rate: float  # verifications answered per second
    samples: int
    by_layer: Counter[str]
    by_stage: Counter[str]


def frame_file(frame: str) -> str:
    """``function (path/to/file.py:123)`` → ``path/to/file.py``; native frames have no file."""
    if not frame.endswith(")") or " (" not in frame:
        return ""
    return frame.rsplit(" (", 1)[1].rstrip(")").rsplit(":", 1)[0]


def layer_of(path: str) -> str | None:
    for marker, layer in LAYERS:
        if marker in path:
            return layer
    # Installed, or editable from the repository's src/ (whose own path may say greenlane too).
    installed = path.rpartition("/site-packages/")[2] if "/site-packages/" in path else None
    source = path.rpartition("/src/")[2] if "/src/greenlane/" in path else None
    inside = installed or source
    if inside is not None:
        package, _, module = inside.partition("/")
        if package != "greenlane":
            return package
        return "greenlane." + module.removesuffix(".py").replace("/", ".")
    resolved = Path(path)
    if resolved.is_absolute() and resolved.is_relative_to(STDLIB):
        module = resolved.relative_to(STDLIB).parts[0].removesuffix(".py")
        return {"asyncio": "event loop and sockets (asyncio)", "logging": "logging"}.get(
            module, f"Python: {module}"
        )
    return None


def charge(lines: Iterable[str]) -> tuple[int, Counter[str], Counter[str]]:
    """py-spy's raw (collapsed) output, ``frame;frame;…;leaf count`` a line, outermost frame
    first, charged by layer and by stage."""
    samples = 0
    by_layer: Counter[str] = Counter()
    by_stage: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = [(frame.split(" (", 1)[0], frame_file(frame)) for frame in stack.split(";")]
        layer = next((found for _, path in reversed(frames) if (found := layer_of(path))), "other")
        by_layer[layer] += count
        for marker, function, stage in STAGES:
            if any(marker in path and function in (None, name) for name, path in frames):
                by_stage[stage] += count
    return samples, by_layer, by_stage


def workers_of(server_pid: int) -> list[int]:
    return [child.pid for child in psutil.Process(server_pid).children(recursive=True)]


@dataclass(frozen=True, slots=True)
class Sampling:
    py_spy: str
    seconds: int
    rate: int  # samples per second
    scratch: Path


def profile(load: str, pids: Sequence[int], sampling: Sampling, run: dict[str, object]) -> Profile:
    """Every worker in ``pids`` sampled by py-spy for ``sampling.seconds`` while wrk drives
    the server as ``run`` says."""
    outputs = [sampling.scratch / f"{load.replace(' ', '-')}-{pid}.txt" for pid in pids]
    recorders = [
        subprocess.Popen(
            [sampling.py_spy, "record", "--pid", str(pid), "--rate", str(sampling.rate),
             "--format", "raw", "--full-filenames", "--duration", str(sampling.seconds),
             "--nonblocking", "--output", str(output)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid, output in zip(pids, outputs, strict=True)
    ]  # fmt: skip
    # wrk outlasts the recorders, so that every sample is taken under load.
    result = wrk.run(duration=sampling.seconds + 2, **run)  # type: ignore[arg-type]
    if any(recorder.wait(timeout=30) != 0 for recorder in recorders):
        raise RuntimeError("py-spy failed: it needs ptrace (run as root or set ptrace_scope)")
    samples, by_layer, by_stage = 0, Counter[str](), Counter[str]()
    for output in outputs:
        counted = charge(output.read_text().splitlines())
        samples += counted[0]
        by_layer += counted[1]
        by_stage += counted[2]
    return Profile(load, result.rate, samples, by_layer, by_stage)


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


def rows(profiles: Sequence[Profile], top: int) -> list[list[str]]:
    layers: Counter[str] = Counter()
    for measured in profiles:
        layers.update({name: count / measured.samples for name, count in measured.by_layer.items()})
    shown = [name for name, _ in layers.most_common(top)]
    table = [
        ["answers per second (verifications; trips)", *(f"{p.rate:,.0f} /s" for p in profiles)],
        ["samples (all workers)", *(f"{p.samples:,}" for p in profiles)],
        ["**by layer**: the innermost frame's", *("" for _ in profiles)],
    ]
    for name in shown:
        table.append([name, *(share(p.by_layer[name], p.samples) for p in profiles)])
    table.append(
        [
            "everything else",
            *(share(p.samples - sum(p.by_layer[n] for n in shown), p.samples) for p in profiles),
        ]
    )
    table.append(["**by stage**: anywhere on the stack", *("" for _ in profiles)])
    for _, _, stage in STAGES:
        table.append([stage, *(share(p.by_stage[stage], p.samples) for p in profiles)])
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds sampled per load")
    parser.add_argument("--rate", type=int, default=250, help="py-spy's samples per second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--count", type=int, default=2000, help="clearances")
    parser.add_argument("--port", type=int, default=8472)
    parser.add_argument("--top", type=int, default=16, help="layers shown by name")
    parser.add_argument("--trips", type=int, default=100, help="4-person trips filed")
    args = parser.parse_args()
    if shutil.which("wrk") is None or PY_SPY is None:
        print("bench: wrk and py-spy are needed (apt-get install wrk; py-spy: the dev extra)",
              file=sys.stderr)  # fmt: skip
        return 2
    base_url = f"http://127.0.0.1:{args.port}"
    with (
        database_server() as server_url,
        fresh_database("bench_profile", server_url) as url,
        tempfile.TemporaryDirectory(prefix="greenlane-profile-") as scratch_name,
    ):
        scratch = Path(scratch_name)
        (scratch / "data").mkdir()
        env = environment(url, scratch / "data", LOG_LEVEL="INFO", ACCESS_TOKEN_TTL="7200")
        command = serve_command(workers=args.workers, port=args.port)
        with serving(command, env=env, ready_url=f"{base_url}/health/ready") as process:
            seeded = seed(base_url, env, args.count)
            form = sign_in_form(seeded.lane_id, seeded.lane_secret)
            access = access_token_of(httpx.post(f"{base_url}/oauth/token", data=form))
            run: dict[str, object] = {
                "url": base_url,
                "bodies": write_bodies(seeded, scratch / "bodies.txt"),
                "authorization": f"Bearer {access}",
                "connections": CONNECTIONS,
                "threads": 1,
            }
            pids = workers_of(process.pid)
            sampling = Sampling(PY_SPY, args.duration, args.rate, scratch)
            wrk.run(duration=3, pacing_ms=0, **run)  # type: ignore[arg-type]  # warm up
            saturated = profile("saturation", pids, sampling, run | {"pacing_ms": 0})
            # Each connection's cycle is its answer's latency plus its pause: a pause of
            # connections ÷ (half the rate) gives a little under half, as latency is not zero.
            pause_ms = 1000 * CONNECTIONS / (saturated.rate / 2)
            half = profile("about 50 %", pids, sampling, run | {"pacing_ms": pause_ms})
            trip_run = run | {
                "pacing_ms": 0,
                "path": trips.PATH,
                "bodies": trips.seed_trips(seeded, args.trips, scratch / "trips.txt"),
            }
            wrk.run(duration=3, **trip_run)  # type: ignore[arg-type]  # warm up
            trip = profile("trips", pids, sampling, trip_run)
    profiles = [saturated, half, trip]
    table = rows(profiles, args.top)
    print(figures.markdown_table(figures.PROFILE.columns, table))
    print(f"written to {figures.write(figures.PROFILE, table)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
