"""Keyed blind indexes for exact lookups of documents and vehicles.

One digest per document (issuing state and canonical number) and per vehicle (registration
country and canonical plate) serves every exact match: a partner's duplicate check and the
watchlist. The raw numbers are never needed to match, so they are never stored in clear.
"""

from __future__ import annotations

from greenlane.domain.crypto import BlindIndex


def document_index(index: BlindIndex, issuing_state: str, number: str) -> bytes:
    """Inputs must already be canonical (``canonical_state``, ``canonical_document_number``)."""
    return index.digest("document", issuing_state, number)


def vehicle_index(index: BlindIndex, registration_country: str, plate: str) -> bytes:
    """Inputs must already be canonical (ISO alpha-3, ``canonical_plate``)."""
    return index.digest("vehicle", registration_country, plate)
