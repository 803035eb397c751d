"""Values as asyncpg hands them over."""

from __future__ import annotations

from typing import Any

import msgspec


def jsonb(value: Any) -> Any:
    """A jsonb column's value: asyncpg, with no codec registered, hands jsonb over as text."""
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value
