"""What the webhook sender decides without I/O: which URLs and addresses it may call, what an
answer means, and when to try again.

- **Destinations.** An endpoint URL is absolute ``https`` (``http`` only where the operator
  allows it), names a host, and carries no user name, password or fragment. Every address its
  host resolves to must be globally routable: loopback, private, link-local (which holds the
  cloud metadata service, 169.254.169.254), shared, multicast, reserved and unspecified
  addresses are refused, IPv4 mapped into IPv6 included, unless the operator allows private
  destinations. The check runs when the endpoint is saved and again before every attempt, on
  the address that attempt then connects to.
- **Answers.** 2xx delivered; 410 Gone disables the endpoint; anything else (3xx included:
  redirects are never followed) fails the attempt, and 429 and 5xx may say when to come back
  (``Retry-After``, seconds or an HTTP date), which is honoured as a lower bound.
- **Retries.** The Standard Webhooks schedule: an attempt at once, then after 5 s, 5 min,
  30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (about three days), each delay stretched by up to
  a tenth at random so that endpoints failing together are not retried in lock step.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal, get_args
from urllib.parse import urlsplit

EventType = Literal[
    "application.approved",
    "application.referred",
    "application.rejected",
    "application.info_requested",
    "clearance.revoked",
    "clearance.suspended",
    "clearance.reinstated",
    "clearance.expiring",
    "trip.approved",
    "trip.referred",
    "trip.rejected",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
TEST_EVENT = "webhook.test"  # sent by POST /v1/webhooks/{id}/test, whatever the endpoint listens to

DEFAULT_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
JITTER = 0.1
MAX_RETRY_AFTER = timedelta(hours=24)
MAX_URL_LENGTH = 2048

Outcome = Literal["delivered", "failed", "gone", "timeout", "unreachable", "refused", "interrupted"]


class DestinationRefused(ValueError):
    """A URL or address that the sender will not call; the message says why, for the partner."""


def check_url(url: str, *, allow_http: bool) -> tuple[str, str, int]:
    """The scheme, host and port of an acceptable endpoint URL, or :class:`DestinationRefused`."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationRefused("not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DestinationRefused("not an absolute http(s) URL")
    if parts.scheme == "http" and not allow_http:
        raise DestinationRefused("must be https")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("must not carry a user name or password")
    if parts.fragment:
        raise DestinationRefused("must not have a fragment")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise DestinationRefused("must not contain spaces or control characters")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_address(address: str, *, allow_private: bool) -> None:
    """:class:`DestinationRefused` unless the address is globally routable (or allowed)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone index
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return
    if not ip.is_global or ip.is_multicast:
        raise DestinationRefused(
            "resolves to a loopback, private, link-local or other non-public address"
        )


def literal_address(host: str) -> str | None:
    """The host itself if it is an IP address literal, else None (a name to resolve)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def outcome_of(status_code: int) -> Outcome:
    if 200 <= status_code < 300:
        return "delivered"
    return "gone" if status_code == 410 else "failed"


def retry_after(header: str | None, status_code: int, now: datetime) -> timedelta | None:
    """The wait a 429 or 5xx answer asked for, bounded by a day; None when there is none."""
    if header is None or not (status_code == 429 or 500 <= status_code < 600):
        return None
    text = header.strip()
    if text.isdigit():
        wait = timedelta(seconds=int(text))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = when - now
    return max(timedelta(0), min(wait, MAX_RETRY_AFTER))


def next_attempt(
    attempts: int,
    schedule: Sequence[timedelta],
    now: datetime,
    asked: timedelta | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None once the schedule is spent."""
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1]
    delay += delay * JITTER * (rng or random).random()  # spreading, not secrecy
    if asked is not None:
        delay = max(delay, asked)
    return now + delay
