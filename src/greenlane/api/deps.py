"""Accessors for what the lifespan put on the application state."""

from __future__ import annotations

from litestar.datastructures import State

from greenlane.runtime import Runtime
from greenlane.services.applications import Deciding


def runtime_of(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def deciding(state: State) -> Deciding:
    runtime = runtime_of(state)
    return Deciding(
        db=runtime.db,
        rules=runtime.rules,
        watchlist=runtime.watchlist,
        keyring=runtime.keyring,
        cipher=runtime.cipher,
        index=runtime.index,
        issuer=runtime.settings.issuer,
    )
