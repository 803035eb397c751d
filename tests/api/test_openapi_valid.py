"""The OpenAPI document is valid OpenAPI 3.1: the committed file, the app's and the served one.

That the committed file is exactly what the app generates is asserted by
``test_foundation.test_committed_openapi_matches_the_app``; here each is checked on its own, so
that a failure says which one is invalid and why.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from greenlane.openapi import openapi_document
from greenlane.settings import load_settings, new_key_text

from ..conftest import ROOT

COMMITTED = ROOT / "openapi" / "openapi.json"


def assert_valid_openapi_31(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_committed_document_is_valid_openapi_31() -> None:
    assert_valid_openapi_31(json.loads(COMMITTED.read_text()))


def test_generated_document_is_valid_openapi_31() -> None:
    # The document never touches the database: any URL and fresh keys build the app.
    settings = load_settings(
        {
            "GREENLANE_DATABASE_URL": "postgresql://unused/unused",
            "GREENLANE_ACCESS_TOKEN_KEY": new_key_text(),
            "GREENLANE_SECRET_PEPPER": new_key_text(),
            "GREENLANE_DATA_KEYS": "1:" + new_key_text(),
            "GREENLANE_INDEX_KEY": new_key_text(),
            "GREENLANE_KEY_ENCRYPTION_KEY": new_key_text(),
        }
    )
    # Through JSON, as clients read it (status codes and enum values become plain strings).
    assert_valid_openapi_31(json.loads(json.dumps(openapi_document(settings))))


def test_served_document_is_valid_openapi_31(client: TestClient[Litestar]) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert_valid_openapi_31(response.json())
