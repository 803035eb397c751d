"""SIGTERM under load: not ready first, every accepted request answered, nothing lost."""

from __future__ import annotations

import pytest
from reliability.shutdown import run_shutdown
from reliability.table import render


@pytest.mark.parametrize("database_back", [False, True], ids=["database away", "database back"])
def test_sigterm_under_load(database_back: bool) -> None:
    row = run_shutdown(database_back=database_back)
    assert row.kept, render([row])
