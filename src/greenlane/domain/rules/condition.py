"""Rule conditions: CEL expressions checked once when saved, then evaluated many times.

``cel`` (the ``common-expression-language`` package, a binding of the Rust ``cel`` crate)
parses at ``cel.compile`` but has no declarations and no type checker: a misspelt variable or
function compiles and only fails when evaluated, which for an eligibility rule would mean
referring every application. So compiling a condition also checks every name it uses:

* variables must be one of ``CONTEXT_VARIABLES`` (or a CEL type name such as ``string``), unless
  a comprehension macro binds them at that place (``ports.all(p, ...)``); ``names`` finds the
  places, because ``Program.variables()`` lists bound and free names alike;
* functions must be in ``KNOWN_FUNCTIONS``, the standard library of the Rust crate, the only
  functions ``cel.compile`` programs can call when no extension is registered.

A ``CompiledCondition`` wraps a ``cel.Program``: parsed once (about 35 µs for a default rule),
immutable, usable from any thread, and not picklable. It also carries the condition's
estimated ``cost``; ``check_cost`` refuses, when a rule is written, a condition whose cost
cannot be bounded. A rule stored before those limits still compiles when a worker loads it, and
the time budget of an evaluation is what stops it.
"""

import re
from dataclasses import dataclass, field
from typing import Final, Literal

import cel

from greenlane.domain.rules.cost import Cost, measure
from greenlane.domain.rules.names import name_uses

MAX_EXPRESSION_LENGTH: Final = 4096

CONTEXT_VARIABLES: Final = frozenset(
    {"traveller", "vehicle", "application", "trip", "today", "rcep_members"}
)
# A condition that names ``trip`` judges trips, any other judges applications: a trip has no
# one traveller or application, and an application no trip, so no condition may name both.
_APPLICATION_ONLY: Final = frozenset({"traveller", "application"})
Subject = Literal["application", "trip"]

# CEL type names are values (``type(x) == string``) and cel reports them as variables.
_TYPE_NAMES: Final = frozenset(
    {"bool", "bytes", "double", "int", "list", "map", "null_type", "string", "type", "uint"}
)

# Operators reach ``Program.functions()`` under names no expression can spell (``_+_``,
# ``@in``, ``!_``), so only names shaped like identifiers need to be known.
_IDENTIFIER = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")

KNOWN_FUNCTIONS: Final = frozenset(
    {
        "size", "contains", "startsWith", "endsWith", "matches",
        "bytes", "double", "int", "string", "uint", "dyn", "type",
        "timestamp", "duration",
        "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate", "getDayOfWeek",
        "getHours", "getMinutes", "getSeconds", "getMilliseconds",
    }
)  # fmt: skip

# cel reports parse errors as "ERROR: <input>:LINE:COLUMN: MESSAGE" (1-based, in characters),
# one per problem; the first is the one worth showing.
_CEL_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): ([^\n]*)")
# Some parser failures arrive as a debug dump of the Rust error; its msg is the readable part.
_WRAPPED_MESSAGE = re.compile(r'msg: "([^"]*)"')


class RuleCompileError(ValueError):
    """A condition that cannot become a rule.

    ``position`` is the 0-based character offset into the expression where the problem was
    found, or None when the problem is the expression as a whole (empty, too long); ``line``
    and ``column`` are the same place 1-based, as CEL's own messages count, and
    ``str(error)`` reads "MESSAGE at line L column C". ``code`` is one of ``empty``,
    ``too_long``, ``syntax``, ``unknown_variable``, ``unknown_function``, ``mixed_subjects``
    (a condition naming ``trip`` and ``traveller`` or ``application``), and the cost limits'
    ``literal_too_large``, ``too_deeply_nested``, ``too_costly``.
    """

    field = "condition"

    def __init__(self, code: str, message: str, *, source: str, position: int | None) -> None:
        self.code = code
        self.message = message
        self.position = position
        self.line: int | None = None
        self.column: int | None = None
        if position is not None:
            before = source[:position]
            self.line = before.count("\n") + 1
            self.column = position - (before.rfind("\n") + 1) + 1
            message = f"{message} at line {self.line} column {self.column}"
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A condition that has passed ``compile_condition``; equal when the source is."""

    source: str
    program: cel.Program = field(compare=False, repr=False)
    cost: Cost = field(compare=False)
    subject: Subject = field(compare=False, default="application")

    def execute(self, context: cel.Context) -> object:
        """Evaluate against a prepared context; raises whatever cel raises."""
        return self.program.execute(context)


def compile_condition(expression: str) -> CompiledCondition:
    """Parse ``expression`` and check its names, or raise ``RuleCompileError``."""
    if not expression.strip():
        raise RuleCompileError("empty", "the condition is empty", source=expression, position=None)
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise RuleCompileError(
            "too_long",
            f"the condition is longer than {MAX_EXPRESSION_LENGTH} characters",
            source=expression,
            position=None,
        )
    try:
        program = cel.compile(expression)
    except ValueError as error:
        raise _syntax_error(expression, str(error)) from None
    subject = _check_names(expression, program)
    return CompiledCondition(expression, program, measure(expression), subject)


def check_cost(condition: CompiledCondition) -> None:
    """Refuse a condition over the cost limits (``cost``), or raise ``RuleCompileError``."""
    excess = condition.cost.excess
    if excess is not None:
        raise RuleCompileError(
            excess.code, excess.message, source=condition.source, position=excess.offset
        )


def _syntax_error(expression: str, report: str) -> RuleCompileError:
    found = _CEL_ERROR.search(report)
    if found is None:
        return RuleCompileError(
            "syntax", "the condition is not valid CEL", source=expression, position=None
        )
    line, column, message = int(found[1]), int(found[2]), found[3]
    wrapped = _WRAPPED_MESSAGE.search(message)
    if wrapped is not None:
        message = f"Syntax error: {wrapped[1]}"
    lines = expression.split("\n")
    position = sum(len(text) + 1 for text in lines[: line - 1]) + column - 1
    return RuleCompileError("syntax", message, source=expression, position=position)


def _check_names(expression: str, program: cel.Program) -> Subject:
    """Refuse an unknown name; the subject the condition judges, by the variables it names."""
    uses = name_uses(expression)
    allowed = ", ".join(sorted(CONTEXT_VARIABLES))
    for name in program.variables():
        if name in CONTEXT_VARIABLES or name in _TYPE_NAMES:
            continue
        free = [use for use in uses if use.name == name and use.role == "variable"]
        if free or not any(use.name == name and use.role == "bound" for use in uses):
            raise RuleCompileError(
                "unknown_variable",
                f"unknown variable '{name}' (a condition can use {allowed})",
                source=expression,
                position=free[0].offset if free else None,
            )
    for name in program.functions():
        if _IDENTIFIER.fullmatch(name) and name not in KNOWN_FUNCTIONS:
            calls = [use for use in uses if use.name == name and use.role == "call"]
            raise RuleCompileError(
                "unknown_function",
                f"unknown function '{name}'",
                source=expression,
                position=calls[0].offset if calls else None,
            )
    named: dict[str, int] = {}
    for use in uses:
        if use.role == "variable":
            named.setdefault(use.name, use.offset)
    if "trip" not in named:
        return "application"
    mixed = sorted(_APPLICATION_ONLY & named.keys())
    if mixed:
        raise RuleCompileError(
            "mixed_subjects",
            f"a condition naming 'trip' judges trips, which have no '{mixed[0]}'"
            " (a trip condition can use trip, vehicle, today, rcep_members)",
            source=expression,
            position=named[mixed[0]],
        )
    return "trip"
