"""The rule set the service ships with, as data: a migration inserts these rows once, and from
then on they are ordinary rules that an administrator edits, disables or replaces.

Ids are fixed so that the migration is repeatable and later migrations can refer to a default
rule. Conditions use only the variables of ``greenlane.domain.rules.build_context``; every one
that concerns a vehicle starts with ``vehicle == null ||`` so that it passes when none is
attached.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class DefaultRule:
    id: str
    name: str
    description: str
    condition: str
    effect: Literal["deny", "refer"]
    reason_code: str
    message: str
    # The contract's applies_to ({"categories"?, "ports"?}); None applies the rule to everyone.
    applies_to: Mapping[str, tuple[str, ...]] | None = None


RCEP_NATIONALITY = DefaultRule(
    id="e2b3f959-02ad-4b5b-99f9-656ae9675c33",
    name="RCEP nationality",
    description=(
        "The green channel implements the Regional Comprehensive Economic Partnership's "
        "Chapter 9 (Temporary Movement of Natural Persons), whose commitments cover natural "
        "persons of the other parties only. A traveller whose nationality is not one of the 15 "
        "RCEP parties is therefore outside the scheme and must use the ordinary visa route."
    ),
    condition="traveller.nationality in rcep_members",
    effect="deny",
    reason_code="nationality_not_eligible",
    message="The traveller's nationality is not one of the RCEP parties.",
)

DOCUMENT_VALIDITY = DefaultRule(
    id="6bafd605-064c-4e06-92a6-11aa6c3b7ed6",
    name="Travel document valid 180 days after the trip",
    description=(
        "Most ASEAN states and several other RCEP parties refuse entry on a passport with less "
        "than six months of validity left. Counting the six months (taken as 180 days, 4320 "
        "hours, as CEL durations have no day unit) from the last day of the clearance rather "
        "than from the day of entry makes every crossing the clearance allows meet that "
        "practice, whichever day it happens."
    ),
    condition="traveller.document.expiry_date >= application.valid_until + duration('4320h')",
    effect="deny",
    reason_code="document_validity_insufficient",
    message="The travel document must remain valid for at least 180 days after the trip ends.",
)

STAY_LENGTH = DefaultRule(
    id="a4315d31-1647-41af-bb4f-287f3a24422c",
    name="Maximum stay by category",
    description=(
        "RCEP Chapter 9 lets each party schedule, in Annex IV, how long each category of "
        "business person may stay: short for business visitors and installers and servicers, "
        "longer for intra-corporate transferees, contractual service suppliers, investors and "
        "the family accompanying them. These defaults (90, 90, 365, 365, 365, 365 days) are "
        "conservative operating values to align with the parties' schedules; commercial "
        "drivers, who are not a Chapter 9 category, get the short 30-day permits usual for "
        "cross-border road transport. The limits sit in one map so that an administrator tunes "
        "them in one place, and a category missing from it fails to evaluate and is referred "
        "to an officer instead of being allowed an unlimited stay."
    ),
    condition=(
        "application.days <= {"
        "'business_visitor': 90, "
        "'installer_servicer': 90, "
        "'commercial_driver': 30, "
        "'contractual_service_supplier': 365, "
        "'intra_corporate_transferee': 365, "
        "'investor': 365, "
        "'accompanying_family': 365"
        "}[traveller.category]"
    ),
    effect="deny",
    reason_code="stay_too_long",
    message="The requested stay is longer than the traveller's category allows.",
)

DRIVING_LICENCE = DefaultRule(
    id="5694a0d4-1756-443c-bad1-6f5487ebae6e",
    name="Driving licence valid through the trip",
    description=(
        "With a vehicle attached the traveller is its driver (the contract says so), and a "
        "driver must hold a licence for the whole time they may be driving across the border: "
        "a licence is required, and it must not expire before the clearance does."
    ),
    condition=(
        "vehicle == null || (traveller.driving_licence != null"
        " && traveller.driving_licence.expiry_date >= application.valid_until)"
    ),
    effect="deny",
    reason_code="driving_licence_invalid",
    message="A driving licence valid until the end of the trip is required to bring a vehicle.",
)

VEHICLE_INSURANCE = DefaultRule(
    id="1802a3d8-ac90-4d4d-b95b-c394ab6ad5cd",
    name="Vehicle insurance through the trip",
    description=(
        "Cross-border road transport arrangements in the region (such as the ASEAN compulsory "
        "motor vehicle insurance scheme) require third-party insurance for every foreign "
        "vehicle for as long as it is in the host country, so the cover must last until the "
        "clearance ends."
    ),
    condition="vehicle == null || vehicle.insurance_expiry >= application.valid_until",
    effect="deny",
    reason_code="insurance_insufficient",
    message="The vehicle's insurance must remain valid until the end of the trip.",
)

VEHICLE_PORTS = DefaultRule(
    id="6648d0fa-9367-4371-8cce-8e8ae589a695",
    name="Every port handles vehicles",
    description=(
        "A clearance with a vehicle is only useful at ports with vehicle lanes: a "
        "passenger-only crossing cannot process the vehicle, so every requested port must "
        "handle the kind 'vehicle'. application.port_kinds lists the kinds of each requested "
        "port."
    ),
    condition="vehicle == null || application.ports.all(p, 'vehicle' in application.port_kinds[p])",
    effect="deny",
    reason_code="port_not_for_vehicles",
    message="Every requested port must handle vehicles when a vehicle is attached.",
)

DEFAULT_RULES: tuple[DefaultRule, ...] = (
    RCEP_NATIONALITY,
    DOCUMENT_VALIDITY,
    STAY_LENGTH,
    DRIVING_LICENCE,
    VEHICLE_INSURANCE,
    VEHICLE_PORTS,
)


# --- trips: conditions that name ``trip`` judge trips, not applications --------------------
# Inserted by migration 0015_trips, not 0003: a database made before trips gets them there.

TRIP_PORT_HANDLES_VEHICLE = DefaultRule(
    id="3f0c8a52-5b1e-4c36-9d0a-7c51f2e8b9a4",
    name="The port handles the trip's vehicle",
    description=(
        "A trip crosses at one port, which must have lanes for its vehicle: every vehicle "
        "needs a port handling the kind 'vehicle', and heavy goods vehicles (trucks, tractors, "
        "trailers) go through cargo lanes, so the port must handle 'cargo' too."
    ),
    condition=(
        "'vehicle' in trip.port_kinds && (!(trip.vehicle.kind in ['truck', 'tractor', 'trailer'])"
        " || 'cargo' in trip.port_kinds)"
    ),
    effect="deny",
    reason_code="port_not_for_vehicle_kind",
    message="The port does not handle this kind of vehicle.",
)

TRIP_DRIVERS_LICENSED = DefaultRule(
    id="9a4e2b17-0c6d-4f8e-a3b5-1d7c9e0f2a68",
    name="Drivers and co-drivers hold a licence on the day",
    description=(
        "Whoever may take the wheel (the driver and every co-driver) must hold a driving "
        "licence valid on the day of arrival. The driver's own clearance was already issued "
        "for this vehicle; a co-driver's may not have been."
    ),
    condition=(
        "trip.crew.all(m, m.role == 'passenger' || (m.driving_licence != null"
        " && m.driving_licence.expiry_date >= trip.arrival_date))"
    ),
    effect="deny",
    reason_code="driving_licence_invalid",
    message="The driver and every co-driver need a driving licence valid on the day.",
)

TRIP_INSURANCE = DefaultRule(
    id="c27d5e90-8f3a-4b1c-9e6d-5a0b8c4f7e13",
    name="Vehicle insured on the day",
    description=(
        "The vehicle must carry third-party insurance on the day it crosses (as the ASEAN "
        "compulsory motor vehicle insurance scheme requires of a foreign vehicle)."
    ),
    condition="trip.vehicle.insurance_expiry >= trip.arrival_date",
    effect="deny",
    reason_code="insurance_insufficient",
    message="The vehicle's insurance must be valid on the day of the crossing.",
)

TRIP_SEATS = DefaultRule(
    id="5e8b1f3c-2d7a-4c90-b6e4-0f9a3d2c1b75",
    name="The crew fits the vehicle",
    description=(
        "More people than a vehicle of its kind usually seats is worth an officer's look "
        "before the crossing: motorcycles 2, cars and vans 9, trucks and tractors 3 (a driver "
        "and two co-drivers or crew), buses 60. A trailer is not driven: file the tractor that "
        "pulls it. The numbers sit in one map for an administrator to tune."
    ),
    condition=(
        "trip.size <= {'motorcycle': 2, 'car': 9, 'van': 9, 'truck': 3, 'tractor': 3,"
        " 'bus': 60, 'trailer': 0}[trip.vehicle.kind]"
    ),
    effect="refer",
    reason_code="crew_exceeds_seats",
    message="More people are listed than the vehicle usually seats.",
)

TRIP_COMMERCIAL_DRIVER = DefaultRule(
    id="b8d3c6a1-4e2f-4a7b-8c5d-9f1e0a6b3c27",
    name="Goods vehicles and buses have a commercial driver",
    description=(
        "Trucks, tractors and buses cross as commercial transport, whose driver is registered "
        "as a commercial driver; another driver is referred to an officer rather than refused, "
        "as an employer may drive its own goods."
    ),
    condition=(
        "!(trip.vehicle.kind in ['truck', 'tractor', 'bus'])"
        " || trip.crew.exists(m, m.role == 'driver' && m.category == 'commercial_driver')"
    ),
    effect="refer",
    reason_code="commercial_driver_required",
    message="A truck, tractor or bus needs a driver registered as a commercial driver.",
)

DEFAULT_TRIP_RULES: tuple[DefaultRule, ...] = (
    TRIP_PORT_HANDLES_VEHICLE,
    TRIP_DRIVERS_LICENSED,
    TRIP_INSURANCE,
    TRIP_SEATS,
    TRIP_COMMERCIAL_DRIVER,
)
