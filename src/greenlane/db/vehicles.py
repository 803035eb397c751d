"""The vehicles table; the plate's blind index finds a partner's duplicates."""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from datetime import date
from typing import Any

from greenlane.db.partner_scoped import RECORDED, PartnerTable


@dataclass(frozen=True, slots=True)
class VehicleRow:
    """The columns written for a vehicle, in table order."""

    plate: str
    registration_country: str
    plate_index: bytes
    vin: str
    kind: str
    make: str | None
    model: str | None
    colour: str | None
    insurance_expiry: date

    def values(self) -> tuple[Any, ...]:
        return astuple(self)

    @property
    def lookup(self) -> bytes:
        return self.plate_index


_WRITTEN = tuple(f.name for f in fields(VehicleRow))

TABLE = PartnerTable(
    name="vehicles",
    returned=f"id, partner_id, {', '.join(_WRITTEN)}, {RECORDED}",
    written=_WRITTEN,
    erasable=_WRITTEN,
    lookup="plate_index",
)
