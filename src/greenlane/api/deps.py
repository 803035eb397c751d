"""Accessors for what the lifespan put on the application state."""

from __future__ import annotations

from litestar.datastructures import State

from greenlane.runtime import Runtime


def runtime_of(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime
