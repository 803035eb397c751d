"""SDK clients wired to the in-process app: the TestClient is an ``httpx.Client``."""

from __future__ import annotations

from typing import TypeVar

import msgspec

from greenlane.client.exchange import RetryPolicy
from greenlane.client.sync import _Client
from greenlane.wire.verify import PresentedDocument

from .actors import Actor
from .lane_setup import Issued

BASE = "http://testserver.local"
# Retries without waiting: tests check how long the SDK would wait, not the clock.
NO_WAIT = RetryPolicy(base_delay=0.0)

C = TypeVar("C", bound=_Client)


def sdk(kind: type[C], actor: Actor) -> C:
    return kind(BASE, actor.client_id, actor.secret, http_client=actor.http, retry=NO_WAIT)


def presented(issued: Issued) -> PresentedDocument:
    return msgspec.convert(issued.document(), PresentedDocument)
