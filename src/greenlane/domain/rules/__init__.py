"""The eligibility rules engine: CEL conditions over an application's facts.

``compile_condition``/``compile_rule`` check a condition once per rule version;
``build_context`` turns the facts of one application into CEL variables; ``evaluate`` runs the
applicable rules and decides approved, referred or rejected.
"""

from greenlane.domain.rules.condition import (
    CONTEXT_VARIABLES,
    KNOWN_FUNCTIONS,
    MAX_EXPRESSION_LENGTH,
    CompiledCondition,
    RuleCompileError,
    compile_condition,
)
from greenlane.domain.rules.engine import (
    RULE_ERROR,
    WATCHLIST_HIT,
    Effect,
    InvalidRuleError,
    Outcome,
    Reason,
    Rule,
    RuleResult,
    Status,
    applies,
    compile_rule,
    evaluate,
)
from greenlane.domain.rules.facts import (
    ApplicationFacts,
    DocumentFacts,
    DrivingLicenceFacts,
    EmployerFacts,
    TravellerFacts,
    VehicleFacts,
    build_context,
)

__all__ = [
    "CONTEXT_VARIABLES",
    "KNOWN_FUNCTIONS",
    "MAX_EXPRESSION_LENGTH",
    "RULE_ERROR",
    "WATCHLIST_HIT",
    "ApplicationFacts",
    "CompiledCondition",
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
    "VehicleFacts",
    "applies",
    "build_context",
    "compile_condition",
    "compile_rule",
    "evaluate",
]
