"""CPU time of whole process trees, read from ``/proc/<pid>/stat``, to split a run's cost.

A server is a parent and its workers; PostgreSQL is a postmaster and its backends, which come
and go. Summing utime + stime over the live processes of a tree would lose a process that
exits during a run, so each process also counts cutime + cstime, the time of its children it
has already reaped (a finished backend ends up there, in the postmaster's). The sum is then a
counter that only grows while the tree's root lives, and a run costs its difference.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import asyncpg
import psutil

TICKS = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of ``pid``: its own CPU time and its reaped children's.

    Still readable while the process is a zombie, so a child's whole cost can be read between
    its exit and its reaping."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        # The name, field 2, is in parentheses and may hold spaces: split after it.
        fields = stat.read().rsplit(b")", 1)[1].split()
    utime, stime, cutime, cstime = (int(field) for field in fields[11:15])
    return (utime + stime + cutime + cstime) / TICKS


def tree_seconds(root: int) -> float:
    """CPU seconds spent so far by ``root`` and every descendant, those already gone included."""
    total = 0.0
    for pid in (root, *(child.pid for child in psutil.Process(root).children(recursive=True))):
        try:
            total += process_seconds(pid)
        except (
            FileNotFoundError,
            ProcessLookupError,
        ):  # exited since the listing: counted by its parent once reaped
            continue
    return total


def postmaster(server_url: str) -> int:
    """The process id of the PostgreSQL server behind ``server_url``: the parent of the backend
    that serves a connection. The server must run on this machine, or its CPU cannot be read."""

    async def find() -> int:
        conn = await asyncpg.connect(server_url)
        try:
            backend: int = await conn.fetchval("SELECT pg_backend_pid()")
            try:
                parent = psutil.Process(backend).parent()
            except psutil.NoSuchProcess:
                parent = None
            if parent is None or "postgres" not in parent.name():
                raise RuntimeError(
                    f"PostgreSQL at {server_url} does not run on this machine: its CPU time, "
                    "part of every figure, cannot be read"
                )
            pid: int = parent.pid
            return pid
        finally:
            await conn.close()

    return asyncio.run(find())


@dataclass(frozen=True, slots=True)
class Split:
    """CPU seconds of one run (or per verification), by who spent them."""

    workers: float  # the server's processes: its workers and their parent
    postgres: float  # every process of the PostgreSQL cluster
    load: float  # the load generator, wrk

    @property
    def total(self) -> float:
        return self.workers + self.postgres + self.load

    def per(self, count: int) -> Split:
        return Split(self.workers / count, self.postgres / count, self.load / count)
