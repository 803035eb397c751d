"""Travellers (drivers included) and vehicles on the wire.

Request shapes bound every string so that a hostile body is refused by the decoder before any
code looks at it; what a border officer would check (real dates, check digits, known states)
is checked by ``domain/registration.py``, one function for POST and PATCH alike.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from greenlane.wire.applications import Application
from greenlane.wire.common import Alpha3, Request

Category = Literal[
    "business_visitor",
    "intra_corporate_transferee",
    "installer_servicer",
    "contractual_service_supplier",
    "investor",
    "accompanying_family",
    "commercial_driver",
]
Sex = Literal["M", "F", "X"]
VehicleKind = Literal["car", "van", "bus", "truck", "tractor", "trailer", "motorcycle"]

# Raw numbers may carry separators ("E 1234-567"); canonical ones are at most 20 characters.
RawNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
PersonName = Annotated[str, msgspec.Meta(max_length=100)]
LicenceClass = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9+]{1,5}$")]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
OrganisationName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Mrz = Annotated[
    str, msgspec.Meta(max_length=100, description="two lines of 44 or three of 30 characters")
]


class DocumentIn(Request):
    type: Literal["P", "ID"]
    number: RawNumber
    issuing_state: Alpha3
    expiry_date: date


class EmployerIn(Request):
    name: OrganisationName
    country: Alpha3


class DrivingLicenceIn(Request):
    number: RawNumber
    issuing_state: Alpha3
    classes: Annotated[list[LicenceClass], msgspec.Meta(min_length=1, max_length=16)]
    expiry_date: date


class TravellerCreate(Request):
    given_names: PersonName
    surname: PersonName
    date_of_birth: date
    sex: Sex
    nationality: Alpha3
    document: DocumentIn
    category: Category
    employer: EmployerIn
    driving_licence: DrivingLicenceIn | None = None
    mrz: Mrz | None = None


class TravellerPatch(Request):
    """A merge patch: the fields named replace the stored ones (nested objects whole);
    ``driving_licence: null`` removes the licence. The merged record is validated as a POST.

    An MRZ on file is checked against the merged record too. It can be replaced, never
    removed, and a change to an identity field needs one that agrees with the new values."""

    given_names: PersonName | msgspec.UnsetType = msgspec.UNSET
    surname: PersonName | msgspec.UnsetType = msgspec.UNSET
    date_of_birth: date | msgspec.UnsetType = msgspec.UNSET
    sex: Sex | msgspec.UnsetType = msgspec.UNSET
    nationality: Alpha3 | msgspec.UnsetType = msgspec.UNSET
    document: DocumentIn | msgspec.UnsetType = msgspec.UNSET
    category: Category | msgspec.UnsetType = msgspec.UNSET
    employer: EmployerIn | msgspec.UnsetType = msgspec.UNSET
    driving_licence: DrivingLicenceIn | msgspec.UnsetType | None = msgspec.UNSET
    mrz: Mrz | msgspec.UnsetType = msgspec.UNSET


class DocumentOut(msgspec.Struct):
    type: Literal["P", "ID"]
    number: str  # masked: all but the last three characters
    issuing_state: str
    expiry_date: date


class EmployerOut(msgspec.Struct):
    name: str
    country: str


class DrivingLicenceOut(msgspec.Struct):
    number: str  # masked
    issuing_state: str
    classes: list[str]
    expiry_date: date


class Traveller(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    given_names: str
    surname: str
    date_of_birth: date
    sex: Sex
    nationality: str
    document: DocumentOut
    category: Category
    employer: EmployerOut
    driving_licence: DrivingLicenceOut | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class TravellerChange(Traveller, kw_only=True):
    """The answer to a PATCH: the traveller, and the applications the change decided again
    (a change of identity re-decides the live ones; any other change, none)."""

    redecided: list[Application]


class VehicleCreate(Request, kw_only=True):
    plate: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    registration_country: Alpha3
    vin: Annotated[str, msgspec.Meta(min_length=17, max_length=24)]
    kind: VehicleKind
    make: ShortText | None = None
    model: ShortText | None = None
    colour: ShortText | None = None
    insurance_expiry: date


class VehiclePatch(Request):
    plate: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    registration_country: Alpha3 | msgspec.UnsetType = msgspec.UNSET
    vin: Annotated[str, msgspec.Meta(min_length=17, max_length=24)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    kind: VehicleKind | msgspec.UnsetType = msgspec.UNSET
    make: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    model: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    colour: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    insurance_expiry: date | msgspec.UnsetType = msgspec.UNSET


class Vehicle(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    plate: str
    registration_country: str
    vin: str
    kind: VehicleKind
    make: str | None
    model: str | None
    colour: str | None
    insurance_expiry: date
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
