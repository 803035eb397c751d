"""Configuration, read once from ``GREENLANE_*`` environment variables.

Every setting is parsed and checked here so that a bad value stops the start with one line that
names the variable; nothing else in the code base reads the environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from greenlane.domain.countries import is_country
from greenlane.domain.crypto import (
    KeyMaterialError,
    base64url,
    parse_key,
    parse_versioned_keys,
)
from greenlane.errors import SettingsError

T = TypeVar("T")

PREFIX = "GREENLANE_"
_KEY_BYTES = 32


class Secret:
    """A value that must never be printed: its ``repr`` and ``str`` are masked."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration of one greenlane process."""

    database_url: str | None
    data_dir: Path
    host: str
    port: int
    workers: int
    log_level: str
    access_log_every: int
    access_log_slow_ms: int
    lane_direct: bool  # the lanes' routes below the framework (api/lane_direct.py)
    issuer: str
    country: str | None  # ISO 3166-1 alpha-3: this agency's, named in its trust list
    trust_list_ttl_seconds: int
    peer_refresh_seconds: float
    peer_timeout_seconds: float
    db_pool_min: int
    db_pool_max: int
    db_connect_timeout: float
    db_command_timeout: float
    db_acquire_timeout: float
    db_statement_timeout_ms: int
    db_lock_timeout_ms: int
    db_idle_in_transaction_timeout_ms: int
    access_token_ttl: int
    access_token_key: Secret = field(repr=False)
    secret_pepper: Secret = field(repr=False)
    rate_limit_admin: int
    rate_limit_partner: int
    rate_limit_lane: int
    verify_commit_budget_ms: int
    verify_linger_us: int
    rule_evaluation_timeout_ms: int
    retention_months: int
    info_deadline_days: int
    appeal_days: int
    renewal_window_days: int
    trip_max_people: int
    trip_min_notice_minutes: int
    trip_window_minutes: int
    shutdown_not_ready_seconds: float
    body_read_timeout_seconds: float
    console_url: str
    webhook_allow_http: bool
    webhook_allow_private: bool
    webhook_timeout_seconds: float
    webhook_retry_schedule: tuple[timedelta, ...]
    webhook_concurrency: int
    webhook_expiring_days: int
    webhook_expiry_scan_seconds: float
    status_list_ttl: int
    status_list_size: int
    data_keys: Mapping[int, Secret] = field(repr=False)
    index_key: Secret = field(repr=False)
    key_encryption_key: Secret = field(repr=False)

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None


# Secrets that a development machine may generate once and keep under the data directory.
SECRET_NAMES = (
    "ACCESS_TOKEN_KEY",
    "SECRET_PEPPER",
    "DATA_KEYS",
    "INDEX_KEY",
    "KEY_ENCRYPTION_KEY",
)


def _read(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw.strip())
    except KeyMaterialError as exc:  # already names the variable
        raise SettingsError(str(exc)) from None
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name}: {exc}") from None


def _status_list_size(raw: str) -> int:
    size = int(raw)
    if size < 16 or size > 1 << 24 or size & (size - 1):
        raise ValueError("expected a power of two from 16 to 16777216")
    return size


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("expected a whole number") from None
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _non_negative_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("expected a whole number") from None
    if value < 0:
        raise ValueError("must not be negative")
    return value


# A trip token grows by about 76 characters a person (with their status list entry); past 20 it
# stops fitting a QR code a lane camera reads reliably (see docs/trips.md).
_MAX_CREW = 20


def _crew_size(raw: str) -> int:
    value = _positive_int(raw)
    if value > _MAX_CREW:
        raise ValueError(f"must be at most {_MAX_CREW}")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if not value > 0:
        raise ValueError("must be greater than 0")
    return value


def _whole_number(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError("expected a whole number, 0 or more")
    return int(raw)


def _flag(raw: str) -> bool:
    value = raw.lower()
    if value not in {"true", "false", "1", "0", "yes", "no"}:
        raise ValueError("expected true or false")
    return value in {"true", "1", "yes"}


_UNITS = {"s": 1, "m": 60, "h": 3600}


def _schedule(raw: str) -> tuple[timedelta, ...]:
    """Delays before each retry, like ``5s,5m,30m,2h``."""
    delays = []
    for item in raw.split(","):
        text = item.strip()
        if len(text) < 2 or text[-1] not in _UNITS or not text[:-1].isdigit():
            raise ValueError("expected delays like 5s,5m,30m,2h")
        delays.append(timedelta(seconds=int(text[:-1]) * _UNITS[text[-1]]))
    return tuple(delays)


WEBHOOK_SCHEDULE = "5s,5m,30m,2h,5h,10h,14h,20h,24h"  # Standard Webhooks' (about three days)


def _port(raw: str) -> int:
    value = _positive_int(raw)
    if value > 65535:
        raise ValueError("must be a TCP port (1..65535)")
    return value


def _database_url(raw: str) -> str:
    if not raw.startswith(("postgresql://", "postgres://")):
        raise ValueError("expected a postgresql:// URL")
    return raw


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR")
    return level


MAX_ISSUER_LENGTH = 24  # the issuer is in every clearance token, which must fit a QR code


def _url(raw: str) -> str:
    if not raw.startswith(("https://", "http://")):
        raise ValueError("expected an http(s) URL")
    if len(raw.rstrip("/")) > MAX_ISSUER_LENGTH:
        raise ValueError(f"at most {MAX_ISSUER_LENGTH} characters (it is in every token)")
    return raw.rstrip("/")


_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _console_url(raw: str) -> str:
    """Where people open the console. Plain http only on this machine: a session cookie
    without ``Secure`` must never cross a network."""
    parts = urlsplit(raw)
    if parts.hostname and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS)
    ):
        return raw.rstrip("/")
    raise ValueError("expected an https URL (plain http only for localhost development)")


def _country(raw: str) -> str:
    if not is_country(raw):
        raise ValueError("expected an ISO 3166-1 alpha-3 country code (THA, LAO, ...)")
    return raw


def _key(name: str) -> Callable[[str], Secret]:
    return lambda raw: Secret(parse_key(raw, name=PREFIX + name))


def _versioned_keys(raw: str) -> dict[int, Secret]:
    """``"1:<key>,2:<key>"``: every key ever used, so old ciphertexts stay readable."""
    keys, _active = parse_versioned_keys(raw, name=PREFIX + "DATA_KEYS")
    return {version: Secret(key) for version, key in keys.items()}


def new_key_text() -> str:
    return base64url(secrets.token_bytes(_KEY_BYTES))


def development_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets for a development machine, made once and kept in ``<data_dir>/secrets.env``.

    Only used with the embedded database: a server on an external database must be given its
    keys, because generating fresh ones would make existing ciphertexts unreadable.
    """
    path = data_dir / "secrets.env"
    if path.exists():
        found: dict[str, str] = {}
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep:
                found[name.strip()] = value.strip()
        if all(PREFIX + name in found for name in SECRET_NAMES):
            return found
    values = {PREFIX + name: new_key_text() for name in SECRET_NAMES}
    values[PREFIX + "DATA_KEYS"] = "1:" + values[PREFIX + "DATA_KEYS"]
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("".join(f"{name}={value}\n" for name, value in values.items()))
    return values


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every setting, or raise :class:`SettingsError` naming the first bad one."""
    source = dict(os.environ if env is None else env)
    database_url = _read(source, "DATABASE_URL", _database_url, None)
    data_dir = _read(source, "DATA_DIR", Path, Path(".greenlane")).absolute()
    if database_url is None:
        for name, value in development_secrets(data_dir).items():
            source.setdefault(name, value)

    def required_key(name: str) -> Secret:
        key = _read(source, name, _key(name), None)
        if key is None:
            raise SettingsError(f"{PREFIX}{name}: required with an external database (32 bytes)")
        return key

    data_keys = _read(source, "DATA_KEYS", _versioned_keys, None)
    if data_keys is None:
        raise SettingsError(f"{PREFIX}DATA_KEYS: required with an external database (1:<key>)")

    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        host=_read(source, "HOST", str, "127.0.0.1"),
        port=_read(source, "PORT", _port, 8000),
        workers=_read(source, "WORKERS", _positive_int, 1),
        log_level=_read(source, "LOG_LEVEL", _log_level, "INFO"),
        access_log_every=_read(source, "ACCESS_LOG_EVERY", _positive_int, 100),
        access_log_slow_ms=_read(source, "ACCESS_LOG_SLOW_MS", _positive_int, 250),
        lane_direct=_read(source, "LANE_DIRECT", _flag, True),
        issuer=_read(source, "ISSUER", _url, "http://127.0.0.1:8000"),
        country=_read(source, "COUNTRY", _country, None),
        trust_list_ttl_seconds=_read(source, "TRUST_LIST_TTL_SECONDS", _positive_int, 86_400),
        peer_refresh_seconds=_read(source, "PEER_REFRESH_SECONDS", _positive_float, 300.0),
        peer_timeout_seconds=_read(source, "PEER_TIMEOUT_SECONDS", _positive_float, 5.0),
        db_pool_min=_read(source, "DB_POOL_MIN", _positive_int, 2),
        db_pool_max=_read(source, "DB_POOL_MAX", _positive_int, 10),
        db_connect_timeout=_read(source, "DB_CONNECT_TIMEOUT", _positive_float, 5.0),
        db_command_timeout=_read(source, "DB_COMMAND_TIMEOUT", _positive_float, 5.0),
        db_acquire_timeout=_read(source, "DB_ACQUIRE_TIMEOUT", _positive_float, 2.0),
        db_statement_timeout_ms=_read(source, "DB_STATEMENT_TIMEOUT_MS", _positive_int, 5000),
        db_lock_timeout_ms=_read(source, "DB_LOCK_TIMEOUT_MS", _positive_int, 2000),
        db_idle_in_transaction_timeout_ms=_read(
            source, "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", _positive_int, 10000
        ),
        access_token_ttl=_read(source, "ACCESS_TOKEN_TTL", _positive_int, 900),
        access_token_key=required_key("ACCESS_TOKEN_KEY"),
        secret_pepper=required_key("SECRET_PEPPER"),
        rate_limit_admin=_read(source, "RATE_LIMIT_ADMIN", _positive_int, 600),
        rate_limit_partner=_read(source, "RATE_LIMIT_PARTNER", _positive_int, 600),
        rate_limit_lane=_read(source, "RATE_LIMIT_LANE", _positive_int, 60000),
        verify_commit_budget_ms=_read(source, "VERIFY_COMMIT_BUDGET_MS", _positive_int, 200),
        verify_linger_us=_read(source, "VERIFY_LINGER_US", _positive_int, 2000),
        rule_evaluation_timeout_ms=_read(source, "RULE_EVALUATION_TIMEOUT_MS", _positive_int, 100),
        retention_months=_read(source, "RETENTION_MONTHS", _positive_int, 24),
        info_deadline_days=_read(source, "INFO_DEADLINE_DAYS", _positive_int, 14),
        appeal_days=_read(source, "APPEAL_DAYS", _positive_int, 30),
        renewal_window_days=_read(source, "RENEWAL_WINDOW_DAYS", _positive_int, 30),
        trip_max_people=_read(source, "TRIP_MAX_PEOPLE", _crew_size, 10),
        trip_min_notice_minutes=_read(source, "TRIP_MIN_NOTICE_MINUTES", _non_negative_int, 30),
        trip_window_minutes=_read(source, "TRIP_WINDOW_MINUTES", _positive_int, 240),
        shutdown_not_ready_seconds=_read(
            source, "SHUTDOWN_NOT_READY_SECONDS", _positive_float, 2.0
        ),
        body_read_timeout_seconds=_read(source, "BODY_READ_TIMEOUT_SECONDS", _positive_float, 10.0),
        console_url=_read(source, "CONSOLE_URL", _console_url, "http://127.0.0.1:8000"),
        webhook_allow_http=_read(source, "WEBHOOK_ALLOW_HTTP", _flag, False),
        webhook_allow_private=_read(source, "WEBHOOK_ALLOW_PRIVATE", _flag, False),
        webhook_timeout_seconds=_read(source, "WEBHOOK_TIMEOUT_SECONDS", _positive_float, 15.0),
        webhook_retry_schedule=_read(
            source, "WEBHOOK_RETRY_SCHEDULE", _schedule, _schedule(WEBHOOK_SCHEDULE)
        ),
        webhook_concurrency=_read(source, "WEBHOOK_CONCURRENCY", _whole_number, 4),
        webhook_expiring_days=_read(source, "WEBHOOK_EXPIRING_DAYS", _positive_int, 7),
        webhook_expiry_scan_seconds=_read(
            source, "WEBHOOK_EXPIRY_SCAN_SECONDS", _positive_float, 300.0
        ),
        status_list_ttl=_read(source, "STATUS_LIST_TTL", _positive_int, 300),
        status_list_size=_read(source, "STATUS_LIST_SIZE", _status_list_size, 1 << 20),
        data_keys=data_keys,
        index_key=required_key("INDEX_KEY"),
        key_encryption_key=required_key("KEY_ENCRYPTION_KEY"),
    )
