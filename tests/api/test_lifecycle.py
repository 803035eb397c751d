"""The life of a case after its first decision, through the HTTP API (issue 18): requests for
information and their deadline, grounds and appeals, renewals, a new travel document, false hits
and second-line checks, each step in the application's history and the audit log."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar.testing import TestClient

from greenlane.app import create_app
from greenlane.db.locks import AUDIT_CHAIN
from greenlane.runtime import Runtime
from greenlane.services import lifecycle
from greenlane.settings import Settings

from ..database import connect
from ..waiting import eventually
from . import bodies
from .actors import Actor, Admin
from .lane_setup import Issued, ask, codes, issue, question
from .problems import assert_problem

WATCHLIST = "/v1/admin/watchlist"


# --- helpers --------------------------------------------------------------------------------


def register(partner: Actor, body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = body or bodies.traveller()
    response = partner.post("/v1/travellers", json=body)
    assert response.status_code == 201, response.text
    return {**body, "id": response.json()["id"]}


def file(partner: Actor, traveller_id: str, **changes: Any) -> dict[str, Any]:
    response = partner.post("/v1/applications", json=bodies.application(traveller_id, **changes))
    assert response.status_code == 201, response.text
    filed: dict[str, Any] = response.json()
    return filed


def watch(admin: Admin, traveller: dict[str, Any], reason: str = "reported lost") -> str:
    document = traveller["document"]
    response = admin.post(
        WATCHLIST,
        json={
            "kind": "document",
            "issuing_state": document["issuing_state"],
            "number": document["number"],
            "reason": reason,
        },
    )
    assert response.status_code == 201, response.text
    entry_id: str = response.json()["id"]
    return entry_id


def referred(admin: Admin, partner: Actor) -> tuple[dict[str, Any], dict[str, Any]]:
    """A traveller whose document is watched, and their application, referred for it."""
    traveller = register(partner)
    watch(admin, traveller)
    filed = file(partner, traveller["id"])
    assert filed["status"] == "referred", filed
    return traveller, filed


def other_reviewer(admin: Admin) -> Admin:
    client_id, secret = admin.new_client(role="admin", name="second reviewer")
    return Admin(admin.http, client_id, secret)


def decide(admin: Admin, application_id: str, decision: str, note: str = "checked") -> Any:
    return admin.post(
        f"/v1/admin/applications/{application_id}/decision",
        json={"decision": decision, "note": note},
    )


def ask_info(admin: Admin, application_id: str, **body: Any) -> Any:
    return admin.post(
        f"/v1/admin/reviews/{application_id}/request-info",
        json={"items": ["employer_letter"], "message": "Please send the letter.", **body},
    )


def events(application: dict[str, Any]) -> list[str]:
    return [step["event"] for step in application["history"]]


def conflict(response: Any, state: str) -> dict[str, Any]:
    problem = assert_problem(response, 409, "conflict")
    assert problem["state"] == state, problem
    assert state in problem["detail"]
    return problem


def execute(database_url: str, sql: str, *args: Any) -> None:
    async def run() -> None:
        conn = await connect(database_url)
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    asyncio.run(run())


def fetchval(database_url: str, sql: str, *args: Any) -> Any:
    async def run() -> Any:
        conn = await connect(database_url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def audit_actions(admin: Admin, subject: str) -> list[str]:
    entries = admin.get("/v1/admin/audit?limit=200").json()["items"]
    return [e["action"] for e in entries if e["subject"] == subject]


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


# --- requests for information ---------------------------------------------------------------


def test_a_request_for_information_is_answered_and_reviewed_again(
    admin: Admin, partner: Actor
) -> None:
    traveller, filed = referred(admin, partner)
    asked = ask_info(
        admin, filed["id"], items=["employer_letter", "travel_document", "employer_letter"]
    )
    assert asked.status_code == 200, asked.text
    waiting = asked.json()
    assert waiting["status"] == "info_requested"
    request = waiting["information_request"]
    assert request["items"] == ["employer_letter", "travel_document"]
    assert request["message"] == "Please send the letter."
    due = parse(request["due_at"]) - parse(request["requested_at"])
    assert due == timedelta(days=14)  # GREENLANE_INFO_DEADLINE_DAYS
    queue = admin.get("/v1/admin/reviews", params={"status": "info_requested"}).json()["items"]
    assert [a["id"] for a in queue] == [filed["id"]]
    assert admin.get("/v1/admin/reviews").json()["items"] == []
    # Waiting for the partner, it cannot be decided, nor asked again.
    conflict(decide(admin, filed["id"], "approve"), "info_requested")
    conflict(ask_info(admin, filed["id"]), "info_requested")

    url = f"/v1/applications/{filed['id']}/information"
    answer = {
        "statement": "The employer's name was misspelt; the letter is on its way.",
        "traveller": {"employer": {"name": "Siam Cement Trading Co", "country": "THA"}},
    }
    answered = partner.post(url, json=answer)
    assert answered.status_code == 200, answered.text
    back = answered.json()
    assert back["status"] == "referred"
    assert [r["reason_code"] for r in back["reasons"]] == ["watchlist_hit"]
    assert back["information_request"]["statement"] == answer["statement"]
    assert back["information_request"]["updated"] == ["traveller"]
    assert "answered_at" in back["information_request"]
    traveller_now = partner.get(f"/v1/travellers/{traveller['id']}").json()
    assert traveller_now["employer"]["name"] == "Siam Cement Trading Co"
    assert [a["id"] for a in admin.get("/v1/admin/reviews").json()["items"]] == [filed["id"]]
    assert events(back) == ["application.filed", "information.requested", "information.answered"]
    assert [step["party"] for step in back["history"]] == ["partner", "agency", "partner"]
    assert all("actor" not in step for step in back["history"])  # who in the agency: not shown

    # Answered twice: the application is no longer waiting.
    conflict(partner.post(url, json={"statement": "again"}), "referred")
    # Back in review, a reviewer decides as usual.
    approved = decide(admin, filed["id"], "approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert audit_actions(admin, filed["id"]) == [
        "application.request_info",
        "application.answer_info",
        "application.approve",
    ]
    seen = admin.get(f"/v1/admin/applications/{filed['id']}").json()
    assert [step["actor"] for step in seen["history"]][1] == f"client:{admin.client_id}"


def test_bad_requests_for_information(admin: Admin, partner: Actor) -> None:
    traveller = register(partner)
    approved = file(partner, traveller["id"])
    assert approved["status"] == "approved"
    conflict(ask_info(admin, approved["id"]), "approved")
    assert_problem(ask_info(admin, str(uuid.uuid4())), 404, "not-found")
    _, filed = referred(admin, partner)
    for items in ([], ["a_selfie"]):
        assert_problem(ask_info(admin, filed["id"], items=items), 422, "validation-failed")
    # Only a waiting application can be answered, and only by its own partner.
    url = f"/v1/applications/{filed['id']}/information"
    conflict(partner.post(url, json={"statement": "here"}), "referred")
    assert ask_info(admin, filed["id"]).status_code == 200
    stranger = admin.partner_actor()
    assert_problem(stranger.post(url, json={"statement": "here"}), 404, "not-found")
    # An answer whose correction fails leaves the request open and the data as it was.
    bad = {"statement": "new employer", "traveller": {"employer": {"name": "", "country": "XXX"}}}
    assert_problem(partner.post(url, json=bad), 422, "validation-failed")
    assert partner.get(f"/v1/applications/{filed['id']}").json()["status"] == "info_requested"
    no_vehicle = {"statement": "new plate", "vehicle": {"colour": "red"}}
    assert_problem(partner.post(url, json=no_vehicle), 422, "validation-failed")
    assert_problem(partner.post(url, json={"statement": ""}), 422, "validation-failed")


def test_an_unanswered_request_is_rejected_with_grounds_info_not_provided(
    admin: Admin, partner: Actor, database_url: str
) -> None:
    runtime: Runtime = admin.http.app.state.runtime
    _, filed = referred(admin, partner)
    assert ask_info(admin, filed["id"]).status_code == 200
    url = f"/v1/applications/{filed['id']}/information"

    sweep = admin.http.blocking_portal.call
    assert sweep(lifecycle.expire_overdue, runtime.deciding) == 0  # not due yet
    # Past the due date, before the sweep has run: too late to answer.
    execute(
        database_url,
        "UPDATE information_requests SET due_at = now() - interval '1 second'"
        " WHERE application_id = $1",
        uuid.UUID(filed["id"]),
    )
    conflict(partner.post(url, json={"statement": "late"}), "info_requested")
    assert sweep(lifecycle.expire_overdue, runtime.deciding) == 1
    assert sweep(lifecycle.expire_overdue, runtime.deciding) == 0

    rejected = partner.get(f"/v1/applications/{filed['id']}").json()
    assert rejected["status"] == "rejected"
    rejection = rejected["rejection"]
    assert rejection["grounds"] == [
        {
            "code": "info_not_provided",
            "message": "The information a reviewer asked for was not provided by its due date.",
        }
    ]
    until = parse(rejection["appeal_until"]) - parse(rejection["rejected_at"])
    assert until == timedelta(days=30)  # GREENLANE_APPEAL_DAYS
    assert "expired_at" in rejected["information_request"]
    assert events(rejected)[-1] == "information.expired"
    assert rejected["history"][-1]["party"] == "system"
    conflict(partner.post(url, json={"statement": "later still"}), "rejected")
    assert "application.info_not_provided" in audit_actions(admin, filed["id"])


def test_the_deadline_sweep_runs_on_one_worker_at_a_time(
    admin: Admin, partner: Actor, database_url: str
) -> None:
    runtime: Runtime = admin.http.app.state.runtime
    _, filed = referred(admin, partner)
    assert ask_info(admin, filed["id"]).status_code == 200
    later = datetime.now(UTC) + timedelta(days=15)

    async def while_another_holds_the_lock() -> int:
        other = await connect(database_url)
        try:
            async with other.transaction():
                await other.execute("SELECT pg_advisory_xact_lock($1)", 0x696E666F)
                return await lifecycle.expire_overdue(runtime.deciding, later)
        finally:
            await other.close()

    assert admin.http.blocking_portal.call(while_another_holds_the_lock) == 0
    assert partner.get(f"/v1/applications/{filed['id']}").json()["status"] == "info_requested"
    assert admin.http.blocking_portal.call(lifecycle.expire_overdue, runtime.deciding, later) == 1


# --- grounds and appeals --------------------------------------------------------------------


def test_a_rejection_by_the_rules_states_its_grounds(partner: Actor) -> None:
    german = bodies.traveller(nationality="DEU")
    german["document"]["issuing_state"] = "DEU"
    filed = file(partner, register(partner, german)["id"])
    assert filed["status"] == "rejected"
    rejection = filed["rejection"]
    [ground] = rejection["grounds"]
    assert ground["code"] == "nationality_not_eligible"
    assert ground["rule_id"]
    assert ground["message"]
    assert "note" not in rejection
    until = parse(rejection["appeal_until"]) - parse(rejection["rejected_at"])
    assert until == timedelta(days=30)


def test_a_reviewers_rejection_names_the_watchlist_hit_but_never_what_is_watched(
    admin: Admin, partner: Actor
) -> None:
    traveller, filed = referred(admin, partner)
    entry_id = admin.get(WATCHLIST).json()["items"][0]["id"]
    rejected = decide(admin, filed["id"], "reject", "unresolved match")
    assert rejected.status_code == 200, rejected.text
    grounds = rejected.json()["rejection"]["grounds"]
    assert grounds == [
        {
            "code": "watchlist_hit",
            "message": (
                "The traveller or vehicle matches a watchlist entry; an officer will review."
            ),
            "watchlist_entry_id": entry_id,
        }
    ]
    seen = partner.get(f"/v1/applications/{filed['id']}")
    rejection = seen.json()["rejection"]
    assert rejection["note"] == "unresolved match"
    assert [g["code"] for g in rejection["grounds"]] == ["watchlist_hit"]
    assert entry_id not in seen.text  # the partner learns that an entry hit, not which
    assert traveller["document"]["number"] not in seen.text + rejected.text


def test_an_appeal_is_decided_by_another_reviewer(
    admin: Admin, partner: Actor, database_url: str
) -> None:
    _, filed = referred(admin, partner)
    assert decide(admin, filed["id"], "reject", "unresolved match").status_code == 200
    url = f"/v1/applications/{filed['id']}/appeal"
    appealed = partner.post(url, json={"grounds": "The traveller's passport was never lost."})
    assert appealed.status_code == 200, appealed.text
    body = appealed.json()
    assert body["status"] == "appealed"
    assert body["appeal"]["grounds"] == "The traveller's passport was never lost."
    queue = admin.get("/v1/admin/reviews", params={"status": "appealed"}).json()["items"]
    assert [a["id"] for a in queue] == [filed["id"]]

    # Four eyes: the reviewer who rejected may not decide the appeal.
    refused = decide(admin, filed["id"], "approve", "on reflection")
    assert_problem(refused, 403, "forbidden")
    assert partner.get(f"/v1/applications/{filed['id']}").json()["status"] == "appealed"
    # Nor past the service: the database's CHECK refuses it too.
    with pytest.raises(asyncpg.CheckViolationError) as refused_below:
        execute(
            database_url,
            "UPDATE appeals SET decision = 'approve', decided_by = rejected_by,"
            " decided_at = now() WHERE application_id = $1",
            uuid.UUID(filed["id"]),
        )
    assert refused_below.value.constraint_name == "four_eyes"
    second = other_reviewer(admin)
    upheld = decide(second, filed["id"], "approve", "document checked with the issuer")
    assert upheld.status_code == 200, upheld.text
    final = partner.get(f"/v1/applications/{filed['id']}").json()
    assert final["status"] == "approved"
    assert final["clearance"]["token"]
    assert final["appeal"]["decision"] == "approve"
    assert final["appeal"]["note"] == "document checked with the issuer"
    assert events(final) == [
        "application.filed",
        "application.decided",
        "application.appealed",
        "appeal.decided",
    ]
    conflict(partner.post(url, json={"grounds": "again"}), "approved")
    assert audit_actions(admin, filed["id"]) == [
        "application.reject",
        "application.appeal",
        "appeal.approve",
    ]


def test_an_appeal_rejected_is_final(admin: Admin, partner: Actor) -> None:
    _, filed = referred(admin, partner)
    assert decide(admin, filed["id"], "reject").status_code == 200
    url = f"/v1/applications/{filed['id']}/appeal"
    assert partner.post(url, json={"grounds": "please"}).status_code == 200
    conflict(partner.post(url, json={"grounds": "twice"}), "appealed")
    dismissed = decide(other_reviewer(admin), filed["id"], "reject", "the match stands")
    assert dismissed.status_code == 200, dismissed.text
    final = dismissed.json()
    assert final["status"] == "rejected"
    assert "appeal_until" not in final["rejection"]
    assert [g["code"] for g in final["rejection"]["grounds"]] == ["watchlist_hit"]
    problem = conflict(partner.post(url, json={"grounds": "once more"}), "rejected")
    assert "final" in problem["detail"]
    conflict(decide(other_reviewer(admin), filed["id"], "approve"), "rejected")


def test_appeals_that_are_refused(admin: Admin, partner: Actor, database_url: str) -> None:
    approved = file(partner, register(partner)["id"])
    conflict(
        partner.post(f"/v1/applications/{approved['id']}/appeal", json={"grounds": "why"}),
        "approved",
    )
    _, filed = referred(admin, partner)
    url = f"/v1/applications/{filed['id']}/appeal"
    conflict(partner.post(url, json={"grounds": "not yet decided"}), "referred")
    assert decide(admin, filed["id"], "reject").status_code == 200
    # Another partner's application is not found, whatever its state.
    stranger = admin.partner_actor()
    assert_problem(stranger.post(url, json={"grounds": "mine"}), 404, "not-found")
    assert_problem(
        partner.post(f"/v1/applications/{uuid.uuid4()}/appeal", json={"grounds": "x"}),
        404,
        "not-found",
    )
    assert_problem(partner.post(url, json={"grounds": ""}), 422, "validation-failed")
    # After the deadline.
    execute(
        database_url,
        "UPDATE applications SET appeal_until = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(filed["id"]),
    )
    problem = conflict(partner.post(url, json={"grounds": "late"}), "rejected")
    assert "window closed" in problem["detail"]


# --- renewal ----------------------------------------------------------------------------------


def expiring(partner: Actor, traveller: dict[str, Any] | None = None) -> dict[str, Any]:
    """An approved application whose clearance expires within the renewal window."""
    traveller = traveller or register(partner)
    filed = file(
        partner, traveller["id"], valid_from=bodies.in_days(0), valid_until=bodies.in_days(9)
    )
    assert filed["status"] == "approved", filed
    return filed


def test_a_clearance_renews_into_a_new_application_decided_by_todays_rules(
    admin: Admin, partner: Actor
) -> None:
    old = expiring(partner)
    clearance_id = old["clearance"]["id"]
    renewed = partner.post(f"/v1/clearances/{clearance_id}/renew")
    assert renewed.status_code == 201, renewed.text
    renewal = renewed.json()
    assert renewal["id"] != old["id"]
    assert renewal["status"] == "approved"
    assert renewal["renews"] == clearance_id
    assert (renewal["valid_from"], renewal["valid_until"]) == (
        bodies.in_days(10),
        bodies.in_days(19),
    )
    for same in ("traveller_id", "ports", "entries", "purpose"):
        assert renewal[same] == old[same]
    clearance = partner.get(f"/v1/clearances/{renewal['clearance']['id']}").json()
    assert clearance["renews"] == clearance_id
    assert events(partner.get(f"/v1/applications/{old['id']}").json())[-1] == "clearance.renewed"
    assert events(partner.get(f"/v1/applications/{renewal['id']}").json()) == ["application.filed"]
    # Once: a second renewal names the first.
    again = partner.post(f"/v1/clearances/{clearance_id}/renew")
    assert assert_problem(again, 409, "conflict")["existing_id"] == renewal["id"]
    assert audit_actions(admin, clearance_id) == ["clearance.issue", "clearance.renew"]


def test_a_clearance_past_its_expiry_renews_from_today(partner: Actor, database_url: str) -> None:
    old = expiring(partner)  # ten days from today
    clearance_id = old["clearance"]["id"]
    # Moved back twenty days: it ended ten days ago.
    execute(
        database_url,
        "UPDATE applications SET valid_from = valid_from - 20, valid_until = valid_until - 20"
        " WHERE id = $1",
        uuid.UUID(old["id"]),
    )
    execute(
        database_url,
        "UPDATE clearances SET not_before = not_before - interval '20 days',"
        " expires_at = expires_at - interval '20 days' WHERE id = $1",
        uuid.UUID(clearance_id),
    )
    assert partner.get(f"/v1/clearances/{clearance_id}").json()["status"] == "expired"
    renewed = partner.post(f"/v1/clearances/{clearance_id}/renew")
    assert renewed.status_code == 201, renewed.text
    renewal = renewed.json()
    assert (renewal["status"], renewal["renews"]) == ("approved", clearance_id)
    # As long as the old window, from today rather than from the day after it ended.
    assert (renewal["valid_from"], renewal["valid_until"]) == (bodies.in_days(0), bodies.in_days(9))
    clearance = partner.get(f"/v1/clearances/{renewal['clearance']['id']}").json()
    assert (clearance["status"], clearance["renews"]) == ("active", clearance_id)


def test_a_renewal_meets_todays_watchlist(admin: Admin, partner: Actor) -> None:
    traveller = register(partner)
    old = expiring(partner, traveller)
    watch(admin, traveller)
    renewal = partner.post(f"/v1/clearances/{old['clearance']['id']}/renew").json()
    assert renewal["status"] == "referred"
    assert [r["reason_code"] for r in renewal["reasons"]] == ["watchlist_hit"]


def test_renewals_that_are_refused(admin: Admin, partner: Actor) -> None:
    far = file(partner, register(partner)["id"], valid_until=bodies.in_days(60))
    problem = conflict(partner.post(f"/v1/clearances/{far['clearance']['id']}/renew"), "active")
    assert "may be renewed from" in problem["detail"]
    revoked = expiring(partner)
    clearance_id = revoked["clearance"]["id"]
    assert partner.post(f"/v1/clearances/{clearance_id}/revoke").status_code == 200
    conflict(partner.post(f"/v1/clearances/{clearance_id}/renew"), "revoked")
    mine = expiring(partner)
    stranger = admin.partner_actor()
    assert_problem(
        stranger.post(f"/v1/clearances/{mine['clearance']['id']}/renew"), 404, "not-found"
    )
    assert_problem(partner.post(f"/v1/clearances/{uuid.uuid4()}/renew"), 404, "not-found")


# --- a new travel document ------------------------------------------------------------------


def new_passport(traveller: dict[str, Any], **document: Any) -> dict[str, Any]:
    """A new passport for ``traveller``, with its MRZ."""
    renewed = {
        **traveller,
        "document": {
            "type": "P",
            "number": bodies.unique_number("N"),
            "issuing_state": traveller["document"]["issuing_state"],
            "expiry_date": bodies.in_days(10 * 365 - 1),
            **document,
        },
    }
    return {"document": renewed["document"], "mrz": bodies.td3(renewed)}


def test_a_new_passport_reissues_every_active_clearance_atomically(
    lane_and_partner: tuple[Actor, Actor], admin: Admin
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner, entries="single")
    traveller_id = issued.application["traveller_id"]
    assert ask(lane, question(issued))["decision"] == "green"  # the single entry, used

    replacement = new_passport(issued.traveller)
    response = partner.put(f"/v1/travellers/{traveller_id}/document", json=replacement)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["document"]["number"].endswith(replacement["document"]["number"][-3:])
    assert replacement["document"]["number"] not in response.text  # masked
    [again] = answer["reissued"]
    assert again["application_id"] == issued.application["id"]
    assert again["replaces"] == issued.clearance_id

    old = partner.get(f"/v1/clearances/{issued.clearance_id}").json()
    assert old["status"] == "revoked"
    assert old["revocation_reason"] == "the traveller's travel document was replaced"
    fresh = Issued(
        traveller={**issued.traveller, "document": replacement["document"]},
        vehicle=None,
        application={**issued.application, "clearance": again["clearance"]},
    )
    assert codes(ask(lane, question(issued, direction="exit"))) == ["token_revoked"]
    assert codes(ask(lane, question(fresh, direction="exit", document=issued.document()))) == [
        "document_mismatch"
    ]
    # The entry already made still counts: the exit is the one left.
    assert codes(ask(lane, question(fresh))) == ["already_used"]
    assert ask(lane, question(fresh, direction="exit"))["decision"] == "green"
    application = partner.get(f"/v1/applications/{issued.application['id']}").json()
    assert application["clearance"]["id"] == again["clearance"]["id"]
    assert events(application)[-2:] == ["clearance.revoked", "clearance.reissued"]
    assert audit_actions(admin, traveller_id) == ["traveller.document_replace"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expiry_date": bodies.in_days(-1)}, "document.expiry_date"),
        ({"number": "!!"}, "document.number"),
        ({"issuing_state": "QQQ"}, "document.issuing_state"),
    ],
)
def test_a_bad_new_document_changes_nothing(
    lane_and_partner: tuple[Actor, Actor], change: dict[str, Any], field: str
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    traveller_id = issued.application["traveller_id"]
    before = partner.get(f"/v1/travellers/{traveller_id}").json()
    body = {"document": {**new_passport(issued.traveller)["document"], **change}}
    problem = assert_problem(
        partner.put(f"/v1/travellers/{traveller_id}/document", json=body), 422, "validation-failed"
    )
    assert field in [e["field"] for e in problem["errors"]]
    untouched(partner, lane, issued, before)


def test_a_new_document_whose_mrz_disagrees_changes_nothing(
    lane_and_partner: tuple[Actor, Actor],
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    traveller_id = issued.application["traveller_id"]
    before = partner.get(f"/v1/travellers/{traveller_id}").json()
    replacement = new_passport(issued.traveller)
    line1, line2 = replacement["mrz"].split("\n")
    broken_digit = line2[:9] + str((int(line2[9]) + 1) % 10) + line2[10:]
    for mrz in (f"{line1}\n{broken_digit}", new_passport(issued.traveller)["mrz"]):
        body = {**replacement, "mrz": mrz}
        response = partner.put(f"/v1/travellers/{traveller_id}/document", json=body)
        assert_problem(response, 422, "validation-failed")
    untouched(partner, lane, issued, before)


def untouched(partner: Actor, lane: Actor, issued: Issued, before: dict[str, Any]) -> None:
    traveller_id = issued.application["traveller_id"]
    assert partner.get(f"/v1/travellers/{traveller_id}").json() == before
    assert partner.get(f"/v1/clearances/{issued.clearance_id}").json()["status"] == "active"
    assert ask(lane, question(issued))["decision"] == "green"


def test_another_partners_traveller_keeps_its_document(admin: Admin, partner: Actor) -> None:
    traveller = register(partner)
    stranger = admin.partner_actor()
    response = stranger.put(
        f"/v1/travellers/{traveller['id']}/document", json=new_passport(traveller)
    )
    assert_problem(response, 404, "not-found")
    seen = partner.get(f"/v1/travellers/{traveller['id']}").json()
    assert seen["document"]["number"].endswith(traveller["document"]["number"][-3:])


def waiting_for_locks(database_url: str) -> int:
    waiting: int = fetchval(
        database_url,
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return waiting


@contextmanager
def holding(database_url: str, lock: int) -> Iterator[None]:
    """A transaction of the test's own holds the advisory lock ``lock`` until the block ends."""
    held, release = threading.Event(), threading.Event()

    async def hold() -> None:
        conn = await connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)
                held.set()
                await asyncio.to_thread(release.wait)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as thread:
        holder = thread.submit(asyncio.run, hold())
        try:
            eventually(held.is_set, what="the test to hold the lock", timeout=10)
            yield
        finally:
            release.set()
            holder.result()


def test_changes_of_document_or_identity_and_revocations_at_once_do_not_deadlock(
    admin: Admin, partner: Actor, settings: Settings, database_url: str
) -> None:
    """The worst interleaving, forced: the audit chain's lock is held while a traveller's new
    document or identity, then an admin's revocation of their clearance (or of another
    traveller's), queue for locks; then it is released. Taken in one order (db/locks.py), one
    waits for the other; in opposite orders each would hold what the other waits for, and
    PostgreSQL would abort one (a deadlock, answered 500)."""
    # The app's own lock timeout (2 s) could run out while the test holds the lock.
    patient = replace(settings, db_lock_timeout_ms=30_000)
    with TestClient(app=create_app(patient), raise_server_exceptions=False) as http:
        owner = Actor(http, partner.client_id, partner.secret, token=partner.token)
        officer = Actor(http, admin.client_id, admin.secret, token=admin.token)
        for change in ("document", "identity"):
            for whose in ("own", "another"):
                mine = issue(owner)
                theirs = mine if whose == "own" else issue(owner)
                traveller_id = mine.application["traveller_id"]
                if change == "document":
                    method, url = "PUT", f"/v1/travellers/{traveller_id}/document"
                    body = new_passport(mine.traveller)
                else:
                    method, url = "PATCH", f"/v1/travellers/{traveller_id}"
                    renamed = {**mine.traveller, "surname": "Srisuk"}
                    body = {"surname": "Srisuk", "mrz": bodies.td3(renamed)}
                revoke = f"/v1/admin/clearances/{theirs.clearance_id}/revoke"
                with ThreadPoolExecutor(max_workers=2) as requests:
                    with holding(database_url, AUDIT_CHAIN):
                        changing = requests.submit(owner.request, method, url, json=body)
                        eventually(
                            lambda: waiting_for_locks(database_url) >= 1,
                            what="the change to wait for a lock",
                            timeout=10,
                        )
                        revoking = requests.submit(officer.post, revoke, json={"reason": "x"})
                        eventually(
                            lambda: waiting_for_locks(database_url) >= 2,
                            what="the revocation to wait for a lock",
                            timeout=10,
                        )
                    changed, revoked = changing.result(), revoking.result()
                round_ = f"{change}, {whose} clearance"
                assert changed.status_code == 200, (round_, changed.text)
                assert revoked.status_code == 200, (round_, revoked.text)
                assert revoked.json()["status"] == "revoked", round_
                answer = changed.json()
                again = (answer.get("reissued") or answer["redecided"])[0]["clearance"]
                for clearance_id, status in (
                    (mine.clearance_id, "revoked"),
                    (theirs.clearance_id, "revoked"),
                    (again["id"], "active"),
                ):
                    seen = owner.get(f"/v1/clearances/{clearance_id}").json()
                    assert seen["status"] == status, round_


# --- false hits -------------------------------------------------------------------------------


def test_a_false_hit_is_not_referred_again_until_the_entry_changes(
    lane_and_partner: tuple[Actor, Actor], admin: Admin
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    traveller = {**issued.traveller, "id": issued.application["traveller_id"]}
    entry_id = watch(admin, traveller)
    assert codes(ask(lane, question(issued))) == ["watchlist_hit"]
    filed = file(partner, traveller["id"])
    assert filed["status"] == "referred"
    seen = admin.get(f"/v1/admin/applications/{filed['id']}").json()
    assert seen["reasons"][0]["watchlist_entry_id"] == entry_id

    marked = admin.post(
        f"/v1/admin/applications/{filed['id']}/false-hits",
        json={"note": "same number, different person: checked with the issuer"},
    )
    assert marked.status_code == 200, marked.text
    assert events(marked.json())[-1] == "watchlist.false_hit"
    assert "watchlist.false_hit" not in events(
        partner.get(f"/v1/applications/{filed['id']}").json()
    )
    eventually(
        lambda: ask(lane, question(issued))["decision"] == "green",
        what="the worker to load the false-hit mark",
    )
    assert file(partner, traveller["id"])["status"] == "approved"
    assert audit_actions(admin, filed["id"]) == ["watchlist.false_hit"]

    # The entry changes: the mark lapses.
    changed = admin.put(
        f"{WATCHLIST}/{entry_id}",
        json={
            "kind": "document",
            "issuing_state": traveller["document"]["issuing_state"],
            "number": traveller["document"]["number"],
            "reason": "reported stolen, new report",
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    eventually(
        lambda: codes(ask(lane, question(issued))) == ["watchlist_hit"],
        what="the worker to see the entry changed",
    )
    assert file(partner, traveller["id"])["status"] == "referred"


def test_a_false_hit_holds_for_that_person_only(admin: Admin, partner: Actor) -> None:
    vehicle = bodies.vehicle()
    vehicle_id = partner.post("/v1/vehicles", json=vehicle).json()["id"]
    entry = admin.post(
        WATCHLIST,
        json={
            "kind": "vehicle",
            "registration_country": vehicle["registration_country"],
            "plate": vehicle["plate"],
            "reason": "stolen vehicle report",
        },
    )
    assert entry.status_code == 201, entry.text
    first, second = register(partner, bodies.driver()), register(partner, bodies.driver())
    filed = file(partner, first["id"], vehicle_id=vehicle_id)
    assert filed["status"] == "referred"
    marked = admin.post(
        f"/v1/admin/applications/{filed['id']}/false-hits", json={"note": "owner's own van"}
    )
    assert marked.status_code == 200, marked.text
    assert file(partner, first["id"], vehicle_id=vehicle_id)["status"] == "approved"
    assert file(partner, second["id"], vehicle_id=vehicle_id)["status"] == "referred"


def test_false_hit_marks_that_are_refused(admin: Admin, partner: Actor) -> None:
    clean = file(partner, register(partner)["id"])
    url = f"/v1/admin/applications/{clean['id']}/false-hits"
    problem = assert_problem(admin.post(url, json={"note": "no"}), 409, "conflict")
    assert "no watchlist hit" in problem["detail"]
    _, filed = referred(admin, partner)
    url = f"/v1/admin/applications/{filed['id']}/false-hits"
    other_entry = {"note": "x", "watchlist_entry_id": str(uuid.uuid4())}
    assert_problem(admin.post(url, json=other_entry), 422, "validation-failed")
    assert_problem(
        admin.post(f"/v1/admin/applications/{uuid.uuid4()}/false-hits", json={"note": "x"}),
        404,
        "not-found",
    )
    assert_problem(partner.post(url, json={"note": "x"}), 403, "forbidden")


# --- second-line checks -----------------------------------------------------------------------


def test_a_second_line_check_refers_the_next_crossing_then_clears_itself(
    lane_and_partner: tuple[Actor, Actor], admin: Admin, database_url: str
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    url = f"/v1/admin/clearances/{issued.clearance_id}/second-line"
    flagged = admin.post(url, json={"reason": "random selection"})
    assert flagged.status_code == 200, flagged.text
    assert flagged.json()["clearance_id"] == issued.clearance_id
    # A verification denied for another reason is not the check: the flag stays.
    wrong = ask(lane, question(issued, document={"number": "X0000000", "issuing_state": "THA"}))
    assert codes(wrong) == ["document_mismatch"]
    referral = ask(lane, question(issued))
    assert referral["decision"] == "refer"
    assert codes(referral) == ["second_line_check"]
    assert referral["holder"]["surname"] == "Jaidee"
    assert "crossing_id" not in referral
    flag = "SELECT second_line_requested_at FROM clearances WHERE id = $1"
    assert fetchval(database_url, flag, uuid.UUID(issued.clearance_id)) is None
    assert ask(lane, question(issued))["decision"] == "green"

    application_id = issued.application["id"]
    seen = admin.get(f"/v1/admin/applications/{application_id}").json()
    assert events(seen)[-2:] == ["clearance.second_line_requested", "clearance.second_line_done"]
    assert seen["history"][-1]["party"] == "lane"
    told = partner.get(f"/v1/applications/{application_id}").json()
    assert not [e for e in events(told) if "second_line" in e]  # for officers' eyes only
    assert audit_actions(admin, issued.clearance_id) == ["clearance.issue", "clearance.second_line"]


def test_second_line_checks_that_are_refused(
    lane_and_partner: tuple[Actor, Actor], admin: Admin, database_url: str
) -> None:
    _, partner = lane_and_partner
    issued = issue(partner)
    assert partner.post(f"/v1/clearances/{issued.clearance_id}/revoke").status_code == 200
    body = {"reason": "random selection"}
    conflict(
        admin.post(f"/v1/admin/clearances/{issued.clearance_id}/second-line", json=body), "revoked"
    )
    expired = issue(partner)
    execute(
        database_url,
        "UPDATE clearances SET not_before = now() - interval '2 days',"
        " expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(expired.clearance_id),
    )
    conflict(
        admin.post(f"/v1/admin/clearances/{expired.clearance_id}/second-line", json=body), "expired"
    )
    assert_problem(
        admin.post(f"/v1/admin/clearances/{uuid.uuid4()}/second-line", json=body), 404, "not-found"
    )
    assert_problem(
        partner.post(f"/v1/admin/clearances/{issued.clearance_id}/second-line", json=body),
        403,
        "forbidden",
    )


def test_watchlist_changes_that_are_refused(admin: Admin, partner: Actor) -> None:
    first, second = register(partner), register(partner)
    first_entry, second_entry = watch(admin, first), watch(admin, second)
    onto_the_other = {
        "kind": "document",
        "issuing_state": second["document"]["issuing_state"],
        "number": second["document"]["number"],
        "reason": "merged reports",
    }
    taken = admin.put(f"{WATCHLIST}/{first_entry}", json=onto_the_other)
    assert assert_problem(taken, 409, "conflict")["existing_id"] == second_entry
    missing = admin.put(f"{WATCHLIST}/{uuid.uuid4()}", json=onto_the_other | {"number": "Z1"})
    assert_problem(missing, 404, "not-found")
    bad = admin.put(f"{WATCHLIST}/{first_entry}", json=onto_the_other | {"plate": "AB 1"})
    assert_problem(bad, 422, "validation-failed")
    unchanged = admin.get(WATCHLIST).json()["items"]
    assert [entry["version"] for entry in unchanged] == [1, 1]
    assert_problem(partner.put(f"{WATCHLIST}/{first_entry}", json=onto_the_other), 403, "forbidden")
