"""Contract fuzzing: schemathesis sends generated requests to every operation of the published
OpenAPI document, as every role that may call it and as one that may not, and holds each answer
to the document: no 5xx, the status documented, the body valid against its schema, the content
type as declared.

The document fuzzed is the committed ``openapi/openapi.json`` (the contract clients build on; a
foundation test keeps it equal to the app's). Requests go in-process to the production app over
the real database, where one partner's traveller, vehicle and approved application are seeded so
that id-taking routes hit real records as well as missing ones.

``GREENLANE_FUZZ_EXAMPLES`` sets the examples per operation (25 in CI, which keeps the whole
suite under 20 minutes on 2 cores; ``make fuzz`` runs 500).
``GREENLANE_FUZZ_SEED`` fixes the generator's seed: CI keeps the default one so that a red run
replays exactly, and ``make fuzz`` draws a new one each time (and prints it) to explore further.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pytest
import schemathesis
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from greenlane.app import create_app
from greenlane.domain.default_rules import DEFAULT_RULES
from greenlane.settings import Settings

from ..api import bodies, lane_setup
from ..api.actors import Actor, Admin, make_admin_credentials
from ..conftest import empty_tables, run

OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
EXAMPLES = int(os.environ.get("GREENLANE_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("GREENLANE_FUZZ_SEED", "20260101"))

# schemathesis also treats the bearer scheme as a header parameter: its negative cases drop the
# Authorization header, so that every secured route is held to its documented 401 as well.
schema = schemathesis.openapi.from_path(
    OPENAPI,
    config=schemathesis.Config.from_dict(
        # No example database: a run must not depend on (or write) a previous run's finds.
        {"seed": SEED, "generation": {"max-examples": EXAMPLES, "database": "none"}}
    ),
)

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]

Caller = Literal["admin", "partner", "lane", "anonymous"]
# Who may call what, by path prefix; a route missing here fails the run until it is classified.
ALLOWED: tuple[tuple[str, tuple[Caller, ...]], ...] = (
    ("/v1/admin/", ("admin",)),
    ("/v1/me", ("admin", "partner", "lane")),
    ("/v1/revocations", ("lane", "admin")),
    ("/v1/verify", ("lane",)),
    ("/v1/travellers", ("partner",)),
    ("/v1/vehicles", ("partner",)),
    ("/v1/applications", ("partner",)),
    ("/v1/trips", ("partner",)),
    ("/v1/clearances/{clearance_id}/suspend", ("admin",)),
    ("/v1/clearances/{clearance_id}/reinstate", ("admin",)),
    ("/v1/clearances", ("partner",)),
    ("/v1/status-lists", ("anonymous",)),
    ("/v1/webhooks", ("partner",)),
    ("/health/", ("anonymous",)),
    ("/metrics", ("anonymous",)),
    ("/.well-known/", ("anonymous",)),
    ("/oauth/token", ("anonymous",)),
    ("/v1/federation/crossings", ("anonymous",)),  # a peer agency's signed receipt
    ("/v1/federation/peers", ("lane", "admin")),
)
# Each secured route is also called as the first of these it refuses, for its 403 (or 401).
REFUSED_ORDER: tuple[Caller, ...] = ("partner", "lane", "admin", "anonymous")
CALLER_HEADER = "X-Fuzz-Caller"


def callers(path: str) -> tuple[Caller, ...]:
    allowed = next((roles for prefix, roles in ALLOWED if path.startswith(prefix)), None)
    assert allowed is not None, f"{path}: add it to ALLOWED in {__name__}"
    if allowed == ("anonymous",):
        return allowed
    refused = next(role for role in REFUSED_ORDER if role not in allowed)
    return (*allowed, refused)


@dataclass(frozen=True)
class Target:
    """The app under fuzz, a bearer header per caller, and seeded ids by path parameter."""

    app: Litestar
    headers: dict[Caller, dict[str, str]]
    ids: dict[str, str]
    # DELETE gets records of its own, so that erasing one leaves the others' targets in place.
    doomed_ids: dict[str, str]

    def seeded(self, method: str, path_parameters: dict[str, object]) -> dict[str, object]:
        ids = self.doomed_ids if method.upper() == "DELETE" else self.ids
        return {name: ids.get(name, value) for name, value in path_parameters.items()}


def fuzz_settings(settings: Settings) -> Settings:
    # The rate limiter would answer most generated requests 429 and hide what the route says;
    # the tokens must outlive a `make fuzz` run.
    return replace(
        settings,
        rate_limit_admin=10**6,
        rate_limit_partner=10**6,
        rate_limit_lane=10**6,
        access_token_ttl=6 * 3600,
        webhook_concurrency=0,  # endpoints the fuzzer registers are never called
    )


WEBHOOK: dict[str, object] = {
    "url": "https://93.184.215.14/hooks",
    "events": ["application.approved"],
}


def registered(partner: Actor, route: str, body: dict[str, object]) -> str:
    response = partner.post(route, json=body)
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


def seeded_target(settings: Settings) -> Target:
    """Sign in a client of each role and give the partner a traveller, a vehicle, a clearance.

    The seeding goes through an app of its own, whose lifespan ends before the fuzzed one starts.
    """
    with TestClient(app=create_app(settings), raise_server_exceptions=False) as http:
        admin = Admin(http, *make_admin_credentials(settings))
        lane = admin.lane_actor(lane_setup.PORT)
        partner = admin.partner_actor()
        application = lane_setup.issue(partner, with_vehicle=True).application
        webhook = registered(partner, "/v1/webhooks", WEBHOOK)
        delivery = partner.post(f"/v1/webhooks/{webhook}/test").json()["id"]
        spare_client, _ = admin.new_client(
            role="lane", name="spare", port_code=lane_setup.PORT, lane_code="L9"
        )
        doomed_ids = {
            "traveller_id": registered(partner, "/v1/travellers", bodies.traveller()),
            "vehicle_id": registered(partner, "/v1/vehicles", bodies.vehicle()),
            "client_id": spare_client,
            "rule_id": DEFAULT_RULES[0].id,
            "webhook_id": registered(partner, "/v1/webhooks", WEBHOOK),
        }
    bearers: dict[Caller, dict[str, str]] = {
        "admin": admin.headers,
        "partner": partner.headers,
        "lane": lane.headers,
        "anonymous": {},
    }
    ids = {
        "traveller_id": application["traveller_id"],
        "vehicle_id": application["vehicle_id"],
        "application_id": application["id"],
        "clearance_id": application["clearance"]["id"],
        "rule_id": DEFAULT_RULES[0].id,
        "webhook_id": webhook,
        "delivery_id": delivery,
    }
    # The caller's name rides along so that a failure's `curl` line says who sent it.
    headers = {caller: {CALLER_HEADER: caller, **bearer} for caller, bearer in bearers.items()}
    return Target(create_app(settings), headers, ids, doomed_ids)


@pytest.fixture(scope="module")
def target(settings: Settings, database_url: str) -> Iterator[Target]:
    fuzzed = fuzz_settings(settings)
    try:
        yield seeded_target(fuzzed)
    finally:
        # schemathesis runs the app's lifespan on an event loop of its own: end it first.
        asgi.shutdown_lifespans()
        run(empty_tables(database_url))


@schema.parametrize()
@schema.given(use_seeded_ids=st.booleans())
def test_every_operation_keeps_its_contract(
    case: schemathesis.Case[Any], use_seeded_ids: bool, target: Target
) -> None:
    if use_seeded_ids and case.path_parameters:
        case.path_parameters = target.seeded(case.method, case.path_parameters)
    for caller in callers(case.operation.path):
        case.call_and_validate(app=target.app, headers=target.headers[caller], checks=CHECKS)


# What fuzzing and attacks found, replayed on every run whatever the seed draws; each is a
# client's mistake that must be answered 400 or 422, as documented. (1) The ports list pages by
# port code and handed a raw cursor to PostgreSQL, whose text cannot hold NUL: a 500 until such
# text was answered 400; now a ports cursor must be shaped like a port code (422) before any SQL.
# (2) A NUL in a body's text is a 400. (3) A repeated form parameter at /oauth/token was an
# undocumented 422 problem, not RFC 6749's 400 `invalid_request`. (4) A keyset cursor whose time
# leaves years 1 to 9999 once in UTC (issue 13) reached the query: a 500, now a 422.
YEAR_0_CURSOR = (
    base64.urlsafe_b64encode(
        b'["0001-01-01T00:00:00+14:00","00000000-0000-4000-8000-000000000000"]'
    )
    .rstrip(b"=")
    .decode()
)
FOUND = [
    pytest.param(
        "admin", "GET", "/v1/admin/ports", {"query": {"cursor": "u\x00"}}, 422, id="cursor"
    ),
    pytest.param(
        "admin",
        "POST",
        "/v1/admin/partners",
        {"body": {"name": "a\x00", "country": "THA", "contact_email": "ops@acme.example"}},
        400,
        id="body",
    ),
    pytest.param(
        "anonymous",
        "POST",
        "/oauth/token",
        {"body": {"grant_type": ["client_credentials", "client_credentials"]}},
        400,
        id="repeated-form-field",
    ),
    pytest.param(
        "admin",
        "GET",
        "/v1/admin/clients",
        {"query": {"cursor": YEAR_0_CURSOR}},
        422,
        id="cursor-out-of-range",
    ),
]


@pytest.mark.parametrize(("caller", "method", "path", "request_parts", "status"), FOUND)
def test_what_fuzzing_found_stays_fixed(
    target: Target,
    caller: Caller,
    method: str,
    path: str,
    request_parts: dict[str, Any],
    status: int,
) -> None:
    case = schema[path][method].Case(**request_parts)
    response = case.call_and_validate(app=target.app, headers=target.headers[caller], checks=CHECKS)
    assert response.status_code == status, response.text


def test_every_operation_is_fuzzed_as_its_roles_and_a_refused_one() -> None:
    paths = [result.ok().path for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(paths) >= 40
    assert all(callers(path) for path in paths)
    assert callers("/v1/admin/keys") == ("admin", "partner")
    assert callers("/v1/me") == ("admin", "partner", "lane", "anonymous")
    assert callers("/health/live") == ("anonymous",)
