"""What a route handler may ask for by name: Litestar provides each one (``DEPENDENCIES``).

A handler's signature says what it needs (``db: DatabaseDep``, ``actor: ActorDep``,
``partner: PartnerDep``) and hands it to a use case in ``services``; no handler reaches into the
application state. The per-worker objects come from the :class:`~greenlane.runtime.Runtime` the
lifespan built; who is calling comes from the authentication middleware.

This is the one api module that names the database handle: handlers pass it on to services
unopened (the import contract in pyproject.toml keeps every other api module off ``db``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from greenlane.db.pool import Database
from greenlane.runtime import Runtime
from greenlane.services.applications import Deciding
from greenlane.services.client_registry import ClientIdentity
from greenlane.services.context import Caller, Protection
from greenlane.services.verify import LaneVerifier
from greenlane.settings import Settings


def runtime_of(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def identity_of(request: Request[Any, Any, Any]) -> ClientIdentity:
    """The client the access token names (set by the authentication middleware)."""
    identity: ClientIdentity = request.user
    return identity


def actor_of(identity: ClientIdentity) -> str:
    """How the audit log and ``created_by`` name a client."""
    return f"client:{identity.client_id}"


def _runtime(state: State) -> Runtime:
    return runtime_of(state)


def _db(state: State) -> Database:
    return runtime_of(state).db


def _settings(state: State) -> Settings:
    return runtime_of(state).settings


def _deciding(state: State) -> Deciding:
    return runtime_of(state).deciding


def _protection(state: State) -> Protection:
    return runtime_of(state).protection


def _verifier(state: State) -> LaneVerifier:
    return runtime_of(state).verifier


def _identity(request: Request[Any, Any, Any]) -> ClientIdentity:
    return identity_of(request)


def _actor(request: Request[Any, Any, Any]) -> str:
    return actor_of(identity_of(request))


def _partner(request: Request[Any, Any, Any]) -> Caller:
    identity = identity_of(request)
    assert identity.partner_id is not None  # the guard admits partner clients only
    return Caller(partner_id=identity.partner_id, actor=actor_of(identity))


def _provide(function: Any) -> Provide:
    # Each is a cheap attribute read: no worker thread, and nothing worth caching.
    return Provide(function, sync_to_thread=False)


DEPENDENCIES = {
    "runtime": _provide(_runtime),
    "db": _provide(_db),
    "settings": _provide(_settings),
    "deciding": _provide(_deciding),
    "protection": _provide(_protection),
    "verifier": _provide(_verifier),
    "identity": _provide(_identity),
    "actor": _provide(_actor),
    "partner": _provide(_partner),
}

# What a handler parameter is annotated with: the name says which dependency it receives.
RuntimeDep = NamedDependency[Runtime]
DatabaseDep = NamedDependency[Database]
SettingsDep = NamedDependency[Settings]
DecidingDep = NamedDependency[Deciding]
ProtectionDep = NamedDependency[Protection]
VerifierDep = NamedDependency[LaneVerifier]
IdentityDep = NamedDependency[ClientIdentity]
ActorDep = NamedDependency[str]
PartnerDep = NamedDependency[Caller]
