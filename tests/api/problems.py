"""What every error answer must look like: an RFC 9457 problem with a stable type."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:greenlane:problem:{slug}"
    assert body["status"] == status
    assert set(body) >= {"type", "title", "status", "detail"}
    return body
