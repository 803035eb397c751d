"""RFC 9457 problem details: the body of every error answer (``/oauth/token`` aside)."""

from __future__ import annotations

import msgspec

PROBLEM_JSON = "application/problem+json"


class FieldError(msgspec.Struct, frozen=True, omit_defaults=True):
    field: str
    message: str
    code: str | None = None  # stable, where the field's problems have kinds (a rule's condition)


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem; ``errors`` lists each invalid field of a 422."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    existing_id: str | None = None
    state: str | None = None  # a 409 for a step the record's state does not allow names it
    request_id: str | None = None
