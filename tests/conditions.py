"""Rule conditions that tests write: nested comprehensions, up to the runaway of issue 13."""

from __future__ import annotations

TEN = "[0,1,2,3,4,5,6,7,8,9]"


def nested(levels: int, items: str = TEN, body: str = "true") -> str:
    """``items.all(v0, items.all(v1, ... body))``, ``levels`` deep."""
    for level in reversed(range(levels)):
        body = f"{items}.all(v{level},{body})"
    return body


# The condition that took a worker down: about 200 characters, seven comprehensions over ten
# elements, ten million iterations (5.5 s on the machine it was found on).
RUNAWAY = nested(7)
