"""What a condition may cost to evaluate, read from its tokens before it ever runs.

cel has no step limit: an evaluation runs to its end. Straight-line CEL costs about one step per
token, but a comprehension (``all``, ``exists``, ``exists_one``, ``map``, ``filter``) runs its
arguments once per element of its receiver, so nesting multiplies: seven comprehensions over
ten elements, 190 characters, are ten million iterations and seconds of one worker's CPU. The
estimate in ``Cost.steps`` counts each token once per iteration of every comprehension around
it, a comprehension iterating once per element of its receiver, which is

* a list or map literal: its items;
* a collection of the context whose size the API bounds (``KNOWN_SIZES``);
* the result of a ``map`` or ``filter``: at most its own receiver's elements;
* anything else (a bound variable, a parenthesised expression): ``UNKNOWN_SIZE``, as many as
  the largest literal a condition may write.

``map`` and ``filter`` cost the square of their receiver's elements, because cel copies the
list they are building at every element. Reading a whole context list as a value
(``x in rcep_members``) counts its size, and ``matches`` counts ``REGEX_STEPS``: cel compiles
the pattern at every call, and some patterns take tens of milliseconds to compile
(``\\w{100}``). A chain (``l.map(...).all(...)``) counts as nesting for ``depth``, because each
link can multiply the size of the elements the next one reads.

This is an estimate, not a proof: a regular expression, or an operation over a long context
list, can cost more than the steps counted. The time budget of one evaluation
(``GREENLANE_RULE_EVALUATION_TIMEOUT_MS``) stops whatever the estimate misses.
"""

from dataclasses import dataclass
from typing import Final

from greenlane.domain.countries import RCEP_MEMBERS_SORTED
from greenlane.domain.rules.names import Comprehension, Token, comprehensions, partners, tokenize

# Every ISO 3166 alpha-3 code (249) fits in one literal, for a list of countries.
MAX_LITERAL_ITEMS: Final = 256
# The default rules need one level, a rule over each requested port's kinds two; three leave
# room.
MAX_DEPTH: Final = 3
# At most about 20 ms of one core for the costliest shapes measured (docs/rules.md, "Cost");
# the costliest default rule is 67 steps.
MAX_STEPS: Final = 100_000
# Compiling a pattern takes from microseconds to 45 ms (``\\w{1000}``, stopped by the regex
# crate's size limit): ten calls fill the budget, and the time budget stops a pathological one.
REGEX_STEPS: Final = 10_000
# A string literal is copied wherever it is used: a long one costs more than one step.
LITERAL_BYTES_PER_STEP: Final = 16
UNKNOWN_SIZE: Final = MAX_LITERAL_ITEMS
BUILDING_MACROS: Final = frozenset({"map", "filter"})
# Estimates are reported, not only compared; past this they mean "far too much" anyway.
STEPS_CEILING: Final = 10**15

# The bounds the API puts on the context's collections (wire.applications.MAX_PORTS, the three
# port kinds, wire.registration's licence classes); ``[]`` stands for any index.
KNOWN_SIZES: Final = {
    "application.ports": 5,
    "application.port_kinds": 5,
    "application.port_kinds[]": 3,
    "rcep_members": len(RCEP_MEMBERS_SORTED),
    "traveller.driving_licence.classes": 16,
}


@dataclass(frozen=True, slots=True)
class Excess:
    """The first limit a condition breaks: ``code`` is stable, ``offset`` where (or None)."""

    code: str
    message: str
    offset: int | None


@dataclass(frozen=True, slots=True)
class Cost:
    steps: int
    depth: int
    excess: Excess | None


def measure(source: str) -> Cost:
    """The estimated steps and comprehension depth of ``source``, which cel has compiled."""
    tokens = tokenize(source)
    pairs = partners(tokens)
    found = comprehensions(tokens, pairs)
    sizes: dict[int, int] = {}  # by the token index of a comprehension's dot
    depths: dict[int, int] = {}
    too_deep: Comprehension | None = None
    for index, comprehension in enumerate(found):
        # In source order, whatever encloses a comprehension or is in its receiver comes first.
        start = _receiver_start(tokens, pairs, comprehension.dot)
        sizes[comprehension.dot] = _size(tokens, pairs, start, comprehension.dot, sizes)
        enclosing = (o for o in found[:index] if o.opening < comprehension.dot < o.closing)
        receiving = (o for o in found[:index] if start <= o.dot and o.closing < comprehension.dot)
        depths[comprehension.dot] = 1 + max(
            (depths[other.dot] for other in (*enclosing, *receiving)), default=0
        )
        if too_deep is None and depths[comprehension.dot] > MAX_DEPTH:
            too_deep = comprehension
    steps = _steps(tokens, found, sizes)
    depth = max(depths.values(), default=0)
    return Cost(steps, depth, _excess(tokens, pairs, too_deep, steps))


def _excess(
    tokens: list[Token], pairs: dict[int, int], too_deep: Comprehension | None, steps: int
) -> Excess | None:
    for opening, items in _literals(tokens, pairs):
        if items > MAX_LITERAL_ITEMS:
            return Excess(
                "literal_too_large",
                f"a list or map literal may have at most {MAX_LITERAL_ITEMS} items, not {items}",
                tokens[opening].offset,
            )
    if too_deep is not None:
        return Excess(
            "too_deeply_nested",
            f"comprehensions may be nested (or chained) at most {MAX_DEPTH} deep",
            tokens[too_deep.dot + 1].offset,
        )
    if steps > MAX_STEPS:
        return Excess(
            "too_costly",
            f"the condition may take about {steps:,} steps to evaluate, more than the "
            f"{MAX_STEPS:,} allowed (each comprehension multiplies what runs inside it by "
            "the size of its list)",
            None,
        )
    return None


def _steps(tokens: list[Token], found: list[Comprehension], sizes: dict[int, int]) -> int:
    """Each token weighed once per iteration of the comprehensions around it."""
    openings = {comprehension.opening: comprehension for comprehension in found}
    around: list[tuple[int, int]] = []  # (closing index, iterations) of enclosing scopes
    steps = 0
    for index in range(len(tokens)):
        while around and around[-1][0] < index:
            around.pop()
        times = around[-1][1] if around else 1
        steps = min(steps + times * _weight(tokens, index), STEPS_CEILING)
        if index in openings:
            inner = openings[index]
            around.append((inner.closing, min(times * _iterations(inner, sizes), STEPS_CEILING)))
    return steps


def _iterations(comprehension: Comprehension, sizes: dict[int, int]) -> int:
    """How often the arguments run, each run weighed by what it costs: ``map`` and ``filter``
    copy the list they are building at every element, so they cost the square of theirs."""
    size = sizes[comprehension.dot]
    return size * (size + 1) // 2 if comprehension.macro in BUILDING_MACROS else size


def _weight(tokens: list[Token], index: int) -> int:
    """One step, but a whole context list where one is read as a value (``x in rcep_members``
    compares with each element) and a regular expression's compilation for ``matches``."""
    token = tokens[index]
    if token.kind == "literal":
        return 1 + len(token.text) // LITERAL_BYTES_PER_STEP
    following = tokens[index + 1].text if index + 1 < len(tokens) else ""
    if token.kind != "ident" or following in (".", "["):
        return 1
    if following == "(":
        return REGEX_STEPS if tokens[index].text == "matches" else 1
    start = index
    while start >= 2 and tokens[start - 1].text == "." and tokens[start - 2].kind == "ident":
        start -= 2
    return KNOWN_SIZES.get(_path(tokens, {}, start, index + 1), 1)


def _ends_operand(token: Token) -> bool:
    """Whether a ``[`` or ``{`` after this token indexes (or constructs) rather than opens a
    literal; ``in`` is the one operator the lexer reads as a name."""
    if token.kind == "ident":
        return token.text != "in"
    return token.kind == "literal" or token.text in ")]}"


def _is_literal(tokens: list[Token], index: int) -> bool:
    if tokens[index].text == "{":
        return True
    return tokens[index].text == "[" and (index == 0 or not _ends_operand(tokens[index - 1]))


def _literals(tokens: list[Token], pairs: dict[int, int]) -> list[tuple[int, int]]:
    """(opening index, items) of every list and map literal."""
    found = []
    for opening, token in enumerate(tokens):
        if token.text in "[{" and opening in pairs and _is_literal(tokens, opening):
            found.append((opening, _items(tokens, pairs, opening)))
    return found


def _items(tokens: list[Token], pairs: dict[int, int], opening: int) -> int:
    closing = pairs[opening]
    if closing == opening + 1:
        return 0
    commas, index = 0, opening + 1
    while index < closing:
        if tokens[index].text == ",":
            commas += 1
        index = pairs.get(index, index) + 1 if tokens[index].text in "([{" else index + 1
    trailing = tokens[closing - 1].text == ","
    return commas + (0 if trailing else 1)


def _receiver_start(tokens: list[Token], pairs: dict[int, int], dot: int) -> int:
    """The first token of the operand a ``.`` selects from: ``a.b[c].f(x)`` as a whole."""
    index = dot - 1
    while True:
        if tokens[index].text in ")]}" and index in pairs:
            opening = pairs[index]
            if tokens[opening].text == "(" and opening > 0 and tokens[opening - 1].kind == "ident":
                index = opening - 1  # a call: its name, which a ``.`` may select in turn
            elif opening > 0 and tokens[opening].text != "(" and _ends_operand(tokens[opening - 1]):
                index = opening - 1  # an index, or Type{...}: the operand before it
                continue
            else:
                return opening  # a literal or a parenthesised expression
        if index >= 2 and tokens[index - 1].text == "." and _ends_operand(tokens[index - 2]):
            index -= 2
            continue
        return index


def _size(
    tokens: list[Token], pairs: dict[int, int], start: int, dot: int, sizes: dict[int, int]
) -> int:
    """How many elements the receiver ``tokens[start:dot]`` may have."""
    last = dot - 1
    if pairs.get(start) == last and _is_literal(tokens, start):
        return _items(tokens, pairs, start)
    if tokens[last].text == ")":
        opening = pairs.get(last, 0)
        if opening >= 2 and tokens[opening - 1].text in BUILDING_MACROS:
            return sizes.get(opening - 2, UNKNOWN_SIZE)
        return UNKNOWN_SIZE
    return KNOWN_SIZES.get(_path(tokens, pairs, start, dot), UNKNOWN_SIZE)


def _path(tokens: list[Token], pairs: dict[int, int], start: int, end: int) -> str:
    """``a.b[x].c`` as ``a.b[].c``; anything that is not such a path gives ``""``."""
    parts, index = [], start
    while index < end:
        text = tokens[index].text
        if tokens[index].kind == "ident" or text == ".":
            parts.append(text)
            index += 1
        elif text == "[" and index in pairs:
            parts.append("[]")
            index = pairs[index] + 1
        else:
            return ""
    return "".join(parts)
