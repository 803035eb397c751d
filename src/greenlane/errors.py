"""The domain error tree.

Services raise these; ``api/problems.py`` turns each into an RFC 9457 problem with a stable
``type``. Messages are written for the client: they never carry SQL, secrets or document numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class SettingsError(Exception):
    """A missing or malformed ``GREENLANE_*`` setting; the message is one line naming it."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One invalid field; ``code``, where there is one, is stable for clients to switch on."""

    field: str
    message: str
    code: str | None = None


class GreenlaneError(Exception):
    """Base of every error a client may see. ``slug`` becomes the problem ``type``."""

    status = 500
    slug = "internal-error"
    title = "Internal server error"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class BadRequest(GreenlaneError):
    status = 400
    slug = "bad-request"
    title = "Malformed request"


class Unauthorized(GreenlaneError):
    status = 401
    slug = "unauthorized"
    title = "Missing or invalid credentials"


class Forbidden(GreenlaneError):
    status = 403
    slug = "forbidden"
    title = "Not allowed for this client"


class NotFound(GreenlaneError):
    """Also raised for another partner's record, so that its existence cannot be learnt."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(GreenlaneError):
    status = 409
    slug = "conflict"
    title = "Conflict"

    def __init__(self, detail: str | None = None, *, existing_id: str | None = None) -> None:
        super().__init__(detail)
        self.existing_id = existing_id


class WrongState(Conflict):
    """A step the record's current state does not allow; ``state`` names that state."""

    def __init__(self, detail: str, *, state: str) -> None:
        super().__init__(detail)
        self.state = state


class PreconditionFailed(GreenlaneError):
    status = 412
    slug = "precondition-failed"
    title = "If-Match does not match the current version"


class PreconditionRequired(GreenlaneError):
    status = 428
    slug = "precondition-required"
    title = "If-Match is required"


class ValidationFailed(GreenlaneError):
    status = 422
    slug = "validation-failed"
    title = "Validation failed"

    def __init__(self, errors: Sequence[FieldProblem], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldProblem(field, message)])


class RateLimited(GreenlaneError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail or f"Retry after {retry_after} seconds")
        self.retry_after = retry_after


class NotImplementedHere(GreenlaneError):
    """A standard feature this server does not offer (e.g. a status list's history)."""

    status = 501
    slug = "not-implemented"
    title = "Not implemented"


class ServiceUnavailable(GreenlaneError):
    status = 503
    slug = "service-unavailable"
    title = "Service temporarily unavailable"

    def __init__(self, retry_after: int = 1, detail: str | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
