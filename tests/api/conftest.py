"""Fixtures of the HTTP tests (the database and the app come from ``tests/conftest.py``)."""

from __future__ import annotations

import pytest

from .actors import Actor, Admin
from .lane_setup import PORT, lanes_and_partner


@pytest.fixture
def partner(admin: Admin) -> Actor:
    """A partner, signed in, and the port ``lane_setup.PORT`` open to passengers and vehicles."""
    admin.port(PORT, kinds=["passenger", "vehicle"])
    return admin.partner_actor()


@pytest.fixture
def lane_and_partner(admin: Admin) -> tuple[Actor, Actor]:
    """A lane at ``lane_setup.PORT`` and a partner, both signed in."""
    return lanes_and_partner(admin)
