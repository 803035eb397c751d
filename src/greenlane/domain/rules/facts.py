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


@dataclass(frozen=True, slots=True)
class CrewFacts:
    """One person on a trip, as a trip rule sees them: no names, no document numbers."""

    role: str
    nationality: str
    category: str
    date_of_birth: date
    document: DocumentFacts
    driving_licence: DrivingLicenceFacts | None


@dataclass(frozen=True, slots=True)
class TripFacts:
    vehicle: VehicleFacts
    port: str
    port_kinds: tuple[str, ...]
    direction: str
    expected_at: datetime
    crew: tuple[CrewFacts, ...]
    has_cargo_reference: bool


def build_trip_context(trip: TripFacts, *, today: date) -> dict[str, Any]:
    """The variables a trip condition sees: ``trip`` (its crew, roles, size, vehicle, port and
    arrival), ``vehicle`` (the trip's, as an application rule sees one), ``today`` and
    ``rcep_members``. ``trip.arrival_date`` is the arrival's UTC midnight, to compare with the
    dates of documents, licences and insurance; ``trip.roles`` counts the crew by role."""
    vehicle = _vehicle(trip.vehicle)
    roles = {"driver": 0, "co_driver": 0, "passenger": 0}
    for member in trip.crew:
        roles[member.role] += 1
    return {
        "trip": {
            "vehicle": vehicle,
            "port": trip.port,
            "port_kinds": list(trip.port_kinds),
            "direction": trip.direction,
            "expected_at": trip.expected_at,
            "arrival_date": _timestamp(trip.expected_at.astimezone(UTC).date()),
            "size": len(trip.crew),
            "roles": roles,
            "crew": [
                {
                    "role": member.role,
                    "nationality": member.nationality,
                    "category": member.category,
                    "date_of_birth": _timestamp(member.date_of_birth),
                    "document": _document(member.document),
                    "driving_licence": _licence(member.driving_licence),
                }
                for member in trip.crew
            ],
            "has_cargo_reference": trip.has_cargo_reference,
        },
        "vehicle": vehicle,
        "traveller": None,
        "application": None,
        "today": _timestamp(today),
        "rcep_members": list(RCEP_MEMBERS_SORTED),
    }


def _document(document: DocumentFacts) -> dict[str, Any]:
    return {
        "type": document.type,
        "issuing_state": document.issuing_state,
        "expiry_date": _timestamp(document.expiry_date),
    }


def _licence(licence: DrivingLicenceFacts | None) -> dict[str, Any] | None:
    if licence is None:
        return None
    return {
        "issuing_state": licence.issuing_state,
        "classes": list(licence.classes),
        "expiry_date": _timestamp(licence.expiry_date),
    }


def _vehicle(vehicle: VehicleFacts) -> dict[str, Any]:
    return {
        "kind": vehicle.kind,
        "registration_country": vehicle.registration_country,
        "insurance_expiry": _timestamp(vehicle.insurance_expiry),
    }


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
            "document": _document(traveller.document),
            "driving_licence": _licence(traveller.driving_licence),
        },
        "vehicle": None if vehicle is None else _vehicle(vehicle),
        "trip": None,
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
