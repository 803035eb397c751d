"""Enrolment, signing in and out, and what ends a session: through the console's own forms."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.domain.staff import MAX_FAILED_SIGN_INS, StaffRole
from greenlane.settings import Settings

from ..database import connect, run
from .people import Person, create, csrf_of, current_step, hidden, sign_in, signed_in

Enrol = Callable[[StaffRole], Person]
REFUSED = "Sign-in failed"


def audit_actions(database_url: str, email: str) -> list[str]:
    async def read() -> list[str]:
        conn = await connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT action FROM audit_log WHERE actor = $1 ORDER BY id", f"staff:{email}"
            )
        finally:
            await conn.close()
        return [row["action"] for row in rows]

    return run(read())


def execute(database_url: str, query: str, *args: object) -> None:
    async def go() -> None:
        conn = await connect(database_url)
        try:
            await conn.execute(query, *args)
        finally:
            await conn.close()

    run(go())


def enrol_over_http(client: TestClient[Litestar], token: str, person: Person) -> None:
    page = client.get(f"/console/enrol/{token}")
    assert page.status_code == 200
    assert person.email in page.text
    assert "<svg" in page.text  # the QR code, drawn on the server
    person.secret = hidden(page.text, "totp_secret")
    form = {
        "_csrf": hidden(page.text, "_csrf"),
        "totp_secret": person.secret,
        "password": person.password,
        "password_again": person.password,
    }
    wrong = client.post(f"/console/enrol/{token}", data={**form, "code": "000000"})
    assert wrong.status_code == 422
    assert "is not the current code" in wrong.text
    short = client.post(
        f"/console/enrol/{token}",
        data={**form, "password": "short", "password_again": "short", "code": person.next_code()},
    )
    assert short.status_code == 422
    assert "at least 12 characters" in short.text
    person.last_step = 0  # nothing was accepted: the code may still be used
    done = client.post(
        f"/console/enrol/{token}", data={**form, "code": person.next_code()}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/console/login?enrolled=true"


def test_enrolment_sets_a_password_and_a_second_factor_once(
    client: TestClient[Litestar], settings: Settings, clean_database: str
) -> None:
    person, token = create(settings, "reviewer")
    enrol_over_http(client, token, person)
    assert client.get(f"/console/enrol/{token}").status_code == 404  # the link works once
    assert client.get(f"/console/enrol/{uuid.uuid4().hex}").status_code == 404
    response = sign_in(client, person)
    assert response.status_code == 303
    assert audit_actions(clean_database, person.email) == ["staff.enrol", "staff.sign_in"]


def test_signing_in_sets_a_strict_session_cookie_with_a_new_id_each_time(
    client: TestClient[Litestar], enrol: Enrol
) -> None:
    person = enrol("reviewer")
    first = sign_in(client, person)
    assert first.status_code == 303
    [cookie] = [
        c for c in first.headers.get_list("set-cookie") if c.startswith("greenlane-session=")
    ]
    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=strict"
    assert attributes["path"].strip() == "Path=/"
    assert "secure" not in attributes  # plain-http localhost development (GREENLANE_CONSOLE_URL)
    first_id = client.cookies["greenlane-session"]
    page = client.get("/console/")
    assert page.status_code == 200
    assert person.email in page.text
    second = sign_in(client, person)
    assert second.status_code == 303
    assert client.cookies["greenlane-session"] != first_id


def test_a_wrong_password_is_refused_and_counted(
    client: TestClient[Litestar], enrol: Enrol, clean_database: str
) -> None:
    person = enrol("reviewer")
    refused = sign_in(client, person, password="not the password at all")
    assert refused.status_code == 401
    assert REFUSED in refused.text
    assert "greenlane-session" not in client.cookies
    assert client.get("/console/", follow_redirects=False).status_code == 303
    assert audit_actions(clean_database, person.email) == ["staff.enrol", "staff.sign_in_failed"]


def test_an_unknown_email_gets_the_same_answer(client: TestClient[Litestar], enrol: Enrol) -> None:
    person = enrol("reviewer")
    person.email = "nobody@agency.example"
    refused = sign_in(client, person)
    assert refused.status_code == 401
    assert REFUSED in refused.text


def test_a_wrong_code_is_refused(client: TestClient[Litestar], enrol: Enrol) -> None:
    person = enrol("reviewer")
    right = person.code_for(current_step())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert sign_in(client, person, code=wrong).status_code == 401
    assert sign_in(client, person, code="12345").status_code == 401
    assert sign_in(client, person, code="abcdef").status_code == 401
    assert sign_in(client, person, code="١٢٣٤٥٦").status_code == 401  # digits, not ASCII
    # A code from long ago is as wrong as a made-up one.
    assert sign_in(client, person, code=person.code_for(current_step() - 20)).status_code == 401


def test_a_code_already_used_is_refused(client: TestClient[Litestar], enrol: Enrol) -> None:
    person = enrol("reviewer")
    code = person.next_code()
    assert sign_in(client, person, code=code).status_code == 303
    client.cookies.clear()
    replayed = sign_in(client, person, code=code)
    assert replayed.status_code == 401
    # The enrolment's code, older still, is refused too.
    assert sign_in(client, person, code=person.code_for(current_step() - 1)).status_code == 401


def test_five_failures_lock_the_account_even_against_the_right_password(
    client: TestClient[Litestar], enrol: Enrol, clean_database: str
) -> None:
    person = enrol("reviewer")
    for _ in range(MAX_FAILED_SIGN_INS):
        wrong = sign_in(client, person, password="wrong password!!", code="000000")
        assert wrong.status_code == 401
    locked = sign_in(client, person)
    assert locked.status_code == 401
    assert REFUSED in locked.text  # the same answer: nobody learns the account is locked
    actions = audit_actions(clean_database, person.email)
    assert actions.count("staff.sign_in_failed") == MAX_FAILED_SIGN_INS
    assert "staff.locked" in actions
    assert actions[-1] == "staff.sign_in_locked"
    # When the lockout has passed, the right credentials work again.
    execute(
        clean_database,
        "UPDATE staff SET locked_until = now() - interval '1 second' WHERE email = $1",
        person.email,
    )
    assert sign_in(client, person).status_code == 303


def test_many_attempts_from_one_address_are_throttled(
    client: TestClient[Litestar], enrol: Enrol
) -> None:
    person = enrol("reviewer")
    stranger = Person(email="nobody@agency.example", role="reviewer", secret=person.secret)
    answers = [sign_in(client, stranger, code="000000").status_code for _ in range(31)]
    assert answers[:30] == [401] * 30
    assert answers[30] == 429
    assert sign_in(client, person).status_code == 429  # even the right credentials, for a minute


def test_signing_out_ends_the_session(client: TestClient[Litestar], enrol: Enrol) -> None:
    person = enrol("agency_admin")
    csrf = signed_in(client, person)
    cookie = client.cookies["greenlane-session"]
    out = client.post("/console/logout", data={"_csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/console/login"
    client.cookies.set("greenlane-session", cookie)  # kept by someone who copied it
    again = client.get("/console/", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/console/login"
    posted = client.post(
        "/console/keys/rotate", data={"_csrf": csrf, "_confirm": "rotate"}, follow_redirects=False
    )
    assert posted.status_code == 401


@pytest.mark.parametrize(
    ("column", "age"),
    [("last_seen_at", timedelta(minutes=15, seconds=1)), ("created_at", timedelta(hours=8))],
    ids=["idle-15-minutes", "absolute-8-hours"],
)
def test_a_session_times_out(
    client: TestClient[Litestar], enrol: Enrol, clean_database: str, column: str, age: timedelta
) -> None:
    person = enrol("reviewer")
    signed_in(client, person)
    # For the absolute limit, the session was active all along (seen just now).
    execute(clean_database, f"UPDATE staff_sessions SET {column} = $1", datetime.now(UTC) - age)
    answer = client.get("/console/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login"
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_activity_keeps_a_session_alive(
    client: TestClient[Litestar], enrol: Enrol, clean_database: str
) -> None:
    person = enrol("reviewer")
    signed_in(client, person)
    execute(
        clean_database, "UPDATE staff_sessions SET last_seen_at = now() - interval '14 minutes'"
    )
    assert client.get("/console/").status_code == 200
    execute(
        clean_database,
        "UPDATE staff_sessions SET last_seen_at = last_seen_at - interval '2 minutes'",
    )
    assert client.get("/console/").status_code == 200  # the visit just now counted


def test_a_disabled_person_is_signed_out_at_once(
    client: TestClient[Litestar], enrol: Enrol, settings: Settings, clean_database: str
) -> None:
    from greenlane.services.staff import disable_staff

    from .people import with_database

    person = enrol("reviewer")
    signed_in(client, person)
    with_database(settings, lambda db: disable_staff(db, person.email, by="cli"))
    assert client.get("/console/", follow_redirects=False).status_code == 303
    assert sign_in(client, person).status_code == 401


def test_the_csrf_token_of_a_session_is_on_every_page(
    client: TestClient[Litestar], enrol: Enrol
) -> None:
    person = enrol("agency_admin")
    csrf = signed_in(client, person)
    assert csrf == csrf_of(client)
    assert f'"X-CSRF-Token": "{csrf}"' in client.get("/console/rules").text


def test_over_https_the_cookie_is_secure_and_host_prefixed(
    settings: Settings, enrol: Enrol
) -> None:
    from dataclasses import replace

    from greenlane.app import create_app

    person = enrol("reviewer")
    served = create_app(replace(settings, console_url="https://console.agency.example"))
    with TestClient(app=served, base_url="https://testserver.local") as https:
        answer = sign_in(https, person)
        assert answer.status_code == 303
        [cookie] = [
            c
            for c in answer.headers.get_list("set-cookie")
            if c.startswith("__Host-greenlane-session=")
        ]
        assert "Secure" in cookie
        assert "Path=/" in cookie
        assert "Domain" not in cookie
        assert person.email in https.get("/console/").text
