"""Liveness, readiness and metrics: public, cheap, and never touching personal data."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from greenlane.api.deps import runtime_of
from greenlane.db.pool import Database
from greenlane.migrate import head_revision
from greenlane.observability import POOL_IN_USE, POOL_SIZE, STATE_AGE, metrics_payload

_logger = logging.getLogger("greenlane.health")
READINESS_TIMEOUT = 2.0


class Health(msgspec.Struct, omit_defaults=True):
    status: str
    checks: dict[str, str]
    verify_mode: str | None = None  # "degraded" while verifications go to the local spool
    spool_depth: int | None = None


class OperationsController(Controller):
    path = "/"
    tags = ["operations"]
    include_in_schema = True

    @get("/health/live", summary="The process is running")
    async def live(self) -> Health:
        return Health(status="ok", checks={})

    @get(
        "/health/ready",
        summary="Ready to serve: database answers, schema at head, signing key loaded",
        responses={
            503: ResponseSpec(
                Health, description="Not ready (or shutting down)", generate_examples=False
            )
        },
    )
    async def ready(self, state: State) -> Response[Health]:
        runtime = runtime_of(state)
        checks: dict[str, str] = {}
        if runtime.stopping:  # SIGTERM: a load balancer should stop sending before we close
            checks["shutdown"] = "in_progress"
        else:
            await _check_database(runtime.db, checks)
        checks["signing_key"] = "ok" if runtime.keyring.signer is not None else "missing"
        ok = all(value == "ok" for value in checks.values()) and "schema" in checks
        verifier = runtime.verifier
        return Response(
            Health(
                status="ok" if ok else "unavailable",
                checks=checks,
                verify_mode="online" if verifier.degraded_since is None else "degraded",
                spool_depth=verifier.spool_depth,
            ),
            status_code=200 if ok else 503,
            headers={"Cache-Control": "no-store"},
        )

    @get("/metrics", summary="Prometheus metrics", media_type="text/plain")
    async def metrics(self, state: State) -> Response[Any]:
        runtime = runtime_of(state)
        POOL_SIZE.set(runtime.db.pool.get_size())
        POOL_IN_USE.set(runtime.db.in_use())
        STATE_AGE.set(runtime.live.age())
        body, content_type = metrics_payload()
        return Response(body, media_type=content_type)


async def _check_database(db: Database, checks: dict[str, str]) -> None:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT):
            async with db.connection() as conn:
                version = await conn.fetchval("SELECT version_num FROM alembic_version")
        checks["database"] = "ok"
        checks["schema"] = "ok" if version == head_revision() else "behind"
    except Exception as exc:  # any failure to answer means "not ready", whatever its kind
        _logger.warning("readiness: database check failed", exc_info=(type(exc), exc, None))
        checks["database"] = "unavailable"
