"""The API as the app's own OpenAPI document describes it, and the part a partner may call.

The BOLA matrix and the server-owned-field checks compare their tables with this, so that a
route added later is attacked too or fails the suite until it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient

from ..api.actors import Actor

OPENAPI_URL = "/schema/openapi.json"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    body_fields: frozenset[str]

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def operations(http: TestClient[Litestar]) -> list[Operation]:
    """Every operation that needs credentials (public ones have no partner data to leak)."""
    document = http.get(OPENAPI_URL).json()
    schemas = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None or not operation.get("security"):
                continue
            parameters = operation.get("parameters", [])
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    path_params=tuple(p["name"] for p in parameters if p["in"] == "path"),
                    query_params=tuple(p["name"] for p in parameters if p["in"] == "query"),
                    body_fields=frozenset(_properties(body["schema"], schemas) if body else ()),
                )
            )
    return found


def _properties(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> set[str]:
    """Top-level property names, through ``$ref`` and every ``oneOf``/``anyOf`` branch."""
    if "$ref" in schema:
        return _properties(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    names = set(schema.get("properties", {}))
    for branch in (*schema.get("oneOf", ()), *schema.get("anyOf", ())):
        names |= _properties(branch, schemas)
    return names


def random_ids(operation: Operation) -> dict[str, str]:
    return {name: str(uuid.uuid4()) for name in operation.path_params}


def call(
    actor: Actor, operation: Operation, ids: Mapping[str, str], body: Any = None
) -> httpx.Response:
    url = operation.path.format(**ids)
    if body is None:
        return actor.request(operation.method, url)
    return actor.request(operation.method, url, json=body)


def partner_operations(partner: Actor) -> list[Operation]:
    """The operations that do not turn a partner away with 403.

    Probed with random ids and an empty body, which no route can act on: the guard answers
    before the body or the id is looked at, so a 403 here means "not a partner route".
    """
    return [
        operation
        for operation in operations(partner.http)
        if call(
            partner, operation, random_ids(operation), {} if operation.body_fields else None
        ).status_code
        != 403
    ]
