"""Agency staff as tests use them: made as ``greenlane staff create`` makes them, enrolled,
and signed in through the console's own forms with codes their authenticator would show."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pyotp
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.db.pool import Database, create_pool
from greenlane.domain.staff import TOTP_PERIOD, StaffRole, new_totp_secret
from greenlane.runtime import data_protection
from greenlane.services import staff as staff_service
from greenlane.settings import Settings

from ..database import run as run_to_end

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
_HIDDEN = re.compile(r'name="(_csrf|totp_secret)" value="([^"]+)"')


def with_database(settings: Settings, use: Callable[[Database], Awaitable[T]]) -> T:
    assert settings.database_url is not None
    url = settings.database_url

    async def run() -> T:
        pool = await create_pool(settings, url)
        try:
            return await use(Database(pool, 5.0))
        finally:
            await pool.close()

    return run_to_end(run())


def current_step() -> int:
    return int(time.time()) // TOTP_PERIOD


@dataclass
class Person:
    """A member of staff and their authenticator: each code is for a step not used before."""

    email: str
    role: StaffRole
    secret: str = ""
    password: str = PASSWORD
    last_step: int = 0

    def next_code(self) -> str:
        step = max(current_step(), self.last_step + 1)
        assert step <= current_step() + 1, "more sign-ins than steps the server accepts"
        self.last_step = step
        return pyotp.TOTP(self.secret).generate_otp(step)

    def code_for(self, step: int) -> str:
        return pyotp.TOTP(self.secret).generate_otp(step)


def create(settings: Settings, role: StaffRole, email: str | None = None) -> tuple[Person, str]:
    """A new member of staff and their enrolment token (what the link carries)."""
    email = email or f"{role}.{uuid.uuid4().hex[:8]}@agency.example"
    created = with_database(
        settings, lambda db: staff_service.create_staff(db, email, role, by="cli")
    )
    return Person(email, role), created.enrolment_token


def enrolled(settings: Settings, role: StaffRole) -> Person:
    """Created and enrolled directly (the code of the step before now, leaving now and the
    next step for sign-ins)."""
    person, token = create(settings, role)
    person.secret = new_totp_secret()
    person.last_step = current_step() - 1
    cipher, _ = data_protection(settings)
    with_database(
        settings,
        lambda db: staff_service.enrol(
            db,
            cipher,
            token,
            password=person.password,
            totp_secret=person.secret,
            code=person.code_for(person.last_step),
        ),
    )
    return person


def hidden(page: str, name: str) -> str:
    found: dict[str, str] = dict(_HIDDEN.findall(page))
    return found[name]


def sign_in(
    client: TestClient[Litestar], person: Person, *, code: str | None = None, **changes: Any
) -> httpx.Response:
    """Open the sign-in page (for its form token), then send the form."""
    form_page = client.get("/console/login")
    assert form_page.status_code == 200
    form = {
        "_csrf": hidden(form_page.text, "_csrf"),
        "email": person.email,
        "password": person.password,
        "code": code if code is not None else person.next_code(),
        **changes,
    }
    return client.post("/console/login", data=form, follow_redirects=False)


def signed_in(client: TestClient[Litestar], person: Person) -> str:
    """Sign in; returns the page's CSRF token (every form of the session carries it)."""
    response = sign_in(client, person)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/"
    return csrf_of(client)


def csrf_of(client: TestClient[Litestar]) -> str:
    return hidden(client.get("/console/").text, "_csrf")
