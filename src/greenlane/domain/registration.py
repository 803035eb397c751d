"""What a border officer would check on a partner's registration of a traveller or a vehicle.

One check per resource serves POST and PATCH alike (a PATCH is merged into the stored record
first). Every problem is reported at once, each under the path of the field it concerns. The
checks read their input through the protocols below, which the wire's request Structs satisfy
as they are; what they return is the registration with its text cleaned (NFC, trimmed) and its
numbers in canonical form, ready to be stored.

Names follow one Unicode policy (``person_name``), and the MRZ, when there is one, is what the
identity fields must agree with, names included. A PATCH may change who the traveller is only
with an MRZ that says so (``identity_changes``).

The domain reads no clock: ``today`` is passed in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar

from greenlane.domain.countries import is_country, is_document_state
from greenlane.domain.documents import (
    DocumentFieldError,
    PersonNameError,
    canonical_document_number,
    canonical_plate,
    validate_person_name,
    validate_vin,
)
from greenlane.domain.mrz import MrzError, mrz_disagreements, parse_mrz
from greenlane.errors import FieldProblem, ValidationFailed

T = TypeVar("T")

EARLIEST_BIRTH = date(1900, 1, 1)
NOT_A_DOCUMENT_STATE = "not a state code of ISO 3166-1 or ICAO 9303"
NOT_A_COUNTRY = "not an ISO 3166-1 alpha-3 country code"


# --- what the checks read -------------------------------------------------------------------


class DocumentFields(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def issuing_state(self) -> str: ...
    @property
    def expiry_date(self) -> date: ...


class EmployerFields(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def country(self) -> str: ...


class LicenceFields(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def issuing_state(self) -> str: ...
    @property
    def classes(self) -> Sequence[str]: ...
    @property
    def expiry_date(self) -> date: ...


class IdentityFields(Protocol):
    """Who a traveller is: the fields their travel document prints."""

    @property
    def given_names(self) -> str: ...
    @property
    def surname(self) -> str: ...
    @property
    def date_of_birth(self) -> date: ...
    @property
    def sex(self) -> str: ...
    @property
    def nationality(self) -> str: ...
    @property
    def document(self) -> DocumentFields: ...


class TravellerFields(IdentityFields, Protocol):
    """A traveller's registration as sent (``wire.registration.TravellerCreate``)."""

    @property
    def category(self) -> str: ...
    @property
    def employer(self) -> EmployerFields: ...
    @property
    def driving_licence(self) -> LicenceFields | None: ...
    @property
    def mrz(self) -> str | None: ...


class VehicleFields(Protocol):
    """A vehicle's registration as sent (``wire.registration.VehicleCreate``)."""

    @property
    def plate(self) -> str: ...
    @property
    def registration_country(self) -> str: ...
    @property
    def vin(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def make(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def colour(self) -> str | None: ...
    @property
    def insurance_expiry(self) -> date: ...


# --- what they return -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedDocument:
    type: str
    number: str  # canonical
    issuing_state: str
    expiry_date: date


@dataclass(frozen=True, slots=True)
class CheckedLicence:
    number: str  # canonical
    issuing_state: str
    classes: tuple[str, ...]
    expiry_date: date


@dataclass(frozen=True, slots=True)
class CheckedTraveller:
    """The registration with its text cleaned (NFC, trimmed) and its numbers canonical; the
    MRZ as sent, which every identity field agrees with."""

    category: str
    given_names: str  # "" for a mononymous person
    surname: str
    sex: str
    nationality: str
    date_of_birth: date
    document: CheckedDocument
    employer_name: str
    employer_country: str
    driving_licence: CheckedLicence | None
    mrz: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedVehicle:
    """The registration with its plate and VIN canonical and its free text cleaned."""

    plate: str
    registration_country: str
    vin: str
    kind: str
    make: str | None
    model: str | None
    colour: str | None
    insurance_expiry: date


# --- the checks -----------------------------------------------------------------------------


class _Problems:
    """The problems found so far; ``raise_any`` reports them all in one ``ValidationFailed``."""

    def __init__(self) -> None:
        self.found: list[FieldProblem] = []

    def add(self, field: str, message: str) -> None:
        self.found.append(FieldProblem(field, message))

    def check(self, field: str, make: Callable[[], T]) -> T | None:
        """``make()``, or None with its ``DocumentFieldError`` recorded under ``field``."""
        try:
            return make()
        except DocumentFieldError as exc:
            self.add(field, exc.message)
            return None

    def raise_any(self) -> None:
        if self.found:
            raise ValidationFailed(self.found)


def _plain_text(problems: _Problems, field: str, value: str) -> str:
    """``value`` in NFC and trimmed; a problem when that is empty or has a control, format,
    private-use or unassigned character (Unicode category C)."""
    text = unicodedata.normalize("NFC", value).strip()
    if not text or any(unicodedata.category(c).startswith("C") for c in text):
        problems.add(field, "must be printable text")
    return text


# --- names ----------------------------------------------------------------------------------

# The scripts a name may be written in, by the first word of its letters' Unicode names: Latin
# (every passport prints the name in Latin letters), and the national scripts of RCEP members'
# passports. Any other script is refused, and with it the lookalikes it offers (a Cyrillic a,
# U+0430, in a Latin name): a name must be comparable with the document and readable by an
# officer.
_SCRIPTS = {
    "LATIN": "Latin",
    "CJK": "Han",
    "IDEOGRAPHIC": "Han",  # 々, the iteration mark of Japanese names such as 佐々木
    "HIRAGANA": "Hiragana",
    "KATAKANA": "Katakana",
    "KATAKANA-HIRAGANA": "Katakana",  # ー, the prolonged sound mark
    "HANGUL": "Hangul",
    "THAI": "Thai",
    "LAO": "Lao",
    "KHMER": "Khmer",
    "MYANMAR": "Myanmar",
}
# A name is written in one of these: Japanese mixes kanji with kana, Korean may mix hangul
# with hanja; no other name mixes scripts.
_WRITING_SYSTEMS = (
    frozenset({"Latin"}),
    frozenset({"Han", "Hiragana", "Katakana"}),
    frozenset({"Hangul", "Han"}),
    frozenset({"Thai"}),
    frozenset({"Lao"}),
    frozenset({"Khmer"}),
    frozenset({"Myanmar"}),
)
# Combining marks one letter may carry: Myanmar stacks up to three (ကြို), Thai, Lao and
# Khmer two (กิ่ง), and a Latin letter left with marks after NFC rarely more than two (Yoruba ẹ́).
_MARKS_PER_LETTER = 2
_MARKS_PER_MYANMAR_LETTER = 3
ONE_SCRIPT = (
    "must be written in one script: Latin, or Han with kana, Hangul, Thai, Lao, Khmer or Myanmar"
)
TOO_MANY_MARKS = "must not stack more combining marks on a letter than its script does"


def _script(char: str) -> str | None:
    """The script of a letter or mark; None for a combining diacritic (it takes its letter's)."""
    name = unicodedata.name(char, "")
    if name.startswith("COMBINING"):
        return None
    return _SCRIPTS.get(name.split(" ", 1)[0], "other")


def person_name(raw: str) -> str:
    """A given name or surname under the name policy: NFC, trimmed, letters of one writing
    system (with their combining marks), spaces, hyphens and apostrophes; never a control or
    format character, and never a letter buried under combining marks."""
    name = validate_person_name(raw, field="")
    scripts = {_script(c) for c in name if unicodedata.category(c)[0] in "LM"} - {None}
    if not any(scripts <= system for system in _WRITING_SYSTEMS):
        raise PersonNameError("", ONE_SCRIPT)
    most = _MARKS_PER_MYANMAR_LETTER if scripts == {"Myanmar"} else _MARKS_PER_LETTER
    stacked = 0
    for char in name:
        stacked = stacked + 1 if unicodedata.category(char)[0] == "M" else 0
        if stacked > most:
            raise PersonNameError("", TOO_MANY_MARKS)
    return name


# --- identity -------------------------------------------------------------------------------


def _identity(t: IdentityFields) -> dict[str, object]:
    """The identity fields by path, as the MRZ is compared with them."""
    document = t.document
    return {
        "given_names": t.given_names,
        "surname": t.surname,
        "date_of_birth": t.date_of_birth,
        "sex": t.sex,
        "nationality": t.nationality,
        "document.type": document.type,
        "document.number": document.number,
        "document.issuing_state": document.issuing_state,
        "document.expiry_date": document.expiry_date,
    }


def identity_changes(stored: IdentityFields, changed: CheckedTraveller) -> tuple[str, ...]:
    """The identity fields a PATCH changes (``stored`` canonical, as kept).

    Who a traveller is can change only with the document that says so: the merged registration
    must hold an MRZ, which ``check_traveller`` has already found to agree with every new value.
    Without one the change is refused, whether or not the traveller was registered with one.
    """
    before, after = _identity(stored), _identity(changed)
    fields = tuple(path for path, value in after.items() if value != before[path])
    if fields and changed.mrz is None:
        raise ValidationFailed.one(
            "mrz", f"required, agreeing with the new values, to change {', '.join(fields)}"
        )
    return fields


# --- the traveller --------------------------------------------------------------------------


def check_traveller(data: TravellerFields, today: date) -> CheckedTraveller:
    """Everything a border officer would check on the registration, all problems at once."""
    problems = _Problems()
    # Mononymous people (common in Indonesia and Myanmar) have no given names.
    given_names = ""
    if data.given_names.strip():
        given_names = problems.check("given_names", lambda: person_name(data.given_names)) or ""
    surname = problems.check("surname", lambda: person_name(data.surname))
    birth_ok = EARLIEST_BIRTH <= data.date_of_birth < today
    if not birth_ok:
        problems.add("date_of_birth", "must be a real date in the past, after 1900")
    if not is_document_state(data.nationality):
        problems.add("nationality", NOT_A_DOCUMENT_STATE)
    document = data.document
    if not is_document_state(document.issuing_state):
        problems.add("document.issuing_state", NOT_A_DOCUMENT_STATE)
    number = problems.check("document.number", lambda: canonical_document_number(document.number))
    if document.expiry_date < today:
        problems.add("document.expiry_date", "the document has expired")
    elif birth_ok and document.expiry_date <= data.date_of_birth:
        problems.add("document.expiry_date", "must be after the date of birth")
    employer_name = _plain_text(problems, "employer.name", data.employer.name)
    if not is_country(data.employer.country):
        problems.add("employer.country", NOT_A_COUNTRY)
    licence = _check_licence(problems, data)
    if data.mrz is not None and number is not None:
        names = (given_names, surname or "")
        _check_mrz(problems, data, data.mrz, number, names, today)
    problems.raise_any()
    assert number is not None
    assert surname is not None
    return CheckedTraveller(
        category=data.category,
        given_names=given_names,
        surname=surname,
        sex=data.sex,
        nationality=data.nationality,
        date_of_birth=data.date_of_birth,
        document=CheckedDocument(
            type=document.type,
            number=number,
            issuing_state=document.issuing_state,
            expiry_date=document.expiry_date,
        ),
        employer_name=employer_name,
        employer_country=data.employer.country,
        driving_licence=licence,
        mrz=data.mrz,
    )


def _check_licence(problems: _Problems, data: TravellerFields) -> CheckedLicence | None:
    licence = data.driving_licence
    if licence is None:
        if data.category == "commercial_driver":
            problems.add("driving_licence", "required for a commercial driver")
        return None
    number = problems.check(
        "driving_licence.number", lambda: canonical_document_number(licence.number)
    )
    if not is_country(licence.issuing_state):
        problems.add("driving_licence.issuing_state", "not an ISO 3166-1 alpha-3 code")
    if len(set(licence.classes)) != len(licence.classes):
        problems.add("driving_licence.classes", "must not repeat a class")
    if number is None:
        return None
    return CheckedLicence(
        number=number,
        issuing_state=licence.issuing_state,
        classes=tuple(licence.classes),
        expiry_date=licence.expiry_date,
    )


def _check_mrz(
    problems: _Problems,
    data: TravellerFields,
    mrz: str,
    number: str,
    names: tuple[str, str],
    today: date,
) -> None:
    """The machine-readable zone must be well formed and agree with the registered names
    (cleaned), document type, number (canonical), issuing state, nationality, date of birth,
    sex and expiry date. A field already refused is not said to disagree as well."""
    try:
        zone = parse_mrz(mrz, today=today)
    except MrzError as exc:
        problems.add("mrz", f"{exc.message} ({exc.field})")
        return
    refused = {problem.field for problem in problems.found}
    given_names, surname = names
    for field, message in mrz_disagreements(
        zone,
        given_names=given_names,
        surname=surname,
        document_type=data.document.type,
        document_number=number,
        issuing_state=data.document.issuing_state,
        nationality=data.nationality,
        date_of_birth=data.date_of_birth,
        sex=data.sex,
        expiry_date=data.document.expiry_date,
    ):
        if field not in refused:
            problems.add(field, message)


def check_vehicle(data: VehicleFields) -> CheckedVehicle:
    """A well-formed plate and VIN, a real registration country and printable free text."""
    problems = _Problems()
    plate = problems.check("plate", lambda: canonical_plate(data.plate))
    vin = problems.check("vin", lambda: validate_vin(data.vin))
    if not is_country(data.registration_country):
        problems.add("registration_country", NOT_A_COUNTRY)

    def text(field: str, value: str | None) -> str | None:
        return None if value is None else _plain_text(problems, field, value)

    make = text("make", data.make)
    model = text("model", data.model)
    colour = text("colour", data.colour)
    problems.raise_any()
    assert plate is not None
    assert vin is not None
    return CheckedVehicle(
        plate=plate,
        registration_country=data.registration_country,
        vin=vin,
        kind=data.kind,
        make=make,
        model=model,
        colour=colour,
        insurance_expiry=data.insurance_expiry,
    )
