"""Fixtures of the console tests: staff of each role, signed in through the console's forms."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.domain.staff import StaffRole
from greenlane.settings import Settings

from ..api.actors import Actor, Admin
from ..api.lane_setup import PORT
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
