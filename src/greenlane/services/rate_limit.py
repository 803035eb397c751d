"""Per-client request rate limits."""

from __future__ import annotations

import math
import time
import uuid

from greenlane.domain.access_tokens import Role


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests, refilled continuously.

    Buckets live in each worker, so N workers admit up to N times the configured rate; the
    limit is a guard against a runaway client, not a billing meter.
    """

    def __init__(self, per_minute: dict[Role, int]) -> None:
        self._rate = {role: limit / 60.0 for role, limit in per_minute.items()}
        self._capacity = {role: float(limit) for role, limit in per_minute.items()}
        self._buckets: dict[uuid.UUID, tuple[float, float]] = {}

    def retry_after(self, client_id: uuid.UUID, role: Role) -> int | None:
        """None when the request may go ahead, else the seconds until it could."""
        now = time.monotonic()
        capacity, rate = self._capacity[role], self._rate[role]
        tokens, last = self._buckets.get(client_id, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[client_id] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))
        self._buckets[client_id] = (tokens - 1.0, now)
        return None
