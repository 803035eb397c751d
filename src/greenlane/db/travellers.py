"""The travellers table: personal numbers and the birth date are stored only as ciphertext."""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from datetime import date
from typing import Any

from greenlane.db.partner_scoped import RECORDED, PartnerTable


@dataclass(frozen=True, slots=True)
class TravellerRow:
    """The columns written for a traveller, in table order."""

    category: str
    given_names: str
    surname: str
    sex: str
    nationality: str
    date_of_birth_enc: bytes
    document_type: str
    document_issuing_state: str
    document_number_enc: bytes
    document_number_masked: str
    document_index: bytes
    document_expiry: date
    employer_name: str
    employer_country: str
    licence_number_enc: bytes | None
    licence_number_masked: str | None
    licence_issuing_state: str | None
    licence_classes: list[str] | None
    licence_expiry: date | None

    def values(self) -> tuple[Any, ...]:
        return astuple(self)


_WRITTEN = tuple(f.name for f in fields(TravellerRow))

TABLE = PartnerTable(
    name="travellers",
    returned=f"id, partner_id, {', '.join(_WRITTEN)}, {RECORDED}",
    written=_WRITTEN,
    erasable=tuple(n for n in _WRITTEN if n != "category"),
    lookup="document_index",
)
