"""The requests that move a case after its first decision: information, appeals, false hits,
second-line checks and a new travel document."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from greenlane.wire.applications import IssuedClearance
from greenlane.wire.common import Request
from greenlane.wire.registration import DocumentIn, Mrz, Traveller, TravellerPatch, VehiclePatch

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
# What a reviewer may ask a partner for, from a fixed list as ETIAS Art. 27 asks: each a document
# or a piece of registration data that the partner can send or correct.
InformationItem = Literal[
    "travel_document",
    "identity_details",
    "employer_letter",
    "invitation_letter",
    "itinerary",
    "purpose_of_travel",
    "driving_licence",
    "vehicle_registration",
    "vehicle_insurance",
]


class InformationRequestCreate(Request):
    items: Annotated[list[InformationItem], msgspec.Meta(min_length=1, max_length=9)]
    message: Text


class InformationAnswer(Request):
    """The partner's answer: a statement, and the registration data it corrects (merged like a
    PATCH of the traveller or the vehicle, and checked the same way)."""

    statement: Text
    traveller: TravellerPatch | None = None
    vehicle: VehiclePatch | None = None


class AppealCreate(Request):
    grounds: Text


class FalseHitCreate(Request):
    """Mark a watchlist hit of the application a false hit for its traveller: the entry named,
    or every entry that hit it when none is."""

    note: Text
    watchlist_entry_id: uuid.UUID | None = None


class SecondLineCreate(Request):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class DocumentReplacement(Request):
    """A traveller's new travel document, checked like a new registration's."""

    document: DocumentIn
    mrz: Mrz | None = None


class SecondLine(msgspec.Struct, kw_only=True):
    clearance_id: uuid.UUID
    requested_at: datetime
    reason: str


class Reissued(msgspec.Struct):
    """A clearance issued again, bound to a new travel document, and the one it replaces."""

    application_id: uuid.UUID
    replaces: uuid.UUID
    clearance: IssuedClearance


class DocumentReplaced(Traveller, kw_only=True):
    """The traveller with the new document, and every clearance issued again for it."""

    reissued: list[Reissued]
