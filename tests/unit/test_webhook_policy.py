"""What the webhook sender decides without I/O: destinations, answers and retries."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from greenlane.domain.webhooks import (
    DEFAULT_SCHEDULE,
    DestinationRefused,
    check_address,
    check_url,
    next_attempt,
    outcome_of,
    retry_after,
)
from greenlane.errors import SettingsError
from greenlane.settings import load_settings

NOW = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)


def test_a_good_url_gives_its_host_and_port() -> None:
    assert check_url("https://hooks.example.com/x", allow_http=False) == (
        "https",
        "hooks.example.com",
        443,
    )
    assert check_url("http://h.example:8080/x", allow_http=True) == ("http", "h.example", 8080)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https:///x",
        "https://a b.example/x",
        "https://h.example/x#frag",
        "https://u@h.example/x",
        "javascript:alert(1)",
        "https://h.example:0x1/",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check_url(url, allow_http=False)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "224.0.0.1",
        "::1",
        "fe80::1%eth0",
        "fd00:ec2::254",
        "::ffff:10.0.0.1",
        "::",
    ],
)
def test_non_public_addresses_are_refused_unless_allowed(address: str) -> None:
    with pytest.raises(DestinationRefused):
        check_address(address, allow_private=False)
    check_address(address, allow_private=True)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    check_address(address, allow_private=False)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "delivered"), (204, "delivered"), (299, "delivered"), (301, "failed"), (410, "gone")],
)
def test_what_an_answer_means(status: int, outcome: str) -> None:
    assert outcome_of(status) == outcome


def test_retry_after_in_seconds_or_as_a_date_bounded_by_a_day() -> None:
    assert retry_after("120", 429, NOW) == timedelta(seconds=120)
    assert retry_after("Fri, 04 Dec 2026 00:01:00 GMT", 503, NOW) == timedelta(minutes=1)
    assert retry_after("Thu, 03 Dec 2026 23:00:00 GMT", 503, NOW) == timedelta(0)
    assert retry_after("9999999", 429, NOW) == timedelta(hours=24)
    assert retry_after("soon", 429, NOW) is None
    assert retry_after("120", 400, NOW) is None  # only 429 and 5xx may ask
    assert retry_after(None, 503, NOW) is None


def test_the_schedule_is_standard_webhooks_with_a_little_jitter() -> None:
    rng = random.Random(7)
    total = timedelta(0)
    for attempts, delay in enumerate(DEFAULT_SCHEDULE, start=1):
        at = next_attempt(attempts, DEFAULT_SCHEDULE, NOW, rng=rng)
        assert at is not None
        assert delay <= at - NOW <= delay * 1.1
        total += delay
    assert next_attempt(len(DEFAULT_SCHEDULE) + 1, DEFAULT_SCHEDULE, NOW) is None
    assert timedelta(hours=75) < total < timedelta(hours=76)  # the spec's 75:35:05


def test_a_longer_retry_after_wins_over_the_schedule() -> None:
    at = next_attempt(1, DEFAULT_SCHEDULE, NOW, timedelta(minutes=10))
    assert at == NOW + timedelta(minutes=10)


def test_webhook_settings_parse_and_refuse_nonsense() -> None:
    base = {
        "GREENLANE_DATABASE_URL": "postgresql://x/y",
        "GREENLANE_ACCESS_TOKEN_KEY": "a" * 64,
        "GREENLANE_SECRET_PEPPER": "b" * 64,
        "GREENLANE_DATA_KEYS": "1:" + "c" * 64,
        "GREENLANE_INDEX_KEY": "d" * 64,
        "GREENLANE_KEY_ENCRYPTION_KEY": "e" * 64,
    }
    loaded = load_settings(base)
    assert loaded.webhook_retry_schedule == DEFAULT_SCHEDULE
    assert loaded.webhook_allow_private is False
    assert loaded.webhook_timeout_seconds == 15.0
    changed = load_settings(
        base
        | {
            "GREENLANE_WEBHOOK_RETRY_SCHEDULE": "1s, 2m,3h",
            "GREENLANE_WEBHOOK_ALLOW_PRIVATE": "true",
            "GREENLANE_WEBHOOK_CONCURRENCY": "0",
        }
    )
    assert changed.webhook_retry_schedule == (
        timedelta(seconds=1),
        timedelta(minutes=2),
        timedelta(hours=3),
    )
    assert changed.webhook_allow_private is True
    assert changed.webhook_concurrency == 0
    for name, value in [
        ("WEBHOOK_RETRY_SCHEDULE", "5 seconds"),
        ("WEBHOOK_ALLOW_HTTP", "maybe"),
        ("WEBHOOK_CONCURRENCY", "-1"),
    ]:
        with pytest.raises(SettingsError, match=f"GREENLANE_{name}"):
            load_settings(base | {f"GREENLANE_{name}": value})
