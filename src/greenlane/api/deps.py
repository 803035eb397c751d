"""What a route handler receives: one dependency, named for who may call the route.

A handler takes ``admin: AdminDep``, ``partner: PartnerDep`` or ``lane: LaneDep`` (and a public
route ``runtime: RuntimeDep`` or ``db: DatabaseDep``), and hands what that context holds to a use
case in ``services``; no handler reaches into the application state or the request's user. The
per-worker objects come from the :class:`~greenlane.runtime.Runtime` the lifespan built; who is
calling comes only from the access token, through the authentication middleware.

One dependency per handler on purpose: Litestar resolves two or more of a handler's dependencies
concurrently, in an anyio task group, which costs about 65 µs a request (a sixth of a lane
verification's CPU) for what are attribute reads.

This is the one api module that names the database handle: handlers pass it on to services
unopened (the import contract in pyproject.toml keeps every other api module off ``db``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from greenlane.db.pool import Database
from greenlane.runtime import Runtime
from greenlane.services.applications import Deciding
from greenlane.services.client_registry import ClientIdentity
from greenlane.services.context import Caller, Protection
from greenlane.services.trip_verify import TripVerifier
from greenlane.services.verify import LaneVerifier
from greenlane.services.webhooks import Webhooks
from greenlane.settings import Settings


@dataclass(frozen=True, slots=True)
class AdminContext:
    """An administrator's call: ``actor`` names the client in the audit log."""

    db: Database
    actor: str
    settings: Settings
    deciding: Deciding
    protection: Protection


@dataclass(frozen=True, slots=True)
class PartnerContext:
    """A partner's call: ``caller`` carries the partner id, the only one its use cases see."""

    db: Database
    caller: Caller
    deciding: Deciding
    protection: Protection


@dataclass(frozen=True, slots=True)
class WebhooksContext:
    """A partner managing its webhooks: ``caller`` as for :class:`PartnerContext`."""

    webhooks: Webhooks
    caller: Caller


@dataclass(frozen=True, slots=True)
class LaneContext:
    """A lane's call: the lane client (with its port and lane) and this worker's verifier."""

    identity: ClientIdentity
    verifier: LaneVerifier
    trips: TripVerifier


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


def _identity(request: Request[Any, Any, Any]) -> ClientIdentity:
    return identity_of(request)


def _admin(request: Request[Any, Any, Any]) -> AdminContext:
    runtime = runtime_of(request.app.state)
    return AdminContext(
        db=runtime.db,
        actor=actor_of(identity_of(request)),
        settings=runtime.settings,
        deciding=runtime.deciding,
        protection=runtime.protection,
    )


def _partner(request: Request[Any, Any, Any]) -> PartnerContext:
    runtime = runtime_of(request.app.state)
    identity = identity_of(request)
    assert identity.partner_id is not None  # the route admits partner clients only
    return PartnerContext(
        db=runtime.db,
        caller=Caller(partner_id=identity.partner_id, actor=actor_of(identity)),
        deciding=runtime.deciding,
        protection=runtime.protection,
    )


def _webhooks(request: Request[Any, Any, Any]) -> WebhooksContext:
    identity = identity_of(request)
    assert identity.partner_id is not None  # the route admits partner clients only
    return WebhooksContext(
        webhooks=runtime_of(request.app.state).webhooks,
        caller=Caller(partner_id=identity.partner_id, actor=actor_of(identity)),
    )


def _lane(request: Request[Any, Any, Any]) -> LaneContext:
    runtime = runtime_of(request.app.state)
    return LaneContext(
        identity=identity_of(request), verifier=runtime.verifier, trips=runtime.trip_verifier
    )


def _provide(function: Any) -> Provide:
    # Each is a few attribute reads: no worker thread, and nothing worth caching.
    return Provide(function, sync_to_thread=False)


DEPENDENCIES = {
    "runtime": _provide(_runtime),
    "db": _provide(_db),
    "identity": _provide(_identity),
    "admin": _provide(_admin),
    "partner": _provide(_partner),
    "lane": _provide(_lane),
    "webhooks": _provide(_webhooks),
}

# What a handler parameter is annotated with: the name says which dependency it receives.
RuntimeDep = NamedDependency[Runtime]
DatabaseDep = NamedDependency[Database]
IdentityDep = NamedDependency[ClientIdentity]
AdminDep = NamedDependency[AdminContext]
PartnerDep = NamedDependency[PartnerContext]
LaneDep = NamedDependency[LaneContext]
WebhooksDep = NamedDependency[WebhooksContext]
