"""The peer: the yardstick ``make bench`` measures greenlane against, run as it is.

It lives beside the clone (``shared/peer`` in the directory that holds the repository, on every
development and CI machine), is not part of greenlane and nothing of it is copied here: its
README says how to run it, and this module does just that. Its own virtual environment
(``.greenlane/peer-venv``, made once and reused) holds what the README lists; its ``seed.py``
makes its database (named ``peer``, dropped at the end) and its request bodies; ``uvicorn
app:app`` serves it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from bench.harness import ROOT, execute, serving, with_database

HOME = ROOT.parent / "shared" / "peer"
VENV = ROOT / ".greenlane" / "peer-venv"
REQUIREMENTS = ("fastapi", "uvicorn[standard]", "asyncpg", "pyjwt[crypto]")  # its README's list
DATABASE = "peer"  # the name its seed.py gives its database


@dataclass(frozen=True, slots=True)
class Peer:
    base_url: str
    pid: int  # uvicorn's parent process
    bodies: Path


def present() -> bool:
    return (HOME / "app.py").is_file()


def python() -> Path:
    """The peer's interpreter, its virtual environment made (or brought up to date) first."""
    stamp = VENV / "bench-requirements.txt"
    wanted = "\n".join(REQUIREMENTS)
    if not stamp.exists() or stamp.read_text() != wanted:
        print(f"making the peer's virtual environment in {VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, *REQUIREMENTS], check=True)
        stamp.write_text(wanted)
    return VENV / "bin" / "python"


def seed_dsn(server_url: str) -> str:
    """``server_url`` as the peer's seed.py can use it.

    seed.py names its database by replacing whatever follows the URL's last "/", so a socket
    directory given in the query (the embedded server's URL) moves into the host part,
    percent-encoded, where asyncpg reads it too."""
    parts = urlsplit(server_url)
    query = parse_qs(parts.query)
    if "host" not in query:
        return server_url
    host = quote(query["host"][0], safe="")
    port = query.get("port", ["5432"])[0]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}:{port}", query=""))


@contextmanager
def running(
    server_url: str, *, workers: int, port: int, count: int, scratch: Path
) -> Iterator[Peer]:
    """The peer seeded with ``count`` request bodies and served by uvicorn, as its README says."""
    interpreter = str(python())
    env = {"PATH": str(VENV / "bin"), "PEER_ADMIN_DSN": seed_dsn(server_url)}
    subprocess.run(
        [interpreter, "seed.py", str(count), str(scratch)],
        cwd=HOME, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    env |= {
        "PEER_JWKS": str(scratch / "jwks.json"),
        "PEER_DSN": with_database(server_url, DATABASE),
    }
    command = [
        interpreter, "-m", "uvicorn", "app:app", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        with serving(command, env=env, ready_url=f"{base_url}/health/live", cwd=HOME) as process:
            yield Peer(base_url, process.pid, scratch / "bodies.txt")
    finally:
        asyncio.run(execute(server_url, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
