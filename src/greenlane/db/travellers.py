"""The travellers table: personal numbers, the birth date and the MRZ are stored only as
ciphertext."""

from __future__ import annotations

import uuid
from dataclasses import astuple, dataclass, fields
from datetime import date
from typing import Any

import asyncpg

from greenlane.db.partner_scoped import RECORDED, PartnerTable
from greenlane.domain.crypto import FieldCipher


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
    mrz_enc: bytes | None

    def values(self) -> tuple[Any, ...]:
        return astuple(self)

    @property
    def lookup(self) -> bytes:
        return self.document_index


_WRITTEN = tuple(f.name for f in fields(TravellerRow))

TABLE = PartnerTable(
    name="travellers",
    returned=f"id, partner_id, {', '.join(_WRITTEN)}, {RECORDED}",
    written=_WRITTEN,
    erasable=tuple(n for n in _WRITTEN if n != "category"),
    lookup="document_index",
)


def seal(cipher: FieldCipher, traveller_id: uuid.UUID, column: str, text: str) -> bytes:
    """Encrypt a personal column; the associated data binds it to this table, column and row."""
    return cipher.encrypt(text, table=TABLE.name, column=column, row_id=str(traveller_id))


def unseal(cipher: FieldCipher, row: asyncpg.Record, column: str) -> str:
    """The clear text of a personal column of ``row``."""
    return cipher.decrypt(
        bytes(row[column]), table=TABLE.name, column=column, row_id=str(row["id"])
    )
