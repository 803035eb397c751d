"""Metrics counted on every request, added up in this process and written twice a second.

Under several workers prometheus_client keeps each metric in a memory-mapped file per process,
and every ``inc`` or ``observe`` is a write to it under a lock: about 2 µs for a counter and
3 µs for a histogram, four of them on every lane verification. Here a request adds to a dict
(a fraction of a microsecond) and ``flush`` writes what was counted since the last one, one
write per label set and bucket. ``flush`` runs from each worker's housekeeping (every half
second), when it stops, and before ``/metrics`` is collected, so a scrape sees its own worker
exactly and the others at most a flush late.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from prometheus_client import Counter, Histogram


class TalliedCounter:
    """A labelled ``Counter`` whose increments wait in this process for ``flush``."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.metric = Counter(name, documentation, labelnames)
        self._pending: dict[tuple[str, ...], int] = {}
        _TALLIES.append(self)

    def inc(self, *labels: str) -> None:
        self._pending[labels] = self._pending.get(labels, 0) + 1

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for labels, amount in pending.items():
            self.metric.labels(*labels).inc(amount)


class _BucketedHistogram(Histogram):
    """A ``Histogram`` that takes observations already sorted into its buckets."""

    def add_counts(self, counts: Sequence[int], total: float) -> None:
        # As ``observe`` leaves them: each observation in the first bucket that holds it
        # (the exposition makes them cumulative), and their sum.
        self._sum.inc(total)
        for bucket, count in zip(self._buckets, counts, strict=True):
            if count:
                bucket.inc(count)


class TalliedHistogram:
    """A labelled ``Histogram`` whose observations wait in this process for ``flush``."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> None:
        self.metric = _BucketedHistogram(name, documentation, labelnames, buckets=buckets)
        self._bounds = [*buckets, float("inf")]  # prometheus_client adds +Inf the same way
        self._pending: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}
        _TALLIES.append(self)

    def observe(self, value: float, *labels: str) -> None:
        pending = self._pending.get(labels)
        if pending is None:
            pending = self._pending[labels] = ([0] * len(self._bounds), [0.0])
        counts, total = pending
        counts[bisect.bisect_left(self._bounds, value)] += 1
        total[0] += value

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for labels, (counts, total) in pending.items():
            child = self.metric.labels(*labels)
            assert isinstance(child, _BucketedHistogram)
            child.add_counts(counts, total[0])


_TALLIES: list[TalliedCounter | TalliedHistogram] = []


def flush() -> None:
    """Write everything this process has counted since the last flush."""
    for tally in _TALLIES:
        tally.flush()
