"""The life of an application after its first decision: which step each state allows, the
grounds a rejection states, and the dates an appeal and a renewal are measured by.

    filed ──► approved ◄───────────────┐
      │  └──► rejected ──► appealed ───┤ (a reviewer other than the one who rejected)
      ▼          ▲  ▲          └───────┴─► rejected, final
    referred ────┘  │
      │   ▲         │ (past the due date: info_not_provided)
      ▼   │         │
    info_requested ─┘

A rejection may be appealed once, within the appeal window; the appeal's outcome is final. Every
refused step names the state that refused it (``WrongState``, a 409).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from greenlane.errors import WrongState


@dataclass(frozen=True, slots=True)
class CasePolicy:
    """The time limits of a case (``GREENLANE_INFO_DEADLINE_DAYS``, ``GREENLANE_APPEAL_DAYS``,
    ``GREENLANE_RENEWAL_WINDOW_DAYS``)."""

    info_deadline_days: int
    appeal_days: int
    renewal_window_days: int


Status = Literal["approved", "referred", "rejected", "info_requested", "appealed"]
Step = Literal["decide", "request_info", "answer_info", "appeal"]

# Which states each step starts from.
STARTS_FROM: Mapping[Step, tuple[Status, ...]] = {
    "decide": ("referred", "appealed"),
    "request_info": ("referred",),
    "answer_info": ("info_requested",),
    "appeal": ("rejected",),
}
_DOING: Mapping[Step, str] = {
    "decide": "decided",
    "request_info": "asked for information",
    "answer_info": "answered with information",
    "appeal": "appealed",
}

# Steps that only the agency sees in a case's history: a second-line check is for border
# officers' eyes (ETIAS Art. 36(2)), and a false-hit mark is about the watchlist.
AGENCY_ONLY = frozenset(
    {"watchlist.false_hit", "clearance.second_line_requested", "clearance.second_line_done"}
)

INFO_NOT_PROVIDED = "info_not_provided"
INFO_NOT_PROVIDED_MESSAGE = "The information a reviewer asked for was not provided by its due date."
REVIEWER_REJECTED = "reviewer_rejected"
REVIEWER_REJECTED_MESSAGE = "A reviewer rejected the application; the note gives the reasons."


def require(step: Step, status: str) -> None:
    """Refuse ``step`` unless the application's ``status`` allows it."""
    allowed = STARTS_FROM[step]
    if status not in allowed:
        wanted = " or ".join(allowed)
        raise WrongState(
            f"the application is {status}: only an application {wanted} can be {_DOING[step]}",
            state=status,
        )


def grounds(reasons: Iterable[Mapping[str, Any]], *, by_reviewer: bool) -> list[dict[str, Any]]:
    """The grounds of a rejection, from the reasons the application carries.

    The rules and watchlist entries that decided: each ``deny`` reason when the rules rejected;
    every reason when a reviewer did (they were why it was referred), and ``reviewer_rejected``
    when there were none. Codes and messages only: never what a watchlist entry watches.
    """
    kept = [_ground(reason) for reason in reasons if by_reviewer or reason.get("effect") == "deny"]
    if not kept and by_reviewer:
        kept.append({"code": REVIEWER_REJECTED, "message": REVIEWER_REJECTED_MESSAGE})
    return kept


def _ground(reason: Mapping[str, Any]) -> dict[str, Any]:
    ground = {"code": reason["reason_code"], "message": reason["message"]}
    for key in ("rule_id", "watchlist_entry_id"):
        if reason.get(key) is not None:
            ground[key] = reason[key]
    return ground


def info_not_provided() -> list[dict[str, Any]]:
    return [{"code": INFO_NOT_PROVIDED, "message": INFO_NOT_PROVIDED_MESSAGE}]


def appeal_deadline(rejected_at: datetime, appeal_days: int) -> datetime:
    return rejected_at + timedelta(days=appeal_days)


def information_due(requested_at: datetime, deadline_days: int) -> datetime:
    return requested_at + timedelta(days=deadline_days)


def renewal_window(valid_from: date, valid_until: date, today: date) -> tuple[date, date]:
    """The window of a renewal: as long as the one it renews, from the day after it ends (or
    today, when that has passed)."""
    start = max(valid_until + timedelta(days=1), today)
    return start, start + (valid_until - valid_from)


def renewal_opens(expires_at: datetime, window_days: int) -> datetime:
    """When a clearance may first be renewed: ``window_days`` before it expires."""
    return expires_at - timedelta(days=window_days)


def watchlist_hits(reasons: Sequence[Mapping[str, Any]]) -> list[str]:
    """The watchlist entries (ids) whose hits an application's reasons name."""
    return [
        str(reason["watchlist_entry_id"])
        for reason in reasons
        if reason.get("watchlist_entry_id") is not None
    ]
