"""Group commit: verifications that arrive together are written in one round trip.

A request enqueues its item and waits. If no batch is being written, one starts at once (no
added latency when the lane is quiet); while a batch is in flight, new items queue up and go
together in the next. Throughput therefore grows with concurrency instead of being capped by
one commit per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import Histogram

_logger = logging.getLogger("greenlane.group_commit")

T = TypeVar("T")
R = TypeVar("R")

BATCH_SIZES = Histogram(
    "greenlane_verify_batch_size",
    "Verifications written per group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
# Observed once per batch, never per request: how long the database took to commit one, which
# is what a request arriving just after a batch has started waits for on top of its own.
BATCH_SECONDS = Histogram(
    "greenlane_verify_batch_seconds",
    "Time to write and commit one group-commit batch, failed ones included",
    buckets=(0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


class CommitFailed(Exception):
    """The batch did not commit within its budget, or the database is unreachable."""


class GroupCommitter(Generic[T, R]):
    def __init__(
        self,
        write: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        *,
        max_batch: int = 256,
        max_in_flight: int = 2,
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._in_flight < self._max_in_flight:
            self._in_flight += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                BATCH_SIZES.observe(len(batch))
                await self._commit(batch)
        finally:
            self._in_flight -= 1

    async def _commit(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        started = time.perf_counter()
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as exc:  # every failure means "not known to be committed"
            _logger.warning(
                "group commit failed",
                extra={"fields": {"batch": len(batch)}},
                exc_info=(type(exc), exc, None),
            )
            failure = CommitFailed(type(exc).__name__)
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            return
        finally:
            BATCH_SECONDS.observe(time.perf_counter() - started)
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        """Let batches in flight finish (graceful shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
