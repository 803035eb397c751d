"""What the SDK raises: one class per kind of failure a caller handles differently.

Every error answer of the API is an RFC 9457 problem (``/oauth/token`` answers RFC 6749 §5.2
bodies instead); both become a :class:`GreenlaneError` subclass chosen by the HTTP status, so
that callers catch ``NotFoundError`` rather than compare numbers. The problem's ``type`` is
kept as sent (``urn:greenlane:problem:<slug>``) for callers that need the finer distinction.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx
import msgspec

from greenlane.wire.identity import OAuthError
from greenlane.wire.problems import PROBLEM_JSON, FieldError, Problem

# RFC 9457 §4.2.1: a problem without a more specific type.
DEFAULT_TYPE = "about:blank"
UNREACHABLE_TYPE = "urn:greenlane:client:unreachable"


class GreenlaneError(Exception):
    """An error answer from the API (or, for :class:`ConnectionFailedError`, no answer at all)."""

    def __init__(
        self,
        *,
        status: int,
        type: str = DEFAULT_TYPE,
        title: str = "",
        detail: str = "",
        errors: list[FieldError] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.request_id = request_id


class ValidationError(GreenlaneError):
    """422: ``errors`` names each invalid field."""


class NotFoundError(GreenlaneError):
    """404: no such record, or not yours."""


class ConflictError(GreenlaneError):
    """409: ``existing_id`` names the record that is already there, when the server says;
    ``state`` names the state of the record that refused a step (an application ``approved``
    cannot be appealed)."""

    existing_id: str | None = None
    state: str | None = None


class AuthenticationError(GreenlaneError):
    """401: the client id or secret is wrong, or the client was disabled."""


class ForbiddenError(GreenlaneError):
    """403: signed in, but this client's role may not do this."""


class RateLimitedError(GreenlaneError):
    """429 still refused after the allowed retries; ``retry_after`` is in seconds."""

    retry_after: float | None = None


class ServerError(GreenlaneError):
    """5xx: the server failed; quote ``request_id`` when reporting it."""


class ServiceUnavailableError(ServerError):
    """503 still refused after the allowed retries; ``retry_after`` is in seconds."""

    retry_after: float | None = None


class ConnectionFailedError(GreenlaneError):
    """No answer after the allowed retries (refused, reset, timed out). ``status`` is 0, as a
    browser reports a request that never got a response; the httpx error is the cause."""

    def __init__(self, detail: str) -> None:
        super().__init__(status=0, type=UNREACHABLE_TYPE, title="Server unreachable", detail=detail)


_BY_STATUS: dict[int, type[GreenlaneError]] = {
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}
_PROBLEM = msgspec.json.Decoder(Problem)
_OAUTH = msgspec.json.Decoder(OAuthError)


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (RFC 9110 §10.2.3: delay-seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    date_header = response.headers.get("date")
    try:
        base = parsedate_to_datetime(date_header) if date_header else None
    except (TypeError, ValueError):
        base = None
    if base is None:
        return None
    return max(0.0, (moment - base).total_seconds())


def _problem_of(response: httpx.Response) -> Problem:
    try:
        if response.headers.get("content-type", "").startswith(PROBLEM_JSON):
            return _PROBLEM.decode(response.content)
        oauth = _OAUTH.decode(response.content)
    except msgspec.DecodeError:  # not ours (a proxy's page, say): the status line says enough
        return Problem(
            type=DEFAULT_TYPE, title=response.reason_phrase, status=response.status_code, detail=""
        )
    return Problem(
        type=DEFAULT_TYPE,
        title=oauth.error,
        status=response.status_code,
        detail=oauth.error_description or "",
    )


def _class_for(status: int) -> type[GreenlaneError]:
    return _BY_STATUS.get(status, ServerError if status >= 500 else GreenlaneError)


def error_from_response(response: httpx.Response) -> GreenlaneError:
    """The exception for an error answer (status 400 or more)."""
    problem = _problem_of(response)
    error = _class_for(response.status_code)(
        status=response.status_code,
        type=problem.type,
        title=problem.title or response.reason_phrase,
        detail=problem.detail,
        errors=problem.errors,
        request_id=problem.request_id,
    )
    if isinstance(error, ConflictError):
        error.existing_id = problem.existing_id
        error.state = problem.state
    if isinstance(error, RateLimitedError | ServiceUnavailableError):
        error.retry_after = retry_after(response)
    return error
