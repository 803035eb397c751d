"""Two agencies federated: how long a peer's outage, rotation and revocation take to reach lanes.

Thailand (A) issues, Lao PDR (B) verifies, each a ``greenlane serve`` on a database of its own
(``greenlane.federation_demo``), B fetching A's trust list every ``REFRESH`` seconds. One row
per scenario, with the propagation time measured against its bound:

- **peer rotates**: A rotates its signing keys twice, so that the key it signs with next is
  one B has never seen: the seconds until B answers green for a clearance signed with it
  (bound: B's refresh interval, plus a second); clearances signed before stay green. Then A
  rotates its anchor twice, and B follows without a new pin.
- **peer revokes**: A revokes a clearance that B has just let through: the seconds until B's
  lanes deny it ``token_revoked`` (bound: A's status-list ``ttl`` plus B's refresh interval
  and a second).
- **peer down**: A stops. B's lanes go on answering green from A's last good trust list, and
  refer ``issuer_data_stale`` once it expires: the seconds from the stop to the first referral
  (bound: the list's lifetime). A comes back: green again, and every receipt of a crossing made
  meanwhile listed at A.

The table is printed and written to ``docs/figures/federation.md``; ``make reliability`` puts
the same rows in its own table.

    PYTHONPATH=. python reliability/federation.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from bench import figures
from bench.harness import database_server, fresh_database

from greenlane.federation_demo import (
    Deployment,
    Federated,
    Issued,
    deployment,
    federate,
    foreign_crossings,
    issue,
    peer_status,
    start,
    stop,
    verify_at_b,
)
from reliability.table import COLUMNS, Row, render

FIGURES = figures.Figures("federation.md", "reliability/federation.py", COLUMNS)
TRUST_LIST_TTL = 20  # A's list lifetime: what "peer down" is bounded by
STATUS_LIST_TTL = 5  # how long B may cache A's status lists: what "peer revokes" is bounded by
REFRESH = 2.0  # B's refresh interval
POLL = 0.1
GIVE_UP = 120.0


def _answer(federated: Federated, issued: Issued) -> str:
    answer = verify_at_b(federated, issued)
    codes = " ".join(reason["code"] for reason in answer["reasons"])
    return f"{answer['decision']} {codes}".strip()


def _seconds_until(done: Callable[[], bool]) -> float | None:
    """How long until ``done()``; None if it never was within ``GIVE_UP``."""
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > GIVE_UP:
            return None
        time.sleep(POLL)
    return time.monotonic() - started


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"


def peer_rotates(federated: Federated) -> Row:
    a, b = federated.a, federated.b
    before = issue(federated)
    a.command("keys", "rotate")
    a.command("keys", "rotate")
    after = issue(federated)
    asked = 0

    def green() -> bool:
        nonlocal asked
        asked += 1
        return _answer(federated, after) == "green"

    to_green = _seconds_until(green)
    old = _answer(federated, before)
    anchors: list[float | None] = []
    agency = f"/v1/admin/agencies/{federated.a_at_b}"
    for _ in range(2):
        active: str = a.command("federation", "rotate-anchor")["active"]
        anchors.append(_seconds_until(_signed_by(b, agency, active)))
    broken = []
    if to_green is None or to_green > REFRESH + 1:
        broken.append("B did not take A's new key within its refresh interval")
    if old != "green":
        broken.append(f"a clearance signed before the rotation was {old}")
    if None in anchors or peer_status(b, a.country) != "ok":
        broken.append("B did not follow A's anchor rotation")
    return Row(
        part="federation",
        scenario="peer rotates",
        broken=tuple(broken),
        requests=asked + 1,
        seconds=to_green,
        bound=REFRESH + 1,
        notes=(
            "a clearance signed with A's new key is green at B after the time shown; one "
            f"signed before stays green; A's two anchor rotations taken by B in "
            f"{', '.join(_s(s) for s in anchors)}, without a new pin"
        ),
    )


def _signed_by(b: Deployment, agency: str, anchor: str) -> Callable[[], bool]:
    """Whether B's copy of A's list is one ``anchor`` signed."""
    return lambda: bool(b.call("GET", agency)["trust_list"].get("signed_by") == anchor)


def peer_revokes(federated: Federated) -> Row:
    issued = issue(federated)
    first = _answer(federated, issued)
    revoked = federated.a.http.post(
        f"/v1/clearances/{issued.clearance_id}/revoke",
        headers=federated.partner,
        json={"reason": "reliability run"},
    )
    revoked.raise_for_status()
    asked = 0

    def denied() -> bool:
        nonlocal asked
        asked += 1
        return _answer(federated, issued) == "deny token_revoked"

    seconds = _seconds_until(denied)
    bound = STATUS_LIST_TTL + REFRESH + 1
    broken = []
    if first != "green":
        broken.append(f"the clearance was {first} before it was revoked")
    if seconds is None or seconds > bound:
        broken.append("B did not deny within A's status-list ttl and its own refresh")
    return Row(
        part="federation",
        scenario="peer revokes",
        broken=tuple(broken),
        requests=asked + 1,
        seconds=seconds,
        bound=bound,
        notes=(
            f"A revokes; B's lanes deny token_revoked after the time shown (A's status lists "
            f"may be cached {STATUS_LIST_TTL} s, B refreshes every {REFRESH:g} s)"
        ),
    )


def peer_down(federated: Federated) -> Row:
    a = federated.a
    issued = issue(federated)
    answers: list[str] = []

    def referred() -> bool:
        answers.append(_answer(federated, issued))
        return answers[-1] != "green"

    stop(a.process)
    to_stale = _seconds_until(referred)
    greens = answers.count("green")
    a.process = start(a.env, a.base_url)
    back = time.monotonic()
    to_green = _seconds_until(lambda: _answer(federated, issued) == "green")
    greens += 1
    received = _seconds_until(
        lambda: len(foreign_crossings(federated, issued.clearance_id)) >= greens
    )
    receipts_after = None if received is None else time.monotonic() - back
    broken = []
    if to_stale is None or answers[-1] != "refer issuer_data_stale":
        broken.append(f"not referred issuer_data_stale (last: {answers[-1]})")
    elif to_stale > TRUST_LIST_TTL + 1:
        broken.append("referred later than A's list expired")
    if to_green is None:
        broken.append("not green again once A was back")
    if received is None:
        broken.append("receipts lost")
    return Row(
        part="federation",
        scenario="peer down",
        broken=tuple(broken),
        requests=len(answers) + 1,
        seconds=to_stale,
        bound=float(TRUST_LIST_TTL),
        notes=(
            f"B answered green {greens - 1} times from A's last list, then issuer_data_stale "
            f"after the time shown; green again {_s(to_green)} after A was back; all {greens} "
            f"receipts listed at A {_s(receipts_after)} after A was back"
        ),
    )


def run_federation() -> list[Row]:
    with ExitStack() as stack:
        server = stack.enter_context(database_server())
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="greenlane-fed-")))
        a_url = stack.enter_context(fresh_database("reliability_a", server))
        b_url = stack.enter_context(fresh_database("reliability_b", server))
        a = stack.enter_context(
            deployment(
                "Thailand",
                "THA",
                scratch / "a",
                database_url=a_url,
                TRUST_LIST_TTL_SECONDS=str(TRUST_LIST_TTL),
                STATUS_LIST_TTL=str(STATUS_LIST_TTL),
                PEER_REFRESH_SECONDS=f"{REFRESH:g}",
            )
        )
        b = stack.enter_context(
            deployment(
                "Lao PDR",
                "LAO",
                scratch / "b",
                database_url=b_url,
                PEER_REFRESH_SECONDS=f"{REFRESH:g}",
            )
        )
        federated = federate(a, b)
        return [peer_rotates(federated), peer_revokes(federated), peer_down(federated)]


def main(argv: Sequence[str] | None = None) -> int:
    rows = run_federation()
    print(render(rows))
    print(f"written to {figures.write(FIGURES, [row.cells() for row in rows], argv=argv)}")
    return 0 if all(row.kept for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
