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
from ..api.lane_setup import PORT, ask, codes, issue, lanes_and_partner, question
from ..api.test_agencies import agency_body
from ..api.test_applications import file, refer_by_watchlist, register
from ..api.trip_setup import crew
from ..waiting import eventually
from .browser import SCREENSHOTS_ENV, Watched, snapshot
from .people import Person, create
from .test_attacks import MARKUP

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


def test_a_case_is_worked_to_its_decision_and_a_clearance_suspended_and_reinstated(
    tab: Watched, enrol: Enrol, admin: Admin
) -> None:
    """A reviewer's day: a referred case of a partner whose name holds markup is revealed,
    claimed, sent back for information, answered, its watchlist hit marked false, and
    approved; then an inquiry about another clearance suspends it (the lanes deny it) and
    reinstates it. Agency administrators' pages stay closed to the reviewer."""
    page = tab.page
    lane = admin.lane_actor(PORT, "L1")
    partner = admin.partner_actor(MARKUP[:100])
    filed = refer_by_watchlist(admin, partner)
    other = issue(partner)
    reviewer = enrol("reviewer")
    sign_in(page, reviewer)
    expect(page.get_by_role("link", name="Agencies")).to_have_count(0)
    refused = page.goto("/console/agencies")
    assert refused is not None
    assert refused.status == 403
    expect(page.get_by_role("heading", name="Not for your role")).to_be_visible()
    tab.forgive("status of 403")
    page.goto("/console/reviews")
    expect(page.get_by_role("cell", name=MARKUP[:100])).to_be_visible()  # shown as text
    page.get_by_role("link", name="Open").click()
    expect(page.get_by_text("Watchlist match on the traveller's document")).to_be_visible()
    expect(page.get_by_text("Somchai")).to_have_count(0)
    page.get_by_role("button", name="Reveal in full (audited)").click()
    expect(page.get_by_text("Somchai")).to_be_visible()
    page.get_by_role("button", name="Claim this case").click()
    expect(page.get_by_text(f"Claimed by {reviewer.email}")).to_be_visible()

    page.get_by_label("employer letter").check()
    page.get_by_label("Message to the partner").fill("Please send the employer's letter.")
    page.get_by_role("button", name="Ask for information").click()
    expect(page.locator(".status.info_requested")).to_be_visible()
    expect(page.locator("#information-request")).to_contain_text("Waiting for the partner")
    page.get_by_role("link", name="Review queue").click()
    expect(page.locator("#waiting")).to_contain_text("employer_letter")
    answered = partner.post(
        f"/v1/applications/{filed['id']}/information", json={"statement": "Letter sent."}
    )
    assert answered.status_code == 200, answered.text
    page.locator("#waiting").get_by_role("link", name="Open").click()
    expect(page.locator(".status.referred")).to_be_visible()
    expect(page.locator("#information-request")).to_contain_text("Letter sent.")

    page.get_by_label("Why it is not this traveller").fill("The issuer confirms a reused number.")
    page.get_by_role("button", name="Mark a false hit for this traveller").click()
    expect(page.locator("#history")).to_contain_text("watchlist.false_hit")
    page.get_by_label("Approve (issues the clearance)").check()
    page.get_by_label("Grounds (the partner sees them)").fill("Known driver; document checked.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".status.approved").first).to_be_visible()
    expect(page.locator("#clearance")).to_contain_text("active")
    seen = partner.get(f"/v1/applications/{filed['id']}").json()
    assert seen["status"] == "approved"
    assert seen["decision"]["note"] == "Known driver; document checked."
    assert seen["decision"]["decided_by"] == f"staff:{reviewer.email}"
    assert seen["clearance"]["token"]

    page.get_by_role("link", name="Review queue").click()
    page.get_by_label("Open a case by its application or clearance id").fill(other.clearance_id)
    page.locator("#find").get_by_role("button", name="Open").click()
    expect(page.locator("#clearance")).to_contain_text(other.clearance_id)
    page.locator("#clearance").get_by_label("Reason", exact=True).fill("Phone reported stolen")
    page.get_by_label("Type suspend to confirm").fill("suspend")
    page.get_by_role("button", name="Suspend the clearance").click()
    expect(page.locator("#clearance .status")).to_have_text("suspended")
    eventually(  # the lane's server is another worker: it hears of it by NOTIFY
        lambda: codes(ask(lane, question(other))) == ["token_suspended"],
        what="the lane's worker to deny the suspended clearance",
        timeout=15,
    )
    page.get_by_label("Type reinstate to confirm").fill("reinstate")
    page.get_by_role("button", name="Reinstate the clearance").click()
    expect(page.locator("#clearance .status")).to_have_text("active")
    eventually(
        lambda: ask(lane, question(other))["decision"] == "green",
        what="the lane's worker to accept the reinstated clearance",
        timeout=15,
    )


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
    the Content-Security-Policy without a violation. On the way, a peer agency is trusted and
    agreed with through the Agencies page's forms."""
    folder = os.environ.get(SCREENSHOTS_ENV)
    page = tab.page
    filed = refer_by_watchlist(admin, partner)
    lane, lane_partner = lanes_and_partner(admin)
    for _ in range(3):  # some traffic for Today's chart and lane table
        ask(lane, question(issued := issue(lane_partner)))
    truck = crew(admin)  # a trip expected at a port, for Today
    assert truck.partner.post("/v1/trips", json=truck.trip()).status_code == 201
    admin.port("LAVTE", country="LAO")  # a peer's port, for the agreement
    _, token = create(settings, "reviewer", "new.reviewer@agency.example")
    page.goto(f"/console/enrol/{token}")
    snapshot(page, "enrol", folder)
    page.goto("/console/login")
    snapshot(page, "login", folder)
    sign_in(page, enrol("agency_admin"))

    page.get_by_role("link", name="Agencies").click()
    peer = agency_body()
    page.get_by_label("Country").fill(peer["country"])
    page.get_by_label("Issuer").fill(peer["issuer"])
    page.get_by_label("Trust-list URL").fill(peer["trust_list_url"])
    page.get_by_label("Anchor thumbprint").fill(peer["anchor_thumbprint"])
    page.get_by_role("button", name="Trust this agency").click()
    expect(page.locator("main h1")).to_contain_text("Peer agency LAO")
    page.get_by_label("Ports").select_option("LAVTE")
    page.get_by_label("business visitor").check()
    page.get_by_label("From", exact=True).fill("2027-01-01")
    page.get_by_label("Until").fill("2027-12-31")
    page.get_by_role("button", name="Set the agreement").click()
    expect(page.locator("#agreement")).to_contain_text("Our lanes at LAVTE accept")
    snapshot(page, "agency", folder)

    page.goto("/console/")
    expect(page.locator("#trips")).to_contain_text(truck.trip()["port_code"])
    expect(page.locator("#peers")).to_contain_text("LAO")
    snapshot(page, "today", folder)
    tour = {
        "reviews": "/console/reviews",
        "review": f"/console/reviews/{filed['id']}",
        "clearance": f"/console/clearances/{issued.clearance_id}",
        "rules": "/console/rules",
        "watchlist": "/console/watchlist",
        "directory": "/console/directory",
        "agencies": "/console/agencies",
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
