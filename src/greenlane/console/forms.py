"""HTML forms into the wire Structs the use cases take, checked by the same decoder as JSON.

A form sends every field as text, an empty field as "", and a repeated field (checkboxes) once
per value: empty fields are left out (so a Struct's default applies), the ``_``-prefixed
fields are the console's own (``_csrf``), and the decoder converts text to numbers, dates and
booleans (``strict=False``). A value the Struct refuses becomes a ``ValidationFailed`` naming
the field, as the API would answer.

A step that lanes feel at once (rotating the keys, suspending a clearance, dropping a peer)
asks for a word typed in ``_confirm``, which ``confirmed`` checks before anything is done.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, TypeVar

import msgspec
from litestar.datastructures import FormMultiDict

from greenlane.errors import ValidationFailed

T = TypeVar("T")
CONFIRM_FIELD = "_confirm"
_AT_FIELD = re.compile(r"(?:at `\$\.|required field `)([a-z_]+)")


def values(form: FormMultiDict, *, lists: Collection[str] = ()) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in dict.fromkeys(form.keys()):
        if key.startswith("_"):
            continue
        if key in lists:
            found[key] = [v.strip() for v in form.getall(key) if isinstance(v, str) and v.strip()]
            continue
        value = form.get(key)
        if isinstance(value, str) and value.strip():
            found[key] = value.strip()
    return found


def decode(data: dict[str, Any], into: type[T]) -> T:
    try:
        return msgspec.convert(data, into, strict=False)
    except msgspec.ValidationError as error:
        message = str(error)
        where = _AT_FIELD.search(message)
        field = where[1] if where else "form"
        raise ValidationFailed.one(field, message.split(" - at ")[0]) from None


def parse(form: FormMultiDict, into: type[T], *, lists: Collection[str] = ()) -> T:
    return decode(values(form, lists=lists), into)


def confirmed(form: FormMultiDict, word: str, *, to: str) -> None:
    """Refuse, naming what it would have done (``to`` rotate the keys), unless ``word`` was
    typed as confirmation."""
    typed = form.get(CONFIRM_FIELD)
    if not isinstance(typed, str) or typed.strip() != word:
        raise ValidationFailed.one("confirm", f"type {word!r} to {to}")
