"""What every error answer must look like: an RFC 9457 problem with a stable type."""

from __future__ import annotations

PROBLEM = "application/problem+json"


def assert_problem(response: object, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["type"] == f"urn:greenlane:problem:{slug}"
    assert body["status"] == status
    assert set(body) >= {"type", "title", "status", "detail"}
    return body
