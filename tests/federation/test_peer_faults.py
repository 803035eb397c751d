"""Faults between two live deployments that A and B cannot make by themselves.

B reaches A through a relay (``relay.py``) that can spoil B's receipts on the way, and sees
what A answered: a receipt A refuses, for a bad signature or from an agency A does not trust, is
answered 401 problem+json and leaves nothing at A, while B keeps it and A takes it once the
fault is gone. A peer played by the test (``fake_peer.py``) serves status lists that expire
within seconds: past its status list's ``exp``, with its trust list still fresh, B refers the
peer's clearances ``issuer_data_stale``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from greenlane.domain.federation import CLOCK_LEEWAY
from greenlane.federation_demo import (
    PORT_B,
    Federated,
    Issued,
    foreign_crossings,
    issue,
    peer_status,
    trust,
    verify_at_b,
)

from ..api.problems import assert_problem
from ..waiting import eventually
from .conftest import Outcome, count, outcome, two_agencies
from .fake_peer import fake_peer, trusted_by
from .relay import Relay, relay

# A receipt refused is tried again after 2, 4, 8… seconds, at most a minute apart.
RECEIPT_RETRY_WITHIN = 90
# The fake peer signs its status list afresh at each of B's fetches (every 2 s), each time with
# this lifetime: long enough for a busy machine to decide with it, short enough to wait out.
STATUS_LIST_LIFETIME = 8
# How long B may take to refer once the peer stops serving it: less than the lifetime and the
# leeway after which B would drop the list altogether, so that it is the list's own ``exp``
# that must make B refer.
STALE_WITHIN = STATUS_LIST_LIFETIME + CLOCK_LEEWAY // 2


@pytest.fixture(scope="module")
def network() -> Iterator[Relay]:
    with relay() as running:
        yield running


@pytest.fixture(scope="module")
def agencies(
    server_url: str, tmp_path_factory: pytest.TempPathFactory, network: Relay
) -> Iterator[Federated]:
    """A behind the relay: its issuer, the URL that B knows it by, is the relay's."""
    with two_agencies(
        server_url,
        tmp_path_factory.mktemp("relayed"),
        a_port=network.target_port,
        ISSUER=network.url,
    ) as federated:
        yield federated


def owed(agencies: Federated, issued: Issued) -> int:
    """How many receipts of ``issued``'s crossings B still owes A."""
    sql = "SELECT count(*) FROM federation_outbox WHERE receipt->>'sub' = $1"
    return count(agencies.b, sql, issued.clearance_id)


def assert_refused(agencies: Federated, network: Relay, issued: Issued, why: str) -> None:
    """A answered B's receipt of ``issued``'s crossing 401 problem+json, saying ``why``, and
    recorded nothing; B keeps the receipt."""
    answers = eventually(
        lambda: network.answers_for(issued.clearance_id),
        what="B to send its receipt to A",
        timeout=30,
    )
    body = assert_problem(answers[0], 401, "unauthorized")
    assert why in body["detail"]
    assert foreign_crossings(agencies, issued.clearance_id) == []
    taken = "SELECT count(*) FROM audit_log WHERE action = 'crossing.receipt' AND subject = $1"
    assert count(agencies.a, taken, issued.clearance_id) == 0
    assert owed(agencies, issued) == 1


def assert_taken_once(agencies: Federated, network: Relay, issued: Issued, crossing: str) -> None:
    """A lists B's crossing of ``issued``, from the receipt B kept and sent again."""
    eventually(
        lambda: foreign_crossings(agencies, issued.clearance_id),
        what="A to take the receipt B sent again",
        timeout=RECEIPT_RETRY_WITHIN,
    )
    assert [c["id"] for c in foreign_crossings(agencies, issued.clearance_id)] == [crossing]
    assert network.answers_for(issued.clearance_id)[-1].status_code == 201
    eventually(lambda: owed(agencies, issued) == 0, what="B to clear the receipt from its outbox")


def test_a_receipt_with_a_bad_signature_is_refused_and_nothing_is_recorded(
    agencies: Federated, network: Relay
) -> None:
    issued = issue(agencies)
    network.spoil_receipts = True
    try:
        answer = verify_at_b(agencies, issued)
        assert outcome(answer) == ("green", [])
        assert_refused(agencies, network, issued, "the signature does not verify")
    finally:
        network.spoil_receipts = False
    assert_taken_once(agencies, network, issued, answer["crossing_id"])


def test_a_receipt_from_an_agency_a_does_not_trust_is_refused_and_nothing_is_recorded(
    agencies: Federated, network: Relay
) -> None:
    a, b = agencies.a, agencies.b
    a.call("DELETE", f"/v1/admin/agencies/{agencies.b_at_a}")
    issued = issue(agencies)
    answer = verify_at_b(agencies, issued)
    assert outcome(answer) == ("green", [])
    assert_refused(agencies, network, issued, "not from a trusted agency")

    agencies.b_at_a = trust(a, b, b.anchor())
    assert_taken_once(agencies, network, issued, answer["crossing_id"])


def test_a_peers_status_list_past_its_exp_refers_its_clearances_while_its_list_is_fresh(
    agencies: Federated,
) -> None:
    b = agencies.b
    with fake_peer() as peer:
        peer.status_list_lifetime = STATUS_LIST_LIFETIME
        agency_id = trusted_by(b, peer, PORT_B)
        issued = peer.issue(PORT_B)

        def decided() -> Outcome:
            return outcome(verify_at_b(agencies, issued))

        eventually(
            lambda: decided() == ("green", []), what="B to hold the peer's status list", timeout=30
        )
        peer.status_list_down = True
        eventually(
            lambda: decided() == ("refer", ["issuer_data_stale"]),
            what="the status list B holds to pass its exp",
            timeout=STALE_WITHIN,
        )
        # Its trust list is fetched as before, and fresh: the status list alone is stale.
        assert peer_status(b, peer.country) == "ok"

        peer.status_list_down = False
        eventually(
            lambda: decided() == ("green", []), what="B to take a fresh status list", timeout=30
        )
        b.call("DELETE", f"/v1/admin/agencies/{agency_id}")
