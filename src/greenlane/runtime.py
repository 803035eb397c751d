"""What one worker holds while it serves: settings, the database and in-memory state."""

from __future__ import annotations

from dataclasses import dataclass

from greenlane.db.pool import Database
from greenlane.services.client_registry import ClientRegistry
from greenlane.services.live_state import LiveState
from greenlane.services.rate_limit import RateLimiter
from greenlane.settings import Settings


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    clients: ClientRegistry
    rate_limiter: RateLimiter
    live: LiveState
