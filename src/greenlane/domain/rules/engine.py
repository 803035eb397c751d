"""Deciding an application: run every applicable rule and combine what they say.

A rule's condition must hold for the application to pass. One that does not hold contributes
the rule's effect; one that cannot be evaluated (an error, a value that is not a bool, or an
evaluation stopped for taking too long) contributes a referral, because an engine that cannot
decide must leave it to a person rather than approve or reject silently. Any deny rejects;
otherwise any referral refers.

``run_condition`` gives one condition's ``Verdict``; ``decide`` turns the verdicts of the
``applicable`` rules into an ``Outcome``. ``evaluate`` does all three in this process; a worker
runs the conditions in a process of its own instead (``services.rule_runner``), which is why
a verdict is a msgspec Struct.
"""

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import cel
import msgspec

from greenlane.domain.rules.condition import CompiledCondition, compile_condition

Effect = Literal["deny", "refer"]
Status = Literal["approved", "referred", "rejected"]

RULE_ERROR = "rule_error"
RULE_TIMEOUT = "rule_timeout"
WATCHLIST_HIT = "watchlist_hit"
_WATCHLIST_MESSAGE = "The traveller or vehicle matches a watchlist entry; an officer will review."

# What went wrong, by exception type, in words that cannot carry the data being evaluated
# (cel's own messages may quote a key or a value from the context).
_ERROR_KINDS: Mapping[type[Exception], str] = {
    ZeroDivisionError: "division by zero",
    OverflowError: "arithmetic overflow",
    KeyError: "no such key",
    IndexError: "index out of range",
    TypeError: "no matching overload for the operand types",
}


# A verdict that decides nothing: its reason code, and what the applicant is told of the rule.
_UNDECIDED: Mapping[str, tuple[str, str]] = {
    "error": (RULE_ERROR, "could not be evaluated; an officer will review"),
    "timeout": (RULE_TIMEOUT, "took too long to evaluate; an officer will review"),
}


class InvalidRuleError(ValueError):
    """A rule whose parts do not fit together; ``field`` names the part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Rule:
    """One version of an enabled rule, its condition compiled.

    ``categories`` and ``ports`` are the rule's ``applies_to``: None means every category or
    port. An empty set is refused rather than read as "applies to nothing", which would
    disable a rule without saying so.
    """

    id: str
    version: int
    name: str
    condition: str
    effect: Effect
    reason_code: str
    message: str
    categories: frozenset[str] | None
    ports: frozenset[str] | None
    compiled: CompiledCondition

    def __post_init__(self) -> None:
        if self.effect not in get_args(Effect):
            raise InvalidRuleError("effect", "effect must be 'deny' or 'refer'")
        if self.compiled.source != self.condition:
            raise InvalidRuleError("condition", "the compiled condition is of another expression")
        if self.categories is not None and not self.categories:
            raise InvalidRuleError("applies_to.categories", "leave out categories to mean all")
        if self.ports is not None and not self.ports:
            raise InvalidRuleError("applies_to.ports", "leave out ports to mean all")


def compile_rule(
    *,
    id: str,
    version: int,
    name: str,
    condition: str,
    effect: Effect,
    reason_code: str,
    message: str,
    categories: frozenset[str] | None = None,
    ports: frozenset[str] | None = None,
) -> Rule:
    """Build a rule from its stored definition; raises ``RuleCompileError`` for the condition."""
    return Rule(
        id=id,
        version=version,
        name=name,
        condition=condition,
        effect=effect,
        reason_code=reason_code,
        message=message,
        categories=categories,
        ports=ports,
        compiled=compile_condition(condition),
    )


def applies(rule: Rule, *, category: str, ports: Sequence[str]) -> bool:
    """Whether the rule judges an application by a traveller of ``category`` for ``ports``."""
    if rule.compiled.subject != "application":
        return False
    if rule.categories is not None and category not in rule.categories:
        return False
    return rule.ports is None or not rule.ports.isdisjoint(ports)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """What one rule said. For ``error``, effect is ``refer`` and reason_code ``rule_error``
    (or ``rule_timeout``); ``error`` then says what kind of failure it was, never with data
    from the context. ``cost`` is the condition's estimated steps (``cost.measure``)."""

    rule_id: str
    version: int
    name: str
    effect: Effect
    reason_code: str
    message: str
    result: Literal["pass", "fail", "error"]
    elapsed_us: int
    cost: int
    error: str | None = None


class Verdict(msgspec.Struct, frozen=True, array_like=True):
    """What one condition gave, and how long it ran; ``problem`` says why for ``error`` and
    ``timeout`` (a condition stopped after its time budget)."""

    result: Literal["pass", "fail", "error", "timeout"]
    elapsed_us: int
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an application was not approved, as the applicant is told."""

    rule_id: str | None  # None for a watchlist hit, which no rule produced
    reason_code: str
    message: str
    effect: Effect
    watchlist_entry_id: str | None = None  # the entry a watchlist hit matched


@dataclass(frozen=True, slots=True)
class Outcome:
    results: tuple[RuleResult, ...]
    reasons: tuple[Reason, ...]

    @property
    def status(self) -> Status:
        effects = {reason.effect for reason in self.reasons}
        if "deny" in effects:
            return "rejected"
        return "referred" if effects else "approved"


def applicable(rules: Sequence[Rule], *, category: str, ports: Sequence[str]) -> list[Rule]:
    """The rules that judge this application, in order."""
    return [rule for rule in rules if applies(rule, category=category, ports=ports)]


def applicable_to_trip(
    rules: Sequence[Rule], *, categories: Collection[str], port: str
) -> list[Rule]:
    """The rules that judge a trip through ``port`` whose crew are of ``categories``, in order:
    a rule limited to some categories judges a trip with anyone of them on board."""
    return [
        rule
        for rule in rules
        if rule.compiled.subject == "trip"
        and (rule.categories is None or not rule.categories.isdisjoint(categories))
        and (rule.ports is None or port in rule.ports)
    ]


def evaluate(
    rules: Sequence[Rule],
    context: Mapping[str, Any],
    *,
    category: str,
    ports: Sequence[str],
    watchlist_hits: Sequence[str] = (),
) -> Outcome:
    """Run the rules that apply, in order and in this process, against a context from
    ``build_context``.

    The context is converted to CEL values once for all the rules: that conversion costs far
    more than evaluating a compiled condition.
    """
    judged = applicable(rules, category=category, ports=ports)
    prepared = cel.Context(dict(context))
    verdicts = [run_condition(rule.compiled, prepared) for rule in judged]
    return decide(judged, verdicts, watchlist_hits=watchlist_hits)


def run_condition(condition: CompiledCondition, context: cel.Context) -> Verdict:
    """Evaluate one condition; never raises for what the condition does."""
    started = time.perf_counter_ns()
    try:
        value = condition.execute(context)
    except Exception as error:  # every evaluation failure is a referral, whatever cel raises
        problem = _ERROR_KINDS.get(type(error), "evaluation failed")
    else:
        if value is True or value is False:
            return Verdict("pass" if value else "fail", _elapsed_us(started))
        problem = f"the condition gave a {type(value).__name__}, not a bool"
    return Verdict("error", _elapsed_us(started), problem)


def decide(
    rules: Sequence[Rule], verdicts: Sequence[Verdict], *, watchlist_hits: Sequence[str]
) -> Outcome:
    """Combine the verdicts of ``rules`` (one each, in order). Each watchlist entry in
    ``watchlist_hits`` (ids) adds a ``watchlist_hit`` referral naming it, so that dry runs and
    real applications decide the same way, and a reviewer can tell which entry hit."""
    results = tuple(_judge(rule, verdict) for rule, verdict in zip(rules, verdicts, strict=True))
    reasons = [
        Reason(result.rule_id, result.reason_code, result.message, result.effect)
        for result in results
        if result.result != "pass"
    ]
    reasons.extend(
        Reason(None, WATCHLIST_HIT, _WATCHLIST_MESSAGE, "refer", entry) for entry in watchlist_hits
    )
    return Outcome(results, tuple(reasons))


def _judge(rule: Rule, verdict: Verdict) -> RuleResult:
    result: Literal["pass", "fail", "error"]
    effect: Effect
    if verdict.result == "pass" or verdict.result == "fail":
        result, effect, reason_code, message = (
            verdict.result,
            rule.effect,
            rule.reason_code,
            rule.message,
        )
    else:
        reason_code, what = _UNDECIDED[verdict.result]
        result, effect, message = "error", "refer", f"The rule '{rule.name}' {what}."
    return RuleResult(
        rule_id=rule.id,
        version=rule.version,
        name=rule.name,
        effect=effect,
        reason_code=reason_code,
        message=message,
        result=result,
        elapsed_us=verdict.elapsed_us,
        cost=rule.compiled.cost.steps,
        error=verdict.problem,
    )


def _elapsed_us(started: int) -> int:
    return (time.perf_counter_ns() - started) // 1000
