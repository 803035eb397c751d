"""Eligibility rules for administrators: list, write, version, schedule, disable and retire.

Reads answer the version as ``ETag``; PUT and DELETE must send it back in ``If-Match``.
``POST /v1/admin/rules/dry-run`` lives elsewhere: the ``{rule_id:uuid}`` routes here cannot
match it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, post, put
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, HeaderParameter, PathParameter, QueryParameter

from greenlane.api.deps import AdminDep
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.security import SECURITY, allow
from greenlane.services import rules
from greenlane.wire.common import Page
from greenlane.wire.rules import Rule, RuleWrite

RuleId = Annotated[uuid.UUID, PathParameter(description="The rule")]
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        max_length=200,
        description='The ETag of the version you read, such as "3" (required)',
    ),
]
# Sent by ``with_etag``; the value is never sent, it gives the header its schema (a string),
# without which the header is not valid OpenAPI.
WITH_ETAG = [
    ResponseHeader(name="ETag", documentation_only=True, value='"3"', description="The version")
]
# A conditional write's other answers, documented as problems by ``document_problems``.
CONDITIONAL = {status: ResponseSpec(None, generate_examples=False) for status in (404, 412, 428)}


def with_etag(rule: Rule, status_code: int = 200) -> Response[Rule]:
    return Response(rule, status_code=status_code, headers={"ETag": rules.etag(rule.version)})


class RulesController(Controller):
    path = "/v1/admin/rules"
    tags = ["admin"]
    opt = allow("admin")
    security = SECURITY

    @get("/", summary="Every rule not deleted, enabled or not (current versions)")
    async def list(
        self, admin: AdminDep, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Rule]:
        return await rules.list_rules(admin.db, cursor=cursor, limit=limit)

    @post(
        "/",
        summary="Write a new rule (its condition is compiled first)",
        response_headers=WITH_ETAG,
    )
    async def create(self, admin: AdminDep, data: Annotated[RuleWrite, Body()]) -> Response[Rule]:
        rule = await rules.create_rule(admin.db, data, actor=admin.actor)
        return with_etag(rule, status_code=201)

    @get(
        "/{rule_id:uuid}", summary="A rule, and on request its versions", response_headers=WITH_ETAG
    )
    async def read(
        self,
        admin: AdminDep,
        rule_id: RuleId,
        history: Annotated[
            bool, QueryParameter(description="Include every version, oldest first")
        ] = False,
    ) -> Response[Rule]:
        return with_etag(await rules.get_rule(admin.db, rule_id, history=history))

    @put(
        "/{rule_id:uuid}",
        summary="Replace a rule with its next version",
        response_headers=WITH_ETAG,
        responses=CONDITIONAL,
    )
    async def replace(
        self,
        admin: AdminDep,
        rule_id: RuleId,
        data: Annotated[RuleWrite, Body()],
        if_match: IfMatch = None,
    ) -> Response[Rule]:
        rule = await rules.update_rule(
            admin.db, rule_id, data, if_match=if_match, actor=admin.actor
        )
        return with_etag(rule)

    @delete(
        "/{rule_id:uuid}",
        summary="Retire a rule (its versions are kept)",
        status_code=204,
        responses=CONDITIONAL,
    )
    async def retire(self, admin: AdminDep, rule_id: RuleId, if_match: IfMatch = None) -> None:
        await rules.delete_rule(admin.db, rule_id, if_match=if_match, actor=admin.actor)
