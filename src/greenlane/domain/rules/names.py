"""The tokens of a CEL expression, its comprehensions, and where it uses each name.

``cel.Program.variables()`` lists every identifier an expression mentions, the ones a
comprehension macro binds (the ``p`` in ``ports.all(p, ...)``) included, and says nothing about
where they occur; the library exposes no syntax tree at all. So this module reads the tokens of
an expression that has already compiled: it finds each comprehension (for the names it binds,
and for ``cost``, which bounds how often each token runs) and tells bound names from free ones.
Because cel has accepted the source, the lexer only has to split valid CEL correctly, not
diagnose invalid CEL.
"""

import re
from dataclasses import dataclass
from typing import Literal

# The receiver-style macros that run their arguments once per element of the receiver.
COMPREHENSION_MACROS = frozenset({"all", "exists", "exists_one", "existsOne", "map", "filter"})

# Order matters: raw strings before escaped ones, triple quotes before single, numbers before
# identifiers (so that the ``e5`` of ``1e5`` or the ``u`` of ``1u`` is not read as a name).
_TOKEN = re.compile(
    r"""
    (?P<skip>\s+|//[^\n]*)
    |(?P<literal>
        (?:[bB]?[rR]|[rR][bB])(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'[^'\n]*'|"[^"\n]*")
        |[bB]?(?:'''(?:\\[\s\S]|[^\\])*?'''|\"\"\"(?:\\[\s\S]|[^\\])*?\"\"\"
                |'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")
        |0[xX][0-9a-fA-F]+[uU]?
        |\d*\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+[uU]?
    )
    |(?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)
    |(?P<punct>.)
    """,
    re.VERBOSE,
)

_OPENING = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # literal, ident or punct
    text: str
    offset: int  # 0-based character offset in the source


@dataclass(frozen=True, slots=True)
class Comprehension:
    """One ``receiver.macro(variable, ...)``, by token index.

    ``dot`` is the ``.`` before the macro's name, ``opening`` and ``closing`` the parentheses of
    its arguments. ``variable`` is the name it binds, or None when the first argument is not a
    name (cel then refuses the expression, or accepts it parenthesised, as in ``all((x), ...)``).
    """

    macro: str
    dot: int
    opening: int
    closing: int
    variable: str | None


@dataclass(frozen=True, slots=True)
class NameUse:
    """One place an identifier is used.

    ``variable``: read as a variable that nothing in the expression binds; ``bound``: read as,
    or declared as, a comprehension variable in scope; ``call``: called as a function or method.
    ``offset`` is the 0-based character offset of the name in the source.
    """

    name: str
    offset: int
    role: Literal["variable", "bound", "call"]


def tokenize(source: str) -> list[Token]:
    tokens = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup
        if kind is not None and kind != "skip":
            tokens.append(Token(kind, match.group(), match.start()))
    return tokens


def partners(tokens: list[Token]) -> dict[int, int]:
    """Each bracket's index to its partner's, both ways; an unbalanced one has none."""
    found: dict[int, int] = {}
    stack: list[int] = []
    for index, token in enumerate(tokens):
        if token.text in "([{":
            stack.append(index)
        elif token.text in _OPENING and stack and tokens[stack[-1]].text == _OPENING[token.text]:
            opening = stack.pop()
            found[opening], found[index] = index, opening
    return found


def comprehensions(tokens: list[Token], pairs: dict[int, int]) -> list[Comprehension]:
    """Every ``.macro(`` of a comprehension macro, in source order, whatever its arguments:
    what cel runs per element must be found even where the bound name is written oddly."""
    found = []
    for index in range(len(tokens) - 2):
        if (
            tokens[index].text == "."
            and tokens[index + 1].text in COMPREHENSION_MACROS
            and tokens[index + 2].text == "("
        ):
            opening = index + 2
            closing = pairs.get(opening, len(tokens) - 1)
            found.append(
                Comprehension(
                    macro=tokens[index + 1].text,
                    dot=index,
                    opening=opening,
                    closing=closing,
                    variable=_bound_name(tokens, opening + 1, closing),
                )
            )
    return found


def _bound_name(tokens: list[Token], first: int, closing: int) -> str | None:
    """The name the first argument declares: ``x``, or ``(x)``, ``((x))``..., before a comma."""
    depth = 0
    while first + depth < closing and tokens[first + depth].text == "(":
        depth += 1
    name = first + depth
    after = name + 1 + depth
    if (
        after < closing
        and tokens[name].kind == "ident"
        and all(token.text == ")" for token in tokens[name + 1 : after])
        and tokens[after].text == ","
    ):
        return tokens[name].text
    return None


def name_uses(source: str) -> list[NameUse]:
    """Every use of a name in ``source`` except field selections (``x.name``), in order.

    Keywords and literals spelled like names (``true``, ``null``, ``in``) come back too; callers
    ask only about the names cel itself reported.
    """
    tokens = tokenize(source)
    scopes = comprehensions(tokens, partners(tokens))
    uses = []
    for index, token in enumerate(tokens):
        if token.kind != "ident":
            continue
        after = tokens[index + 1].text if index + 1 < len(tokens) else ""
        before = tokens[index - 1].text if index > 0 else ""
        if after == "(":
            uses.append(NameUse(token.text, token.offset, "call"))
        elif before != ".":
            bound = any(
                scope.variable == token.text and scope.opening < index <= scope.closing
                for scope in scopes
            )
            uses.append(NameUse(token.text, token.offset, "bound" if bound else "variable"))
    return uses
