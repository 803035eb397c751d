"""The offline verifier: the same decisions as the server, stale data said out loud, and a spool
that reaches the server exactly once however often the link drops."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import jwt
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.client import ConnectionFailedError, LaneClient, OfflineVerifier
from greenlane.settings import Settings
from greenlane.wire.verify import PresentedDocument, VerifyAnswer

from ..database import connect
from . import bodies
from .actors import Actor
from .lane_setup import OTHER_PORT, PORT, Issued, issue
from .sdk import BASE, NO_WAIT, presented, sdk
from .tokens import forge

WRONG_DOCUMENT = PresentedDocument(number="X1234567", issuing_state="THA")


def codes(answer: VerifyAnswer) -> list[str]:
    return [reason.code for reason in answer.reasons]


def offline_lane(
    lane: LaneClient, settings: Settings, folder: Path, **options: Any
) -> OfflineVerifier:
    return OfflineVerifier(
        lane, port=PORT, issuer=settings.issuer, state_path=folder / "lane.json", **options
    )


@dataclass(frozen=True)
class Case:
    token: str
    document: PresentedDocument | None = None
    plate: str | None = None
    direction: Literal["entry", "exit"] = "entry"
    mrz: str | None = None


def ask(issued: Issued, **changes: Any) -> Case:
    """The question a lane asks about ``issued``, with everything it would scan."""
    plate = issued.vehicle["plate"] if issued.vehicle else None
    fields: dict[str, Any] = {
        "token": issued.token,
        "document": presented(issued),
        "plate": plate,
        **changes,
    }
    return Case(**fields)


def test_the_server_and_an_offline_lane_decide_alike(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    plain = issue(partner)
    truck = issue(partner, with_vehicle=True)
    revoked = issue(partner)
    elsewhere = issue(partner, ports=[OTHER_PORT], with_vehicle=True)
    revoked_elsewhere = issue(partner, ports=[OTHER_PORT], with_vehicle=True)
    single = issue(partner, entries="single")
    for gone in (revoked, revoked_elsewhere):
        partner.post(f"/v1/clearances/{gone.clearance_id}/revoke", json={"reason": "lost"})
    now = int(time.time())
    expired = forge(lane_actor, settings, expires_at=now - 3600)
    early = forge(lane_actor, settings, not_before=now + 3600)
    mistyped = forge(lane_actor, settings, typ="JWT")
    unknown_key = forge(lane_actor, settings, kid="nobodys-key")
    mrz = bodies.td3(plain.traveller)
    other_mrz = bodies.td3(bodies.traveller())
    foreign_mrz = bodies.td3({**plain.traveller, "nationality": "VNM"})

    lane = sdk(LaneClient, lane_actor)
    offline = offline_lane(lane, settings, tmp_path)
    offline.refresh()

    cases: dict[str, tuple[list[Case], str, list[str]]] = {
        "green": ([ask(plain)], "green", []),
        "green with a vehicle": ([ask(truck)], "green", []),
        "wrong document": ([ask(plain, document=WRONG_DOCUMENT)], "deny", ["document_mismatch"]),
        "revoked": ([ask(revoked)], "deny", ["token_revoked"]),
        "wrong port": ([ask(elsewhere)], "deny", ["wrong_port"]),
        "expired": ([ask(plain, token=expired)], "deny", ["token_expired"]),
        "not yet valid": ([ask(plain, token=early)], "deny", ["token_not_yet_valid"]),
        "malformed": ([ask(plain, token="not a token")], "deny", ["token_malformed"]),
        "not a clearance (typ)": ([ask(plain, token=mistyped)], "deny", ["token_malformed"]),
        "unknown key": ([ask(plain, token=unknown_key)], "deny", ["key_unknown"]),
        "scanned mrz": ([ask(plain, document=None, mrz=mrz)], "green", []),
        "typed and scanned agree": ([ask(plain, mrz=mrz)], "green", []),
        "typed right, another passport scanned": (
            [ask(plain, mrz=other_mrz)],
            "deny",
            ["document_mismatch"],
        ),
        "scanned nationality not the clearance's": (
            [ask(plain, mrz=foreign_mrz)],
            "deny",
            ["document_mismatch"],
        ),
        "someone else's mrz": (
            [ask(plain, document=None, mrz=other_mrz)],
            "deny",
            ["document_mismatch"],
        ),
        "tampered": ([ask(plain, token=plain.token[:-4] + "AAAA")], "deny", ["signature_invalid"]),
        "vehicle mismatch": ([ask(truck, plate="ZZ9999")], "deny", ["vehicle_mismatch"]),
        "plate not presented": ([ask(truck, plate=None)], "refer", ["plate_not_presented"]),
        "document not presented": (
            [ask(plain, document=None)],
            "refer",
            ["document_not_presented"],
        ),
        "everything wrong": (
            [ask(revoked_elsewhere, document=WRONG_DOCUMENT, plate="Q1")],
            "deny",
            ["token_revoked", "wrong_port", "document_mismatch", "vehicle_mismatch"],
        ),
        "single entry reused": ([ask(single), ask(single)], "deny", ["already_used"]),
        "single entry, other direction": ([ask(single, direction="exit")], "green", []),
        "single entry reused without a document": (
            [ask(single, direction="exit", document=None)],
            "deny",
            ["already_used", "document_not_presented"],
        ),
    }
    for name, (questions, decision, expected) in cases.items():
        for q in questions:
            online = lane.verify(
                q.token, q.direction, document=q.document, plate=q.plate, mrz=q.mrz
            )
            local = offline.verify(
                q.token, q.direction, document=q.document, plate=q.plate, mrz=q.mrz
            )
        assert (online.decision, codes(online)) == (decision, expected), name
        assert (local.decision, codes(local)) == (decision, expected), name
        assert [r.message for r in local.reasons] == [r.message for r in online.reasons], name
        assert local.mode == "degraded", name
        assert online.mode == "online", name


def test_stale_data_is_refused_out_loud(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    issued = issue(partner)
    moment = [datetime.now(UTC)]
    offline = offline_lane(sdk(LaneClient, lane_actor), settings, tmp_path, clock=lambda: moment[0])

    never = offline.verify(issued.token, "entry", document=presented(issued))
    assert offline.data_age() is None
    assert (never.decision, codes(never)) == ("deny", ["key_unknown", "lane_data_stale"])

    offline.refresh()
    assert offline.data_age() == timedelta(0)
    assert offline.verify(issued.token, "entry", document=presented(issued)).decision == "green"

    moment[0] += timedelta(hours=24)  # the default limit itself: still fresh
    assert offline.verify(issued.token, "entry", document=presented(issued)).decision == "green"
    moment[0] += timedelta(seconds=1)
    assert offline.data_age() == timedelta(hours=24, seconds=1)
    stale = offline.verify(issued.token, "exit", document=presented(issued))
    assert (stale.decision, codes(stale)) == ("refer", ["lane_data_stale"])
    stale_and_wrong = offline.verify(issued.token, "exit", document=WRONG_DOCUMENT)
    assert codes(stale_and_wrong) == ["document_mismatch", "lane_data_stale"]
    assert stale_and_wrong.decision == "deny"

    offline.refresh()
    assert offline.verify(issued.token, "exit", document=presented(issued)).decision == "green"


def test_the_age_limit_is_the_lanes_to_choose(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    issued = issue(partner)
    moment = [datetime.now(UTC)]
    offline = offline_lane(
        sdk(LaneClient, lane_actor),
        settings,
        tmp_path,
        clock=lambda: moment[0],
        max_age=timedelta(minutes=5),
    )
    offline.refresh()
    moment[0] += timedelta(minutes=5)
    assert offline.verify(issued.token, "entry", document=presented(issued)).decision == "green"
    moment[0] += timedelta(seconds=1)
    late = offline.verify(issued.token, "exit", document=presented(issued))
    assert (late.decision, codes(late)) == ("refer", ["lane_data_stale"])


class LosingTransport(httpx.BaseTransport):
    """Delivers every request to the app; after ``delivered`` verifications the answers are
    lost on the way back, as when a link drops mid-sync."""

    def __init__(self, inner: httpx.BaseTransport, delivered: int) -> None:
        self.inner = inner
        self.delivered = delivered
        self.verifications = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path == "/v1/verify":
            self.verifications += 1
            if self.verifications > self.delivered:
                response.read()
                raise httpx.ReadError("connection reset by peer", request=request)
        return response


def losing_lane(lane_actor: Actor, http: TestClient[Litestar], delivered: int) -> LaneClient:
    transport = LosingTransport(http._transport, delivered)
    return LaneClient(
        BASE,
        lane_actor.client_id,
        lane_actor.secret,
        http_client=httpx.Client(transport=transport),
        retry=NO_WAIT,
    )


async def events_by_id(database_url: str, lane_client: str) -> dict[uuid.UUID, int]:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT event_id, count(*) AS n FROM verification_events"
            " WHERE lane_client = $1 GROUP BY event_id",
            uuid.UUID(lane_client),
        )
    finally:
        await conn.close()
    return {row["event_id"]: row["n"] for row in rows}


def test_an_interrupted_sync_loses_nothing_and_doubles_nothing(
    lane_and_partner: tuple[Actor, Actor],
    settings: Settings,
    tmp_path: Path,
    client: TestClient[Litestar],
    database_url: str,
) -> None:
    lane_actor, partner = lane_and_partner
    plain = issue(partner)
    truck = issue(partner, with_vehicle=True)
    single = issue(partner, entries="single")
    lane = sdk(LaneClient, lane_actor)
    offline = offline_lane(lane, settings, tmp_path)
    offline.refresh()
    decided = [
        offline.verify(plain.token, "entry", document=presented(plain)),
        offline.verify(plain.token, "exit", document=presented(plain)),
        offline.verify(plain.token, "entry", document=WRONG_DOCUMENT),
        offline.verify(truck.token, "entry", document=presented(truck), plate="70-0000"),
        offline.verify(single.token, "entry", document=presented(single)),
    ]
    assert [a.decision for a in decided] == ["green", "green", "deny", "deny", "green"]
    assert offline.pending() == 5

    # Two answers arrive; the third verification reaches the server but its answer never does.
    offline.lane = losing_lane(lane_actor, client, delivered=2)
    with pytest.raises(ConnectionFailedError):
        offline.sync()
    assert offline.pending() == 3
    assert len(asyncio.run(events_by_id(database_url, lane_actor.client_id))) == 3

    # A restart in between: the spool is all the lane has.
    offline = offline_lane(lane, settings, tmp_path)
    assert offline.pending() == 3
    report = offline.sync()
    assert offline.pending() == 0
    assert len(report.recorded) == 3
    assert report.disagreements == ()
    events = asyncio.run(events_by_id(database_url, lane_actor.client_id))
    assert sorted(events.values()) == [1] * 5
    crossings = [
        partner.get(f"/v1/clearances/{issued.clearance_id}").json()["crossings"]
        for issued in (plain, single)
    ]
    assert [len(c) for c in crossings] == [2, 1]
    assert {c["mode"] for c in crossings[0]} == {"online"}

    assert offline.sync().recorded == ()  # nothing left, nothing sent twice
    assert sorted(asyncio.run(events_by_id(database_url, lane_actor.client_id)).values()) == [1] * 5


def dead_lane(lane_actor: Actor) -> LaneClient:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    return LaneClient(
        BASE,
        lane_actor.client_id,
        lane_actor.secret,
        http_client=httpx.Client(transport=httpx.MockTransport(refuse)),
        retry=NO_WAIT,
    )


def revoked_and_used(partner: Actor, offline: OfflineVerifier) -> tuple[Issued, Issued]:
    """A revoked pass, and a single-entry pass that ``offline`` let in (and synced, so the use
    is in its state file rather than its spool); ``offline`` is refreshed after the revocation."""
    revoked = issue(partner)
    single = issue(partner, entries="single")
    partner.post(f"/v1/clearances/{revoked.clearance_id}/revoke", json={"reason": "lost"})
    offline.refresh()
    assert offline.verify(single.token, "entry", document=presented(single)).decision == "green"
    offline.sync()
    return revoked, single


def test_a_restart_without_network_still_verifies(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    plain = issue(partner)
    first = offline_lane(sdk(LaneClient, lane_actor), settings, tmp_path)
    revoked, single = revoked_and_used(partner, first)

    restarted = offline_lane(dead_lane(lane_actor), settings, tmp_path)
    with pytest.raises(ConnectionFailedError):
        restarted.refresh()
    assert restarted.key_count == first.key_count > 0
    assert restarted.verify(plain.token, "entry", document=presented(plain)).decision == "green"
    assert codes(restarted.verify(revoked.token, "entry", document=presented(revoked))) == [
        "token_revoked"
    ]
    again = restarted.verify(single.token, "entry", document=presented(single))
    assert codes(again) == ["already_used"]
    assert (tmp_path / "lane.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "lane.json.spool").stat().st_mode & 0o777 == 0o600


def test_what_the_lane_keeps_of_a_token_is_forgotten_once_it_has_expired(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    moment = [datetime.now(UTC)]

    def lane(client: LaneClient) -> OfflineVerifier:
        return offline_lane(client, settings, tmp_path, clock=lambda: moment[0])

    def first_code(offline: OfflineVerifier, issued: Issued) -> str:
        return codes(offline.verify(issued.token, "exit", document=presented(issued)))[0]

    offline = lane(sdk(LaneClient, lane_actor))
    revoked, single = revoked_and_used(partner, offline)
    jti = jwt.decode(revoked.token, options={"verify_signature": False})["jti"]
    state = (tmp_path / "lane.json").read_text()
    assert jti in state
    assert single.clearance_id in state
    expires = {
        issued.clearance_id: datetime.fromisoformat(
            partner.get(f"/v1/clearances/{issued.clearance_id}").json()["expires_at"]
        )
        for issued in (revoked, single)
    }
    assert len(set(expires.values())) == 1  # issued alike, they expire alike
    expiry = expires[revoked.clearance_id]

    moment[0] = expiry + timedelta(seconds=29)  # inside the clock leeway: both still kept
    offline.refresh()
    assert first_code(offline, revoked) == "token_revoked"
    restarted = lane(dead_lane(lane_actor))  # what it knows of uses now comes from the file
    # The lane's clock is now days past the status list the server signed a moment ago (25 h
    # of validity): the list is stale to it, and says so.
    assert codes(restarted.verify(single.token, "entry", document=presented(single))) == [
        "already_used",
        "lane_data_stale",
    ]

    moment[0] = expiry + timedelta(seconds=31)
    offline.refresh()
    assert offline.revoked_count == 0
    state = (tmp_path / "lane.json").read_text()
    assert jti not in state
    assert single.clearance_id not in state
    assert first_code(offline, revoked) == "token_expired"


def test_a_refresh_cut_short_leaves_the_state_file_as_it_was(
    lane_and_partner: tuple[Actor, Actor],
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lane_actor, partner = lane_and_partner
    plain = issue(partner)
    offline = offline_lane(sdk(LaneClient, lane_actor), settings, tmp_path)
    offline.refresh()
    before = (tmp_path / "lane.json").read_bytes()
    revoked = issue(partner)
    partner.post(f"/v1/clearances/{revoked.clearance_id}/revoke", json={"reason": "lost"})

    def power_cut(source: object, target: object) -> None:
        raise OSError("the power went before the rename")

    monkeypatch.setattr("greenlane.client.durable.os.replace", power_cut)
    with pytest.raises(OSError, match="power"):
        offline.refresh()
    monkeypatch.undo()
    assert (tmp_path / "lane.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    restarted = offline_lane(dead_lane(lane_actor), settings, tmp_path)
    assert restarted.verify(plain.token, "entry", document=presented(plain)).decision == "green"


def test_the_same_event_gets_the_same_answer_offline(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    single = issue(partner, entries="single")
    offline = offline_lane(sdk(LaneClient, lane_actor), settings, tmp_path)
    offline.refresh()
    event = uuid.uuid4()
    ask: Callable[[], VerifyAnswer] = lambda: offline.verify(  # noqa: E731
        single.token, "entry", event_id=event, document=presented(single)
    )
    first = ask()
    assert first.decision == "green"
    assert ask() == first  # a replay, not a second use of a single-entry clearance
    assert offline.pending() == 1
    with pytest.raises(ValueError, match="different verification"):
        offline.verify(single.token, "exit", event_id=event, document=presented(single))


def test_an_offline_lane_refuses_a_crossing_observed_outside_the_clearance(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    plain = issue(partner)
    offline = offline_lane(sdk(LaneClient, lane_actor), settings, tmp_path)
    offline.refresh()
    valid_from = date.fromisoformat(plain.application["valid_from"])
    before = datetime.combine(valid_from, datetime.min.time(), tzinfo=UTC) - timedelta(hours=1)
    with pytest.raises(ValueError, match="observed_at"):
        offline.verify(plain.token, "entry", document=presented(plain), observed_at=before)
    assert offline.pending() == 0  # as the server would have refused it, nothing to sync


def test_a_torn_spool_line_is_set_aside(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    plain = issue(partner)
    offline = offline_lane(sdk(LaneClient, lane_actor), settings, tmp_path)
    offline.refresh()
    offline.verify(plain.token, "entry", document=presented(plain))
    spool = tmp_path / "lane.json.spool"
    with spool.open("ab") as out:
        out.write(b'{"request": {"tok')  # a power cut in the middle of an append
    restarted = offline_lane(sdk(LaneClient, lane_actor), settings, tmp_path)
    assert restarted.pending() == 1
    assert (tmp_path / "lane.json.spool.rejected").read_bytes() == b'{"request": {"tok\n'
    restarted.verify(plain.token, "exit", document=presented(plain))
    assert len(restarted.sync().recorded) == 2
