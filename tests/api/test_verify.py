"""POST /v1/verify through the HTTP API: every decision code, replays, and what is recorded."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jwt
import pytest

from greenlane.domain.lookups import document_index
from greenlane.settings import Settings

from ..database import connect
from ..waiting import eventually
from . import bodies
from .actors import Actor, Admin
from .lane_setup import OTHER_PORT, PORT, Issued, ask, codes, issue, question
from .problems import assert_problem
from .tokens import b64, forge, part


async def count(database_url: str, sql: str, *args: object) -> int:
    conn = await connect(database_url)
    try:
        value: int = await conn.fetchval(sql, *args)
        return value
    finally:
        await conn.close()


def test_green_records_the_crossing_before_answering(
    lane_and_partner: tuple[Actor, Actor], clean_database: str
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    answer = ask(lane, question(issued))
    assert answer["decision"] == "green"
    assert answer["reasons"] == []
    assert answer["mode"] == "online"
    assert answer["clearance_id"] == issued.clearance_id
    assert answer["holder"] == {
        "given_names": "Somchai",
        "surname": "Jaidee",
        "nationality": "THA",
        "category": "business_visitor",
    }
    assert "vehicle" not in answer
    crossings = partner.get(f"/v1/clearances/{issued.clearance_id}").json()["crossings"]
    assert [c["id"] for c in crossings] == [answer["crossing_id"]]
    assert crossings[0]["direction"] == "entry"
    assert crossings[0]["port_code"] == PORT
    assert crossings[0]["lane_code"] == "L1"


def test_a_scanned_mrz_binds_the_document(lane_and_partner: tuple[Actor, Actor]) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    mrz = bodies.td3(issued.traveller)
    assert ask(lane, question(issued, document=None, mrz=mrz))["decision"] == "green"
    other = bodies.traveller()
    answer = ask(lane, question(issued, document=None, mrz=bodies.td3(other)))
    assert codes(answer) == ["document_mismatch"]
    unreadable = mrz[:-1] + ("0" if mrz[-1] != "0" else "1")
    assert codes(ask(lane, question(issued, document=None, mrz=unreadable))) == [
        "document_not_presented"
    ]


def test_every_document_source_must_agree_with_the_clearance(
    lane_and_partner: tuple[Actor, Actor],
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    own = bodies.td3(issued.traveller)
    assert ask(lane, question(issued, mrz=own))["decision"] == "green"
    # The booked number typed in does not vouch for another passport on the reader.
    another = ask(lane, question(issued, mrz=bodies.td3(bodies.traveller())))
    assert (another["decision"], codes(another)) == ("deny", ["document_mismatch"])
    assert "holder" not in another
    # Nor does the right number in a passport of another nationality than the clearance's.
    foreign = bodies.td3({**issued.traveller, "nationality": "VNM"})
    assert codes(ask(lane, question(issued, mrz=foreign))) == ["document_mismatch"]
    assert codes(ask(lane, question(issued, document=None, mrz=foreign))) == ["document_mismatch"]


def test_the_same_event_again_gets_the_same_answer_and_records_nothing(
    lane_and_partner: tuple[Actor, Actor], clean_database: str
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    body = question(issued)
    first = lane.post("/v1/verify", json=body)
    again = lane.post("/v1/verify", json=body)
    assert again.content == first.content
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert asyncio.run(count(clean_database, "SELECT count(*) FROM crossings")) == 1
    assert asyncio.run(count(clean_database, "SELECT count(*) FROM verification_events")) == 1
    changed = lane.post("/v1/verify", json={**body, "direction": "exit"})
    problem = assert_problem(changed, 422, "validation-failed")
    assert problem["errors"][0]["field"] == "event_id"


def test_a_replayed_green_after_a_revocation_says_it_is_a_replay(
    lane_and_partner: tuple[Actor, Actor],
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    body = question(issued)
    first = lane.post("/v1/verify", json=body)
    partner.post(f"/v1/clearances/{issued.clearance_id}/revoke", json={"reason": "lost phone"})
    # The answer given then, byte for byte, and marked as such: not a green given now.
    again = lane.post("/v1/verify", json=body)
    assert (again.content, again.headers["idempotent-replayed"]) == (first.content, "true")
    assert codes(ask(lane, question(issued))) == ["token_revoked"]


def test_a_degraded_replay_says_it_is_one(
    lane_and_partner: tuple[Actor, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    verifier = lane.http.app.state.runtime.verifier

    async def database_away(records: object) -> list[object]:
        raise OSError("the database is away")

    monkeypatch.setattr(verifier, "_record", database_away)
    body = question(issued)
    first = lane.post("/v1/verify", json=body)
    again = lane.post("/v1/verify", json=body)
    assert first.json()["mode"] == "degraded"
    assert "idempotent-replayed" not in first.headers
    assert (again.content, again.headers["idempotent-replayed"]) == (first.content, "true")
    monkeypatch.undo()
    eventually(lambda: not verifier.spool_has_work(), what="the spool to drain")


def test_another_lane_may_reuse_an_event_id(
    admin: Admin, lane_and_partner: tuple[Actor, Actor]
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    body = question(issued)
    second_lane = admin.lane_actor(PORT, "L2")
    assert ask(lane, body)["decision"] == "green"
    assert ask(second_lane, body)["crossing_id"] != ask(lane, body)["crossing_id"]


def test_vehicle_binding(lane_and_partner: tuple[Actor, Actor]) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner, with_vehicle=True)
    assert issued.vehicle is not None
    green = ask(lane, question(issued))
    assert green["decision"] == "green"
    assert green["vehicle"]["kind"] == "truck"
    spaced = issued.vehicle["plate"].replace("-", " ").lower()
    assert ask(lane, question(issued, plate=spaced))["decision"] == "green"
    assert codes(ask(lane, question(issued, plate="ZZ9999"))) == ["vehicle_mismatch"]
    no_plate = question(issued)
    del no_plate["plate"]
    answer = ask(lane, no_plate)
    assert answer["decision"] == "refer"
    assert codes(answer) == ["plate_not_presented"]
    assert answer["holder"]["surname"] == "Jaidee"


def test_deny_codes_and_nothing_about_the_person(lane_and_partner: tuple[Actor, Actor]) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    wrong_document = question(issued, document={"number": "X1234567", "issuing_state": "THA"})
    answer = ask(lane, wrong_document)
    assert answer["decision"] == "deny"
    assert codes(answer) == ["document_mismatch"]
    assert "holder" not in answer
    assert "vehicle" not in answer
    assert "crossing_id" not in answer
    elsewhere = issue(partner, ports=[OTHER_PORT])
    assert codes(ask(lane, question(elsewhere))) == ["wrong_port"]


def test_every_applicable_reason_is_named(lane_and_partner: tuple[Actor, Actor]) -> None:
    lane, partner = lane_and_partner
    elsewhere = issue(partner, ports=[OTHER_PORT], with_vehicle=True)
    partner.post(f"/v1/clearances/{elsewhere.clearance_id}/revoke", json={"reason": "x"})
    body = question(elsewhere, document={"number": "X1", "issuing_state": "THA"}, plate="Q1")
    assert codes(ask(lane, body)) == [
        "token_revoked",
        "wrong_port",
        "document_mismatch",
        "vehicle_mismatch",
    ]


def test_refer_without_a_document(lane_and_partner: tuple[Actor, Actor]) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    answer = ask(lane, question(issued, document=None))
    assert answer["decision"] == "refer"
    assert codes(answer) == ["document_not_presented"]
    assert answer["holder"]["nationality"] == "THA"
    assert "crossing_id" not in answer


def test_revoked_tokens_are_denied(lane_and_partner: tuple[Actor, Actor]) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    partner.post(f"/v1/clearances/{issued.clearance_id}/revoke", json={"reason": "lost phone"})
    assert codes(ask(lane, question(issued))) == ["token_revoked"]


def test_a_watchlisted_document_is_referred(
    admin: Admin, lane_and_partner: tuple[Actor, Actor]
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    admin.post(
        "/v1/admin/watchlist",
        json={"kind": "document", **issued.document(), "reason": "check"},
    )
    runtime = lane.http.app.state.runtime
    lookup = document_index(runtime.index, "THA", issued.document()["number"])
    eventually(  # the change arrives by NOTIFY
        lambda: runtime.watchlist.hit_document(lookup),
        what="the watchlist entry to reach the worker",
    )
    answer = ask(lane, question(issued))
    assert answer["decision"] == "refer"
    assert codes(answer) == ["watchlist_hit"]


def test_single_entry_is_used_once_per_direction(
    lane_and_partner: tuple[Actor, Actor], admin: Admin
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner, entries="single")
    assert ask(lane, question(issued))["decision"] == "green"
    other_lane = admin.lane_actor(PORT, "L9")
    again = ask(other_lane, question(issued))
    assert again["decision"] == "deny"
    assert codes(again) == ["already_used"]
    assert ask(lane, question(issued, direction="exit"))["decision"] == "green"
    assert codes(ask(lane, question(issued, direction="exit", document=None))) == [
        "already_used",
        "document_not_presented",
    ]


def test_every_verify_is_kept_as_an_event_without_personal_data(
    lane_and_partner: tuple[Actor, Actor], clean_database: str
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    ask(lane, question(issued))
    ask(lane, question(issued, document={"number": "X1", "issuing_state": "THA"}))
    ask(lane, question(token="garbage"))

    async def events() -> list[dict[str, Any]]:
        conn = await connect(clean_database)
        try:
            rows = await conn.fetch("SELECT * FROM verification_events ORDER BY recorded_at")
            return [dict(row) for row in rows]
        finally:
            await conn.close()

    recorded = asyncio.run(events())
    assert [e["decision"] for e in recorded] == ["green", "deny", "deny"]
    assert recorded[2]["codes"] == ["token_malformed"]
    assert recorded[2]["clearance_id"] is None
    assert all(e["latency_us"] >= 0 and e["port_code"] == PORT for e in recorded)
    dumped = json.dumps(recorded, default=str)
    assert issued.traveller["document"]["number"] not in dumped
    assert "Jaidee" not in dumped


# --- broken and forged tokens ------------------------------------------------------------------


def test_forged_and_broken_tokens_are_denied(
    lane_and_partner: tuple[Actor, Actor], settings: Settings
) -> None:
    lane, partner = lane_and_partner
    good = issue(partner)
    head, body, signature = good.token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    jwk = lane.http.get("/.well-known/jwks.json").text.encode()
    kid = jwt.get_unverified_header(good.token)["kid"]
    signing_input = f"{part({'alg': 'HS256', 'typ': 'gl-clearance+jwt', 'kid': kid})}.{body}"
    mac = hmac.new(jwk, signing_input.encode(), hashlib.sha256).digest()
    hs256 = f"{signing_input}.{b64(mac)}"
    cases = {
        "garbage": ("not a token", "token_malformed"),
        "empty": ("", "token_malformed"),
        "truncated": (good.token[:-10], "signature_invalid"),
        "tampered payload": (
            f"{head}.{part({**payload, 'prt': 'THBKK THLCH'})}.{signature}",
            "signature_invalid",
        ),
        "alg none": (
            f"{part({'alg': 'none', 'typ': 'gl-clearance+jwt'})}.{body}.",
            "token_malformed",
        ),
        "alg NONE": (
            f"{part({'alg': 'NONE', 'typ': 'gl-clearance+jwt'})}.{body}.",
            "token_malformed",
        ),
        "HS256 with the public JWK as secret": (hs256, "token_malformed"),
        "crit header": (forge(lane, settings, crit=["exp"]), "token_malformed"),
        "unknown kid": (forge(lane, settings, kid="nobodys-key"), "key_unknown"),
        "10 KB kid": (forge(lane, settings, kid="k" * 10_000), "token_malformed"),
        "expired": (forge(lane, settings, expires_at=int(time.time()) - 3600), "token_expired"),
        "not yet valid": (
            forge(lane, settings, not_before=int(time.time()) + 3600),
            "token_not_yet_valid",
        ),
        "access token": (lane.token, "token_malformed"),
        "60 KB token": ("a" * 60_000, "token_malformed"),
    }
    for name, (token, code) in cases.items():
        answer = ask(lane, question(token=token, document=good.document()))
        assert answer["decision"] == "deny", name
        assert codes(answer) == [code], name
        assert "holder" not in answer, name


def test_a_64_kib_token_is_413(lane_and_partner: tuple[Actor, Actor]) -> None:
    lane, _ = lane_and_partner
    assert_problem(
        lane.post("/v1/verify", json=question(token="a" * 65_536)), 413, "body-too-large"
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"token": None}, "token"),
        ({"direction": "sideways"}, "direction"),
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"document": {"number": "X"}}, "document.issuing_state"),
        ({"observed_at": "2020-01-01T00:00:00Z"}, "observed_at"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_malformed_questions_are_422(
    lane_and_partner: tuple[Actor, Actor], change: dict[str, Any], field: str
) -> None:
    lane, _ = lane_and_partner
    body = {**question(token="x"), **change}
    if change.get("token", "") is None:
        del body["token"]
    problem = assert_problem(lane.post("/v1/verify", json=body), 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == [field]


def test_only_lanes_verify(lane_and_partner: tuple[Actor, Actor], admin: Admin) -> None:
    _, partner = lane_and_partner
    for actor in (partner, admin):
        assert_problem(actor.post("/v1/verify", json=question(token="x")), 403, "forbidden")
    assert_problem(partner.http.post("/v1/verify", json=question(token="x")), 401, "unauthorized")


def test_metrics_count_decisions(lane_and_partner: tuple[Actor, Actor]) -> None:
    lane, partner = lane_and_partner
    ask(lane, question(issue(partner)))
    ask(lane, question(token="x"))
    text = lane.http.get("/metrics").text
    assert 'greenlane_verify_decisions_total{code="none",decision="green"}' in text
    assert 'greenlane_verify_decisions_total{code="token_malformed",decision="deny"}' in text
    assert "greenlane_verify_batch_size_bucket" in text
    assert "greenlane_verify_batch_seconds_bucket" in text
    assert "greenlane_verify_seconds_bucket" in text
    assert "greenlane_verify_spool_depth" in text
    assert "greenlane_state_age_seconds 0.0" in text


def test_a_revocation_the_worker_has_not_heard_of_still_stops_the_crossing(
    lane_and_partner: tuple[Actor, Actor], clean_database: str
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)

    async def revoke_quietly() -> None:
        conn = await connect(clean_database)
        try:  # no NOTIFY: the worker's memory still says the clearance is good
            await conn.execute(
                "UPDATE clearances SET revoked_at = now(), revoked_by = 'test',"
                " revocation_reason = 'x', revocation_seq = nextval('revocation_seq')"
                " WHERE id = $1",
                uuid.UUID(issued.clearance_id),
            )
        finally:
            await conn.close()

    asyncio.run(revoke_quietly())
    answer = ask(lane, question(issued))
    assert answer["decision"] == "deny"
    assert codes(answer) == ["token_revoked"]
    assert "crossing_id" not in answer
    crossings = asyncio.run(count(clean_database, "SELECT count(*) FROM crossings"))
    assert crossings == 0


def test_stored_replies_hold_no_names_and_an_erasure_reaches_replays(
    lane_and_partner: tuple[Actor, Actor], clean_database: str
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    body = question(issued)
    first = ask(lane, body)
    assert first["holder"]["surname"] == "Jaidee"
    stored = asyncio.run(
        count(
            clean_database, "SELECT count(*) FROM verify_replies WHERE reply::text LIKE '%Jaidee%'"
        )
    )
    assert stored == 0
    traveller_id = partner.get("/v1/travellers").json()["items"][0]["id"]
    assert partner.delete(f"/v1/travellers/{traveller_id}").status_code == 204
    again = ask(lane, body)
    assert again["crossing_id"] == first["crossing_id"]
    assert "holder" not in again


def first_instant(issued: Issued) -> datetime:
    """00:00 UTC of the clearance's first day: its ``nbf``."""
    valid_from = date.fromisoformat(issued.application["valid_from"])
    return datetime.combine(valid_from, datetime.min.time(), tzinfo=UTC)


def test_a_lane_may_report_late_within_the_clearance(
    lane_and_partner: tuple[Actor, Actor],
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    # As late as the clearance allows: it is valid from today, and the crossing was its first.
    observed = first_instant(issued).isoformat()
    answer = ask(lane, question(issued, observed_at=observed))
    assert answer["decision"] == "green"
    crossing = partner.get(f"/v1/clearances/{issued.clearance_id}").json()["crossings"][0]
    assert datetime.fromisoformat(crossing["crossed_at"]) == datetime.fromisoformat(observed)


def test_a_crossing_observed_outside_the_clearance_is_422(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, clean_database: str
) -> None:
    lane, partner = lane_and_partner
    issued = issue(partner)
    before = first_instant(issued) - timedelta(minutes=5)
    early = lane.post("/v1/verify", json=question(issued, observed_at=before.isoformat()))
    problem = assert_problem(early, 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["observed_at"]
    # A clearance that ends in a minute, and a crossing the lane says it saw 4 minutes from now
    # (its clock may be up to 5 minutes ahead).
    soon = forge(lane, settings, expires_at=int(time.time()) + 60)
    after = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    late = lane.post("/v1/verify", json=question(token=soon, observed_at=after))
    problem = assert_problem(late, 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["observed_at"]
    assert asyncio.run(count(clean_database, "SELECT count(*) FROM verification_events")) == 0
