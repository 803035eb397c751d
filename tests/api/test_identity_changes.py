"""A change to who a traveller is, through the HTTP API (issue 13, finding 1).

The identity a clearance vouches for is the one on the document: the MRZ is kept, identity
fields change only with an MRZ that agrees with the new values, and a change re-decides the
traveller's live applications and revokes the clearances that vouched for the old identity.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from ..database import connect
from . import bodies
from .actors import Actor, Admin
from .lane_setup import Issued, ask, codes, issue, question
from .problems import assert_problem

REVOKED_BECAUSE = "traveller identity changed"


def passport(nationality: str, **changes: Any) -> dict[str, Any]:
    """A traveller with a passport of ``nationality`` and its valid MRZ."""
    body = bodies.traveller(nationality=nationality, **changes)
    body["document"]["issuing_state"] = nationality
    return with_mrz(body)


def with_mrz(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "mrz": bodies.td3(body)}


def register(partner: Actor, body: dict[str, Any]) -> dict[str, Any]:
    response = partner.post("/v1/travellers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def file(partner: Actor, traveller_id: str) -> dict[str, Any]:
    response = partner.post("/v1/applications", json=bodies.application(traveller_id))
    assert response.status_code == 201, response.text
    filed: dict[str, Any] = response.json()
    return filed


def changed(partner: Actor, traveller_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    response = partner.patch(f"/v1/travellers/{traveller_id}", json=patch)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def fields_of(response: httpx.Response) -> list[str]:
    problem = assert_problem(response, 422, "validation-failed")
    return [e["field"] for e in problem["errors"]]


def audited(admin: Admin, subject: str) -> list[tuple[str, dict[str, Any]]]:
    entries = admin.get("/v1/admin/audit?limit=200").json()["items"]
    return [(e["action"], e["details"]) for e in entries if e["subject"] == subject]


# Each identity edit, and the field a disagreeing MRZ is reported on.
IDENTITY_EDITS: list[tuple[dict[str, Any], str]] = [
    ({"nationality": "THA"}, "nationality"),
    ({"surname": "Srisuk"}, "surname"),
    ({"given_names": "Anan"}, "given_names"),
    ({"date_of_birth": "1986-03-14"}, "date_of_birth"),
    ({"sex": "F"}, "sex"),
    (
        {
            "document": {
                "type": "P",
                "number": "X1234567",
                "issuing_state": "USA",
                "expiry_date": bodies.in_days(3 * 365),
            }
        },
        "document.number",
    ),
]


@pytest.mark.parametrize(("edit", "field"), IDENTITY_EDITS, ids=[f for _, f in IDENTITY_EDITS])
def test_an_identity_field_cannot_drift_from_the_mrz_on_file(
    partner: Actor, edit: dict[str, Any], field: str
) -> None:
    created = register(partner, passport("USA"))
    assert file(partner, created["id"])["status"] == "rejected"
    url = f"/v1/travellers/{created['id']}"
    assert fields_of(partner.patch(url, json=edit)) == [field]
    assert partner.get(url).json() == created
    assert file(partner, created["id"])["status"] == "rejected"


@pytest.mark.parametrize(("edit", "field"), IDENTITY_EDITS, ids=[f for _, f in IDENTITY_EDITS])
def test_without_an_mrz_an_identity_field_changes_only_with_one(
    partner: Actor, edit: dict[str, Any], field: str
) -> None:
    body = passport("USA")
    del body["mrz"]
    created = register(partner, body)
    url = f"/v1/travellers/{created['id']}"
    assert fields_of(partner.patch(url, json=edit)) == ["mrz"]
    assert partner.get(url).json() == created


def test_an_mrz_on_file_is_replaced_never_removed(partner: Actor) -> None:
    created = register(partner, passport("THA"))
    url = f"/v1/travellers/{created['id']}"
    assert fields_of(partner.patch(url, json={"mrz": None})) == ["mrz"]


def test_the_mrz_is_kept_encrypted_and_erased_with_the_traveller(
    partner: Actor, clean_database: str
) -> None:
    body = passport("THA")
    created = register(partner, body)

    async def stored() -> bytes | None:
        conn = await connect(clean_database)
        try:
            value: bytes | None = await conn.fetchval(
                "SELECT mrz_enc FROM travellers WHERE id = $1", uuid.UUID(created["id"])
            )
            return value
        finally:
            await conn.close()

    kept = asyncio.run(stored())
    assert kept is not None
    assert body["mrz"].split("\n")[1][:9].encode() not in kept
    assert partner.delete(f"/v1/travellers/{created['id']}").status_code == 204
    assert asyncio.run(stored()) is None


def test_becoming_ineligible_rejects_and_revokes(
    lane_and_partner: tuple[Actor, Actor], admin: Admin
) -> None:
    lane, partner = lane_and_partner
    body = passport("THA")
    issued = issue(partner, traveller=body)
    traveller_id = issued.application["traveller_id"]
    assert ask(lane, question(issued))["decision"] == "green"

    american = with_mrz({**body, "nationality": "USA"})
    answer = changed(partner, traveller_id, {"nationality": "USA", "mrz": american["mrz"]})

    assert answer["nationality"] == "USA"
    [redecided] = answer["redecided"]
    assert redecided["id"] == issued.application["id"]
    assert redecided["status"] == "rejected"
    assert [r["reason_code"] for r in redecided["reasons"]] == ["nationality_not_eligible"]
    assert "clearance" not in redecided
    assert partner.get(f"/v1/applications/{redecided['id']}").json() == redecided
    clearance = partner.get(f"/v1/clearances/{issued.clearance_id}").json()
    assert (clearance["status"], clearance["revocation_reason"]) == ("revoked", REVOKED_BECAUSE)
    assert codes(ask(lane, question(issued))) == ["token_revoked"]
    assert audited(admin, traveller_id) == [
        ("traveller.identity_change", {"fields": ["nationality"]})
    ]
    assert audited(admin, redecided["id"]) == [
        ("application.redecide", {"from": "approved", "to": "rejected"})
    ]
    assert [action for action, _ in audited(admin, issued.clearance_id)] == [
        "clearance.issue",
        "clearance.revoke",
    ]


def test_a_change_that_still_qualifies_is_reissued_and_keeps_its_used_entries(
    lane_and_partner: tuple[Actor, Actor],
) -> None:
    lane, partner = lane_and_partner
    body = passport("THA")
    issued = issue(partner, traveller=body, entries="single")
    assert ask(lane, question(issued))["decision"] == "green"

    renamed = with_mrz({**body, "surname": "Srisuk"})
    answer = changed(
        partner,
        issued.application["traveller_id"],
        {"surname": "Srisuk", "mrz": renamed["mrz"]},
    )

    [redecided] = answer["redecided"]
    assert redecided["status"] == "approved"
    assert redecided["clearance"]["id"] != issued.clearance_id
    assert "token_revoked" in codes(ask(lane, question(issued)))
    reissued = Issued(traveller=renamed, vehicle=None, application=redecided)
    assert codes(ask(lane, question(reissued))) == ["already_used"]
    out = ask(lane, question(reissued, direction="exit"))
    assert out["decision"] == "green"
    assert out["holder"]["surname"] == "Srisuk"


def test_a_referral_is_decided_again_on_the_new_document(admin: Admin, partner: Actor) -> None:
    body = passport("THA")
    admin.post(
        "/v1/admin/watchlist",
        json={
            "kind": "document",
            "issuing_state": "THA",
            "number": body["document"]["number"],
            "reason": "check",
        },
    )
    created = register(partner, body)
    referred = file(partner, created["id"])
    assert referred["status"] == "referred"

    renewed = {**body["document"], "number": bodies.unique_number()}
    new_mrz = with_mrz({**body, "document": renewed})["mrz"]
    answer = changed(partner, created["id"], {"document": renewed, "mrz": new_mrz})

    [redecided] = answer["redecided"]
    assert (redecided["id"], redecided["status"]) == (referred["id"], "approved")
    assert redecided["clearance"]["token"]
    assert admin.get("/v1/admin/reviews").json()["items"] == []


def test_a_change_that_is_not_of_identity_decides_nothing_again(partner: Actor) -> None:
    created = register(partner, passport("THA"))
    filed = file(partner, created["id"])
    answer = changed(partner, created["id"], {"employer": {"name": "New Co", "country": "SGP"}})
    assert answer["redecided"] == []
    clearance = partner.get(f"/v1/clearances/{filed['clearance']['id']}").json()
    assert clearance["status"] == "active"


def test_an_application_whose_vehicle_is_gone_is_rejected_on_a_change(partner: Actor) -> None:
    body = with_mrz(bodies.driver())
    issued = issue(partner, traveller=body, with_vehicle=True)
    vehicle_id = issued.application["vehicle_id"]
    assert partner.delete(f"/v1/vehicles/{vehicle_id}").status_code == 204

    renamed = with_mrz({**body, "surname": "Srisuk"})
    answer = changed(
        partner,
        issued.application["traveller_id"],
        {"surname": "Srisuk", "mrz": renamed["mrz"]},
    )

    [redecided] = answer["redecided"]
    assert redecided["status"] == "rejected"
    assert [r["reason_code"] for r in redecided["reasons"]] == ["registration_incomplete"]
    clearance = partner.get(f"/v1/clearances/{issued.clearance_id}").json()
    assert clearance["revocation_reason"] == REVOKED_BECAUSE
