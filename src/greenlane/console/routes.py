"""The console's router: its pages, static files, gate, errors and dependencies."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.di import Provide
from litestar.plugins.htmx import HTMXRequest
from litestar.static_files import create_static_files_router

from greenlane.api.deps import runtime_of
from greenlane.console.context import DEPENDENCIES
from greenlane.console.errors import EXCEPTION_HANDLERS
from greenlane.console.gate import ConsoleGate
from greenlane.console.pages import auth
from greenlane.console.pages.agencies import AgenciesController
from greenlane.console.pages.audit import AuditController
from greenlane.console.pages.clearances import ClearancesController
from greenlane.console.pages.directory import DirectoryController
from greenlane.console.pages.keys import KeysController
from greenlane.console.pages.reviews import ReviewsController
from greenlane.console.pages.rules import RulesController
from greenlane.console.pages.today import today
from greenlane.console.pages.watchlist import WatchlistController
from greenlane.console.render import STATIC
from greenlane.services.staff import SignInThrottle

PATH = "/console"
# Sign-in attempts a minute from one address, per worker (each account also locks itself).
SIGN_INS_PER_MINUTE = 30


def console_router() -> Router:
    throttle = SignInThrottle(SIGN_INS_PER_MINUTE)

    def entrance(request: Request[Any, Any, Any]) -> auth.Entrance:
        return auth.Entrance(runtime_of(request.app.state), throttle)

    return Router(
        path=PATH,
        route_handlers=[
            auth.sign_in_page,
            auth.sign_in,
            auth.enrol_page,
            auth.enrol,
            auth.sign_out,
            today,
            ReviewsController,
            ClearancesController,
            RulesController,
            WatchlistController,
            DirectoryController,
            AgenciesController,
            KeysController,
            AuditController,
            create_static_files_router(path="/static", directories=[STATIC], name="console"),
        ],
        dependencies={**DEPENDENCIES, "entrance": Provide(entrance, sync_to_thread=False)},
        middleware=[ConsoleGate],
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=HTMXRequest,
        include_in_schema=False,
    )
