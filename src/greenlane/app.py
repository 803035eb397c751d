"""The one module that wires greenlane together: settings, lifespan, routes, errors, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from greenlane import runtime
from greenlane.api.admin_audit import AuditController
from greenlane.api.admin_decisions import DecisionsController
from greenlane.api.admin_identity import ClientsController, PartnersController, PortsController
from greenlane.api.admin_rules import RulesController
from greenlane.api.admin_watchlist import WatchlistController
from greenlane.api.applications import ApplicationsController, ClearancesController
from greenlane.api.body_deadline import BodyDeadline
from greenlane.api.deps import DEPENDENCIES
from greenlane.api.federation import AgenciesController, crossing_receipt, lane_peers, trust_list
from greenlane.api.lane_direct import LaneDirect
from greenlane.api.lanes import jwks, revocations
from greenlane.api.lifecycle import AdminCaseController, CaseController
from greenlane.api.me import me
from greenlane.api.oauth import token
from greenlane.api.operations import OperationsController
from greenlane.api.problems import EXCEPTION_HANDLERS, document_problems
from greenlane.api.registration import TravellersController, VehiclesController
from greenlane.api.request_body import RefusingRepeatedKeys
from greenlane.api.security import authentication
from greenlane.api.status_lists import SuspensionsController, status_list, status_lists
from greenlane.api.trips import TripsController
from greenlane.api.verify import lane_router
from greenlane.api.webhooks import WebhooksController
from greenlane.console.render import template_config
from greenlane.console.routes import console_router
from greenlane.errors import SettingsError
from greenlane.observability import RequestObserver, configure_logging
from greenlane.settings import Settings, load_settings

MAX_BODY_BYTES = 64 * 1024
API_VERSION = "1.0.0"


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the ASGI application; the database pool opens when the lifespan starts."""
    settings = settings or load_settings()
    if settings.database_url is None:
        raise SettingsError("GREENLANE_DATABASE_URL: required to serve (greenlane serve sets it)")
    database_url = settings.database_url

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        app.state.runtime = await runtime.start(settings, database_url)
        try:
            yield
        finally:
            await app.state.runtime.stop()

    app = Litestar(
        route_handlers=[
            OperationsController,
            token,
            me,
            PartnersController,
            PortsController,
            ClientsController,
            AuditController,
            RulesController,
            WatchlistController,
            TravellersController,
            VehiclesController,
            ApplicationsController,
            ClearancesController,
            TripsController,
            DecisionsController,
            CaseController,
            AdminCaseController,
            jwks,
            revocations,
            status_list,
            status_lists,
            SuspensionsController,
            lane_router,
            console_router(),
            WebhooksController,
            trust_list,
            crossing_receipt,
            lane_peers,
            AgenciesController,
        ],
        dependencies=DEPENDENCIES,
        middleware=[authentication()],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_BODY_BYTES,
        request_class=RefusingRepeatedKeys,  # the lane router keeps Litestar's own
        logging_config=None,
        openapi_config=openapi_config(),
        template_config=template_config(),
        debug=False,
    )
    handler = app.asgi_handler
    if settings.lane_direct:
        handler = LaneDirect(handler, app, MAX_BODY_BYTES)
    app.asgi_handler = RequestObserver(
        BodyDeadline(handler, settings.body_read_timeout_seconds),
        every=settings.access_log_every,
        slow_ms=settings.access_log_slow_ms,
    )
    document_problems(app.openapi_schema)
    return app


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="greenlane",
        version=API_VERSION,
        description=(
            "A border-crossing green channel: partner registration, eligibility rules, "
            "signed clearance tokens and lane verification."
        ),
        path="/schema",
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
        create_examples=False,
    )
