"""The pure rules of a case's life: which step each state allows, grounds, and the dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from greenlane.domain import lifecycle
from greenlane.errors import WrongState

STATES = ("approved", "referred", "rejected", "info_requested", "appealed")


@pytest.mark.parametrize("step", list(lifecycle.STARTS_FROM))
@pytest.mark.parametrize("status", STATES)
def test_each_step_starts_only_from_its_states(step: lifecycle.Step, status: str) -> None:
    if status in lifecycle.STARTS_FROM[step]:
        lifecycle.require(step, status)
        return
    with pytest.raises(WrongState) as refused:
        lifecycle.require(step, status)
    assert refused.value.state == status
    assert f"the application is {status}" in refused.value.detail


def test_a_rejection_by_the_rules_is_grounded_on_what_denied() -> None:
    reasons = [
        {"rule_id": "r1", "reason_code": "stay_too_long", "message": "Too long.", "effect": "deny"},
        {"rule_id": "r2", "reason_code": "odd", "message": "Check.", "effect": "refer"},
    ]
    assert lifecycle.grounds(reasons, by_reviewer=False) == [
        {"code": "stay_too_long", "message": "Too long.", "rule_id": "r1"}
    ]


def test_a_reviewers_rejection_is_grounded_on_why_it_was_referred() -> None:
    hit = {
        "rule_id": None,
        "reason_code": "watchlist_hit",
        "message": "Matches.",
        "effect": "refer",
        "watchlist_entry_id": "e1",
    }
    assert lifecycle.grounds([hit], by_reviewer=True) == [
        {"code": "watchlist_hit", "message": "Matches.", "watchlist_entry_id": "e1"}
    ]
    assert lifecycle.watchlist_hits([hit]) == ["e1"]
    assert lifecycle.grounds([], by_reviewer=True) == [
        {"code": lifecycle.REVIEWER_REJECTED, "message": lifecycle.REVIEWER_REJECTED_MESSAGE}
    ]


def test_the_dates_of_a_case() -> None:
    at = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    assert lifecycle.appeal_deadline(at, 30) == at + timedelta(days=30)
    assert lifecycle.information_due(at, 14) == datetime(2026, 12, 18, 9, 30, tzinfo=UTC)
    assert lifecycle.renewal_opens(at, 30) == at - timedelta(days=30)


def test_a_renewal_is_as_long_as_what_it_renews_and_starts_no_earlier_than_today() -> None:
    today = date(2026, 12, 4)
    # Not yet expired: from the day after the old window.
    assert lifecycle.renewal_window(date(2026, 12, 1), date(2026, 12, 10), today) == (
        date(2026, 12, 11),
        date(2026, 12, 20),
    )
    # Long expired: from today, as long as before.
    assert lifecycle.renewal_window(date(2026, 1, 1), date(2026, 1, 31), today) == (
        today,
        date(2027, 1, 3),
    )
