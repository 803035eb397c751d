"""The proxy configuration in docs/operations.md enforces greenlane's rate limits on every route.

greenlane's buckets are per worker (``services/rate_limit.py``), so a limit that must hold
across workers and servers is the proxy's job; the page gives an nginx configuration for it.
These tests keep that configuration true to the code: one zone per role at the role's default
limit, and every signed-in route of the OpenAPI document under the zone of the role that calls
it, so that a new route cannot slip past the proxy's limits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from greenlane.settings import Settings, load_settings, new_key_text

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
OPENAPI = ROOT / "openapi" / "openapi.json"
ROLES = ("admin", "partner", "lane")
# The role that calls the routes of each OpenAPI tag; None: every role may.
ROLE_OF_TAG = {
    "admin": "admin",
    "registration": "partner",
    "applications": "partner",
    "webhooks": "partner",
    "trips": "partner",
    "lanes": "lane",
    "auth": None,
}


@dataclass(frozen=True)
class Location:
    exact: bool
    path: str  # a regular expression when ``regex``
    zone: str | None  # the role whose zone limits it
    burst: int | None
    regex: bool = False


def nginx_config() -> str:
    found = re.search(r"```nginx\n(.*?)```", OPERATIONS.read_text(), re.DOTALL)
    assert found, "docs/operations.md has no nginx configuration"
    return found.group(1)


def zones(config: str) -> dict[str, int]:
    pattern = r"limit_req_zone \$http_authorization zone=greenlane_(\w+):\w+ rate=(\d+)r/m;"
    return {role: int(rate) for role, rate in re.findall(pattern, config)}


def locations(config: str) -> list[Location]:
    found = []
    for exact, path, body in re.findall(r"location (=\s*|~\s*)?([/^]\S*)\s*\{([^}]*)\}", config):
        limit = re.search(r"limit_req zone=greenlane_(\w+) burst=(\d+) nodelay;", body)
        found.append(
            Location(
                exact=exact.strip() == "=",
                regex=exact.strip() == "~",
                path=path,
                zone=limit.group(1) if limit else None,
                burst=int(limit.group(2)) if limit else None,
            )
        )
    return found


def matching(config: list[Location], path: str) -> Location:
    """nginx's choice: an exact location, else the first regular expression that matches, else
    the longest prefix."""
    for location in config:
        if location.exact and location.path == path:
            return location
    for location in config:
        if location.regex and re.search(location.path, path):
            return location
    prefixes = [loc for loc in config if not (loc.exact or loc.regex) and path.startswith(loc.path)]
    return max(prefixes, key=lambda location: len(location.path))


def defaults() -> Settings:
    keys = ("ACCESS_TOKEN_KEY", "SECRET_PEPPER", "INDEX_KEY", "KEY_ENCRYPTION_KEY")
    env = {f"GREENLANE_{name}": new_key_text() for name in keys}
    env["GREENLANE_DATABASE_URL"] = "postgresql://unused/unused"
    env["GREENLANE_DATA_KEYS"] = "1:" + new_key_text()
    return load_settings(env)


def test_each_role_has_a_zone_at_its_default_limit() -> None:
    settings = defaults()
    limits = {
        "admin": settings.rate_limit_admin,
        "partner": settings.rate_limit_partner,
        "lane": settings.rate_limit_lane,
    }
    assert zones(nginx_config()) == limits


def test_a_burst_is_a_full_bucket_as_greenlanes() -> None:
    rates = zones(nginx_config())
    limited = [location for location in locations(nginx_config()) if location.zone is not None]
    assert limited
    for location in limited:
        assert location.zone is not None
        assert location.burst == rates[location.zone], location.path


@pytest.mark.parametrize(
    ("method", "path", "tags"),
    [
        (method, path, tuple(operation.get("tags", ())))
        for path, item in json.loads(OPENAPI.read_text())["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and operation.get("security")
    ],
)
def test_every_signed_in_route_is_limited_as_its_role(
    method: str, path: str, tags: tuple[str, ...]
) -> None:
    roles = {ROLE_OF_TAG[tag] for tag in tags}
    assert len(roles) == 1, f"{method} {path}: tags {tags} name no one role"
    (role,) = roles
    nginx_path = re.sub(r"\{[^}]+\}", "x", path)  # an id in the path
    limited_by = matching(locations(nginx_config()), nginx_path).zone
    assert limited_by in (ROLES if role is None else (role,)), f"{method} {path}"
