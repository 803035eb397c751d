"""Fixtures of the console tests: staff of each role, signed in through the console's forms."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from playwright.sync_api import Browser

from greenlane.domain.staff import StaffRole
from greenlane.settings import Settings

from ..api.actors import Actor, Admin
from ..api.lane_setup import PORT
from .browser import Watched, chromium, serving
from .people import Person, enrolled, signed_in


@pytest.fixture
def enrol(settings: Settings, clean_database: str) -> Callable[[StaffRole], Person]:
    return lambda role: enrolled(settings, role)


@pytest.fixture
def agency_admin(
    client: TestClient[Litestar], enrol: Callable[[StaffRole], Person]
) -> tuple[Person, str]:
    """An agency administrator signed in on ``client``, and their CSRF token."""
    person = enrol("agency_admin")
    return person, signed_in(client, person)


@pytest.fixture
def partner(admin: Admin) -> Actor:
    """A partner client, signed in, and the port ``lane_setup.PORT``."""
    admin.port(PORT, kinds=["passenger", "vehicle"])
    return admin.partner_actor()


@pytest.fixture(scope="module")
def browser(settings: Settings) -> Iterator[Browser]:
    """One Chromium for all the browser tests (they are one module); each test has a context
    (cookies) of its own.

    Module-scoped, not session-scoped: Playwright's sync API keeps an event loop running in this
    thread while it is open, and the tests that run after these call ``asyncio.run``. After
    ``settings``: the database is migrated before that loop starts (Alembic's async environment
    cannot run inside a running loop)."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def live(settings: Settings, clean_database: str, tmp_path: Path) -> Iterator[str]:
    """greenlane served over HTTP for the browser (its own spool folder)."""
    with serving(replace(settings, data_dir=tmp_path)) as url:
        yield url


@pytest.fixture
def tab(browser: Browser, live: str) -> Iterator[Watched]:
    """A page in a fresh browser context, at the live server; it fails the test if any page
    reported a Content-Security-Policy violation or a script error."""
    context = browser.new_context(base_url=live, viewport={"width": 1280, "height": 900})
    watched = Watched(context.new_page())
    try:
        yield watched
    finally:
        context.close()
    assert watched.problems == []
