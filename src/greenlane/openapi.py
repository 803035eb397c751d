"""The OpenAPI document, generated from the application without a database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from greenlane.settings import Settings


def openapi_document(settings: Settings | None = None) -> dict[str, Any]:
    from greenlane.app import create_app
    from greenlane.settings import load_settings

    settings = settings or load_settings()
    if settings.database_url is None:
        # The document never touches the database; any URL lets the factory build the app.
        from dataclasses import replace

        settings = replace(settings, database_url="postgresql://unused/unused")
    app = create_app(settings)
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_openapi(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(openapi_document()))
    return path
