"""Eligibility rules through the admin API: defaults, compile errors, versions, schedules."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from greenlane.db.pool import Database, create_pool
from greenlane.domain.default_rules import DEFAULT_RULES, DEFAULT_TRIP_RULES
from greenlane.domain.rules import MAX_EXPRESSION_LENGTH
from greenlane.services.rules import RuleBook
from greenlane.settings import Settings

from ..conditions import RUNAWAY, nested
from ..database import connect
from ..waiting import eventually
from .actors import Admin
from .problems import assert_problem

# Every rule the service ships: the application rules and the trip rules (migration 0015_trips).
SHIPPED = (*DEFAULT_RULES, *DEFAULT_TRIP_RULES)
RULES = "/v1/admin/rules"


def rule_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Adult travellers",
        "description": "Minors travel with a guardian on the ordinary route.",
        "condition": "traveller.date_of_birth + duration('157680h') <= today",
        "effect": "refer",
        "reason_code": "minor_traveller",
        "message": "Travellers under 18 are reviewed by an officer.",
    }
    body.update(changes)
    return body


def create(admin: Admin, **changes: Any) -> dict[str, Any]:
    response = admin.post(RULES, json=rule_body(**changes))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def put(admin: Admin, rule_id: str, if_match: str | None, **changes: Any) -> httpx.Response:
    headers = {} if if_match is None else {"If-Match": if_match}
    return admin.put(f"{RULES}/{rule_id}", json=rule_body(**changes), headers=headers)


def delete(admin: Admin, rule_id: str, if_match: str | None) -> httpx.Response:
    headers = {} if if_match is None else {"If-Match": if_match}
    return admin.delete(f"{RULES}/{rule_id}", headers=headers)


def test_the_default_rules_are_listed(admin: Admin) -> None:
    items = admin.get(RULES).json()["items"]
    by_id = {item["id"]: item for item in items}
    assert set(by_id) == {rule.id for rule in SHIPPED}
    for default in SHIPPED:
        listed = by_id[default.id]
        assert listed["condition"] == default.condition
        assert listed["reason_code"] == default.reason_code
        assert (listed["version"], listed["enabled"]) == (1, True)
        assert listed["effect"] == default.effect
        assert "applies_to" not in listed


def test_a_new_rule_is_created_with_version_1_and_an_etag(admin: Admin) -> None:
    response = admin.post(
        RULES, json=rule_body(applies_to={"categories": ["investor"], "ports": ["THBKK"]})
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["etag"] == '"1"'
    assert created["version"] == 1
    assert created["enabled"] is True
    assert created["applies_to"] == {"categories": ["investor"], "ports": ["THBKK"]}
    assert created["created_by"] == f"client:{admin.client_id}"
    read = admin.get(f"{RULES}/{created['id']}")
    assert read.headers["etag"] == '"1"'
    assert read.json() == created
    assert created["id"] in {item["id"] for item in admin.get(RULES).json()["items"]}


def test_lists_are_paginated(admin: Admin) -> None:
    first = admin.get(RULES, params={"limit": 8}).json()
    second = admin.get(RULES, params={"limit": 8, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == 8
    assert len(second["items"]) == len(SHIPPED) - 8
    assert second["next_cursor"] is None
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert sorted(ids) == sorted(rule.id for rule in SHIPPED)


@pytest.mark.parametrize(
    ("condition", "expected", "code"),
    [
        ("traveller.nationality ==", ["at line 1 column"], "syntax"),
        (
            "traveller.nationality == 'THA' &&\n  (application.days > ",
            ["at line 2 column"],
            "syntax",
        ),
        (
            "passenger.age >= 18",
            ["unknown variable 'passenger'", "at line 1 column 1"],
            "unknown_variable",
        ),
        (
            "application.days < frobnicate(today)",
            ["unknown function 'frobnicate'", "column 20"],
            "unknown_function",
        ),
        (
            "true || " * (MAX_EXPRESSION_LENGTH // 8) + "true",
            [str(MAX_EXPRESSION_LENGTH)],
            None,  # refused by the body's schema, before any compilation
        ),
        ("", [], None),
    ],
)
def test_a_condition_that_cannot_run_is_refused_with_where_it_fails(
    admin: Admin, condition: str, expected: list[str], code: str | None
) -> None:
    response = admin.post(RULES, json=rule_body(condition=condition))
    errors = assert_problem(response, 422, "validation-failed")["errors"]
    assert isinstance(errors, list)
    assert [error["field"] for error in errors] == ["condition"]
    assert all(fragment in errors[0]["message"] for fragment in expected), errors
    assert errors[0].get("code") == code
    assert len(admin.get(RULES).json()["items"]) == len(SHIPPED)


@pytest.mark.parametrize(
    ("condition", "code", "expected"),
    [
        # The condition of issue 13: about 5 s of a worker's event loop per evaluation.
        (
            RUNAWAY,
            "too_deeply_nested",
            ["at most 3 deep", f"column {RUNAWAY.index('.all(v3') + 2}"],
        ),
        (nested(3, items=f"[{','.join(map(str, range(40)))}]"), "too_costly", ["steps"]),
        (f"size([{','.join(['1'] * 257)}]) > 0", "literal_too_large", ["at most 256 items"]),
    ],
)
def test_a_condition_whose_cost_cannot_be_bounded_is_refused(
    admin: Admin, condition: str, code: str, expected: list[str]
) -> None:
    default = DEFAULT_RULES[0]
    for response in (
        admin.post(RULES, json=rule_body(condition=condition)),
        put(admin, default.id, '"1"', condition=condition),
    ):
        errors = assert_problem(response, 422, "validation-failed")["errors"]
        assert isinstance(errors, list)
        [error] = errors
        assert (error["field"], error["code"]) == ("condition", code)
        assert all(fragment in error["message"] for fragment in expected), error
    assert len(admin.get(RULES).json()["items"]) == len(SHIPPED)
    assert admin.get(f"{RULES}/{default.id}").json()["condition"] == default.condition


def test_a_condition_just_within_the_cost_limits_is_accepted(admin: Admin) -> None:
    condition = nested(3, body="v0 + v1 + v2 < application.days")
    assert create(admin, condition=condition)["condition"] == condition


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"effect": "allow"}, "effect"),
        ({"colour": "green"}, "colour"),
        ({"reason_code": "Bad Code"}, "reason_code"),
        ({"reason_code": "rule_error"}, "reason_code"),
        ({"reason_code": "watchlist_hit"}, "reason_code"),
        ({"applies_to": {"categories": []}}, "applies_to.categories"),
        ({"applies_to": {"categories": ["tourist"]}}, "applies_to.categories[0]"),
        ({"applies_to": {"ports": ["bangkok"]}}, "applies_to.ports[0]"),
        ({"applies_to": {"port": ["THBKK"]}}, "applies_to.port"),
        ({"valid_from": "2030-01-01T00:00:00"}, "valid_from"),
        (
            {"valid_from": "2030-01-02T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"},
            "valid_until",
        ),
        ({"name": ""}, "name"),
        ({"message": None}, "message"),
    ],
)
def test_bad_rules_are_422_naming_the_field(
    admin: Admin, changes: dict[str, Any], field: str
) -> None:
    body = assert_problem(admin.post(RULES, json=rule_body(**changes)), 422, "validation-failed")
    assert field in [error["field"] for error in body["errors"]]


def test_a_rule_is_replaced_only_by_whoever_read_its_current_version(admin: Admin) -> None:
    rule_id = create(admin)["id"]
    assert_problem(put(admin, rule_id, None), 428, "precondition-required")
    assert_problem(put(admin, rule_id, '"2"'), 412, "precondition-failed")
    assert_problem(put(admin, rule_id, "*"), 412, "precondition-failed")

    second = put(admin, rule_id, '"1"', effect="deny", enabled=False)
    assert second.status_code == 200, second.text
    assert second.headers["etag"] == '"2"'
    assert (second.json()["version"], second.json()["effect"]) == (2, "deny")
    assert second.json()["enabled"] is False

    assert_problem(put(admin, rule_id, '"1"'), 412, "precondition-failed")
    for version, if_match in ((3, "2"), (4, 'W/"3"'), (5, '"1", "4"')):
        answer = put(admin, rule_id, if_match, message=f"Version {version}.")
        assert answer.json()["version"] == version, answer.text

    plain = admin.get(f"{RULES}/{rule_id}").json()
    assert "history" not in plain
    with_history = admin.get(f"{RULES}/{rule_id}", params={"history": "true"}).json()
    history = with_history["history"]
    assert [v["version"] for v in history] == [1, 2, 3, 4, 5]
    assert [v["change"] for v in history] == ["create"] + ["update"] * 4
    assert (history[0]["effect"], history[0]["enabled"]) == ("refer", True)
    assert (history[1]["effect"], history[1]["enabled"]) == ("deny", False)
    assert history[-1]["message"] == "Version 5."
    assert all(v["written_by"] == f"client:{admin.client_id}" for v in history)


def test_a_default_rule_is_edited_like_any_other(admin: Admin) -> None:
    default = DEFAULT_RULES[2]
    changed = put(
        admin,
        default.id,
        '"1"',
        name=default.name,
        condition=default.condition.replace("'business_visitor': 90", "'business_visitor': 60"),
    )
    assert changed.status_code == 200, changed.text
    assert "'business_visitor': 60" in changed.json()["condition"]
    assert changed.json()["created_by"] == "migration:0003"


def test_a_deleted_rule_is_gone_but_its_versions_are_kept(admin: Admin, database_url: str) -> None:
    rule_id = create(admin)["id"]
    assert_problem(delete(admin, rule_id, None), 428, "precondition-required")
    assert_problem(delete(admin, rule_id, '"3"'), 412, "precondition-failed")
    assert delete(admin, rule_id, '"1"').status_code == 204

    assert_problem(admin.get(f"{RULES}/{rule_id}"), 404, "not-found")
    assert_problem(put(admin, rule_id, '"2"'), 404, "not-found")
    assert_problem(delete(admin, rule_id, '"2"'), 404, "not-found")
    assert rule_id not in {item["id"] for item in admin.get(RULES).json()["items"]}

    async def stored_versions() -> list[tuple[int, str]]:
        conn = await connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT version, change FROM rule_versions WHERE rule_id = $1 ORDER BY version",
                uuid.UUID(rule_id),
            )
        finally:
            await conn.close()
        return [(row["version"], row["change"]) for row in rows]

    assert asyncio.run(stored_versions()) == [(1, "create"), (2, "delete")]


def test_unknown_rules_are_404(admin: Admin) -> None:
    unknown = f"{RULES}/{uuid.uuid4()}"
    assert_problem(admin.get(unknown), 404, "not-found")
    assert_problem(
        admin.put(unknown, json=rule_body(), headers={"If-Match": '"1"'}), 404, "not-found"
    )
    assert_problem(admin.delete(unknown, headers={"If-Match": '"1"'}), 404, "not-found")
    assert_problem(admin.get(f"{RULES}/not-a-uuid"), 404, "not-found")


def test_every_change_is_in_the_audit_log(admin: Admin) -> None:
    rule_id = create(admin)["id"]
    put(admin, rule_id, '"1"')
    delete(admin, rule_id, '"2"')
    entries = [
        e for e in admin.get("/v1/admin/audit").json()["items"] if e["action"].startswith("rule.")
    ]
    assert [(e["action"], e["subject"], e["details"]) for e in entries] == [
        ("rule.create", rule_id, {"version": 1}),
        ("rule.update", rule_id, {"version": 2}),
        ("rule.delete", rule_id, {"version": 3}),
    ]
    assert all(e["actor"] == f"client:{admin.client_id}" for e in entries)
    assert admin.get("/v1/admin/audit/verify").json()["ok"] is True


def test_partners_cannot_touch_rules(admin: Admin) -> None:
    partner = admin.partner_actor()
    some_rule = f"{RULES}/{DEFAULT_RULES[0].id}"
    assert_problem(partner.get(RULES), 403, "forbidden")
    assert_problem(partner.post(RULES, json=rule_body()), 403, "forbidden")
    assert_problem(partner.get(some_rule), 403, "forbidden")
    assert_problem(
        partner.put(some_rule, json=rule_body(), headers={"If-Match": "1"}), 403, "forbidden"
    )
    assert_problem(partner.delete(some_rule, headers={"If-Match": "1"}), 403, "forbidden")
    assert admin.get(some_rule).json()["version"] == 1


# --- the rule book each worker runs ------------------------------------------------------------


@dataclass
class Worker:
    """A worker's rule book over a pool of its own, driven from a synchronous test."""

    book: RuleBook
    runner: asyncio.Runner

    def reload(self) -> RuleBook:
        self.runner.run(self.book.reload_all())
        return self.book


@pytest.fixture
def worker(settings: Settings) -> Iterator[Worker]:
    assert settings.database_url is not None
    with asyncio.Runner() as runner:
        pool = runner.run(create_pool(settings, settings.database_url))
        try:
            yield Worker(RuleBook(Database(pool, 2.0)), runner)
        finally:
            runner.run(pool.close())


def active_ids(book: RuleBook, now: datetime) -> set[str]:
    return {rule.id for rule in book.active(now)}


def test_the_rule_book_holds_enabled_rules_in_force(admin: Admin, worker: Worker) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    end = datetime(2030, 7, 1, tzinfo=UTC)
    disabled = create(admin, enabled=False)["id"]
    scheduled = create(admin, valid_from=start.isoformat())["id"]
    windowed = create(admin, valid_from=start.isoformat(), valid_until=end.isoformat())["id"]
    expiring = create(admin, valid_until=end.isoformat())["id"]
    retired = create(admin)["id"]
    delete(admin, retired, "1")
    defaults = {rule.id for rule in SHIPPED}

    book = worker.reload()
    assert active_ids(book, start - timedelta(seconds=1)) == defaults | {expiring}
    in_window = defaults | {scheduled, windowed, expiring}
    assert active_ids(book, start) == in_window
    assert active_ids(book, end - timedelta(seconds=1)) == in_window
    assert active_ids(book, end) == defaults | {scheduled}
    assert disabled not in active_ids(book, end)


def test_the_rule_book_compiles_each_version_once(admin: Admin, worker: Worker) -> None:
    now = datetime.now(UTC)
    first = {rule.id: rule for rule in worker.reload().active(now)}
    again = {rule.id: rule for rule in worker.reload().active(now)}
    assert all(again[rule_id] is first[rule_id] for rule_id in first)

    default = DEFAULT_RULES[0]
    put(admin, default.id, "1", name=default.name, condition=default.condition)
    changed = {rule.id: rule for rule in worker.reload().active(now)}
    assert changed[default.id].version == 2
    assert changed[default.id] is not first[default.id]
    assert all(changed[i] is first[i] for i in first if i != default.id)


def test_a_change_reaches_the_serving_worker_at_once(admin: Admin) -> None:
    book: RuleBook = admin.http.app.state.runtime.rules
    now = datetime.now(UTC)
    rule_id = create(admin)["id"]
    eventually(lambda: rule_id in active_ids(book, now), what="the worker to load the new rule")
    put(admin, rule_id, "1", enabled=False)
    eventually(
        lambda: rule_id not in active_ids(book, now),
        what="the worker to stop running the disabled rule",
    )
