"""Agency staff: their roles and what each may open, passwords, the second factor, sessions.

People sign in to the console with an email, a password and a TOTP code (RFC 6238), never with
an API client's credentials. The numbers here are the OWASP session and authentication
guidance made concrete: a session ends after 15 idle minutes and in any case 8 hours after
sign-in; five wrong attempts in a row lock an account for 15 minutes.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Literal, get_args

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

StaffRole = Literal["reviewer", "rule_admin", "agency_admin"]
STAFF_ROLES: tuple[StaffRole, ...] = get_args(StaffRole)

IDLE_TIMEOUT = timedelta(minutes=15)
ABSOLUTE_TIMEOUT = timedelta(hours=8)
ENROLMENT_LIFETIME = timedelta(days=3)
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128  # argon2 would take more, but nobody types more, and it bounds work

TOTP_PERIOD = 30
TOTP_DIGITS = 6
# One step either side: a phone's clock a little off still works, and no more codes than that
# are live at once.
TOTP_DRIFT_STEPS = 1

# argon2-cffi's defaults are RFC 9106's second recommended option (argon2id, 64 MiB, t=3).
_hasher = PasswordHasher()
# Verified against when the email names nobody, so that both answers cost one argon2 run.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored_hash`` was made from (one argon2 run either
    way, also when there is no account or it has no password yet)."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str, email: str) -> str | None:
    """Why a new password will not do, or None. Length, not composition rules (NIST 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    if password.strip().lower() == email.strip().lower():
        return "must not be your email address"
    return None


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD).provisioning_uri(
        name=email, issuer_name=issuer
    )


def accepted_step(secret: str, code: str, *, now: datetime, last_step: int) -> int | None:
    """The time step ``code`` belongs to if it is right and newer than ``last_step``, else None.

    A code already accepted (its step is not newer than the last one used) is refused: a code
    seen over someone's shoulder, or replayed from a proxy's log, is worth nothing.
    """
    code = code.strip()
    if len(code) != TOTP_DIGITS or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
    current = int(now.timestamp()) // TOTP_PERIOD
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if step > last_step else None
    return None


def session_expired(*, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= IDLE_TIMEOUT or now - created_at >= ABSOLUTE_TIMEOUT


def locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


# What each role may open. Duties are separated: whoever writes the rules does not decide the
# cases they refer, and only an agency administrator manages who may call the API and which
# peer agencies' clearances our lanes accept.
Area = Literal["today", "reviews", "rules", "watchlist", "directory", "agencies", "keys", "audit"]
AREAS: dict[Area, tuple[StaffRole, ...]] = {
    "today": STAFF_ROLES,
    "reviews": ("reviewer", "agency_admin"),
    "rules": ("rule_admin", "agency_admin"),
    "watchlist": ("rule_admin", "agency_admin"),
    "directory": ("agency_admin",),
    "agencies": ("agency_admin",),
    "keys": ("agency_admin",),
    "audit": ("agency_admin",),
}


def may_open(role: StaffRole, area: Area) -> bool:
    return role in AREAS[area]


def actor(email: str) -> str:
    """How the audit log names a person: their email, which they sign in with."""
    return f"staff:{email}"


def mask_name(name: str) -> str:
    """Each word's first letter and a star per other letter: enough to tell cases apart."""
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in name.split())
