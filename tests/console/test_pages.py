"""What staff do in the console, page by page, over HTTP (the browser tests drive the same in
Chromium): decide a referred case, write and switch on a rule, keep the watchlist, manage
clients, rotate keys, read and verify the audit log."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from greenlane.domain.staff import StaffRole
from greenlane.settings import Settings

from ..api import bodies
from ..api.actors import Actor, Admin
from ..api.commands import greenlane
from ..api.test_applications import file, refer_by_watchlist, register
from ..database import connect, run
from .people import Person, signed_in

Enrol = Callable[[StaffRole], Person]


def actions(admin: Admin) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = admin.get("/v1/admin/audit?limit=200").json()["items"]
    return items


def test_a_reviewer_decides_a_referred_case_and_the_partner_sees_it(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin, partner: Actor
) -> None:
    filed = refer_by_watchlist(admin, partner)
    masked = partner.get(f"/v1/travellers/{filed['traveller_id']}").json()["document"]["number"]
    csrf = signed_in(client, reviewer := enrol("reviewer"))
    queue = client.get("/console/reviews").text
    assert filed["id"] in queue
    assert "watchlist_hit" in queue
    case = client.get(f"/console/reviews/{filed['id']}").text
    assert "Watchlist match on the traveller's <b>document</b>" in case
    assert "S****** J*****" not in case  # names are masked word by word
    assert "S******" in case
    assert "J*****" in case
    assert "Somchai" not in case
    assert "1985-03-14" not in case
    assert f"P THA {masked}</dd>" in case  # masked as the API answers it
    revealed = client.post(f"/console/reviews/{filed['id']}/reveal", data={"_csrf": csrf})
    assert "Somchai" in revealed.text
    assert "1985-03-14" in revealed.text
    number = re.findall(r"<dd>P THA ([A-Z0-9]+)</dd>", revealed.text)[0]
    assert number.endswith(masked[-3:])
    assert number not in case
    reveal = [e for e in actions(admin) if e["action"] == "case.reveal"]
    assert reveal[0]["actor"] == f"staff:{reviewer.email}"
    assert reveal[0]["subject"] == filed["id"]
    claimed = client.post(f"/console/reviews/{filed['id']}/claim", data={"_csrf": csrf})
    assert f"Claimed by <b>{reviewer.email}</b>" in claimed.text
    no_grounds = client.post(
        f"/console/reviews/{filed['id']}/decision",
        data={"_csrf": csrf, "decision": "approve", "note": ""},
    )
    assert no_grounds.status_code == 422
    decided = client.post(
        f"/console/reviews/{filed['id']}/decision",
        data={"_csrf": csrf, "decision": "approve", "note": "known driver, <i>checked</i>"},
    )
    assert decided.status_code == 200
    assert "known driver, &lt;i&gt;checked&lt;/i&gt;" in decided.text
    seen = partner.get(f"/v1/applications/{filed['id']}").json()
    assert seen["status"] == "approved"
    assert seen["decision"]["decided_by"] == f"staff:{reviewer.email}"
    assert seen["clearance"]["token"]
    assert filed["id"] not in client.get("/console/reviews").text


def test_a_case_shows_the_rule_that_referred_it_and_never_the_watchlist_value(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin, partner: Actor
) -> None:
    rule = {
        "name": "Thai nationals <b>reviewed</b>",
        "condition": "traveller.nationality != 'THA' || traveller.category == \"investor\"",
        "effect": "refer",
        "reason_code": "nationality_review",
        "message": "Referred for review.",
    }
    assert admin.post("/v1/admin/rules", json=rule).status_code == 201
    body = bodies.traveller()
    number = body["document"]["number"]
    watched = {"kind": "document", "issuing_state": "THA", "number": number, "reason": "check"}
    assert admin.post("/v1/admin/watchlist", json=watched).status_code == 201
    filed = file(partner, bodies.application(register(partner, body)))
    assert filed["status"] == "referred"
    reason_codes = sorted(r["reason_code"] for r in filed["reasons"])
    assert reason_codes == ["nationality_review", "watchlist_hit"]
    signed_in(client, enrol("reviewer"))
    assert "nationality_review" in client.get("/console/reviews").text
    case = client.get(f"/console/reviews/{filed['id']}").text
    assert "<code>nationality_review</code> (refer): Referred for review." in case
    [(name, condition)] = re.findall(r'Rule <b>(.*?)</b>: <pre class="condition">(.*?)</pre>', case)
    assert (html.unescape(name), html.unescape(condition)) == (rule["name"], rule["condition"])
    assert "<b>reviewed</b>" not in case  # the name is shown as text
    assert "Watchlist match on the traveller's <b>document</b>" in case
    assert number not in case


def test_a_case_claimed_by_someone_else_cannot_be_decided(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin, partner: Actor
) -> None:
    filed = refer_by_watchlist(admin, partner)
    first = enrol("reviewer")
    csrf = signed_in(client, first)
    client.post(f"/console/reviews/{filed['id']}/claim", data={"_csrf": csrf})
    csrf = signed_in(client, enrol("agency_admin"))
    again = client.post(f"/console/reviews/{filed['id']}/claim", data={"_csrf": csrf})
    assert again.status_code == 409
    refused = client.post(
        f"/console/reviews/{filed['id']}/decision",
        data={"_csrf": csrf, "decision": "reject", "note": "no"},
    )
    assert refused.status_code == 409
    assert first.email in refused.text
    assert partner.get(f"/v1/applications/{filed['id']}").json()["status"] == "referred"


def test_a_rule_is_written_checked_dry_run_and_switched_on(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin, partner: Actor
) -> None:
    csrf = signed_in(client, enrol("rule_admin"))
    broken = client.post(
        "/console/rules/check",
        data={"condition": "traveller.nationality = "},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert broken.status_code == 200
    assert "Does not compile" in broken.text
    assert "<html" not in broken.text  # a fragment for htmx
    rule = {
        "_csrf": csrf,
        "name": "No Lao nationals",
        "condition": "traveller.nationality != 'LAO' &&",
        "effect": "refer",
        "reason_code": "nationality_review",
        "message": "Referred for review.",
    }
    refused = client.post("/console/rules", data=rule)
    assert refused.status_code == 422
    assert "condition" in refused.text
    assert 'value="No Lao nationals"' in refused.text  # what was typed is kept
    rule["condition"] = "traveller.nationality != 'THA'"
    created = client.post("/console/rules", data=rule)
    assert created.status_code == 200
    rule_id = re.findall(r"/console/rules/([0-9a-f-]{36})/activation", created.text)[0]
    assert "switched off" in created.text
    # Dry run against a filed application: the draft refers a Thai traveller.
    filed = file(partner, bodies.application(register(partner, bodies.traveller())))
    assert filed["status"] == "approved"
    dry = client.post(
        f"/console/rules/{rule_id}/dry-run",
        data={"_csrf": csrf, "application_id": filed["id"]},
        headers={"HX-Request": "true"},
    )
    assert dry.status_code == 200, dry.text
    assert '<b class="status referred">referred</b>' in dry.text
    # ...and against a sample, without htmx: a whole page.
    sample = bodies.application(filed["traveller_id"])
    dry = client.post(
        f"/console/rules/{rule_id}/dry-run",
        data={"_csrf": csrf, "sample": json.dumps(sample)},
    )
    assert "referred" in dry.text
    assert "<html" in dry.text
    # The rule is not in force yet: a new application is still approved.
    assert file(partner, bodies.application(filed["traveller_id"]))["status"] == "approved"
    stale = client.post(
        f"/console/rules/{rule_id}/activation",
        data={"_csrf": csrf, "version": "7", "enabled": "on"},
    )
    assert stale.status_code == 412
    on = client.post(
        f"/console/rules/{rule_id}/activation",
        data={"_csrf": csrf, "version": "1", "enabled": "on"},
    )
    assert "in force" in on.text
    assert file(partner, bodies.application(filed["traveller_id"]))["status"] == "referred"
    edited = client.post(
        f"/console/rules/{rule_id}",
        data={**rule, "version": "2", "message": "Referred: nationality."},
    )
    assert "Version <b>3</b>" in edited.text
    compared = client.get(f"/console/rules/{rule_id}?from_version=2&to_version=3").text
    assert "- message: Referred for review." in compared
    assert "+ message: Referred: nationality." in compared
    written = [e for e in actions(admin) if e["subject"] == rule_id]
    assert [e["action"] for e in written] == ["rule.create", "rule.update", "rule.update"]


def test_watchlist_values_are_never_shown_again(client: TestClient[Litestar], enrol: Enrol) -> None:
    csrf = signed_in(client, enrol("rule_admin"))
    page = client.post(
        "/console/watchlist",
        data={
            "_csrf": csrf,
            "kind": "document",
            "issuing_state": "THA",
            "number": "AB1234567",
            "reason": "lost passport",
        },
    ).text
    assert "AB1234567" not in page
    assert "******567" in page
    missing = client.post(
        "/console/watchlist", data={"_csrf": csrf, "kind": "vehicle", "reason": "x"}
    )
    assert missing.status_code == 422
    entry = re.findall(r"/console/watchlist/([0-9a-f-]{36})/remove", page)[0]
    client.post(f"/console/watchlist/{entry}/remove", data={"_csrf": csrf})
    assert "******567" not in client.get("/console/watchlist").text


def test_a_clients_secret_is_shown_once(
    client: TestClient[Litestar], agency_admin: tuple[Person, str]
) -> None:
    _person, csrf = agency_admin
    shown = client.post(
        "/console/directory/clients", data={"_csrf": csrf, "role": "admin", "name": "ops"}
    )
    secret = re.findall(r'id="client-secret">([^<]+)<', shown.text)[0]
    assert secret not in client.get("/console/directory").text
    wrong = client.post(
        "/console/directory/clients", data={"_csrf": csrf, "role": "lane", "name": "lane"}
    )
    assert wrong.status_code == 422
    assert "port_code" in wrong.text
    port = client.post(
        "/console/directory/ports",
        data={
            "_csrf": csrf,
            "code": "THBKK",
            "name": "Bangkok",
            "country": "THA",
            "kinds": ["passenger", "vehicle"],
        },
    )
    assert "passenger, vehicle" in port.text


def test_keys_rotate_only_when_confirmed(
    client: TestClient[Litestar], agency_admin: tuple[Person, str], admin: Admin
) -> None:
    _person, csrf = agency_admin
    before = admin.get("/v1/admin/keys").json()["items"]
    unconfirmed = client.post("/console/keys/rotate", data={"_csrf": csrf, "_confirm": "yes"})
    assert unconfirmed.status_code == 422
    assert admin.get("/v1/admin/keys").json()["items"] == before
    rotated = client.post("/console/keys/rotate", data={"_csrf": csrf, "_confirm": "rotate"})
    assert "Rotated" in rotated.text
    assert admin.get("/v1/admin/keys").json()["items"] != before


def test_the_audit_log_filters_and_finds_the_first_broken_entry(
    client: TestClient[Litestar], agency_admin: tuple[Person, str], clean_database: str
) -> None:
    person, _csrf = agency_admin
    mine = client.get(f"/console/audit?actor={person.email.upper()}").text
    assert "staff.sign_in" in mine
    assert "staff.enrol" in mine
    assert "client.create" not in mine
    only = client.get("/console/audit?action=staff.enrol").text
    assert "staff.enrol" in only
    assert "staff.sign_in<" not in only
    assert "The chain holds" in client.get("/console/audit/verify").text

    async def tamper() -> int:
        conn = await connect(clean_database)
        try:
            await conn.execute("SET session_replication_role = replica")
            first: int = await conn.fetchval("SELECT min(id) FROM audit_log")
            await conn.execute("UPDATE audit_log SET actor = 'someone else' WHERE id = $1", first)
        finally:
            await conn.close()
        return first

    broken_at = run(tamper())
    page = client.get("/console/audit/verify").text
    assert f"The chain is broken</b> at entry {broken_at}" in page
    assert "someone else" in page


def test_today_counts_verifications_and_draws_them(
    client: TestClient[Litestar], agency_admin: tuple[Person, str], admin: Admin
) -> None:
    from ..api.lane_setup import ask, issue, lanes_and_partner, question

    lane, partner = lanes_and_partner(admin)
    issued = issue(partner)
    for _ in range(3):
        ask(lane, question(issued))
    page = client.get("/console/").text
    assert "THBKK" in page
    assert "<rect" in page
    assert re.search(r"green: 3</title>", page)


def test_staff_are_created_from_the_command_line(
    environment: dict[str, str], settings: Settings, clean_database: str
) -> None:
    made = greenlane(
        environment, "staff", "create", "--email", "ana@agency.example", "--role", "reviewer"
    )
    assert made.returncode == 0, made.stderr
    link = json.loads(made.stdout)["enrolment_link"]
    assert link.startswith(f"{settings.console_url}/console/enrol/")
    twice = greenlane(
        environment, "staff", "create", "--email", "ANA@agency.example", "--role", "reviewer"
    )
    assert twice.returncode == 2
    assert "already" in twice.stderr
    bad = greenlane(environment, "staff", "create", "--email", "not-an-email", "--role", "reviewer")
    assert bad.returncode == 2
    gone = greenlane(environment, "staff", "disable", "--email", "ana@agency.example")
    assert gone.returncode == 0
    assert greenlane(environment, "staff", "disable", "--email", "x@y.example").returncode == 1


def test_an_appeal_waits_in_the_queue_for_another_reviewer(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin, partner: Actor
) -> None:
    filed = refer_by_watchlist(admin, partner)
    first = enrol("reviewer")
    csrf = signed_in(client, first)
    client.post(
        f"/console/reviews/{filed['id']}/decision",
        data={"_csrf": csrf, "decision": "reject", "note": "document doubts"},
    )
    appealed = partner.post(
        f"/v1/applications/{filed['id']}/appeal", json={"grounds": "The passport is new."}
    )
    assert appealed.status_code == 200, appealed.text
    queue = client.get("/console/reviews").text
    assert filed["id"] in queue
    assert "appealed" in queue
    same = client.post(
        f"/console/reviews/{filed['id']}/decision",
        data={"_csrf": csrf, "decision": "approve", "note": "on reflection"},
    )
    assert same.status_code == 403  # four eyes: not the reviewer who rejected
    assert partner.get(f"/v1/applications/{filed['id']}").json()["status"] == "appealed"
    csrf = signed_in(client, enrol("reviewer"))
    decided = client.post(
        f"/console/reviews/{filed['id']}/decision",
        data={"_csrf": csrf, "decision": "approve", "note": "new passport seen"},
    )
    assert decided.status_code == 200, decided.text
    assert partner.get(f"/v1/applications/{filed['id']}").json()["status"] == "approved"
