"""Group commit: verifications that arrive together are written in one round trip.

A request enqueues its item and waits. If no batch is being written, one starts at once (no
added latency when the lane is quiet); while a batch is in flight, new items queue up and go
together in the next. Throughput therefore grows with concurrency instead of being capped by
one commit per request.

Up to ``max_in_flight`` batches are written at once, so that an item arriving just after a
batch has started need not wait for that whole commit before its own. But a second batch
started the moment one item arrives is a transaction for one item again: below saturation that
is most of them. So a batch that would start beside another one in flight first lingers, at
most ``linger`` seconds, for more items; a batch in flight that finishes meanwhile takes them at
once, and a full batch waits for nobody.
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
        linger: float = 0.0,
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._linger = linger
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._lingering: asyncio.TimerHandle | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if self._in_flight < self._max_in_flight:
            if self._in_flight == 0 or not self._linger or len(self._queue) >= self._max_batch:
                self._start()
            elif self._lingering is None:
                self._lingering = loop.call_later(self._linger, self._lingered)
        return await future

    def _lingered(self) -> None:
        self._lingering = None
        if self._queue and self._in_flight < self._max_in_flight:
            self._start()

    def _start(self) -> None:
        self._in_flight += 1
        task = asyncio.create_task(self._drain())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
        """Write what lingers at once, and let batches in flight finish (graceful shutdown)."""
        if self._lingering is not None:
            self._lingering.cancel()
            self._lingered()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
