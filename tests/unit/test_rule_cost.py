"""The static cost of a condition: depth, literal sizes and estimated steps, from its tokens."""

import msgspec
import pytest

from greenlane.domain.countries import RCEP_MEMBERS_SORTED
from greenlane.domain.default_rules import DEFAULT_RULES
from greenlane.domain.rules import RuleCompileError, check_cost, compile_condition
from greenlane.domain.rules.cost import (
    KNOWN_SIZES,
    LITERAL_BYTES_PER_STEP,
    MAX_DEPTH,
    MAX_LITERAL_ITEMS,
    MAX_STEPS,
    REGEX_STEPS,
    STEPS_CEILING,
    UNKNOWN_SIZE,
    Cost,
    measure,
)
from greenlane.wire.applications import MAX_PORTS
from greenlane.wire.identity import PortCreate
from greenlane.wire.registration import DrivingLicenceIn

from ..conditions import RUNAWAY, TEN, nested


def refused(expression: str) -> RuleCompileError:
    with pytest.raises(RuleCompileError) as raised:
        check_cost(compile_condition(expression))
    return raised.value


def steps(expression: str) -> int:
    return measure(expression).steps


def test_the_condition_that_took_a_worker_down_is_refused_at_its_fourth_level() -> None:
    assert len(RUNAWAY) < 250

    error = refused(RUNAWAY)

    assert error.code == "too_deeply_nested"
    assert error.position == RUNAWAY.index(".all(v3") + 1
    assert f"at most {MAX_DEPTH} deep" in str(error)
    assert measure(RUNAWAY).steps > 10**7


def test_every_default_rule_is_far_below_every_limit() -> None:
    for default in DEFAULT_RULES:
        cost = compile_condition(default.condition).cost
        assert cost.excess is None, default.name
        assert cost.depth <= 1
        assert 0 < cost.steps < MAX_STEPS // 1000


def test_three_levels_are_allowed_while_their_steps_are_within_budget() -> None:
    allowed = nested(3)
    check_cost(compile_condition(allowed))
    assert measure(allowed) == Cost(steps=steps(allowed), depth=3, excess=None)
    assert refused(nested(4)).code == "too_deeply_nested"


def test_each_level_multiplies_the_steps_by_the_size_of_its_list() -> None:
    one, two = steps(nested(1)), steps(nested(2))
    assert two > 10 * one
    assert steps(nested(3)) > 10 * two


def test_a_comprehension_over_a_bounded_context_list_counts_its_bound() -> None:
    body = "p != ''"
    ports = steps(f"application.ports.all(p, {body})")
    members = steps(f"rcep_members.all(p, {body})")
    unknown = steps(f"(application.ports + rcep_members).all(p, {body})")
    assert ports < members < unknown
    kinds = steps("application.ports.all(p, application.port_kinds[p].all(k, k != ''))")
    assert kinds < steps("application.ports.all(p, application.port_kinds.all(k, k != ''))")


def test_map_and_filter_cost_the_square_of_their_list() -> None:
    # cel copies the list a map or filter is building at every element.
    every = steps(f"{TEN}.all(x, x > 0)")
    assert steps(f"{TEN}.map(x, x > 0).size() > 0") > 4 * every
    assert steps(f"{TEN}.filter(x, x > 0).size() > 0") > 4 * every


def test_chained_comprehensions_count_as_nested() -> None:
    # Each link may multiply the size of what the next one reads (a list of lists of lists).
    chain = f"{TEN}.map(a, {TEN}).map(b, b + b).map(c, c + c).all(d, d.size() > 0)"
    assert measure(chain).depth == 4
    assert refused(chain).code == "too_deeply_nested"
    assert steps(f"{TEN}.map(a, a).all(b, b > 0)") > steps(f"{TEN}.all(b, b > 0)")


@pytest.mark.parametrize("bound", ["(v)", "((v))", "(traveller)", "(int)"])
def test_a_parenthesised_bound_name_does_not_hide_a_comprehension(bound: str) -> None:
    # cel accepts all((x), ...); context and type names pass the name check as variables.
    hidden = nested(3, body=f"{TEN}.all({bound}, true)")
    assert refused(hidden).code == "too_deeply_nested"


def test_a_list_or_map_literal_has_at_most_max_items() -> None:
    largest = "[" + ", ".join(["1"] * MAX_LITERAL_ITEMS) + ",]"
    check_cost(compile_condition(f"size({largest}) > 0"))

    too_many = "{" + ", ".join(f"{i}: {i}" for i in range(MAX_LITERAL_ITEMS + 1)) + "}"
    error = refused(f"size({too_many}) > 0")
    assert error.code == "literal_too_large"
    assert (error.line, error.column) == (1, len("size(") + 1)
    assert str(MAX_LITERAL_ITEMS + 1) in str(error)


def test_every_iso_country_code_fits_in_one_list() -> None:
    codes = [
        f"'{first}{second}A'" for first in "ABCDEFGHIJ" for second in "ABCDEFGHIJKLMNOPQRSTUVWXY"
    ]
    countries = "[" + ", ".join(codes[:249]) + "]"
    check_cost(compile_condition(f"traveller.nationality in {countries}"))


def test_a_macro_with_one_argument_binds_nothing_and_is_refused_by_name() -> None:
    # cel parses ports.all(p) as a call of a function all(): p is free, all unknown.
    with pytest.raises(RuleCompileError) as free:
        compile_condition("application.ports.all(p)")
    assert free.value.code == "unknown_variable"
    with pytest.raises(RuleCompileError) as unknown:
        compile_condition("application.ports.all(traveller)")
    assert unknown.value.code == "unknown_function"


def test_empty_literals_have_no_items() -> None:
    cost = measure("[].all(x, x > 0) && size({}) == 0")
    assert (cost.depth, cost.excess) == (1, None)
    assert cost.steps < steps(f"{TEN}.all(x, x > 0)")


def test_an_index_is_not_a_literal() -> None:
    # {...}[key] indexes a map literal; [..][0] indexes a list: neither counts as a literal.
    assert UNKNOWN_SIZE == MAX_LITERAL_ITEMS
    cost = measure("{'a': [1, 2]}['a'].all(x, x > 0) && [[1]][0][0] == 1")
    assert (cost.depth, cost.excess) == (1, None)


def test_too_many_steps_are_refused_with_the_estimate() -> None:
    costly = nested(3, items="[" + ", ".join(str(i) for i in range(40)) + "]")
    error = refused(costly)
    assert error.code == "too_costly"
    assert error.position is None
    assert f"{steps(costly):,} steps" in str(error)


def test_a_regular_expression_counts_as_its_compilation() -> None:
    assert steps("traveller.sex.matches('^[MF]$')") >= REGEX_STEPS
    assert refused(nested(2, body="traveller.sex.matches('^[MF]$')")).code == "too_costly"


def test_a_long_string_literal_costs_more_than_a_short_one() -> None:
    longer = steps("'" + "x" * 3000 + "' != ''") - steps("'x' != ''")
    assert longer == 3000 // LITERAL_BYTES_PER_STEP


def test_reading_a_whole_context_list_counts_its_size() -> None:
    assert steps("traveller.nationality in rcep_members") > len(RCEP_MEMBERS_SORTED)
    assert steps("traveller.nationality in application.ports") < len(RCEP_MEMBERS_SORTED)


def test_steps_saturate_at_the_ceiling() -> None:
    assert measure(nested(20)).steps == STEPS_CEILING


def max_items(struct: type[msgspec.Struct], name: str) -> int | None:
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    [field] = [field for field in info.fields if field.name == name]
    assert isinstance(field.type, msgspec.inspect.ListType)
    return field.type.max_length


def test_known_sizes_follow_the_bounds_of_the_api() -> None:
    assert {
        "application.ports": MAX_PORTS,
        "application.port_kinds": MAX_PORTS,
        "application.port_kinds[]": max_items(PortCreate, "kinds"),
        "rcep_members": len(RCEP_MEMBERS_SORTED),
        "traveller.driving_licence.classes": max_items(DrivingLicenceIn, "classes"),
    } == KNOWN_SIZES
