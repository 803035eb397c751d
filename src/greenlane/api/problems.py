"""RFC 9457 problem details for every error the API can return.

Each problem has a stable ``type`` (``urn:greenlane:problem:<slug>``) that clients may switch on.
Bodies say what was wrong with the request, never why the server failed: a 500 is logged with its
exception type and the request id and answered with nothing more than that id.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.enums import ParamType
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandler, ExceptionHandlersMap

from greenlane.errors import (
    BadRequest,
    Conflict,
    FieldProblem,
    GreenlaneError,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
    WrongState,
)
from greenlane.wire.problems import PROBLEM_JSON, FieldError, Problem

TYPE_PREFIX = "urn:greenlane:problem:"
_logger = logging.getLogger("greenlane.errors")


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=problem,
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _problem(error: GreenlaneError) -> Problem:
    return Problem(
        type=TYPE_PREFIX + error.slug,
        title=error.title,
        status=error.status,
        detail=error.detail,
    )


def handle_domain_error(request: Request[Any, Any, Any], exc: GreenlaneError) -> Response[Any]:
    problem = _problem(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, ValidationFailed):
        problem.errors = [FieldError(e.field, e.message, e.code) for e in exc.errors]
    if isinstance(exc, Conflict) and exc.existing_id:
        problem.existing_id = exc.existing_id
    if isinstance(exc, WrongState):
        problem.state = exc.state
    if isinstance(exc, RateLimited | ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="greenlane"'
    return problem_response(problem, headers)


# Litestar's own messages quote msgspec paths like `$.document.number`; clients want field paths.
_MSGSPEC_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_NAMED_FIELD = re.compile(r"(?:unknown|required) field `([^`]+)`")


def _field_problems(exc: ValidationException) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        match = _MSGSPEC_PATH.search(message)
        key = str(item.get("key") or "")
        path = match.group(1) if match else ("" if key in ("", "data") else key)
        named = _NAMED_FIELD.search(message)
        if named:
            path = f"{path}.{named.group(1)}" if path else named.group(1)
        problems.append(FieldProblem(path or "body", _MSGSPEC_PATH.sub("", message)))
    return problems


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = _field_problems(exc)
    if not problems and "malformed" in exc.detail.lower():
        return handle_domain_error(request, BadRequest("The request body is not valid JSON."))
    if not problems:
        problems = [FieldProblem("body", exc.detail)]
    return handle_domain_error(request, ValidationFailed(problems))


_FRAMEWORK_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("bad-request", "Malformed request", "The request could not be read."),
    401: ("unauthorized", "Missing or invalid credentials", "Send a valid bearer token."),
    403: ("forbidden", "Not allowed for this client", "This client may not call this route."),
    404: ("not-found", "Not found", "No such resource."),
    405: ("method-not-allowed", "Method not allowed", "This route does not accept that method."),
    413: ("body-too-large", "Request body too large", "Request bodies are limited to 64 KiB."),
    429: ("rate-limited", "Too many requests", "Slow down."),
}


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):
        return handle_validation(request, exc)
    status = exc.status_code
    if status >= 500:
        return handle_unexpected(request, exc)
    slug, title, detail = _FRAMEWORK_ERRORS.get(
        status, ("client-error", "Client error", exc.detail)
    )
    if status == 400 and exc.detail and "malformed" not in exc.detail.lower():
        detail = exc.detail
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers["WWW-Authenticate"] = 'Bearer realm="greenlane"'
    problem = Problem(type=TYPE_PREFIX + slug, title=title, status=status, detail=detail)
    return problem_response(problem, headers)


def handle_too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """msgspec stops at a fixed nesting depth; a body that deep is malformed, not a bug."""
    return handle_domain_error(request, BadRequest("The JSON body is nested too deeply."))


def handle_unstorable_text(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """PostgreSQL text cannot hold U+0000, and any string a client sends may reach a column or
    a query: such a request is the client's error (400), not the server's (500)."""
    return handle_domain_error(
        request, BadRequest("Text must not contain the NUL character (U+0000).")
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    request_id = request.scope.get("state", {}).get("request_id")
    _logger.error(
        "unhandled error",
        exc_info=(type(exc), exc, None),
        extra={"fields": {"request_id": request_id, "route": request.scope.get("path_template")}},
    )
    problem = Problem(
        type=TYPE_PREFIX + "internal-error",
        title="Internal server error",
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        detail="The server failed to answer; quote the request id when reporting it.",
        request_id=request_id,
    )
    return problem_response(problem)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    GreenlaneError: handle_domain_error,
    HTTPException: handle_http_exception,
    NotFoundException: handle_http_exception,
    MethodNotAllowedException: handle_http_exception,
    PermissionDeniedException: handle_http_exception,
    RecursionError: handle_too_deep,
    asyncpg.CharacterNotInRepertoireError: handle_unstorable_text,
    asyncpg.UntranslatableCharacterError: handle_unstorable_text,
    Exception: handle_unexpected,
}


def handler_for(exc: Exception) -> ExceptionHandler[Any]:
    """The handler Litestar would pick from :data:`EXCEPTION_HANDLERS`: the nearest class."""
    return next(EXCEPTION_HANDLERS[c] for c in type(exc).__mro__ if c in EXCEPTION_HANDLERS)


_PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="Stable problem type URI"),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={
                    "field": Schema(type=OpenAPIType.STRING),
                    "message": Schema(type=OpenAPIType.STRING),
                    "code": Schema(
                        type=OpenAPIType.STRING,
                        description="Stable kind of problem, where a field's problems have kinds",
                    ),
                },
            ),
        ),
        "existing_id": Schema(type=OpenAPIType.STRING),
        "state": Schema(
            type=OpenAPIType.STRING,
            description="The record's state, when a 409 refuses a step that state does not allow",
        ),
        "request_id": Schema(type=OpenAPIType.STRING),
    },
)
_DESCRIPTIONS = {
    "400": "Malformed request",
    "401": "Missing or invalid credentials",
    "403": "Not allowed for this client",
    "404": "Not found, or not yours",
    "408": "Request body too slow",
    "409": "Conflict",
    "412": "If-Match does not match",
    "413": "Body over 64 KiB",
    "422": "Validation failed",
    "428": "If-Match required",
    "429": "Rate limited",
    "500": "Internal error",
    "501": "Not implemented",
    "503": "Temporarily unavailable",
}


def documented(*statuses: int) -> dict[int, ResponseSpec]:
    """``responses=`` for the errors a route's own logic answers (a 409, a 404 for an id sent
    in the body); ``document_problems`` describes them and gives them their problem body."""
    return {status: ResponseSpec(None, generate_examples=False) for status in statuses}


# RFC 6749 §5.2 prescribes this endpoint's error bodies; they stay as declared.
OAUTH_PATHS = frozenset({"/oauth/token"})


def _standard_statuses(operation: Operation) -> set[str]:
    """The errors an operation of this shape can answer before or around its handler.

    The middleware, router and body reader answer them for every route alike, so no route
    declares them itself: a signed-in route can be refused (401, 403) or throttled (429), a
    path with an id can name nothing (404), anything the client sends can be malformed (400)
    or invalid (422), a body can be too large (413) or too slow to arrive (408,
    ``api/body_deadline.py``), and any route can fail (500).
    """
    statuses = {"500"}
    parameters = [p for p in operation.parameters or [] if isinstance(p, Parameter)]
    if operation.security:
        statuses |= {"401", "403", "429"}
    if any(p.param_in == ParamType.PATH for p in parameters):
        statuses.add("404")
    if parameters or operation.request_body is not None:
        statuses |= {"400", "422"}
    if operation.request_body is not None:
        statuses |= {"408", "413"}
    return statuses


def _declares_own_body(response: OpenAPIResponse) -> bool:
    """A route that gave an error status a model of its own (a component reference) means it;
    Litestar's own error descriptions are inline schemas, and become problem+json."""
    return any(isinstance(media.schema, Reference) for media in (response.content or {}).values())


def document_problems(openapi: OpenAPI) -> None:
    """Describe every error response as the problem+json it really is.

    Litestar documents its own errors as ``application/json``; the handlers above answer with
    ``application/problem+json``, and the document must say what clients will receive. The
    errors every route of a kind can answer are added where the route does not declare them.
    """
    components = openapi.components
    assert isinstance(components, Components)
    components.schemas = {**(components.schemas or {}), "Problem": _PROBLEM_SCHEMA}
    content = {PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))}
    for path, path_item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation: Operation | None = getattr(path_item, method)
            if operation is None:
                continue
            responses = operation.responses = dict(operation.responses or {})
            missing = _standard_statuses(operation) - responses.keys()
            if path in OAUTH_PATHS:
                missing.discard("422")  # RFC 6749 makes an unreadable form a 400 invalid_request
            for status in sorted(missing):
                responses[status] = OpenAPIResponse(description=_DESCRIPTIONS[status])
            for status, response in responses.items():
                if status[0] not in "45" or not isinstance(response, OpenAPIResponse):
                    continue
                if _declares_own_body(response):
                    continue  # e.g. RFC 6749's error body, or readiness's Health, as declared
                response.content = dict(content)
                response.description = _DESCRIPTIONS.get(status, response.description)
