"""The pure parts of staff accounts: codes, passwords, session lifetimes, roles, masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

import pyotp
import pytest

from greenlane.domain.staff import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    Area,
    accepted_step,
    hash_password,
    locked,
    mask_name,
    may_open,
    new_totp_secret,
    password_matches,
    password_problem,
    session_expired,
    totp_uri,
)

NOW = datetime(2026, 12, 4, 1, 0, 15, tzinfo=UTC)
STEP = int(NOW.timestamp()) // 30


def test_rfc_6238_vector() -> None:
    # RFC 6238 appendix B, SHA-1, T = 59 s, the 6 low digits of 94287082.
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    assert pyotp.TOTP(secret).at(59) == "287082"
    assert accepted_step(secret, "287082", now=datetime.fromtimestamp(59, UTC), last_step=0) == 1


def test_a_code_is_accepted_once_and_with_one_step_of_drift() -> None:
    secret = new_totp_secret()
    totp = pyotp.TOTP(secret)
    assert accepted_step(secret, totp.generate_otp(STEP), now=NOW, last_step=0) == STEP
    assert accepted_step(secret, totp.generate_otp(STEP), now=NOW, last_step=STEP) is None
    assert accepted_step(secret, totp.generate_otp(STEP - 1), now=NOW, last_step=STEP) is None
    assert accepted_step(secret, totp.generate_otp(STEP + 1), now=NOW, last_step=STEP) == STEP + 1
    assert accepted_step(secret, totp.generate_otp(STEP - 1), now=NOW, last_step=0) == STEP - 1
    assert accepted_step(secret, totp.generate_otp(STEP + 2), now=NOW, last_step=0) is None
    assert accepted_step(secret, totp.generate_otp(STEP - 2), now=NOW, last_step=0) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 345", "١٢٣٤٥٦"])
def test_a_malformed_code_is_refused(code: str) -> None:
    assert accepted_step(new_totp_secret(), code, now=NOW, last_step=0) is None


def test_the_provisioning_uri_names_the_account_and_issuer() -> None:
    uri = totp_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ana@agency.example", "greenlane")
    assert uri.startswith("otpauth://totp/greenlane:ana%40agency.example?")
    assert "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri


def test_passwords_are_argon2id_and_checked() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert password_matches(stored, "correct horse battery staple")
    assert not password_matches(stored, "Correct horse battery staple")
    assert not password_matches(None, "anything at all")
    assert not password_matches("not a hash", "anything at all")


def test_password_rules_are_about_length() -> None:
    assert password_problem("short", "a@b.example") == "must be at least 12 characters"
    assert password_problem("x" * 129, "a@b.example") == "must be at most 128 characters"
    assert password_problem("Ana@Agency.Example", "ana@agency.example") is not None
    assert password_problem("twelve chars", "a@b.example") is None


def test_a_session_ends_when_idle_or_old() -> None:
    assert not session_expired(created_at=NOW, last_seen_at=NOW, now=NOW)
    idle = NOW + IDLE_TIMEOUT
    assert session_expired(created_at=NOW, last_seen_at=NOW, now=idle)
    assert not session_expired(created_at=NOW, last_seen_at=NOW, now=idle - timedelta(seconds=1))
    old = NOW + ABSOLUTE_TIMEOUT
    assert session_expired(created_at=NOW, last_seen_at=old - timedelta(seconds=1), now=old)


def test_lockout_is_until_a_moment() -> None:
    assert locked(NOW + timedelta(seconds=1), NOW)
    assert not locked(NOW, NOW)
    assert not locked(None, NOW)


def test_roles_open_their_areas_only() -> None:
    assert may_open("reviewer", "reviews")
    assert not may_open("reviewer", "rules")
    assert not may_open("rule_admin", "reviews")
    assert may_open("rule_admin", "watchlist")
    assert not may_open("reviewer", "agencies")
    assert not may_open("rule_admin", "agencies")
    assert all(may_open("agency_admin", area) for area in get_args(Area))


def test_names_are_masked_word_by_word() -> None:
    assert mask_name("Somchai") == "S******"
    assert mask_name("Nguyen Van  An") == "N***** V** A*"
    assert mask_name("") == ""
