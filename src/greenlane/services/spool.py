"""The degraded-mode spool: verifications that could not reach PostgreSQL, kept on local disk.

An answer given in degraded mode is sent only after its record is written to an append-only
file and fsynced (appends that arrive together share one fsync). A background task drains the
spool into PostgreSQL once it answers again; the database ignores an event it already has, so
a drain that is interrupted and repeated records nothing twice. Each worker writes and drains
its own file; a file left by a worker that died (claimed for draining or not) is drained by
whichever worker finds it.

A line is one :class:`~greenlane.domain.verification.VerificationRecord` in JSON, tagged with its
format (2); untagged lines of format 1 hold the same fields and drain the same way. A line that
is whole but not a record (a format this version does not know) is not dropped: it is moved to
``rejected-<pid>-<n>.jsonl`` beside the spool, for an operator, and logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import msgspec
import psutil
from prometheus_client import Gauge

from greenlane.domain.verification import VerificationRecord

SPOOL_DEPTH = Gauge(
    "greenlane_verify_spool_depth",
    "Verifications in the local spool, waiting for PostgreSQL",
    multiprocess_mode="livesum",
)
_logger = logging.getLogger("greenlane.spool")

_ENCODE = msgspec.json.Encoder()
_DECODE = msgspec.json.Decoder(VerificationRecord)
DRAIN_BATCH = 256
Write = Callable[[Sequence[VerificationRecord]], Awaitable[object]]


class SpoolUnavailable(Exception):
    """The spool file could not be written: the answer must not be given."""


class Spool:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._path = directory / f"spool-{os.getpid()}.jsonl"
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._depth = 0
        # Held while a group is written and while this worker's file is claimed for draining,
        # so that a write lands either wholly before the claim or in the fresh file after it.
        self._file_lock = asyncio.Lock()
        self._rejected = 0

    @property
    def depth(self) -> int:
        return self._depth

    async def append(self, record: VerificationRecord) -> None:
        """Return only once ``record`` is on disk (fsynced); SpoolUnavailable otherwise."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((_ENCODE.encode(record) + b"\n", future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending())
        await future

    async def _write_pending(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            try:
                async with self._file_lock:
                    await asyncio.to_thread(self._write, b"".join(line for line, _ in group))
            except OSError as exc:
                _logger.error("spool write failed", exc_info=(type(exc), exc, None))
                for _, future in group:
                    future.set_exception(SpoolUnavailable())
                continue
            self._depth += len(group)
            SPOOL_DEPTH.set(self._depth)
            for _, future in group:
                future.set_result(None)

    def _write(self, data: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            # A leading newline ends a line torn by a crash, so the next record stays readable.
            os.write(fd, b"\n" + data)
            os.fsync(fd)
        finally:
            os.close(fd)

    async def drain(self, write: Write) -> int:
        """Send every spooled record to ``write`` in batches; returns how many were sent.

        A file is first renamed (claimed), so new appends go to a fresh file and two workers
        never drain the same one; it is deleted only after all of it was written. Files this
        worker claimed before and could not send go first: a new claim takes the same name,
        and renaming onto a file that is still waiting would destroy it. Another worker's file
        is claimed only once that worker is gone: it may be between opening its file and
        appending to it, and an append to a file already read would be lost.
        """
        mine = os.getpid()
        sent = 0
        for claimed in sorted(self._directory.glob(f"spool-*.draining-{mine}")):
            sent += await self._send(claimed, write)
        for path in sorted(self._directory.glob("spool-*")):
            if not _claimable(path, mine):
                continue
            claimed = path.with_suffix(f".draining-{mine}")
            try:
                async with self._file_lock:
                    path.rename(claimed)
            except FileNotFoundError:
                continue  # another worker claimed it first
            sent += await self._send(claimed, write)
        return sent

    async def _send(self, path: Path, write: Write) -> int:
        lines = (await asyncio.to_thread(path.read_bytes)).splitlines()
        records, unknown = _read(lines)
        if unknown:
            await asyncio.to_thread(self._reject, unknown)
        for start in range(0, len(records), DRAIN_BATCH):
            await write(records[start : start + DRAIN_BATCH])
        await asyncio.to_thread(path.unlink)
        if path.name.startswith(f"spool-{os.getpid()}."):
            self._depth = max(0, self._depth - len(records))
            SPOOL_DEPTH.set(self._depth)
        return len(records)

    def _reject(self, lines: list[bytes]) -> None:
        self._rejected += 1
        path = self._directory / f"rejected-{os.getpid()}-{self._rejected}.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        _logger.error(
            "spool lines of an unknown format set aside",
            extra={"fields": {"lines": len(lines), "file": path.name}},
        )

    def has_work(self) -> bool:
        """Whether :meth:`drain` would find something: a live worker's file is not ours to send."""
        mine = os.getpid()
        return self._depth > 0 or any(
            _claimable(path, mine) for path in self._directory.glob("spool-*")
        )


def _read(lines: list[bytes]) -> tuple[list[VerificationRecord], list[bytes]]:
    """The records in a spool file, and the whole lines that are not records."""
    records: list[VerificationRecord] = []
    unknown: list[bytes] = []
    for line in lines:
        try:
            records.append(_DECODE.decode(line))
        except msgspec.ValidationError:
            unknown.append(line)
        except msgspec.DecodeError:
            # A torn line (a crash mid-write) was never acknowledged to a lane; the blank line
            # that ends it is not a record either.
            continue
    return records, unknown


def _owner(path: Path) -> int | None:
    """The process that writes ``spool-<pid>.jsonl``, or that claimed ``…draining-<pid>``."""
    stem, _, suffix = path.name.partition(".")
    digits = suffix.removeprefix("draining-") if suffix != "jsonl" else stem.removeprefix("spool-")
    return int(digits) if digits.isdigit() else None


def _claimable(path: Path, mine: int) -> bool:
    """A file of this worker's, or of a worker that is gone."""
    owner = _owner(path)
    return owner is not None and (owner == mine or not psutil.pid_exists(owner))
