"""Errors in the console are pages, not problem documents: same causes, same statuses.

A use case's error (not found, conflict, a stale version, a field that will not do) becomes a
page saying so in words, with the person's navigation; anything unexpected is logged and shown
as a 500 page without details, as the API does.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.response import Template
from litestar.types import ExceptionHandlersMap

from greenlane.console.render import page
from greenlane.errors import BadRequest, GreenlaneError, ValidationFailed

_logger = logging.getLogger("greenlane.console")


def _staff(request: Request[Any, Any, Any]) -> Any:
    return request.scope.get("user")


def show_error(request: Request[Any, Any, Any], exc: GreenlaneError) -> Template:
    problems = exc.errors if isinstance(exc, ValidationFailed) else []
    return page(
        "error.html",
        _staff(request),
        status=exc.status,
        title=exc.title,
        message=exc.detail if not problems else "Please correct the form and send it again.",
        problems=problems,
    )


def show_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Template:
    if exc.status_code >= 500:
        return show_unexpected(request, exc)
    return page(
        "error.html",
        _staff(request),
        status=exc.status_code,
        title="Cannot do that",
        message="The request could not be served as sent."
        if exc.status_code != 404
        else "There is no such page.",
    )


def show_unstorable(request: Request[Any, Any, Any], exc: Exception) -> Template:
    return show_error(request, BadRequest("Text must not contain the NUL character (U+0000)."))


def show_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Template:
    _logger.error(
        "unhandled console error",
        exc_info=(type(exc), exc, None),
        extra={"fields": {"route": request.scope.get("path_template")}},
    )
    return page(
        "error.html",
        _staff(request),
        status=500,
        title="Something went wrong",
        message="The server failed to answer. Nothing you see here was changed by it.",
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    GreenlaneError: show_error,
    HTTPException: show_http_error,
    asyncpg.CharacterNotInRepertoireError: show_unstorable,
    asyncpg.UntranslatableCharacterError: show_unstorable,
    Exception: show_unexpected,
}
