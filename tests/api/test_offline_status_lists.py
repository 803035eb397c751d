"""The offline lane and status lists: fetched only when changed, verified before use, a tampered
copy refused while the last good one is kept, and nothing trusted past a list's exp."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from greenlane.client import LaneClient, OfflineVerifier
from greenlane.client.offline import DEFAULT_MAX_AGE
from greenlane.client.operations import FetchedStatusList
from greenlane.domain.status_list import StatusList, list_uri
from greenlane.settings import Settings
from greenlane.wire.verify import VerifyAnswer

from .actors import Actor, Admin
from .lane_setup import PORT, issue
from .sdk import presented, sdk
from .tokens import claims_of, sign, unreadable_statuses


def codes(answer: VerifyAnswer) -> list[str]:
    return [reason.code for reason in answer.reasons]


class RecordingLane(LaneClient):
    """A lane client that remembers what each status list fetch returned and can tamper."""

    fetched: list[FetchedStatusList]
    tamper = False

    def status_list(self, number: int, etag: str | None = None) -> FetchedStatusList:
        fetched = super().status_list(number, etag)
        if self.tamper and fetched.token is not None:
            fetched = FetchedStatusList(_every_token_valid(fetched.token), fetched.etag)
        self.fetched.append(fetched)
        return fetched


def _every_token_valid(token: str) -> str:
    """The list with a suspension wiped out: what an attacker between lane and centre wants."""
    header, payload, signature = token.split(".")
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    claims["status_list"]["lst"] = StatusList(claims["status_list"]["bits"] * 1024, 2).encode()
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def _lane(actor: Actor) -> RecordingLane:
    lane = sdk(RecordingLane, actor)
    lane.fetched = []
    return lane


def _offline(lane: LaneClient, settings: Settings, folder: Path, **options: Any) -> OfflineVerifier:
    return OfflineVerifier(
        lane, port=PORT, issuer=settings.issuer, state_path=folder / "lane.json", **options
    )


def test_the_offline_lane_checks_status_from_the_lists(
    lane_and_partner: tuple[Actor, Actor], admin: Admin, settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    issued = issue(partner)
    lane = _lane(lane_actor)
    offline = _offline(lane, settings, tmp_path)
    report = offline.refresh()
    assert report.updated == (list_uri(settings.issuer, 1),)
    assert report.refused == {}
    assert offline.verify(issued.token, "entry", document=presented(issued)).decision == "green"

    admin.post(f"/v1/clearances/{issued.clearance_id}/suspend", json={"reason": "inquiry"})
    offline.refresh()
    suspended = offline.verify(issued.token, "exit", document=presented(issued))
    assert (suspended.decision, codes(suspended)) == ("deny", ["token_suspended"])

    admin.post(f"/v1/clearances/{issued.clearance_id}/reinstate")
    offline.refresh()
    assert offline.verify(issued.token, "exit", document=presented(issued)).decision == "green"


def test_an_unchanged_list_is_not_fetched_again(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    issue(partner)
    lane = _lane(lane_actor)
    offline = _offline(lane, settings, tmp_path)
    offline.refresh()
    assert lane.fetched[-1].token is not None
    report = offline.refresh()
    assert lane.fetched[-1].token is None  # 304: the ETag the lane sent is current
    assert report.updated == ()
    # A lane restarted from its state file sends its ETag too, and still decides.
    restarted = _offline(lane, settings, tmp_path)
    restarted.refresh()
    assert lane.fetched[-1].token is None


def test_a_tampered_list_is_refused_and_the_last_good_one_kept(
    lane_and_partner: tuple[Actor, Actor], admin: Admin, settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    issued = issue(partner)
    uri = list_uri(settings.issuer, 1)
    lane = _lane(lane_actor)
    offline = _offline(lane, settings, tmp_path)
    offline.refresh()
    admin.post(f"/v1/clearances/{issued.clearance_id}/suspend", json={"reason": "inquiry"})
    offline.refresh()  # the suspension, from a good list
    admin.post(f"/v1/clearances/{issued.clearance_id}/reinstate")
    admin.post(f"/v1/clearances/{issued.clearance_id}/suspend", json={"reason": "again"})

    lane.tamper = True
    report = offline.refresh()
    assert list(report.refused) == [uri]
    assert report.refused[uri].startswith("signature_invalid")
    assert offline.refused_lists == report.refused  # said until a good copy arrives
    still = offline.verify(issued.token, "entry", document=presented(issued))
    assert codes(still) == ["token_suspended"]  # the last good list, not the forged one
    restarted = _offline(lane, settings, tmp_path)
    assert codes(restarted.verify(issued.token, "exit", document=presented(issued))) == [
        "token_suspended"
    ]

    lane.tamper = False
    assert offline.refresh().refused == {}
    assert offline.refused_lists == {}


# Past a list's exp alone (a max_age longer than the list's life), and past both it and the
# lane's max_age (the default): either way the answer says lane_data_stale, once.
@pytest.mark.parametrize("max_age", [timedelta(days=7), DEFAULT_MAX_AGE])
def test_a_list_past_its_exp_makes_the_answer_stale(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path, max_age: timedelta
) -> None:
    lane_actor, partner = lane_and_partner
    issued = issue(partner)
    moment = [datetime.now(UTC)]
    offline = _offline(
        _lane(lane_actor), settings, tmp_path, clock=lambda: moment[0], max_age=max_age
    )
    offline.refresh()
    moment[0] += timedelta(hours=24)
    assert offline.verify(issued.token, "entry", document=presented(issued)).decision == "green"
    moment[0] += timedelta(hours=1, seconds=1)  # past exp: signed at most an hour earlier + 25 h
    assert offline.is_stale() == (max_age == DEFAULT_MAX_AGE)
    stale = offline.verify(issued.token, "exit", document=presented(issued))
    assert (stale.decision, codes(stale)) == ("refer", ["lane_data_stale"])


def test_a_token_in_a_list_the_lane_never_fetched_is_stale_offline(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    lane_actor, partner = lane_and_partner
    issued = issue(partner)
    offline = _offline(_lane(lane_actor), settings, tmp_path)
    offline.refresh()
    (tmp_path / "lane.json").write_text(
        (tmp_path / "lane.json").read_text().replace(list_uri(settings.issuer, 1), "gone")
    )
    restarted = _offline(_lane(lane_actor), settings, tmp_path)
    answer = restarted.verify(issued.token, "entry", document=presented(issued))
    assert (answer.decision, codes(answer)) == ("refer", ["lane_data_stale"])


def test_a_status_the_offline_lane_cannot_read_is_a_malformed_token(
    lane_and_partner: tuple[Actor, Actor], settings: Settings, tmp_path: Path
) -> None:
    """As at the server: an entry in another issuer's list or outside this issuer's, or a status
    claim missing or mistyped, is no statement, so the token is refused."""
    lane_actor, partner = lane_and_partner
    issued = issue(partner)
    offline = _offline(_lane(lane_actor), settings, tmp_path)
    offline.refresh()
    claims = claims_of(issued.token)
    statuses = unreadable_statuses(settings)
    # Offline, a list never published is one the lane does not hold, which it cannot tell from
    # one it has yet to fetch: stale, not malformed.
    unpublished = statuses.pop("a list never published")
    missing = {key: value for key, value in claims.items() if key != "status"}
    tokens = {
        name: sign(lane_actor, {**claims, "status": status}) for name, status in statuses.items()
    }
    tokens["no status claim"] = sign(lane_actor, missing)
    for name, token in tokens.items():
        answer = offline.verify(token, "entry", document=presented(issued))
        assert (answer.decision, codes(answer)) == ("deny", ["token_malformed"]), name
    stale = offline.verify(
        sign(lane_actor, {**claims, "status": unpublished}), "entry", document=presented(issued)
    )
    assert (stale.decision, codes(stale)) == ("refer", ["lane_data_stale"])
    # The claims as issued, signed again: the status, not the signature, was the test.
    again = offline.verify(sign(lane_actor, claims), "entry", document=presented(issued))
    assert again.decision == "green"
