"""Where a CEL expression uses a name, and whether a comprehension macro binds it there.

``cel.Program.variables()`` lists every identifier an expression mentions, the ones a
comprehension macro binds (the ``p`` in ``ports.all(p, ...)``) included, and says nothing about
where they occur. Telling a bound name from a free one needs scope, and the library exposes no
syntax tree, so this module reads the tokens of an expression that has already compiled and
tracks which macro argument lists bind which names. Because cel has accepted the source, the
lexer only has to split valid CEL correctly, not diagnose invalid CEL.
"""

import re
from dataclasses import dataclass
from typing import Literal

# The receiver-style macros whose first argument names a variable for the rest of the call.
_BINDING_MACROS = frozenset({"all", "exists", "exists_one", "existsOne", "map", "filter"})

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


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    offset: int


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


def _tokenize(source: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup
        if kind is not None and kind != "skip":
            tokens.append(_Token(kind, match.group(), match.start()))
    return tokens


def _closing_paren(tokens: list[_Token], opening: int) -> int:
    depth = 0
    for index in range(opening, len(tokens)):
        if tokens[index].text == "(":
            depth += 1
        elif tokens[index].text == ")":
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1


def _macro_scopes(tokens: list[_Token]) -> list[tuple[str, int, int]]:
    """(bound name, first token index, last token index) for every ``.macro(name, ...)``."""
    scopes = []
    texts = [token.text for token in tokens]
    for index in range(len(tokens) - 4):
        if (
            texts[index] == "."
            and texts[index + 1] in _BINDING_MACROS
            and texts[index + 2] == "("
            and tokens[index + 3].kind == "ident"
            and texts[index + 4] == ","
        ):
            scopes.append((texts[index + 3], index + 3, _closing_paren(tokens, index + 2)))
    return scopes


def name_uses(source: str) -> list[NameUse]:
    """Every use of a name in ``source`` except field selections (``x.name``), in order.

    Keywords and literals spelled like names (``true``, ``null``, ``in``) come back too; callers
    ask only about the names cel itself reported.
    """
    tokens = _tokenize(source)
    scopes = _macro_scopes(tokens)
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
                name == token.text and first <= index <= last for name, first, last in scopes
            )
            uses.append(NameUse(token.text, token.offset, "bound" if bound else "variable"))
    return uses
