"""Liveness, readiness and metrics: public, cheap, and never touching personal data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from greenlane.api.deps import RuntimeDep
from greenlane.observability import POOL_IN_USE, POOL_SIZE, STATE_AGE, metrics_payload
from greenlane.services import health
from greenlane.services.federation import observe_peers
from greenlane.wire.common import Health


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
    async def ready(self, runtime: RuntimeDep) -> Response[Health]:
        checks: dict[str, str] = {}
        if runtime.stopping:  # SIGTERM: a load balancer should stop sending before we close
            checks["shutdown"] = "in_progress"
        else:
            checks.update(await health.database_checks(runtime.db))
        checks["signing_key"] = "ok" if runtime.keyring.signer is not None else "missing"
        ok = all(value == "ok" for value in checks.values()) and "schema" in checks
        verifier = runtime.verifier
        now = datetime.now(UTC)
        return Response(
            Health(
                status="ok" if ok else "unavailable",
                checks=checks,
                verify_mode="online" if verifier.degraded_since is None else "degraded",
                spool_depth=verifier.spool_depth,
                peers={peer.country: peer.status(now) for peer in runtime.peers.states} or None,
            ),
            status_code=200 if ok else 503,
            headers={"Cache-Control": "no-store"},
        )

    @get("/metrics", summary="Prometheus metrics", media_type="text/plain")
    async def metrics(self, runtime: RuntimeDep) -> Response[Any]:
        POOL_SIZE.set(runtime.db.pool.get_size())
        POOL_IN_USE.set(runtime.db.in_use())
        STATE_AGE.set(runtime.live.age())
        observe_peers(runtime.peers.states)
        body, content_type = metrics_payload()
        return Response(body, media_type=content_type)
