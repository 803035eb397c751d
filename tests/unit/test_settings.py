from __future__ import annotations

import pytest

from greenlane.errors import SettingsError
from greenlane.settings import Secret, load_settings, new_key_text

EXTERNAL = "postgresql://user@db.internal/greenlane"


def external_env(**overrides: str) -> dict[str, str]:
    env = {
        "GREENLANE_DATABASE_URL": EXTERNAL,
        "GREENLANE_ACCESS_TOKEN_KEY": new_key_text(),
        "GREENLANE_SECRET_PEPPER": new_key_text(),
        "GREENLANE_DATA_KEYS": "1:" + new_key_text(),
        "GREENLANE_INDEX_KEY": new_key_text(),
        "GREENLANE_KEY_ENCRYPTION_KEY": new_key_text(),
    }
    env.update(overrides)
    return env


def test_defaults_with_an_external_database() -> None:
    settings = load_settings(external_env())
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.access_token_ttl == 900
    assert settings.shutdown_not_ready_seconds == 2.0
    assert settings.body_read_timeout_seconds == 10.0
    assert not settings.uses_embedded_database
    assert list(settings.data_keys) == [1]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PORT", "eighty", "GREENLANE_PORT: expected a whole number"),
        ("PORT", "70000", "GREENLANE_PORT: must be a TCP port"),
        ("WORKERS", "0", "GREENLANE_WORKERS: must be greater than 0"),
        ("DB_COMMAND_TIMEOUT", "soon", "GREENLANE_DB_COMMAND_TIMEOUT: expected a number"),
        ("SHUTDOWN_NOT_READY_SECONDS", "0", "GREENLANE_SHUTDOWN_NOT_READY_SECONDS: must be"),
        ("BODY_READ_TIMEOUT_SECONDS", "-1", "GREENLANE_BODY_READ_TIMEOUT_SECONDS: must be"),
        ("DATABASE_URL", "mysql://x", "GREENLANE_DATABASE_URL: expected a postgresql:// URL"),
        ("LOG_LEVEL", "LOUD", "GREENLANE_LOG_LEVEL: expected one of"),
        ("ISSUER", "ftp://x", "GREENLANE_ISSUER: expected an http(s) URL"),
        ("INDEX_KEY", "c2hvcnQ", "GREENLANE_INDEX_KEY: must be 32 bytes"),
        ("DATA_KEYS", "nokeyversion", "GREENLANE_DATA_KEYS: must look like 1:<key>"),
        (
            "CONSOLE_URL",
            "http://console.agency.example",
            "GREENLANE_CONSOLE_URL: expected an https",
        ),
        ("CONSOLE_URL", "console.agency.example", "GREENLANE_CONSOLE_URL: expected an https"),
        ("TRIP_MAX_PEOPLE", "0", "GREENLANE_TRIP_MAX_PEOPLE: must be greater than 0"),
        ("TRIP_MAX_PEOPLE", "21", "GREENLANE_TRIP_MAX_PEOPLE: must be at most 20"),
        ("TRIP_MAX_PEOPLE", "ten", "GREENLANE_TRIP_MAX_PEOPLE: expected a whole number"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(external_env(**{f"GREENLANE_{name}": value}))
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


@pytest.mark.parametrize(
    "name", ["ACCESS_TOKEN_KEY", "SECRET_PEPPER", "DATA_KEYS", "INDEX_KEY", "KEY_ENCRYPTION_KEY"]
)
def test_an_external_database_requires_every_key(name: str) -> None:
    env = external_env()
    del env[f"GREENLANE_{name}"]
    with pytest.raises(SettingsError, match=f"^GREENLANE_{name}: required"):
        load_settings(env)


def test_a_duplicate_key_version_is_refused() -> None:
    key = new_key_text()
    with pytest.raises(SettingsError, match="appears twice"):
        load_settings(external_env(GREENLANE_DATA_KEYS=f"1:{key},1:{key}"))


@pytest.mark.parametrize("value", [1, 20])
def test_a_trip_may_name_from_one_to_twenty_people(value: int) -> None:
    settings = load_settings(external_env(GREENLANE_TRIP_MAX_PEOPLE=str(value)))
    assert settings.trip_max_people == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://console.agency.example/", "https://console.agency.example"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_the_console_is_https_but_on_this_machine(value: str, expected: str) -> None:
    assert load_settings(external_env(GREENLANE_CONSOLE_URL=value)).console_url == expected


def test_secrets_never_show_in_repr() -> None:
    env = external_env()
    settings = load_settings(env)
    text = repr(settings) + str(settings.access_token_key)
    for name in ("ACCESS_TOKEN_KEY", "SECRET_PEPPER", "INDEX_KEY", "KEY_ENCRYPTION_KEY"):
        assert env[f"GREENLANE_{name}"] not in text
    assert "access_token_key" not in repr(settings)
    assert repr(Secret(b"x" * 32)) == "Secret('**********')"


def test_the_embedded_database_gets_development_keys_kept_on_disk(tmp_path: object) -> None:
    env = {"GREENLANE_DATA_DIR": str(tmp_path)}
    first = load_settings(env)
    second = load_settings(env)
    assert first.uses_embedded_database
    assert first.index_key == second.index_key
    assert first.data_keys == second.data_keys
