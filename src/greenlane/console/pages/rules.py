"""Rules: the list, an editor that compiles the condition as you type, versions and their
diff, a dry run of the rule being written, and switching it on or off.

A rule written here starts switched off (a draft): it can be dry-run against an application or
a sample as if it were in force, then switched on. Every write names the version it was read
at, as the API's If-Match does, so that two people editing one rule cannot overwrite each
other. The editor changes the rule's text; its scope (categories, ports, window) is kept as it
is and set through the API.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template

from greenlane.console.context import ConsoleContext, ConsoleDep
from greenlane.console.diff import diff
from greenlane.console.forms import decode, values
from greenlane.console.gate import area
from greenlane.console.render import page
from greenlane.domain.rules import MAX_EXPRESSION_LENGTH
from greenlane.errors import ValidationFailed
from greenlane.services import applications, rules
from greenlane.wire.applications import ApplicationCreate, DryRunRequest
from greenlane.wire.rules import Rule, RuleWrite

RuleId = Annotated[uuid.UUID, PathParameter(description="The rule")]
Version = Annotated[int | None, QueryParameter(ge=1, le=1_000_000_000)]
TEXT_FIELDS = ("name", "description", "condition", "effect", "reason_code", "message")
MAX_RULES_SHOWN = 200


def _kept(rule: Rule) -> dict[str, Any]:
    """What the editor does not change: switched on or off, scope and window."""
    kept: dict[str, Any] = {
        "enabled": rule.enabled,
        "valid_from": rule.valid_from,
        "valid_until": rule.valid_until,
    }
    if rule.applies_to is not None:
        kept["applies_to"] = msgspec.structs.asdict(rule.applies_to)
    return {key: value for key, value in kept.items() if value is not None}


def _typed(console: ConsoleContext) -> dict[str, Any]:
    typed = values(console.form)
    return {key: typed[key] for key in TEXT_FIELDS if key in typed}


def _editor(
    console: ConsoleContext, rule: Rule | None, draft: dict[str, Any], **extra: Any
) -> Template:
    status = 422 if extra.get("problems") else 200
    return page(
        "rule.html",
        console.staff,
        status=status,
        section="rules",
        rule=rule,
        draft=draft,
        problems=extra.pop("problems", []),
        **{"result": None, "changes": None, "compared": None, **extra},
    )


class RulesController(Controller):
    path = "/rules"
    opt = area("rules")

    @get("/", summary="Every rule")
    async def list(self, console: ConsoleDep) -> Template:
        found = await rules.list_rules(console.db, cursor=None, limit=MAX_RULES_SHOWN)
        return page("rules.html", console.staff, section="rules", rules=found.items)

    @get("/new", summary="Write a new rule")
    async def new(self, console: ConsoleDep) -> Template:
        return _editor(console, None, {"effect": "refer"})

    @post("/", summary="Save a new rule (switched off)", status_code=303)
    async def create(self, console: ConsoleDep) -> Redirect | Template:
        draft = _typed(console)
        try:
            created = await rules.create_rule(
                console.db, decode({**draft, "enabled": False}, RuleWrite), actor=console.actor
            )
        except ValidationFailed as failed:
            return _editor(console, None, draft, problems=failed.errors)
        return Redirect(f"/console/rules/{created.id}", status_code=303)

    @post("/check", summary="Compile a condition (the editor asks as you type)")
    async def check(self, console: ConsoleDep) -> Template:
        condition = console.field("condition")
        problem: str | None
        if not condition:
            problem = "Write a condition."
        elif len(condition) > MAX_EXPRESSION_LENGTH:
            problem = f"A condition has at most {MAX_EXPRESSION_LENGTH} characters."
        else:
            found = rules.condition_problem(condition)
            problem = found.message if found else None
        return page("_compile.html", console.staff, problem=problem, layout=console.layout)

    @get("/{rule_id:uuid}", summary="A rule, its versions and what changed between two")
    async def read(
        self,
        console: ConsoleDep,
        rule_id: RuleId,
        from_version: Version = None,
        to_version: Version = None,
    ) -> Template:
        rule = await rules.get_rule(console.db, rule_id, history=True)
        versions = {version.version: version for version in rule.history or []}
        older = versions.get(from_version or rule.version - 1)
        newer = versions.get(to_version or rule.version)
        changes = diff(older, newer) if older and newer else None
        compared = (older.version, newer.version) if older and newer else None
        draft = {key: getattr(rule, key) for key in TEXT_FIELDS}
        return _editor(console, rule, draft, changes=changes, compared=compared)

    @post("/{rule_id:uuid}", summary="Save the next version", status_code=303)
    async def save(self, console: ConsoleDep, rule_id: RuleId) -> Redirect | Template:
        draft = _typed(console)
        current = await rules.get_rule(console.db, rule_id, history=True)
        try:
            await rules.update_rule(
                console.db,
                rule_id,
                decode({**_kept(current), **draft}, RuleWrite),
                if_match=console.field("version") or None,
                actor=console.actor,
            )
        except ValidationFailed as failed:
            return _editor(console, current, draft, problems=failed.errors)
        return Redirect(f"/console/rules/{rule_id}", status_code=303)

    @post("/{rule_id:uuid}/activation", summary="Switch the rule on or off", status_code=303)
    async def activation(self, console: ConsoleDep, rule_id: RuleId) -> Redirect:
        current = await rules.get_rule(console.db, rule_id)
        content = {key: getattr(current, key) for key in TEXT_FIELDS}
        switched = {**_kept(current), **content, "enabled": console.field("enabled") == "on"}
        await rules.update_rule(
            console.db,
            rule_id,
            decode(switched, RuleWrite),
            if_match=console.field("version") or None,
            actor=console.actor,
        )
        return Redirect(f"/console/rules/{rule_id}", status_code=303)

    @post("/{rule_id:uuid}/dry-run", summary="Evaluate as if this rule were in force")
    async def dry_run(self, console: ConsoleDep, rule_id: RuleId) -> Template:
        request = _dry_run_request(console)
        result = await applications.dry_run(console.deciding, request, draft=rule_id)
        return page(
            "_dry_run.html", console.staff, section="rules", result=result, layout=console.layout
        )


def _dry_run_request(console: ConsoleContext) -> DryRunRequest:
    """A filed application (its id) or a sample (an application body as JSON)."""
    application_id, sample = console.field("application_id"), console.field("sample")
    if bool(application_id) == bool(sample):
        raise ValidationFailed.one("application_id", "give an application id or a sample")
    if application_id:
        return decode({"application_id": application_id}, DryRunRequest)
    try:
        return DryRunRequest(application=msgspec.json.decode(sample, type=ApplicationCreate))
    except msgspec.DecodeError as error:
        raise ValidationFailed.one("sample", str(error)) from None
