"""The eligibility rules engine: CEL conditions over an application's facts.

``compile_condition``/``compile_rule`` check a condition once per rule version, and
``check_cost`` refuses one that cannot be bounded when it is written; ``build_context`` turns
the facts of one application into CEL variables; ``run_condition`` evaluates one condition and
``decide`` combines the verdicts of the ``applicable`` rules into approved, referred or
rejected (``evaluate`` does it all in one process).
"""

from greenlane.domain.rules.condition import (
    CONTEXT_VARIABLES,
    KNOWN_FUNCTIONS,
    MAX_EXPRESSION_LENGTH,
    CompiledCondition,
    RuleCompileError,
    check_cost,
    compile_condition,
)
from greenlane.domain.rules.engine import (
    RULE_ERROR,
    RULE_TIMEOUT,
    WATCHLIST_HIT,
    Effect,
    InvalidRuleError,
    Outcome,
    Reason,
    Rule,
    RuleResult,
    Status,
    Verdict,
    applicable,
    applicable_to_trip,
    applies,
    compile_rule,
    decide,
    evaluate,
    run_condition,
)
from greenlane.domain.rules.facts import (
    ApplicationFacts,
    CrewFacts,
    DocumentFacts,
    DrivingLicenceFacts,
    EmployerFacts,
    TravellerFacts,
    TripFacts,
    VehicleFacts,
    build_context,
    build_trip_context,
)

__all__ = [
    "CONTEXT_VARIABLES",
    "KNOWN_FUNCTIONS",
    "MAX_EXPRESSION_LENGTH",
    "RULE_ERROR",
    "RULE_TIMEOUT",
    "WATCHLIST_HIT",
    "ApplicationFacts",
    "CompiledCondition",
    "CrewFacts",
    "DocumentFacts",
    "DrivingLicenceFacts",
    "Effect",
    "EmployerFacts",
    "InvalidRuleError",
    "Outcome",
    "Reason",
    "Rule",
    "RuleCompileError",
    "RuleResult",
    "Status",
    "TravellerFacts",
    "TripFacts",
    "VehicleFacts",
    "Verdict",
    "applicable",
    "applicable_to_trip",
    "applies",
    "build_context",
    "build_trip_context",
    "check_cost",
    "compile_condition",
    "compile_rule",
    "decide",
    "evaluate",
    "run_condition",
]
