"""Per-client token buckets, one set per worker: the arithmetic docs/operations.md states."""

from __future__ import annotations

import uuid
from itertools import cycle, islice

from greenlane.services.rate_limit import RateLimiter

LIMIT = 3  # requests a minute, so the bucket refills one request every 20 s
WORKERS = 4


def limiter() -> RateLimiter:
    return RateLimiter({"admin": LIMIT, "partner": LIMIT, "lane": LIMIT})


def test_one_worker_admits_a_full_bucket_then_says_when_to_retry() -> None:
    client = uuid.uuid4()
    worker = limiter()
    answers = [worker.retry_after(client, "partner") for _ in range(LIMIT + 1)]
    assert answers == [None] * LIMIT + [60 // LIMIT]


def test_buckets_are_per_worker_so_a_client_spread_over_them_gets_each_ones() -> None:
    client = uuid.uuid4()
    workers = [limiter() for _ in range(WORKERS)]
    asked = [w.retry_after(client, "lane") for w in islice(cycle(workers), WORKERS * LIMIT + 1)]
    assert asked.count(None) == WORKERS * LIMIT  # workers x limit, as the docs say
    assert asked[-1] is not None


def test_a_client_on_one_worker_gets_the_limit_itself() -> None:
    client, other = uuid.uuid4(), uuid.uuid4()
    worker = limiter()
    assert [worker.retry_after(client, "admin") for _ in range(LIMIT)] == [None] * LIMIT
    assert worker.retry_after(client, "admin") is not None
    assert worker.retry_after(other, "admin") is None  # buckets are per client
