"""The watchlist through the admin API: entries are matched by keyed hash, never stored raw."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from greenlane.domain.lookups import document_index, vehicle_index
from greenlane.runtime import Runtime

from ..database import connect
from ..waiting import eventually
from .actors import Admin
from .problems import assert_problem

WATCHLIST = "/v1/admin/watchlist"
NUMBER, CANONICAL_NUMBER = "ab 123-4567", "AB1234567"
PLATE, CANONICAL_PLATE = "bkk 7731\u2013Q", "BKK7731Q"  # an en dash, as typeset


def document(**changes: Any) -> dict[str, Any]:
    body = {"kind": "document", "issuing_state": "THA", "number": NUMBER, "reason": "reported lost"}
    body.update(changes)
    return body


def vehicle(**changes: Any) -> dict[str, Any]:
    body = {
        "kind": "vehicle",
        "registration_country": "THA",
        "plate": PLATE,
        "reason": "stolen vehicle report",
    }
    body.update(changes)
    return body


def add(admin: Admin, body: dict[str, Any]) -> dict[str, Any]:
    response = admin.post(WATCHLIST, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_entries_are_added_listed_and_deleted(admin: Admin) -> None:
    doc = add(admin, document())
    car = add(admin, vehicle())
    assert {k: doc[k] for k in ("kind", "issuing_state", "hint", "reason")} == {
        "kind": "document",
        "issuing_state": "THA",
        "hint": "******567",
        "reason": "reported lost",
    }
    assert {k: car[k] for k in ("kind", "registration_country", "hint")} == {
        "kind": "vehicle",
        "registration_country": "THA",
        "hint": "*****31Q",
    }
    assert "registration_country" not in doc
    assert "issuing_state" not in car
    assert doc["created_by"] == f"client:{admin.client_id}"

    listed = admin.get(WATCHLIST).json()
    assert listed == {"items": [doc, car], "next_cursor": None}
    page = admin.get(WATCHLIST, params={"limit": 1}).json()
    assert page["items"] == [doc]
    assert admin.get(WATCHLIST, params={"cursor": page["next_cursor"]}).json()["items"] == [car]

    assert admin.delete(f"{WATCHLIST}/{doc['id']}").status_code == 204
    assert admin.get(WATCHLIST).json()["items"] == [car]
    assert_problem(admin.delete(f"{WATCHLIST}/{doc['id']}"), 404, "not-found")


def test_the_number_is_never_answered_logged_or_stored(admin: Admin, database_url: str) -> None:
    add(admin, document())
    add(admin, vehicle())
    answers = admin.get(WATCHLIST).text + admin.get("/v1/admin/audit").text

    async def dump() -> str:
        conn = await connect(database_url)
        try:
            rows = await conn.fetch("SELECT * FROM watchlist")
            audit = await conn.fetch("SELECT * FROM audit_log")
        finally:
            await conn.close()
        return repr([dict(row) for row in rows + audit])

    stored = asyncio.run(dump())
    assert "lookup" in stored
    # Whole values only: four digits alone can turn up in any uuid or timestamp by chance.
    for secret in (CANONICAL_NUMBER, CANONICAL_PLATE, "1234567", "BKK7731"):
        assert secret not in answers
        assert secret not in stored


def test_a_document_or_vehicle_is_listed_once(admin: Admin) -> None:
    first = add(admin, document())
    again = admin.post(WATCHLIST, json=document(number=CANONICAL_NUMBER, reason="again"))
    body = assert_problem(again, 409, "conflict")
    assert body["existing_id"] == first["id"]
    # The same characters as another state's document, or as a plate, are another entry.
    add(admin, document(issuing_state="VNM"))
    add(admin, vehicle(plate=CANONICAL_NUMBER))
    assert len(admin.get(WATCHLIST).json()["items"]) == 3


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (document(issuing_state="ZZZ"), ["issuing_state"]),
        (document(issuing_state="tha"), ["issuing_state"]),
        (document(number=None), ["number"]),
        (document(number="!!!"), ["number"]),
        (document(issuing_state=None, number=None), ["issuing_state", "number"]),
        (document(plate="B1234"), ["plate"]),
        (vehicle(registration_country="ZZZ"), ["registration_country"]),
        (vehicle(registration_country="XXA"), ["registration_country"]),
        (vehicle(plate=None), ["plate"]),
        (vehicle(plate="#"), ["plate"]),
        (vehicle(number="AB123"), ["number"]),
        (document(kind="person"), ["kind"]),
        (document(reason=""), ["reason"]),
        (document(colour="red"), ["colour"]),
    ],
)
def test_bad_entries_are_422_naming_the_fields(
    admin: Admin, body: dict[str, Any], fields: list[str]
) -> None:
    problem = assert_problem(admin.post(WATCHLIST, json=body), 422, "validation-failed")
    errors = problem["errors"]
    assert isinstance(errors, list)
    assert sorted(error["field"] for error in errors) == fields
    assert "!!!" not in problem["detail"]
    assert admin.get(WATCHLIST).json()["items"] == []


def test_unknown_entries_are_404(admin: Admin) -> None:
    assert_problem(admin.delete(f"{WATCHLIST}/{uuid.uuid4()}"), 404, "not-found")
    assert_problem(admin.delete(f"{WATCHLIST}/not-a-uuid"), 404, "not-found")


def test_changes_are_audited_without_the_number(admin: Admin) -> None:
    entry = add(admin, document())
    admin.delete(f"{WATCHLIST}/{entry['id']}")
    entries = [
        e for e in admin.get("/v1/admin/audit").json()["items"] if e["action"].startswith("watch")
    ]
    assert [(e["action"], e["subject"], e["details"]) for e in entries] == [
        ("watchlist.add", entry["id"], {"kind": "document"}),
        ("watchlist.delete", entry["id"], {"kind": "document"}),
    ]


def test_partners_cannot_touch_the_watchlist(admin: Admin) -> None:
    entry = add(admin, document())
    partner = admin.partner_actor()
    assert_problem(partner.get(WATCHLIST), 403, "forbidden")
    assert_problem(partner.post(WATCHLIST, json=vehicle()), 403, "forbidden")
    assert_problem(partner.delete(f"{WATCHLIST}/{entry['id']}"), 403, "forbidden")
    assert len(admin.get(WATCHLIST).json()["items"]) == 1


def test_the_serving_worker_matches_by_blind_index_at_once(admin: Admin) -> None:
    runtime: Runtime = admin.http.app.state.runtime
    watched_document = document_index(runtime.index, "THA", CANONICAL_NUMBER)
    watched_vehicle = vehicle_index(runtime.index, "THA", CANONICAL_PLATE)

    entry = add(admin, document())
    eventually(
        lambda: runtime.watchlist.hit_document(watched_document),
        what="the worker's watchlist to hold the document",
    )
    assert not runtime.watchlist.hit_vehicle(watched_document)
    assert not runtime.watchlist.hit_document(
        document_index(runtime.index, "VNM", CANONICAL_NUMBER)
    )

    add(admin, vehicle())
    eventually(
        lambda: runtime.watchlist.hit_vehicle(watched_vehicle),
        what="the worker's watchlist to hold the vehicle",
    )

    admin.delete(f"{WATCHLIST}/{entry['id']}")
    eventually(
        lambda: not runtime.watchlist.hit_document(watched_document),
        what="the worker's watchlist to drop the document",
    )
    assert runtime.watchlist.hit_vehicle(watched_vehicle)
