"""Dry runs through the admin API: the default rules decide, rules that fail refer, nothing is
stored, and a dry run says exactly what filing the same application would."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from greenlane.domain.countries import RCEP_MEMBERS_SORTED, alpha2
from greenlane.domain.default_rules import DEFAULT_RULES
from greenlane.domain.rules import compile_condition

from ..conditions import nested
from ..conftest import ROOT
from ..database import connect
from ..waiting import eventually
from . import bodies
from .actors import Actor, Admin
from .problems import assert_problem

DRY_RUN = "/v1/admin/rules/dry-run"
RULES = "/v1/admin/rules"
DEFAULT_IDS = {rule.id for rule in DEFAULT_RULES}
PASSENGER_PORT = "THDMK"


@pytest.fixture
def passenger_port(admin: Admin) -> str:
    """A port open to passengers only (``partner`` opens THBKK to vehicles too)."""
    admin.port(PASSENGER_PORT, kinds=["passenger"])
    return PASSENGER_PORT


def register(partner: Actor, body: dict[str, Any]) -> str:
    response = partner.post("/v1/travellers", json=body)
    assert response.status_code == 201, response.text
    traveller_id: str = response.json()["id"]
    return traveller_id


def register_vehicle(partner: Actor, **changes: Any) -> str:
    response = partner.post("/v1/vehicles", json=bodies.vehicle(**changes))
    assert response.status_code == 201, response.text
    vehicle_id: str = response.json()["id"]
    return vehicle_id


def with_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = bodies.traveller()["document"]
    document.update(changes)
    return document


def dry_run(admin: Admin, body: dict[str, Any]) -> dict[str, Any]:
    response = admin.post(DRY_RUN, json={"application": body})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def codes(result: dict[str, Any]) -> list[str]:
    return [reason["reason_code"] for reason in result["reasons"]]


def judged(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["rule_id"]: r for r in result["results"]}


def dry_run_when(
    admin: Admin, body: dict[str, Any], done: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """The dry run of ``body`` once ``done`` holds of it: the serving worker follows a change
    by LISTEN/NOTIFY, a moment after the answer that made it."""

    def settled() -> dict[str, Any] | None:
        result = dry_run(admin, body)
        return result if done(result) else None

    return eventually(settled, what=what, timeout=2.0)


def create_rule(admin: Admin, body: dict[str, Any]) -> dict[str, Any]:
    response = admin.post(RULES, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def rule_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Test rule",
        "condition": "true",
        "effect": "refer",
        "reason_code": "test_rule",
        "message": "A test rule did not hold.",
    }
    body.update(changes)
    return body


def judged_once_loaded(admin: Admin, body: dict[str, Any], rule_id: str) -> dict[str, Any]:
    """The dry run of ``body`` once the worker runs ``rule_id``."""
    return dry_run_when(
        admin,
        body,
        lambda result: rule_id in judged(result),
        "the worker to load the new rule",
    )


# --- the default rules --------------------------------------------------------------------------


def test_a_thai_business_visitor_is_approved_by_every_default_rule(
    admin: Admin, partner: Actor
) -> None:
    result = dry_run(admin, bodies.application(register(partner, bodies.traveller())))
    assert result["status"] == "approved"
    assert result["reasons"] == []
    assert result["watchlist_hit"] is False
    by_rule = judged(result)
    assert set(by_rule) == DEFAULT_IDS
    for default in DEFAULT_RULES:
        evaluation = by_rule[default.id]
        assert evaluation["result"] == "pass"
        assert (evaluation["version"], evaluation["name"]) == (1, default.name)
        assert evaluation["reason_code"] == default.reason_code
        assert isinstance(evaluation["elapsed_us"], int)
        assert 0 <= evaluation["elapsed_us"] < 1_000_000
        assert evaluation["cost"] == compile_condition(default.condition).cost.steps
        assert "error" not in evaluation


def test_a_filed_application_is_dry_run_by_its_id(admin: Admin, partner: Actor) -> None:
    body = bodies.application(register(partner, bodies.traveller(nationality="DEU")))
    filed = partner.post("/v1/applications", json=body)
    assert filed.status_code == 201, filed.text
    response = admin.post(DRY_RUN, json={"application_id": filed.json()["id"]})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["status"], codes(result)) == ("rejected", ["nationality_not_eligible"])
    assert result["reasons"] == filed.json()["reasons"]
    assert set(judged(result)) == DEFAULT_IDS


def count_rows(database_url: str) -> dict[str, int]:
    async def count() -> dict[str, int]:
        conn = await connect(database_url)
        try:
            return {
                table: await conn.fetchval(f"SELECT count(*) FROM {table}")
                for table in ("applications", "clearances", "audit_log", "idempotency_keys")
            }
        finally:
            await conn.close()

    return asyncio.run(count())


def test_a_dry_run_stores_nothing(admin: Admin, partner: Actor, database_url: str) -> None:
    approved = bodies.application(register(partner, bodies.traveller()))
    filed = partner.post("/v1/applications", json=approved)
    assert filed.status_code == 201, filed.text
    before = count_rows(database_url)
    assert before["applications"] == before["clearances"] == 1

    assert dry_run(admin, approved)["status"] == "approved"
    by_id = admin.post(DRY_RUN, json={"application_id": filed.json()["id"]})
    assert by_id.json()["status"] == "approved"
    assert count_rows(database_url) == before


@pytest.mark.parametrize(
    ("traveller", "trip", "reason_code"),
    [
        (
            bodies.traveller(nationality="DEU", document=with_document(issuing_state="DEU")),
            {},
            "nationality_not_eligible",
        ),
        (
            # The trip ends in 10 days: 100 days of validity after it are not 180.
            bodies.traveller(document=with_document(expiry_date=bodies.in_days(10 + 100))),
            {},
            "document_validity_insufficient",
        ),
        (bodies.driver(), {"valid_until": bodies.in_days(45)}, "stay_too_long"),
    ],
)
def test_the_default_rules_reject_a_traveller(
    admin: Admin,
    partner: Actor,
    traveller: dict[str, Any],
    trip: dict[str, Any],
    reason_code: str,
) -> None:
    traveller_id = register(partner, traveller)
    result = dry_run(admin, bodies.application(traveller_id, **trip))
    assert (result["status"], codes(result)) == ("rejected", [reason_code])
    [reason] = result["reasons"]
    failed = [r for r in result["results"] if r["result"] == "fail"]
    assert [(r["rule_id"], r["effect"]) for r in failed] == [(reason["rule_id"], "deny")]


def test_a_commercial_driver_may_stay_30_days_counting_both_ends(
    admin: Admin, partner: Actor
) -> None:
    traveller_id = register(partner, bodies.driver())
    trip = {"valid_from": bodies.in_days(1), "valid_until": bodies.in_days(30)}
    assert dry_run(admin, bodies.application(traveller_id, **trip))["status"] == "approved"
    trip["valid_until"] = bodies.in_days(31)
    assert codes(dry_run(admin, bodies.application(traveller_id, **trip))) == ["stay_too_long"]


@pytest.mark.parametrize(
    ("vehicle", "ports", "reason_code"),
    [
        ({"insurance_expiry": bodies.in_days(-10)}, ["THBKK"], "insurance_insufficient"),
        ({"insurance_expiry": bodies.in_days(9)}, ["THBKK"], "insurance_insufficient"),
        ({}, ["THBKK", PASSENGER_PORT], "port_not_for_vehicles"),
    ],
)
@pytest.mark.usefixtures("passenger_port")
def test_the_default_rules_reject_a_vehicle(
    admin: Admin,
    partner: Actor,
    vehicle: dict[str, Any],
    ports: list[str],
    reason_code: str,
) -> None:
    body = bodies.application(
        register(partner, bodies.driver()),
        vehicle_id=register_vehicle(partner, **vehicle),
        ports=ports,
    )
    result = dry_run(admin, body)
    assert (result["status"], codes(result)) == ("rejected", [reason_code])


def test_an_expired_driving_licence_cannot_bring_a_vehicle(admin: Admin, partner: Actor) -> None:
    driver = bodies.driver()
    driver["driving_licence"]["expiry_date"] = bodies.in_days(5)
    body = bodies.application(register(partner, driver), vehicle_id=register_vehicle(partner))
    assert codes(dry_run(admin, body)) == ["driving_licence_invalid"]


def test_a_watchlisted_document_is_referred(admin: Admin, partner: Actor) -> None:
    traveller = bodies.traveller()
    body = bodies.application(register(partner, traveller))
    document = traveller["document"]
    added = admin.post(
        "/v1/admin/watchlist",
        json={
            "kind": "document",
            "issuing_state": document["issuing_state"],
            "number": document["number"],
            "reason": "reported stolen",
        },
    )
    assert added.status_code == 201, added.text
    result = dry_run_when(
        admin,
        body,
        lambda result: result["watchlist_hit"],
        "the worker to load the watchlist entry",
    )
    assert result["status"] == "referred"
    [reason] = result["reasons"]
    assert (reason["rule_id"], reason["reason_code"], reason["effect"]) == (
        None,
        "watchlist_hit",
        "refer",
    )
    assert all(r["result"] == "pass" for r in result["results"])


# --- rules written through the API --------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "error"),
    [
        ("1/0 == 1", "division by zero"),
        ("traveller.nationality > 3", "no matching overload for the operand types"),
        ('traveller.employer.missing == "x"', "no such key"),
    ],
)
def test_a_rule_that_fails_to_evaluate_refers_with_rule_error(
    admin: Admin, partner: Actor, condition: str, error: str
) -> None:
    rule = create_rule(admin, rule_body(condition=condition, effect="deny"))
    body = bodies.application(register(partner, bodies.traveller()))
    result = judged_once_loaded(admin, body, rule["id"])
    assert result["status"] == "referred"
    assert [(r["rule_id"], r["reason_code"], r["effect"]) for r in result["reasons"]] == [
        (rule["id"], "rule_error", "refer")
    ]
    evaluation = judged(result)[rule["id"]]
    assert (evaluation["result"], evaluation["effect"], evaluation["error"]) == (
        "error",
        "refer",
        error,
    )
    assert "THA" not in json.dumps(result["reasons"])


def test_a_dry_run_shows_the_estimated_cost_and_the_time_of_each_rule(
    admin: Admin, partner: Actor
) -> None:
    condition = nested(3, body="v0 + v1 + v2 < application.days + 30")
    costly = create_rule(admin, rule_body(condition=condition))
    body = bodies.application(register(partner, bodies.traveller()))
    result = judged_once_loaded(admin, body, costly["id"])
    evaluation = judged(result)[costly["id"]]
    assert evaluation["result"] == "pass"
    assert evaluation["cost"] == compile_condition(condition).cost.steps
    defaults = [r["cost"] for r in result["results"] if r["rule_id"] in DEFAULT_IDS]
    assert evaluation["cost"] > 100 * max(defaults)
    assert isinstance(evaluation["elapsed_us"], int)


def test_a_rule_for_some_categories_judges_only_them(admin: Admin, partner: Actor) -> None:
    rule = create_rule(
        admin,
        rule_body(
            condition="application.entries == 'single'",
            applies_to={"categories": ["investor"]},
        ),
    )
    investor = bodies.application(register(partner, bodies.traveller(category="investor")))
    result = judged_once_loaded(admin, investor, rule["id"])
    assert (result["status"], codes(result)) == ("referred", ["test_rule"])
    assert judged(result)[rule["id"]]["result"] == "fail"

    visitor = dry_run(admin, bodies.application(register(partner, bodies.traveller())))
    assert rule["id"] not in judged(visitor)
    assert visitor["status"] == "approved"


def test_a_disabled_rule_is_not_judged(admin: Admin, partner: Actor) -> None:
    rule = create_rule(admin, rule_body(condition="false"))
    body = bodies.application(register(partner, bodies.traveller()))
    assert judged_once_loaded(admin, body, rule["id"])["status"] == "referred"

    disabled = admin.put(
        f"{RULES}/{rule['id']}",
        json=rule_body(condition="false", enabled=False),
        headers={"If-Match": '"1"'},
    )
    assert disabled.status_code == 200, disabled.text
    result = dry_run_when(
        admin,
        body,
        lambda result: rule["id"] not in judged(result),
        "the worker to stop running the disabled rule",
    )
    assert result["status"] == "approved"


def test_a_scheduled_rule_is_not_judged_before_it_starts(admin: Admin, partner: Actor) -> None:
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow += timedelta(days=1)
    scheduled = create_rule(admin, rule_body(condition="false", valid_from=tomorrow.isoformat()))
    # Notifications arrive in order and each reloads every rule: once the later rule is
    # judged, the worker has read the scheduled one too.
    later = create_rule(admin, rule_body(name="Later"))
    body = bodies.application(register(partner, bodies.traveller()))
    result = judged_once_loaded(admin, body, later["id"])
    assert scheduled["id"] not in judged(result)
    assert result["status"] == "approved"
    book = admin.http.app.state.runtime.rules
    assert scheduled["id"] in {rule.id for rule in book.active(tomorrow)}


# --- bad requests -------------------------------------------------------------------------------


def problem_fields(response: httpx.Response) -> list[str]:
    errors = assert_problem(response, 422, "validation-failed")["errors"]
    assert isinstance(errors, list)
    return [error["field"] for error in errors]


def test_both_an_application_and_an_id_is_422(admin: Admin, partner: Actor) -> None:
    body = bodies.application(register(partner, bodies.traveller()))
    filed = partner.post("/v1/applications", json=body)
    both = admin.post(DRY_RUN, json={"application": body, "application_id": filed.json()["id"]})
    assert problem_fields(both) == ["application"]


def test_neither_an_application_nor_an_id_is_422(admin: Admin) -> None:
    assert problem_fields(admin.post(DRY_RUN, json={})) == ["application"]


def test_an_unknown_application_is_404(admin: Admin) -> None:
    response = admin.post(DRY_RUN, json={"application_id": str(uuid.uuid4())})
    assert_problem(response, 404, "not-found")


def test_partners_cannot_dry_run(admin: Admin, partner: Actor) -> None:
    body = bodies.application(register(partner, bodies.traveller()))
    assert_problem(partner.post(DRY_RUN, json={"application": body}), 403, "forbidden")


# --- one evaluation for dry runs and filings ----------------------------------------------------


def test_filing_decides_exactly_as_the_dry_run(admin: Admin, partner: Actor) -> None:
    watched = bodies.traveller()
    added = admin.post(
        "/v1/admin/watchlist",
        json={
            "kind": "document",
            "issuing_state": "THA",
            "number": watched["document"]["number"],
            "reason": "reported lost",
        },
    )
    assert added.status_code == 201, added.text
    german = bodies.traveller(
        nationality="DEU",
        document=with_document(issuing_state="DEU", expiry_date=bodies.in_days(60)),
    )
    cases = {
        "approved": bodies.application(register(partner, bodies.traveller())),
        "rejected": bodies.application(register(partner, german)),
        "referred": bodies.application(register(partner, watched)),
    }
    dry_run_when(
        admin,
        cases["referred"],
        lambda result: result["watchlist_hit"],
        "the worker to load the watchlist entry",
    )
    for status, body in cases.items():
        dry = dry_run(admin, body)
        filed = partner.post("/v1/applications", json=body)
        assert filed.status_code == 201, filed.text
        # The agency sees which watchlist entry hit; the partner, only that one did.
        told = [{k: v for k, v in r.items() if k != "watchlist_entry_id"} for r in dry["reasons"]]
        assert (filed.json()["status"], filed.json()["reasons"]) == (status, told)
        assert dry["status"] == status
    assert len(dry_run(admin, cases["rejected"])["reasons"]) == 2


# --- the rules guide's worked examples -------------------------------------------------------

_EXAMPLE = re.compile(r"<!-- rule-example -->\s*```json\n(.*?)```\s*<!-- /rule-example -->", re.S)


def guide_examples() -> list[dict[str, Any]]:
    examples = [
        json.loads(block) for block in _EXAMPLE.findall((ROOT / "docs" / "rules.md").read_text())
    ]
    assert len(examples) == 3, "docs/rules.md's 'Writing eligibility rules' has three examples"
    return examples


def test_guide_examples_compile(admin: Admin, partner: Actor) -> None:
    installers, single_entry, investors = (create_rule(admin, e) for e in guide_examples())
    assert investors["valid_from"]
    [port] = single_entry["applies_to"]["ports"]
    [country] = [c for c in RCEP_MEMBERS_SORTED if alpha2(c) == port[:2]]
    admin.port(port, country=country)

    # An installer sent by a German firm, 31 days on one entry through the example's port; the
    # investors' rule does not judge an installer, whether or not its date has come.
    traveller = bodies.traveller(
        category="installer_servicer", employer={"name": "Rhein Maschinen", "country": "DEU"}
    )
    body = bodies.application(
        register(partner, traveller),
        ports=[port],
        entries="single",
        valid_until=bodies.in_days(31),
    )
    result = dry_run_when(
        admin,
        body,
        lambda result: {installers["id"], single_entry["id"]} <= set(judged(result)),
        "the worker to load the guide's rules",
    )
    assert result["status"] == "rejected"
    assert sorted(codes(result)) == sorted([installers["reason_code"], single_entry["reason_code"]])
    assert investors["id"] not in judged(result)


def test_the_rules_guide_documents_every_default_rule_as_shipped() -> None:
    rows = {}
    for line in (ROOT / "docs" / "rules.md").read_text().splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and cells[0].startswith("`") and cells[0][1:37] in DEFAULT_IDS:
            rows[cells[0][1:37]] = cells
    assert set(rows) == DEFAULT_IDS
    for default in DEFAULT_RULES:
        _, condition, effect, reason_code, source = rows[default.id]
        assert condition.replace("\\|", "|") == f"`{default.condition}`"
        assert (effect, reason_code) == (default.effect, f"`{default.reason_code}`")
        assert source
