"""The console in a real Chromium: what staff do, as they do it, with htmx and without.

Set-up that is not the point of a test (partners, referred applications) goes through the API
with an administrator's token, on the same database, as an agency's own tools would.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from greenlane.domain.staff import StaffRole
from greenlane.settings import Settings

from ..api import bodies
from ..api.actors import Actor, Admin
from ..api.lane_setup import ask, issue, lanes_and_partner, question
from ..api.test_applications import file, refer_by_watchlist, register
from .browser import SCREENSHOTS_ENV, Watched, snapshot
from .people import Person, create

Enrol = Callable[[StaffRole], Person]


def sign_in(page: Page, person: Person) -> None:
    page.goto("/console/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_label("Code from your authenticator").fill(person.next_code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()


def test_enrolment_with_a_second_factor_then_sign_in_and_out(
    tab: Watched, settings: Settings
) -> None:
    page = tab.page
    person, token = create(settings, "reviewer")
    page.goto(f"/console/enrol/{token}")
    expect(page.get_by_text(person.email)).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    person.secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Password (at least 12 characters)").fill(person.password)
    page.get_by_label("Password again").fill(person.password)
    page.get_by_label("Code from your authenticator").fill(person.next_code())
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_text("You are enrolled")).to_be_visible()
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_label("Code from your authenticator").fill(person.next_code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(page.get_by_text(f"{person.email} · reviewer")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/console/reviews")
    expect(page).to_have_url(re.compile(r"/console/login$"))


def test_a_referred_case_is_decided_and_the_partner_sees_it(
    tab: Watched, enrol: Enrol, admin: Admin, partner: Actor
) -> None:
    page = tab.page
    filed = refer_by_watchlist(admin, partner)
    reviewer = enrol("reviewer")
    sign_in(page, reviewer)
    page.get_by_role("link", name="Review queue").click()
    page.get_by_role("link", name="Open").click()
    expect(page.get_by_text("Watchlist match on the traveller's document")).to_be_visible()
    expect(page.get_by_text("Somchai")).to_have_count(0)
    page.get_by_role("button", name="Reveal in full (audited)").click()
    expect(page.get_by_text("Somchai")).to_be_visible()
    page.get_by_role("button", name="Claim this case").click()
    expect(page.get_by_text(f"Claimed by {reviewer.email}")).to_be_visible()
    page.get_by_label("Approve (issues the clearance)").check()
    page.get_by_label("Grounds (the partner sees them)").fill("Known driver; document checked.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".status.approved")).to_be_visible()
    seen = partner.get(f"/v1/applications/{filed['id']}").json()
    assert seen["status"] == "approved"
    assert seen["decision"]["note"] == "Known driver; document checked."
    assert seen["decision"]["decided_by"] == f"staff:{reviewer.email}"
    assert seen["clearance"]["token"]


def test_a_rule_with_a_syntax_error_is_fixed_dry_run_and_switched_on(
    tab: Watched, enrol: Enrol, admin: Admin, partner: Actor
) -> None:
    page = tab.page
    traveller_id = register(partner, bodies.traveller())
    filed = file(partner, bodies.application(traveller_id))
    sign_in(page, enrol("rule_admin"))
    page.get_by_role("link", name="Rules").click()
    page.get_by_role("link", name="Write a new rule").click()
    page.get_by_label("Name").fill("Thai nationals to review")
    condition = page.get_by_label("Condition (CEL; must hold for the application to pass)")
    condition.fill("traveller.nationality != 'THA' &&")
    expect(page.locator("#compile")).to_contain_text("Does not compile")  # as you type
    condition.fill("traveller.nationality != 'THA'")
    expect(page.locator("#compile")).to_contain_text("Compiles.")
    page.get_by_label("Reason code").fill("thai_review")
    page.get_by_label("Message (the partner sees it)").fill("Referred for review.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("b.state")).to_have_text("switched off")
    page.get_by_label("Against a filed application (its id)").fill(filed["id"])
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("#dry-run-result .status")).to_have_text("referred")
    page.get_by_role("button", name="Switch on version 1").click()
    expect(page.locator("b.state")).to_have_text("in force")
    assert file(partner, bodies.application(traveller_id))["status"] == "referred"


def test_a_disabled_clients_token_is_refused_at_once(
    tab: Watched, enrol: Enrol, partner: Actor
) -> None:
    page = tab.page
    assert partner.get("/v1/me").status_code == 200
    sign_in(page, enrol("agency_admin"))
    page.get_by_role("link", name="Partners & clients").click()
    row = page.get_by_role("row").filter(has_text=partner.client_id)
    row.get_by_role("button", name="Disable now").click()
    expect(page.get_by_role("row").filter(has_text=partner.client_id)).to_contain_text("disabled")
    assert partner.get("/v1/me").status_code == 401


def test_the_audit_view_filters_and_verifies_the_chain(tab: Watched, enrol: Enrol) -> None:
    page = tab.page
    person = enrol("agency_admin")
    sign_in(page, person)
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("cell", name=f"staff:{person.email}").first).to_be_visible()
    page.get_by_label("Action (starts with)").fill("staff.enrol")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="staff.enrol")).to_be_visible()
    expect(page.get_by_role("cell", name="staff.sign_in")).to_have_count(0)
    page.get_by_role("link", name="Verify the whole chain").click()
    expect(page.locator("#chain-result")).to_contain_text("The chain holds")


def test_every_page_in_the_browser(
    tab: Watched, enrol: Enrol, admin: Admin, partner: Actor, settings: Settings
) -> None:
    """A tour of every page (the screenshots in docs/console come from it): each renders under
    the Content-Security-Policy without a violation."""
    folder = os.environ.get(SCREENSHOTS_ENV)
    page = tab.page
    filed = refer_by_watchlist(admin, partner)
    lane, lane_partner = lanes_and_partner(admin)
    for _ in range(3):  # some traffic for Today's chart and lane table
        ask(lane, question(issue(lane_partner)))
    _, token = create(settings, "reviewer", "new.reviewer@agency.example")
    page.goto(f"/console/enrol/{token}")
    snapshot(page, "enrol", folder)
    page.goto("/console/login")
    snapshot(page, "login", folder)
    sign_in(page, enrol("agency_admin"))
    snapshot(page, "today", folder)
    tour = {
        "reviews": "/console/reviews",
        "review": f"/console/reviews/{filed['id']}",
        "rules": "/console/rules",
        "watchlist": "/console/watchlist",
        "directory": "/console/directory",
        "keys": "/console/keys",
        "audit": "/console/audit",
    }
    for name, path in tour.items():
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        snapshot(page, name, folder)
    page.goto("/console/rules")
    page.get_by_role("link", name="RCEP nationality").click()
    page.get_by_label("Against a filed application (its id)").fill(filed["id"])
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("#dry-run-result .status")).to_be_visible()
    snapshot(page, "rule", folder)
    assert json.dumps(tab.problems) == "[]"
