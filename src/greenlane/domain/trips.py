"""What makes a trip filing well formed, before the database or a rule is asked: the crew's
shape and the notice given. Pure, so the API and its tests share one statement of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from greenlane.errors import FieldProblem, ValidationFailed


@dataclass(frozen=True, slots=True)
class TripPolicy:
    """``GREENLANE_TRIP_MAX_PEOPLE``, ``_MIN_NOTICE_MINUTES`` and ``_WINDOW_MINUTES``."""

    max_people: int = 10
    min_notice: timedelta = timedelta(minutes=30)
    window: timedelta = timedelta(minutes=240)


class Member(Protocol):
    @property
    def traveller_id(self) -> object: ...

    @property
    def role(self) -> str: ...


def check_filing(
    crew: Sequence[Member], expected_at: datetime, *, policy: TripPolicy, now: datetime
) -> None:
    """Raise ``ValidationFailed`` naming every problem of the crew and the arrival time."""
    problems: list[FieldProblem] = []
    if len(crew) > policy.max_people:
        problems.append(FieldProblem("crew", f"a trip names at most {policy.max_people} people"))
    seen: set[object] = set()
    for position, member in enumerate(crew):
        if member.traveller_id in seen:
            problems.append(
                FieldProblem(f"crew[{position}].traveller_id", "is already on the trip")
            )
        seen.add(member.traveller_id)
    drivers = sum(1 for member in crew if member.role == "driver")
    if drivers != 1:
        problems.append(
            FieldProblem("crew", f"a trip has exactly one driver, not {drivers}", "one_driver")
        )
    if expected_at <= now:
        problems.append(FieldProblem("expected_at", "must be in the future"))
    elif expected_at - now < policy.min_notice:
        minutes = int(policy.min_notice.total_seconds() // 60)
        problems.append(
            FieldProblem(
                "expected_at",
                f"a trip is filed at least {minutes} minutes before it arrives",
                "notice_too_short",
            )
        )
    if problems:
        raise ValidationFailed(problems)


def token_window(
    expected_at: datetime, policy: TripPolicy, clearances: Sequence[tuple[datetime, datetime]]
) -> tuple[datetime, datetime]:
    """When the trip token is valid: the policy's window around the arrival, never outside a
    member's clearance (``clearances`` are their ``(not_before, expires_at)``, each of which
    covers ``expected_at``), so the trip never carries anyone their own clearance would not."""
    start = max([expected_at - policy.window, *(start for start, _ in clearances)])
    end = min([expected_at + policy.window, *(end for _, end in clearances)])
    return start, end
