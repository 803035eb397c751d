from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import cel
import pytest

from greenlane.domain import rules as engine
from greenlane.domain.rules import (
    KNOWN_FUNCTIONS,
    MAX_EXPRESSION_LENGTH,
    RULE_ERROR,
    RULE_TIMEOUT,
    WATCHLIST_HIT,
    ApplicationFacts,
    DocumentFacts,
    DrivingLicenceFacts,
    EmployerFacts,
    InvalidRuleError,
    Outcome,
    Rule,
    RuleCompileError,
    TravellerFacts,
    VehicleFacts,
    Verdict,
    applies,
    build_context,
    compile_condition,
    compile_rule,
    evaluate,
)

TRAVELLER = TravellerFacts(
    nationality="VNM",
    category="installer_servicer",
    sex="F",
    date_of_birth=date(1988, 3, 14),
    employer=EmployerFacts(name="Hanoi Turbines JSC", country="VNM"),
    document=DocumentFacts(type="P", issuing_state="VNM", expiry_date=date(2031, 5, 2)),
    driving_licence=None,
)
APPLICATION = ApplicationFacts(
    ports=("CNPXG", "CNDXG"),
    valid_from=date(2026, 12, 1),
    valid_until=date(2026, 12, 14),
    entries="multiple",
    purpose="Turbine maintenance",
)
TODAY = date(2026, 11, 26)


def context(**changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "traveller": TRAVELLER,
        "vehicle": None,
        "application": APPLICATION,
        "today": TODAY,
        "port_kinds": {"CNPXG": ["passenger", "vehicle"], "CNDXG": ["passenger"]},
    }
    return build_context(**(arguments | changes))


def rule(condition: str, **changes: Any) -> Rule:
    fields: dict[str, Any] = {
        "id": "0b5f7c36-5a0e-4a57-9a43-2f8cf6d0d3a1",
        "version": 3,
        "name": "Test rule",
        "condition": condition,
        "effect": "deny",
        "reason_code": "test_failed",
        "message": "The test rule failed.",
    }
    return compile_rule(**(fields | changes))


def decide(*rules: Rule, watchlist_hits: tuple[str, ...] = ()) -> Outcome:
    return evaluate(
        rules,
        context(),
        category=TRAVELLER.category,
        ports=APPLICATION.ports,
        watchlist_hits=watchlist_hits,
    )


# compile_condition


def test_compiled_condition_keeps_its_source_and_is_equal_by_it() -> None:
    source = "traveller.nationality in rcep_members"

    compiled = compile_condition(source)

    assert compiled.source == source
    assert compiled == compile_condition(source)


@pytest.mark.parametrize(
    ("expression", "code", "position"),
    [
        ("", "empty", None),
        ("  \n\t", "empty", None),
        ("traveller.category == '" + "x" * MAX_EXPRESSION_LENGTH + "'", "too_long", None),
        ("traveller.nationality ==", "syntax", 24),
        ("traveller.nationality == 'THA", "syntax", 25),
        ("travler.nationality == 'THA'", "unknown_variable", 0),
        ("application.days > 1 && documents.size() > 0", "unknown_variable", 24),
        ("application.ports.all(p, p != '') && p == 'CNPXG'", "unknown_variable", 37),
        ("math.greatest([application.days]) > 1", "unknown_variable", 0),
        ("traveller.nationality.startWith('T')", "unknown_function", 22),
        ("max(application.days, 3) > 1", "unknown_function", 0),
        ("application.ports.exists(p, q, true)", "unknown_variable", None),
    ],
)
def test_compile_condition_refuses(expression: str, code: str, position: int | None) -> None:
    with pytest.raises(RuleCompileError) as caught:
        compile_condition(expression)

    assert caught.value.code == code
    assert caught.value.field == "condition"
    if position is not None:
        assert caught.value.position == position


def test_compile_error_reports_line_and_column_of_a_multiline_expression() -> None:
    expression = "traveller.nationality == 'THA' &&\n  (vehicle == null ||"

    with pytest.raises(RuleCompileError) as caught:
        compile_condition(expression)

    error = caught.value
    assert (error.line, error.column) == (2, 22)
    assert error.position == len(expression)
    assert str(error).endswith("at line 2 column 22")
    assert error.message.startswith("Syntax error")


def test_unknown_variable_position_counts_lines_and_columns() -> None:
    with pytest.raises(RuleCompileError) as caught:
        compile_condition("vehicle == null ||\n  vehicel.kind == 'car'")

    assert (caught.value.line, caught.value.column) == (2, 3)
    assert "unknown variable 'vehicel'" in str(caught.value)


def test_too_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    with pytest.raises(RuleCompileError) as caught:
        compile_condition("(" * 200 + "true" + ")" * 200)

    assert caught.value.code == "syntax"
    assert "Recursion limit" in caught.value.message


def test_an_expression_of_exactly_the_maximum_length_compiles() -> None:
    prefix = "traveller.category == '"
    expression = prefix + "x" * (MAX_EXPRESSION_LENGTH - len(prefix) - 1) + "'"

    assert len(expression) == MAX_EXPRESSION_LENGTH
    assert compile_condition(expression).source == expression


@pytest.mark.parametrize(
    "expression",
    [
        "application.ports.all(p, application.port_kinds[p].exists(k, k == 'vehicle'))",
        "application.ports.exists_one(port, port == 'CNPXG')",
        "application.ports.existsOne(port, port == 'CNPXG')",
        "application.ports.filter(p, p.startsWith('CN')).map(p, p + '!').size() > 0",
        "traveller.employer.all(key, key != '')",
        # A binder may reuse a context name; inside its scope it means the element.
        "application.ports.all(vehicle, vehicle.size() == 5)",
        "type(vehicle) == null_type || type(vehicle.kind) == string",
        "has(traveller.driving_licence) && today < timestamp('2100-01-01T00:00:00Z')",
        "r'\\d' != traveller.sex // a comment naming nothing: zz\n && b'x' != b'y'",
        "'''multi\nline''' != traveller.sex",
    ],
)
def test_compile_condition_accepts_bound_names_types_literals_and_comments(
    expression: str,
) -> None:
    assert compile_condition(expression).source == expression


_FUNCTION_EXAMPLES = {
    "size": "size(application.ports) == 2",
    "contains": "traveller.employer.name.contains('Turbines')",
    "startsWith": "traveller.employer.name.startsWith('Hanoi')",
    "endsWith": "traveller.employer.name.endsWith('JSC')",
    "matches": "traveller.nationality.matches('^[A-Z]{3}$')",
    "bytes": "bytes(traveller.sex) == b'F'",
    "double": "double(application.days) == 14.0",
    "int": "int('14') == application.days",
    "string": "string(application.days) == '14'",
    "uint": "uint(application.days) == 14u",
    "dyn": "dyn(application.days) == 14",
    "type": "type(application.days) == int",
    "timestamp": "today < timestamp('2027-01-01T00:00:00Z')",
    "duration": "today + duration('120h') == application.valid_from",
    "getFullYear": "today.getFullYear() == 2026",
    "getMonth": "today.getMonth() == 10",
    "getDayOfYear": "today.getDayOfYear() == 329",
    "getDayOfMonth": "today.getDayOfMonth() == 25",
    "getDate": "today.getDate() == 26",
    "getDayOfWeek": "today.getDayOfWeek() == 4",
    "getHours": "(application.valid_from - today).getHours() == 120",
    "getMinutes": "(application.valid_from - today).getMinutes() == 7200",
    "getSeconds": "(application.valid_from - today).getSeconds() == 432000",
    "getMilliseconds": "(application.valid_from - today).getMilliseconds() == 432000000",
}


def test_every_known_function_has_an_example() -> None:
    assert set(_FUNCTION_EXAMPLES) == KNOWN_FUNCTIONS


@pytest.mark.parametrize("expression", _FUNCTION_EXAMPLES.values())
def test_known_functions_exist_in_cel(expression: str) -> None:
    compiled = compile_condition(expression)

    assert compiled.execute(cel.Context(context())) is True


# Rule and applies


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"effect": "approve"}, "effect"),
        ({"categories": frozenset()}, "applies_to.categories"),
        ({"ports": frozenset()}, "applies_to.ports"),
    ],
)
def test_rule_refuses_parts_that_do_not_fit(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRuleError) as caught:
        rule("true", **changes)

    assert caught.value.field == field


def test_rule_refuses_a_compiled_condition_of_another_expression() -> None:
    with pytest.raises(InvalidRuleError) as caught:
        replace(rule("true"), condition="false")

    assert caught.value.field == "condition"


@pytest.mark.parametrize(
    ("categories", "ports", "expected"),
    [
        (None, None, True),
        (frozenset({"installer_servicer", "investor"}), None, True),
        (frozenset({"commercial_driver"}), None, False),
        (None, frozenset({"CNDXG", "THBKK"}), True),
        (None, frozenset({"THBKK"}), False),
        (frozenset({"installer_servicer"}), frozenset({"THBKK"}), False),
    ],
)
def test_applies_filters_by_category_and_intersecting_ports(
    categories: frozenset[str] | None, ports: frozenset[str] | None, expected: bool
) -> None:
    candidate = rule("true", categories=categories, ports=ports)

    assert applies(candidate, category="installer_servicer", ports=["CNPXG", "CNDXG"]) is expected


# evaluate


def test_rules_that_hold_approve() -> None:
    outcome = decide(rule("traveller.nationality in rcep_members"), rule("application.days == 14"))

    assert outcome.status == "approved"
    assert [result.result for result in outcome.results] == ["pass", "pass"]
    assert outcome.reasons == ()


def test_a_failing_deny_rule_rejects_with_its_reason() -> None:
    denying = rule("application.days <= 7", reason_code="stay_too_long", message="Too long.")

    outcome = decide(rule("true"), denying)

    assert outcome.status == "rejected"
    assert outcome.results[1].result == "fail"
    (reason,) = outcome.reasons
    assert (reason.rule_id, reason.reason_code, reason.message, reason.effect) == (
        denying.id,
        "stay_too_long",
        "Too long.",
        "deny",
    )


def test_a_failing_refer_rule_refers_and_a_deny_outweighs_it() -> None:
    referring = rule("false", effect="refer", reason_code="check_employer")
    denying = rule("false", effect="deny", reason_code="denied")

    assert decide(referring).status == "referred"
    assert decide(referring, denying).status == "rejected"
    assert [reason.reason_code for reason in decide(referring, denying).reasons] == [
        "check_employer",
        "denied",
    ]


@pytest.mark.parametrize(
    ("condition", "error"),
    [
        ("100 / (application.days - 14) > 1", "division by zero"),
        ("traveller.nationality > 5", "no matching overload for the operand types"),
        ("application.port_kinds['THBKK'].size() > 0", "no such key"),
        ("traveller.passport_number == ''", "no such key"),
        ("application.ports[7] == 'CNPXG'", "index out of range"),
        ("application.days", "the condition gave a int, not a bool"),
        (
            "traveller.driving_licence.expiry_date > today",
            "no matching overload for the operand types",
        ),
        ("traveller.nationality.matches('[')", "evaluation failed"),
    ],
)
def test_an_evaluation_error_is_a_rule_error_referral(condition: str, error: str) -> None:
    broken = rule(condition, name="Broken rule", effect="deny")

    outcome = decide(broken)

    (result,) = outcome.results
    assert outcome.status == "referred"
    assert (result.result, result.effect, result.reason_code, result.error) == (
        "error",
        "refer",
        RULE_ERROR,
        error,
    )
    assert "'Broken rule'" in result.message
    assert outcome.reasons[0].reason_code == RULE_ERROR


def test_a_rule_error_message_carries_no_data_from_the_context() -> None:
    leaking = rule("{'THA': 1}[traveller.nationality] == 1")

    (result,) = decide(leaking).results

    assert result.result == "error"
    assert "VNM" not in f"{result.message} {result.error}"


def test_rules_that_do_not_apply_are_not_run() -> None:
    for_drivers = rule("false", categories=frozenset({"commercial_driver"}))

    outcome = decide(for_drivers, rule("true"))

    assert outcome.status == "approved"
    assert len(outcome.results) == 1


def test_results_carry_the_rule_identity_and_timing() -> None:
    checked = rule("true", version=7, name="Always")

    (result,) = decide(checked).results

    assert (result.rule_id, result.version, result.name) == (checked.id, 7, "Always")
    assert isinstance(result.elapsed_us, int)
    assert result.elapsed_us >= 0
    assert result.cost == checked.compiled.cost.steps > 0


def test_a_stopped_evaluation_refers_with_rule_timeout_naming_the_rule() -> None:
    slow, quick = rule("true", name="Slow rule"), rule("false", id="quick", effect="refer")
    stopped = Verdict("timeout", 100_012, "stopped after its budget of 100 ms")

    outcome = engine.decide([slow, quick], [stopped, Verdict("fail", 3)], watchlist_hits=())

    timed_out, failed = outcome.results
    assert outcome.status == "referred"
    assert (timed_out.result, timed_out.effect, timed_out.reason_code) == (
        "error",
        "refer",
        RULE_TIMEOUT,
    )
    assert (timed_out.elapsed_us, timed_out.error) == (100_012, stopped.problem)
    assert "'Slow rule' took too long" in timed_out.message
    assert [(r.rule_id, r.reason_code) for r in outcome.reasons] == [
        (slow.id, RULE_TIMEOUT),
        ("quick", "test_failed"),
    ]
    assert failed.result == "fail"


def test_run_condition_times_one_condition_and_never_raises() -> None:
    prepared = cel.Context(context())

    held = engine.run_condition(compile_condition("application.days == 14"), prepared)
    broken = engine.run_condition(compile_condition("1 / 0 == 1"), prepared)

    assert (held.result, held.problem) == ("pass", None)
    assert (broken.result, broken.problem) == ("error", "division by zero")
    assert held.elapsed_us >= 0


def test_a_watchlist_hit_refers_an_otherwise_approved_application() -> None:
    outcome = decide(rule("true"), watchlist_hits=("entry-1",))

    assert outcome.status == "referred"
    (reason,) = outcome.reasons
    assert (reason.rule_id, reason.reason_code, reason.effect) == (None, WATCHLIST_HIT, "refer")
    assert reason.watchlist_entry_id == "entry-1"  # a reviewer can tell which entry hit


def test_each_watchlist_entry_that_hits_is_a_reason_of_its_own() -> None:
    outcome = decide(rule("true"), watchlist_hits=("document-entry", "vehicle-entry"))

    assert [r.watchlist_entry_id for r in outcome.reasons] == ["document-entry", "vehicle-entry"]


def test_a_watchlist_hit_does_not_soften_a_rejection() -> None:
    outcome = decide(rule("false"), watchlist_hits=("entry-1",))

    assert outcome.status == "rejected"
    assert {reason.reason_code for reason in outcome.reasons} == {"test_failed", WATCHLIST_HIT}


# build_context


def test_context_dates_are_utc_midnights_and_days_count_both_ends() -> None:
    built = context()

    assert built["today"] == datetime(2026, 11, 26, tzinfo=UTC)
    assert built["application"]["valid_until"] == datetime(2026, 12, 14, tzinfo=UTC)
    assert built["traveller"]["document"]["expiry_date"] == datetime(2031, 5, 2, tzinfo=UTC)
    assert built["application"]["days"] == 14


def test_a_same_day_trip_is_one_day() -> None:
    same_day = replace(APPLICATION, valid_until=APPLICATION.valid_from)

    assert (
        build_context(
            traveller=TRAVELLER, vehicle=None, application=same_day, today=TODAY, port_kinds={}
        )["application"]["days"]
        == 1
    )


def test_context_holds_the_contract_fields_and_no_numbers() -> None:
    built = context()

    assert set(built) == {"traveller", "vehicle", "application", "trip", "today", "rcep_members"}
    assert set(built["traveller"]) == {
        "nationality",
        "category",
        "sex",
        "date_of_birth",
        "employer",
        "document",
        "driving_licence",
    }
    assert set(built["traveller"]["document"]) == {"type", "issuing_state", "expiry_date"}
    assert built["traveller"]["driving_licence"] is None
    assert built["vehicle"] is None
    assert set(built["application"]) == {
        "ports",
        "valid_from",
        "valid_until",
        "entries",
        "purpose",
        "days",
        "port_kinds",
    }


def test_context_includes_licence_and_vehicle_when_present() -> None:
    licence = DrivingLicenceFacts(
        issuing_state="VNM", classes=("B", "C"), expiry_date=date(2029, 1, 1)
    )
    vehicle = VehicleFacts(
        kind="van", registration_country="VNM", insurance_expiry=date(2027, 6, 30)
    )

    built = context(traveller=replace(TRAVELLER, driving_licence=licence), vehicle=vehicle)

    assert built["traveller"]["driving_licence"] == {
        "issuing_state": "VNM",
        "classes": ["B", "C"],
        "expiry_date": datetime(2029, 1, 1, tzinfo=UTC),
    }
    assert built["vehicle"] == {
        "kind": "van",
        "registration_country": "VNM",
        "insurance_expiry": datetime(2027, 6, 30, tzinfo=UTC),
    }


def test_port_kinds_cover_the_requested_ports_only_and_unknown_ports_handle_nothing() -> None:
    built = context(port_kinds={"CNPXG": ("passenger", "vehicle"), "THBKK": ("passenger",)})

    assert built["application"]["port_kinds"] == {"CNPXG": ["passenger", "vehicle"], "CNDXG": []}


def test_rcep_members_are_the_fifteen_parties() -> None:
    members = context()["rcep_members"]

    assert sorted(members) == members
    assert set(members) == {
        "AUS", "BRN", "KHM", "CHN", "IDN", "JPN", "KOR", "LAO",
        "MYS", "MMR", "NZL", "PHL", "SGP", "THA", "VNM",
    }  # fmt: skip


def test_a_condition_naming_trip_judges_trips_only() -> None:
    from greenlane.domain.rules import RuleCompileError, applicable, applicable_to_trip

    trip_rule = compile_rule(
        id="t", version=1, name="t", condition="trip.size <= 4", effect="refer",
        reason_code="too_many", message="m",
    )  # fmt: skip
    application_rule = compile_rule(
        id="a", version=1, name="a", condition="traveller.nationality == 'THA'",
        effect="deny", reason_code="thai", message="m",
    )  # fmt: skip
    rules = [trip_rule, application_rule]
    assert applicable(rules, category="business_visitor", ports=["THBKK"]) == [application_rule]
    assert applicable_to_trip(rules, categories={"business_visitor"}, port="THBKK") == [trip_rule]
    with pytest.raises(RuleCompileError) as mixed:
        compile_condition("trip.size < 3 || application.days > 3")
    assert mixed.value.code == "mixed_subjects"
    assert mixed.value.column == 18
