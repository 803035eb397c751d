"""What a rule condition may know about an application, and its shape inside CEL.

The types hold exactly the fields the contract lets a condition see. Document and licence
numbers are deliberately absent: a rule cannot read what was never put into its context, so
no rule, dry-run result or error message can leak one.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from greenlane.domain.countries import RCEP_MEMBERS_SORTED


@dataclass(frozen=True, slots=True)
class EmployerFacts:
    name: str
    country: str


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    type: str
    issuing_state: str
    expiry_date: date


@dataclass(frozen=True, slots=True)
class DrivingLicenceFacts:
    issuing_state: str
    classes: tuple[str, ...]
    expiry_date: date


@dataclass(frozen=True, slots=True)
class TravellerFacts:
    nationality: str
    category: str
    sex: str
    date_of_birth: date
    employer: EmployerFacts
    document: DocumentFacts
    driving_licence: DrivingLicenceFacts | None


@dataclass(frozen=True, slots=True)
class VehicleFacts:
    kind: str
    registration_country: str
    insurance_expiry: date


@dataclass(frozen=True, slots=True)
class ApplicationFacts:
    ports: tuple[str, ...]
    valid_from: date
    valid_until: date
    entries: str
    purpose: str

    @property
    def days(self) -> int:
        """Calendar days the clearance covers, both ends included: a same-day trip is 1 day.

        Stay limits are stated in days a person may be present, and a traveller present on
        the first and the last day of the window has used both.
        """
        return (self.valid_until - self.valid_from).days + 1


def build_context(
    *,
    traveller: TravellerFacts,
    vehicle: VehicleFacts | None,
    application: ApplicationFacts,
    today: date,
    port_kinds: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """The variables a condition sees, as plain Python values cel can convert.

    Dates become UTC midnights, because CEL compares and offsets timestamps, not dates.
    ``application.port_kinds`` maps each requested port to the kinds of traffic it handles
    (``passenger``, ``vehicle``, ``cargo``), so that a rule can ask whether a vehicle may pass;
    a port missing from ``port_kinds`` handles nothing.
    """
    licence = traveller.driving_licence
    return {
        "traveller": {
            "nationality": traveller.nationality,
            "category": traveller.category,
            "sex": traveller.sex,
            "date_of_birth": _timestamp(traveller.date_of_birth),
            "employer": {
                "name": traveller.employer.name,
                "country": traveller.employer.country,
            },
            "document": {
                "type": traveller.document.type,
                "issuing_state": traveller.document.issuing_state,
                "expiry_date": _timestamp(traveller.document.expiry_date),
            },
            "driving_licence": None
            if licence is None
            else {
                "issuing_state": licence.issuing_state,
                "classes": list(licence.classes),
                "expiry_date": _timestamp(licence.expiry_date),
            },
        },
        "vehicle": None
        if vehicle is None
        else {
            "kind": vehicle.kind,
            "registration_country": vehicle.registration_country,
            "insurance_expiry": _timestamp(vehicle.insurance_expiry),
        },
        "application": {
            "ports": list(application.ports),
            "valid_from": _timestamp(application.valid_from),
            "valid_until": _timestamp(application.valid_until),
            "entries": application.entries,
            "purpose": application.purpose,
            "days": application.days,
            "port_kinds": {port: list(port_kinds.get(port, ())) for port in application.ports},
        },
        "today": _timestamp(today),
        "rcep_members": list(RCEP_MEMBERS_SORTED),
    }


def _timestamp(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
