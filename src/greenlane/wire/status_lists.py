"""Status lists on the wire: the list of lists (the lists themselves are signed tokens)."""

from __future__ import annotations

import msgspec


class StatusListAggregation(msgspec.Struct):
    """``GET /v1/status-lists``: the draft's Status List Aggregation (§9.3)."""

    status_lists: list[str]
