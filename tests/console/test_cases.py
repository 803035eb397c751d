"""A case after its first step, worked in the console over HTTP (the browser tests drive the
same in Chromium): a request for information and its answer, a false hit, a case found by its
clearance, and that clearance suspended, reinstated and sent to a second-line check, as a lane
then answers it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from greenlane.domain.staff import StaffRole
from greenlane.settings import Settings

from ..api import bodies
from ..api.actors import Actor, Admin
from ..api.lane_setup import PORT, ask, codes, issue, lanes_and_partner, question
from ..api.test_applications import file, refer_by_watchlist, register
from .people import Person, signed_in
from .test_attacks import MARKUP

Enrol = Callable[[StaffRole], Person]


def audited(admin: Admin, action: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = admin.get("/v1/admin/audit?limit=200").json()["items"]
    return [entry for entry in entries if entry["action"] == action]


def waiting_table(queue: str) -> str:
    """The queue page's part below its "Waiting for information" heading."""
    return queue.split("<h2>Waiting for information</h2>")[1]


def test_a_reviewer_asks_for_information_and_the_answer_brings_the_case_back(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin, settings: Settings
) -> None:
    admin.port(PORT)
    partner = admin.partner_actor(MARKUP[:100])
    filed = refer_by_watchlist(admin, partner)
    url = f"/console/reviews/{filed['id']}"
    reviewer = enrol("reviewer")
    csrf = signed_in(client, reviewer)
    client.post(f"{url}/claim", data={"_csrf": csrf})
    case = client.get(url).text
    assert f"Claimed by <b>{reviewer.email}</b>" in case
    assert f"The partner has {settings.info_deadline_days} days to answer" in case
    for bad in (
        {"message": "Send it."},  # no item
        {"items": "passport_photo", "message": "Send it."},  # not on the list
        {"items": "itinerary"},  # no message
        {"items": "itinerary", "message": "x" * 2001},
    ):
        refused = client.post(f"{url}/request-info", data={"_csrf": csrf, **bad})
        assert refused.status_code == 422, bad
    assert partner.get(f"/v1/applications/{filed['id']}").json()["status"] == "referred"

    asked = client.post(
        f"{url}/request-info",
        data={
            "_csrf": csrf,
            "items": ["employer_letter", "itinerary"],
            "message": "Send the <b>letter</b>.",
        },
    )
    assert asked.status_code == 200, asked.text
    assert '<b class="status info_requested">info_requested</b>' in asked.text
    assert "Send the &lt;b&gt;letter&lt;/b&gt;." in asked.text
    seen = partner.get(f"/v1/applications/{filed['id']}").json()
    assert seen["status"] == "info_requested"
    request = seen["information_request"]
    assert request["items"] == ["employer_letter", "itinerary"]
    due = datetime.fromisoformat(request["due_at"]) - datetime.fromisoformat(
        request["requested_at"]
    )
    assert due == timedelta(days=settings.info_deadline_days)
    queue = client.get("/console/reviews").text
    assert filed["id"] not in queue.split("<h2>Waiting for information</h2>")[0]
    waiting = waiting_table(queue)
    assert filed["id"] in waiting
    assert "<code>employer_letter</code>" in waiting
    assert "&lt;script&gt;alert" in waiting  # the partner's name, as text
    assert "<script>alert" not in queue
    again = client.post(
        f"{url}/request-info", data={"_csrf": csrf, "items": "itinerary", "message": "More."}
    )
    assert again.status_code == 409
    assert "info_requested" in again.text

    answered = partner.post(
        f"/v1/applications/{filed['id']}/information", json={"statement": "Letter attached."}
    )
    assert answered.status_code == 200, answered.text
    case = client.get(url).text
    assert '<b class="status referred">referred</b>' in case
    assert ": Letter attached.</p>" in case
    assert "Claimed by" not in case  # asking released it: the answer is anyone's to decide
    assert filed["id"] not in waiting_table(client.get("/console/reviews").text)
    [entry] = audited(admin, "application.request_info")
    assert (entry["actor"], entry["subject"]) == (f"staff:{reviewer.email}", filed["id"])


def test_a_false_hit_clears_the_traveller_of_that_entry_and_a_claim_holds_off_others(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin, partner: Actor
) -> None:
    filed = refer_by_watchlist(admin, partner)
    url = f"/console/reviews/{filed['id']}"
    first = enrol("reviewer")
    csrf = signed_in(client, first)
    client.post(f"{url}/claim", data={"_csrf": csrf})
    csrf = signed_in(client, enrol("agency_admin"))
    taken = client.post(f"{url}/false-hit", data={"_csrf": csrf, "note": "Not them."})
    assert taken.status_code == 409  # the case is another reviewer's
    assert first.email in taken.text
    asking = {"_csrf": csrf, "items": "itinerary", "message": "Send it."}
    assert client.post(f"{url}/request-info", data=asking).status_code == 409
    csrf = signed_in(client, first)
    assert client.post(f"{url}/false-hit", data={"_csrf": csrf}).status_code == 422
    assert audited(admin, "watchlist.false_hit") == []
    marked = client.post(
        f"{url}/false-hit", data={"_csrf": csrf, "note": "Issuer confirms a reused number."}
    )
    assert marked.status_code == 200, marked.text
    assert "<code>watchlist.false_hit</code>" in marked.text  # in the case's history
    [entry] = audited(admin, "watchlist.false_hit")
    assert (entry["actor"], entry["subject"]) == (f"staff:{first.email}", filed["id"])
    assert file(partner, bodies.application(filed["traveller_id"]))["status"] == "approved"

    plain = file(partner, bodies.application(register(partner, bodies.traveller())))
    page = client.get(f"/console/reviews/{plain['id']}").text
    assert "/false-hit" not in page  # no hit, no form
    refused = client.post(
        f"/console/reviews/{plain['id']}/false-hit", data={"_csrf": csrf, "note": "x"}
    )
    assert refused.status_code == 409


def test_a_clearance_is_found_suspended_reinstated_and_sent_to_a_second_line_check(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin
) -> None:
    lane, partner = lanes_and_partner(admin)
    issued = issue(partner)
    case_url = f"/console/reviews/{issued.application['id']}"
    clearance = f"/console/clearances/{issued.clearance_id}"
    reviewer = enrol("reviewer")
    csrf = signed_in(client, reviewer)
    found = client.get(f"/console/reviews/find?id={issued.clearance_id}", follow_redirects=False)
    assert (found.status_code, found.headers["location"]) == (303, case_url)
    assert client.get(clearance, follow_redirects=False).headers["location"] == case_url
    assert client.get(f"/console/reviews/find?id={uuid.uuid4()}").status_code == 404
    assert client.get("/console/reviews/find?id=nothing").status_code == 400
    case = client.get(case_url).text
    assert f"<code>{issued.clearance_id}</code>" in case
    assert '<b class="status active">active</b>' in case
    assert issued.token not in case

    for unconfirmed in ({"reason": "inquiry"}, {"reason": "inquiry", "_confirm": "yes"}):
        refused = client.post(f"{clearance}/suspend", data={"_csrf": csrf, **unconfirmed})
        assert refused.status_code == 422
    no_reason = client.post(f"{clearance}/suspend", data={"_csrf": csrf, "_confirm": "suspend"})
    assert no_reason.status_code == 422
    assert ask(lane, question(issued))["decision"] == "green"

    suspended = client.post(
        f"{clearance}/suspend",
        data={"_csrf": csrf, "reason": "<i>inquiry</i>", "_confirm": "suspend"},
    )
    assert suspended.status_code == 200, suspended.text
    assert '<b class="status suspended">suspended</b>' in suspended.text
    assert "&lt;i&gt;inquiry&lt;/i&gt;" in suspended.text
    answer = ask(lane, question(issued))
    assert (answer["decision"], codes(answer)) == ("deny", ["token_suspended"])
    assert partner.get(f"/v1/clearances/{issued.clearance_id}").json()["suspended_at"]

    assert client.post(f"{clearance}/reinstate", data={"_csrf": csrf}).status_code == 422
    reinstated = client.post(
        f"{clearance}/reinstate", data={"_csrf": csrf, "_confirm": "reinstate"}
    )
    assert '<b class="status active">active</b>' in reinstated.text
    assert ask(lane, question(issued))["decision"] == "green"

    checked = client.post(
        f"{clearance}/second-line", data={"_csrf": csrf, "reason": "cargo to inspect"}
    )
    assert "<code>clearance.second_line_requested</code>" in checked.text
    answer = ask(lane, question(issued))
    assert (answer["decision"], codes(answer)) == ("refer", ["second_line_check"])

    actor = f"staff:{reviewer.email}"
    for action in ("clearance.suspend", "clearance.reinstate", "clearance.second_line"):
        [entry] = audited(admin, action)
        assert (entry["actor"], entry["subject"]) == (actor, issued.clearance_id), action


def test_a_clearance_is_suspended_by_a_reviewer_only_and_never_once_revoked(
    client: TestClient[Litestar], enrol: Enrol, admin: Admin
) -> None:
    _lane, partner = lanes_and_partner(admin)
    issued = issue(partner)
    suspend = f"/console/clearances/{issued.clearance_id}/suspend"
    confirmed = {"reason": "x", "_confirm": "suspend"}
    csrf = signed_in(client, enrol("rule_admin"))
    assert client.post(suspend, data={"_csrf": csrf, **confirmed}).status_code == 403
    assert "suspended_at" not in partner.get(f"/v1/clearances/{issued.clearance_id}").json()

    partner.post(f"/v1/clearances/{issued.clearance_id}/revoke", json={"reason": "lost"})
    csrf = signed_in(client, enrol("reviewer"))
    case = client.get(f"/console/reviews/{issued.application['id']}").text
    assert '<b class="status revoked">revoked</b>' in case
    assert re.search(r"/console/clearances/[0-9a-f-]{36}/(suspend|second-line)", case) is None
    assert client.post(suspend, data={"_csrf": csrf, **confirmed}).status_code == 409
