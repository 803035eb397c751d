"""Waiting for what happens a moment later (a NOTIFY reaching a worker, a spool draining)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def eventually(
    check: Callable[[], T | None], *, what: str, timeout: float = 1.0, interval: float = 0.02
) -> T:
    """Call ``check`` until it returns something truthy, and return that.

    ``what`` names what is awaited ("the worker to load the new rule"): after ``timeout``
    seconds the test fails with it and with the last value ``check`` returned. ``check`` is
    always called at least once, however short the timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"waited {timeout} s for {what}; the last check returned {value!r}")
        time.sleep(interval)
