"""The console's bad inputs and attacks: forged forms, wrong roles, markup in data, framing,
and the two kinds of credentials crossed (a bearer token here, a console cookie on the API)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from greenlane.console.gate import AREA, OPEN_PATHS
from greenlane.domain.staff import StaffRole

from ..api.actors import Actor, Admin
from .people import Person, signed_in

Enrol = Callable[[StaffRole], Person]
CLIENT_ROWS = re.compile(r"<code>([0-9a-f-]{36})</code></td>\s*<td>enabled</td>")


def test_a_form_without_the_csrf_token_changes_nothing(
    client: TestClient[Litestar], agency_admin: tuple[Person, str], admin: Admin
) -> None:
    lane = admin.lane_actor()
    refused = client.post(f"/console/directory/clients/{lane.client_id}/disable")
    assert refused.status_code == 403
    assert "Nothing was changed" in refused.text
    assert lane.get("/v1/me").status_code == 200  # still enabled
    refused = client.post("/console/keys/rotate", data={"_confirm": "rotate"})
    assert refused.status_code == 403
    assert "key.rotate" not in admin.get("/v1/admin/audit?limit=200").text


def test_a_form_with_another_sessions_csrf_token_changes_nothing(
    client: TestClient[Litestar],
    agency_admin: tuple[Person, str],
    admin: Admin,
    enrol: Enrol,
) -> None:
    lane = admin.lane_actor()
    mine = client.cookies["greenlane-session"]
    other_token = signed_in(client, enrol("agency_admin"))  # someone else's session
    client.cookies.set("greenlane-session", mine)
    refused = client.post(
        f"/console/directory/clients/{lane.client_id}/disable", data={"_csrf": other_token}
    )
    assert refused.status_code == 403
    refused = client.post(
        f"/console/directory/clients/{lane.client_id}/disable",
        headers={"X-CSRF-Token": other_token},
    )
    assert refused.status_code == 403
    assert lane.get("/v1/me").status_code == 200


def test_a_form_sent_from_another_site_is_refused_even_with_the_token(
    client: TestClient[Litestar], agency_admin: tuple[Person, str], admin: Admin
) -> None:
    _person, csrf = agency_admin
    lane = admin.lane_actor()
    refused = client.post(
        f"/console/directory/clients/{lane.client_id}/disable",
        data={"_csrf": csrf},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert refused.status_code == 403
    assert lane.get("/v1/me").status_code == 200
    accepted = client.post(
        f"/console/directory/clients/{lane.client_id}/disable",
        data={"_csrf": csrf},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    assert lane.get("/v1/me").status_code == 401  # disabled at once


def test_the_sign_in_form_needs_its_own_token(client: TestClient[Litestar], enrol: Enrol) -> None:
    person = enrol("reviewer")
    forged = client.post(
        "/console/login",
        data={"email": person.email, "password": person.password, "code": person.next_code()},
    )
    assert forged.status_code == 403
    assert "greenlane-session" not in client.cookies


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("reviewer", "/console/rules"),
        ("reviewer", "/console/rules/new"),
        ("reviewer", "/console/watchlist"),
        ("reviewer", "/console/keys"),
        ("reviewer", "/console/audit"),
        ("reviewer", "/console/directory"),
        ("reviewer", "/console/agencies"),
        ("rule_admin", "/console/reviews"),
        ("rule_admin", "/console/directory"),
        ("rule_admin", "/console/agencies"),
        ("rule_admin", "/console/reviews/find?id=00000000-0000-0000-0000-000000000000"),
    ],
)
def test_a_page_outside_ones_role_is_a_403_page(
    client: TestClient[Litestar], enrol: Enrol, role: StaffRole, path: str
) -> None:
    signed_in(client, enrol(role))
    refused = client.get(path)
    assert refused.status_code == 403
    assert "not part of your role" in refused.text
    assert refused.headers["content-type"].startswith("text/html")


def test_a_reviewer_cannot_rotate_keys_by_posting_either(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin
) -> None:
    csrf = signed_in(client, enrol("reviewer"))
    refused = client.post("/console/keys/rotate", data={"_csrf": csrf, "_confirm": "rotate"})
    assert refused.status_code == 403
    assert "key.rotate" not in admin.get("/v1/admin/audit?limit=200").text


def test_each_role_sees_only_its_sections(client: TestClient[Litestar], enrol: Enrol) -> None:
    signed_in(client, enrol("reviewer"))
    nav = client.get("/console/").text.split("</nav>")[0]
    assert 'href="/console/reviews"' in nav
    assert 'href="/console/rules"' not in nav
    assert 'href="/console/audit"' not in nav
    assert 'href="/console/agencies"' not in nav


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_markup_in_names_and_rules_is_shown_as_text(
    client: TestClient[Litestar], agency_admin: tuple[Person, str]
) -> None:
    _person, csrf = agency_admin
    created = client.post(
        "/console/directory/partners",
        data={
            "_csrf": csrf,
            "name": MARKUP[:100],
            "country": "THA",
            "contact_email": "a@b.example",
        },
    )
    assert created.status_code == 200, created.text
    rule = client.post(
        "/console/rules",
        data={
            "_csrf": csrf,
            "name": "<b>bold</b> rule",
            "condition": f"traveller.surname != '{MARKUP}'",
            "effect": "refer",
            "reason_code": "markup_test",
            "message": MARKUP,
        },
    )
    assert rule.status_code == 200, rule.text
    for page in (client.get("/console/directory").text, rule.text):
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert" in page
    assert "&lt;b&gt;bold&lt;/b&gt; rule" in client.get("/console/rules").text


PAGES = (
    "/console/",
    "/console/reviews",
    "/console/rules",
    "/console/rules/new",
    "/console/watchlist",
    "/console/directory",
    "/console/agencies",
    "/console/keys",
    "/console/audit",
    "/console/audit/verify",
)


def test_no_page_has_inline_script_or_event_handlers(
    client: TestClient[Litestar], agency_admin: tuple[Person, str]
) -> None:
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, path
        page = answer.text
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
        assert re.findall(r"\son[a-z]+\s*=", page) == []


@pytest.mark.parametrize("path", ["/console/login", "/console/", "/console/rules"])
def test_every_answer_forbids_framing_and_inline_script(
    client: TestClient[Litestar], agency_admin: tuple[Person, str], path: str
) -> None:
    answer = client.get(path, follow_redirects=False)
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"


def test_even_the_gates_refusals_forbid_framing(client: TestClient[Litestar]) -> None:
    refused = client.get("/console/rules", follow_redirects=False)
    assert refused.status_code == 303
    assert "frame-ancestors 'none'" in refused.headers["content-security-policy"]
    assert refused.headers["x-frame-options"] == "DENY"


def test_an_api_token_opens_no_console_page(admin: Admin) -> None:
    for path in ("/console/", "/console/rules", "/console/audit"):
        answer = admin.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/login"
    posted = admin.post("/console/keys/rotate", data={"_confirm": "rotate"})
    assert posted.status_code == 401


def test_a_console_cookie_opens_no_api_route(
    client: TestClient[Litestar], agency_admin: tuple[Person, str]
) -> None:
    assert client.cookies["greenlane-session"]
    for path in ("/v1/admin/rules", "/v1/admin/audit", "/v1/me"):
        answer = client.get(path)
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_disabled_clients_token_is_refused_at_once(
    client: TestClient[Litestar], agency_admin: tuple[Person, str], partner: Actor
) -> None:
    _person, csrf = agency_admin
    assert partner.get("/v1/me").status_code == 200
    page = client.get("/console/directory").text
    assert partner.client_id in CLIENT_ROWS.findall(page)
    client.post(f"/console/directory/clients/{partner.client_id}/disable", data={"_csrf": csrf})
    assert partner.get("/v1/me").status_code == 401
    assert partner.client_id not in CLIENT_ROWS.findall(client.get("/console/directory").text)


def console_routes(app: Litestar) -> list[tuple[HTTPRoute, HTTPRouteHandler]]:
    return [
        (route, handler)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/console")
        for handler in route.route_handlers
        if handler.http_methods != {"OPTIONS"}
    ]


def test_every_console_route_but_the_open_ones_names_its_area(app: Litestar) -> None:
    unnamed = [
        (sorted(handler.http_methods), route.path)
        for route, handler in console_routes(app)
        if not (route.path + "/").startswith(OPEN_PATHS) and not handler.opt.get(AREA)
    ]
    assert unnamed == []
    assert len(console_routes(app)) > 20


def test_a_console_route_that_names_no_area_admits_nobody(
    client: TestClient[Litestar], app: Litestar, agency_admin: tuple[Person, str]
) -> None:
    (handler,) = (h for route, h in console_routes(app) if route.path == "/console/audit")
    assert client.get("/console/audit").status_code == 200
    named = handler.opt.pop(AREA)
    try:
        answer = client.get("/console/audit")
    finally:
        handler.opt[AREA] = named
    assert answer.status_code == 403
