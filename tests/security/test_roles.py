"""Every signed-in route names the roles it admits: the authentication middleware enforces them,
and a route that names none admits nobody, so a forgotten declaration fails closed and here."""

from __future__ import annotations

import re
from collections.abc import Sequence

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from greenlane.api.security import PUBLIC_PATHS, ROLES
from tests.api.actors import Admin


def http_routes(app: Litestar) -> list[HTTPRoute]:
    return [route for route in app.routes if isinstance(route, HTTPRoute)]


def signed_in(handlers: Sequence[HTTPRouteHandler]) -> list[HTTPRouteHandler]:
    """The handlers that authenticate: Litestar answers OPTIONS itself, without credentials."""
    return [handler for handler in handlers if handler.http_methods != {"OPTIONS"}]


def test_every_signed_in_route_names_its_roles(app: Litestar) -> None:
    public = [re.compile(pattern) for pattern in PUBLIC_PATHS]
    unnamed = [
        (sorted(handler.http_methods), route.path)
        for route in http_routes(app)
        for handler in signed_in(route.route_handlers)
        if not any(p.search(route.path) for p in public) and not handler.opt.get(ROLES)
    ]
    assert unnamed == []


def test_a_route_that_names_no_role_admits_nobody(app: Litestar, admin: Admin) -> None:
    (route,) = (r for r in http_routes(app) if r.path == "/v1/admin/audit")
    (handler,) = signed_in(route.route_handlers)
    assert admin.get("/v1/admin/audit").status_code == 200
    roles = handler.opt.pop(ROLES)
    try:
        answer = admin.get("/v1/admin/audit")
    finally:
        handler.opt[ROLES] = roles
    assert answer.status_code == 403
