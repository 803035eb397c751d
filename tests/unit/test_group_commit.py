"""Group commit without a database: a fake ``write`` that records every batch it is handed and
holds it until the test lets it finish, so that what is in flight at each moment is the test's
to choose."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

import pytest
from prometheus_client import REGISTRY

from greenlane.services.group_commit import CommitFailed, GroupCommitter

# A bound on every scenario, so that a regression (a lost wake-up, a close that never returns)
# fails the test instead of hanging it.
SCENARIO_TIMEOUT = 5.0


class Writer:
    """Stands in for the database: each batch waits for :meth:`finish`, then commits (one result
    per item, in order) or, if its number is in ``failing``, raises."""

    def __init__(self, failing: frozenset[int] = frozenset()) -> None:
        self.failing = failing
        self.batches: list[list[int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._gates: list[asyncio.Event] = []

    async def write(self, items: Sequence[int]) -> list[str]:
        number = len(self.batches)
        self.batches.append(list(items))
        gate = asyncio.Event()
        self._gates.append(gate)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await gate.wait()
        finally:
            self.in_flight -= 1
        if number in self.failing:
            raise ConnectionResetError("the database went away")
        return [f"committed {item}" for item in items]

    def release(self, number: int) -> None:
        """Let batch ``number`` (counted from 0) return."""
        self._gates[number].set()

    async def finish(self, number: int) -> None:
        """Let batch ``number`` return, and the committer act on it."""
        self.release(number)
        await settle()


async def settle() -> None:
    """Run everything that is ready: submissions reach the queue, drains reach ``write``."""
    for _ in range(20):
        await asyncio.sleep(0)


def submit(committer: GroupCommitter[int, str], *items: int) -> list[asyncio.Task[str]]:
    return [asyncio.create_task(committer.submit(item)) for item in items]


def run(scenario: Coroutine[Any, Any, None]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(SCENARIO_TIMEOUT):
            await scenario

    asyncio.run(bounded())


def test_items_that_arrive_during_a_write_go_together_in_the_next() -> None:
    async def scenario() -> None:
        writer = Writer()
        committer = GroupCommitter(writer.write, max_batch=10, max_in_flight=1)

        first = submit(committer, 1)
        await settle()
        assert writer.batches == [[1]]  # a quiet committer writes at once

        waiting = submit(committer, 2, 3, 4)
        await settle()
        assert writer.batches == [[1]]  # queued behind the write in flight
        assert not any(task.done() for task in first + waiting)

        await writer.finish(0)
        assert writer.batches == [[1], [2, 3, 4]]
        assert first[0].result() == "committed 1"
        assert not any(task.done() for task in waiting)

        await writer.finish(1)
        assert [task.result() for task in waiting] == [
            "committed 2",
            "committed 3",
            "committed 4",
        ]
        assert writer.batches == [[1], [2, 3, 4]]

    run(scenario())


def test_never_more_writes_at_once_than_allowed_and_never_a_batch_too_big() -> None:
    async def scenario() -> None:
        writer = Writer()
        committer = GroupCommitter(writer.write, max_batch=3, max_in_flight=2)

        tasks = submit(committer, 1)
        await settle()
        tasks += submit(committer, 2)
        await settle()
        assert writer.batches == [[1], [2]]  # a second write while the first is in flight

        tasks += submit(committer, *range(3, 10))
        await settle()
        assert writer.batches == [[1], [2]]  # but not a third
        assert writer.in_flight == 2

        for number in range(3):
            await writer.finish(number)
        # Each write that ends takes the next batch, of at most max_batch, in arrival order.
        assert writer.batches == [[1], [2], [3, 4, 5], [6, 7, 8], [9]]
        assert writer.in_flight == 2
        await writer.finish(3)
        await writer.finish(4)
        assert writer.in_flight == 0
        assert writer.most_in_flight == 2
        assert [task.result() for task in tasks] == [f"committed {n}" for n in range(1, 10)]

    run(scenario())


def test_a_failed_batch_fails_each_of_its_submitters_and_the_next_batch_still_commits() -> None:
    async def scenario() -> None:
        writer = Writer(failing=frozenset({1}))
        committer = GroupCommitter(writer.write, max_batch=10, max_in_flight=1)

        before = submit(committer, 1)
        await settle()
        failing = submit(committer, 2, 3)
        await settle()
        await writer.finish(0)
        assert writer.batches == [[1], [2, 3]]

        after = submit(committer, 4)
        await settle()
        await writer.finish(1)
        assert writer.batches == [[1], [2, 3], [4]]
        await writer.finish(2)

        assert before[0].result() == "committed 1"
        for task in failing:
            with pytest.raises(CommitFailed):
                task.result()
        assert after[0].result() == "committed 4"

    run(scenario())


def test_close_waits_for_the_batch_in_flight_and_its_submitters_get_their_results() -> None:
    async def scenario() -> None:
        writer = Writer()
        committer = GroupCommitter(writer.write, max_batch=10, max_in_flight=1)

        tasks = submit(committer, 1, 2)
        await settle()
        assert writer.batches == [[1, 2]]

        closing = asyncio.create_task(committer.close())
        await settle()
        assert not closing.done()  # the batch is still being written

        writer.release(0)
        await closing
        assert [task.result() for task in tasks] == ["committed 1", "committed 2"]
        assert writer.batches == [[1, 2]]

    run(scenario())


def test_closing_an_idle_committer_returns_at_once() -> None:
    async def scenario() -> None:
        writer = Writer()
        committer = GroupCommitter(writer.write, max_batch=10, max_in_flight=1)
        await committer.close()
        assert writer.batches == []

    run(scenario())


def test_every_batch_is_timed_whether_it_commits_or_fails() -> None:
    def timed() -> float:
        return REGISTRY.get_sample_value("greenlane_verify_batch_seconds_count") or 0.0

    async def scenario() -> None:
        writer = Writer(failing=frozenset({1}))
        committer = GroupCommitter(writer.write, max_batch=10, max_in_flight=1)
        before = timed()
        tasks = submit(committer, 1)
        await settle()
        tasks += submit(committer, 2, 3)
        await writer.finish(0)
        await writer.finish(1)
        assert writer.batches == [[1], [2, 3]]
        assert timed() == before + 2
        await asyncio.gather(*tasks, return_exceptions=True)

    run(scenario())


# Long enough never to run out during a test that does not wait for it.
FOREVER = 60.0


def test_with_nothing_in_flight_an_item_is_written_at_once_whatever_the_linger() -> None:
    async def scenario() -> None:
        writer = Writer()
        committer = GroupCommitter(writer.write, max_batch=10, max_in_flight=2, linger=FOREVER)
        tasks = submit(committer, 1)
        await settle()
        assert writer.batches == [[1]]
        await writer.finish(0)
        assert tasks[0].result() == "committed 1"

    run(scenario())


def test_beside_a_batch_in_flight_items_linger_then_go_together() -> None:
    async def scenario() -> None:
        writer = Writer()
        committer = GroupCommitter(writer.write, max_batch=10, max_in_flight=2, linger=0.2)
        first = submit(committer, 1)
        await settle()
        lingering = submit(committer, 2)
        await settle()
        lingering += submit(committer, 3)
        await settle()
        assert writer.batches == [[1]]  # a second write is allowed, but it lingers
        await asyncio.sleep(0.3)  # the linger's timer, set before this one, runs out first
        await settle()
        assert writer.batches == [[1], [2, 3]]
        assert writer.in_flight == 2  # the first batch never finished: the linger ran out
        await writer.finish(0)
        await writer.finish(1)
        assert [task.result() for task in first + lingering] == [
            "committed 1",
            "committed 2",
            "committed 3",
        ]

    run(scenario())


def test_a_batch_in_flight_that_finishes_takes_what_lingers_at_once() -> None:
    async def scenario() -> None:
        writer = Writer()
        committer = GroupCommitter(writer.write, max_batch=10, max_in_flight=2, linger=FOREVER)
        tasks = submit(committer, 1)
        await settle()
        tasks += submit(committer, 2, 3)
        await settle()
        assert writer.batches == [[1]]
        await writer.finish(0)
        assert writer.batches == [[1], [2, 3]]
        await writer.finish(1)
        assert [task.result() for task in tasks] == ["committed 1", "committed 2", "committed 3"]
        await committer.close()
        assert writer.batches == [[1], [2, 3]]  # the linger found nothing left to write

    run(scenario())


def test_a_full_batch_does_not_linger() -> None:
    async def scenario() -> None:
        writer = Writer()
        committer = GroupCommitter(writer.write, max_batch=3, max_in_flight=2, linger=FOREVER)
        tasks = submit(committer, 1)
        await settle()
        tasks += submit(committer, 2, 3)
        await settle()
        assert writer.batches == [[1]]
        tasks += submit(committer, 4)
        await settle()
        assert writer.batches == [[1], [2, 3, 4]]
        await writer.finish(0)
        await writer.finish(1)
        assert len([task.result() for task in tasks]) == 4

    run(scenario())


def test_close_writes_what_lingers_at_once() -> None:
    async def scenario() -> None:
        writer = Writer()
        committer = GroupCommitter(writer.write, max_batch=10, max_in_flight=2, linger=FOREVER)
        tasks = submit(committer, 1)
        await settle()
        tasks += submit(committer, 2)
        await settle()
        closing = asyncio.create_task(committer.close())
        await settle()
        assert writer.batches == [[1], [2]]
        writer.release(0)
        writer.release(1)
        await closing
        assert [task.result() for task in tasks] == ["committed 1", "committed 2"]

    run(scenario())
