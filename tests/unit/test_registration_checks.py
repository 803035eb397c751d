"""The checks on a partner's registration of a traveller or a vehicle (``domain.registration``).

Inputs are the wire's request Structs, built directly: the decoder's own limits (lengths,
patterns) are not in play, only what the domain checks.
"""

import unicodedata
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import msgspec
import pytest

from greenlane.domain.mrz import check_digit
from greenlane.domain.registration import (
    EARLIEST_BIRTH,
    ONE_SCRIPT,
    TOO_MANY_MARKS,
    CheckedLicence,
    check_traveller,
    check_vehicle,
    identity_changes,
)
from greenlane.errors import ValidationFailed
from greenlane.wire.registration import (
    DocumentIn,
    DrivingLicenceIn,
    EmployerIn,
    TravellerCreate,
    VehicleCreate,
)

TODAY = date(2026, 11, 26)
NOT_A_DOCUMENT_STATE = "not a state code of ISO 3166-1 or ICAO 9303"
NOT_A_COUNTRY = "not an ISO 3166-1 alpha-3 country code"
PRINTABLE = "must be printable text"
DISAGREES = "does not agree with the machine-readable zone"


def traveller(**changes: Any) -> TravellerCreate:
    base = TravellerCreate(
        given_names="Somchai",
        surname="Jaidee",
        date_of_birth=date(1985, 3, 14),
        sex="M",
        nationality="THA",
        document=DocumentIn(
            type="P", number="AA1234567", issuing_state="THA", expiry_date=date(2031, 5, 20)
        ),
        category="business_visitor",
        employer=EmployerIn(name="Siam Logistics", country="THA"),
    )
    return msgspec.structs.replace(base, **changes)


def document(**changes: Any) -> DocumentIn:
    return msgspec.structs.replace(traveller().document, **changes)


def employer(**changes: Any) -> EmployerIn:
    return msgspec.structs.replace(traveller().employer, **changes)


def licence(**changes: Any) -> DrivingLicenceIn:
    base = DrivingLicenceIn(
        number="DL 987-654", issuing_state="THA", classes=["B", "C"], expiry_date=date(2030, 1, 1)
    )
    return msgspec.structs.replace(base, **changes)


def vehicle(**changes: Any) -> VehicleCreate:
    base = VehicleCreate(
        plate="1AB 2345",
        registration_country="THA",
        vin="MR0FZ22G901234567",
        kind="truck",
        insurance_expiry=date(2027, 6, 30),
    )
    return msgspec.structs.replace(base, **changes)


def td3(
    data: TravellerCreate,
    *,
    number: str | None = None,
    state: str | None = None,
    nationality: str | None = None,
    birth: date | None = None,
    sex: str | None = None,
    expiry: date | None = None,
    names: str | None = None,
) -> str:
    """A passport zone (valid check digits) saying what ``data`` says, except where told."""

    def with_check(value: str) -> str:
        return value + str(check_digit(value))

    printed = names or f"{data.surname}<<{data.given_names}".upper().replace(" ", "<")
    line1 = f"P<{state or data.document.issuing_state}{printed}".ljust(44, "<")[:44]
    body = (
        with_check((number or data.document.number).ljust(9, "<"))
        + (nationality or data.nationality)
        + with_check(f"{birth or data.date_of_birth:%y%m%d}")
        + (sex or data.sex)
        + with_check(f"{expiry or data.document.expiry_date:%y%m%d}")
        + with_check("<" * 14)
    )
    composite = body[0:10] + body[13:20] + body[21:43]
    return f"{line1}\n{body}{check_digit(composite)}"


def problems(check: Callable[[], object]) -> list[tuple[str, str]]:
    """(field, message) of every problem ``check`` reports, in order."""
    with pytest.raises(ValidationFailed) as caught:
        check()
    return [(problem.field, problem.message) for problem in caught.value.errors]


def traveller_problems(data: TravellerCreate) -> list[tuple[str, str]]:
    return problems(lambda: check_traveller(data, TODAY))


def fields_of(found: list[tuple[str, str]]) -> list[str]:
    return [field for field, _ in found]


# --- a traveller that passes ----------------------------------------------------------------


def test_a_valid_traveller_comes_back_cleaned_and_canonical() -> None:
    checked = check_traveller(
        traveller(
            given_names="  Anna Maria ",
            surname="Cafe\u0301",  # decomposed: NFC composes it
            document=document(number="aa 1234-567"),
            employer=employer(name="  Siam Logistics\u00a0Co "),
        ),
        TODAY,
    )
    assert checked.given_names == "Anna Maria"
    assert checked.surname == "Caf\u00e9"
    assert checked.document.number == "AA1234567"
    assert checked.document.issuing_state == "THA"
    assert checked.document.type == "P"
    assert checked.document.expiry_date == date(2031, 5, 20)
    assert checked.employer_name == "Siam Logistics\u00a0Co"
    assert checked.employer_country == "THA"
    assert checked.category == "business_visitor"
    assert checked.sex == "M"
    assert checked.nationality == "THA"
    assert checked.date_of_birth == date(1985, 3, 14)
    assert checked.driving_licence is None


@pytest.mark.parametrize("given_names", ["", "   "])
def test_a_mononymous_traveller_has_no_given_names(given_names: str) -> None:
    assert check_traveller(traveller(given_names=given_names), TODAY).given_names == ""


def test_a_licence_comes_back_with_its_number_canonical() -> None:
    checked = check_traveller(
        traveller(category="commercial_driver", driving_licence=licence()), TODAY
    )
    assert checked.driving_licence == CheckedLicence(
        number="DL987654", issuing_state="THA", classes=("B", "C"), expiry_date=date(2030, 1, 1)
    )


@pytest.mark.parametrize("state", ["GBD", "XXA", "UNO", "RKS"])
def test_icao_only_codes_are_document_states(state: str) -> None:
    checked = check_traveller(
        traveller(nationality=state, document=document(issuing_state=state)), TODAY
    )
    assert checked.nationality == state


@pytest.mark.parametrize("born", [EARLIEST_BIRTH, TODAY - timedelta(days=1)])
def test_birth_dates_at_the_bounds_pass(born: date) -> None:
    assert check_traveller(traveller(date_of_birth=born), TODAY).date_of_birth == born


def test_a_document_expiring_today_is_still_valid() -> None:
    checked = check_traveller(traveller(document=document(expiry_date=TODAY)), TODAY)
    assert checked.document.expiry_date == TODAY


# --- what a traveller is refused for --------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"given_names": "Anna2"}, "given_names", "letters, spaces, hyphens and apostrophes"),
        ({"given_names": "-Anna"}, "given_names", "must begin and end with a letter"),
        ({"given_names": "A. Maria"}, "given_names", "letters, spaces, hyphens and apostrophes"),
        ({"surname": ""}, "surname", "must be 1 to 100 characters"),
        ({"surname": "   "}, "surname", "must be 1 to 100 characters"),
        ({"surname": "x" * 101}, "surname", "must be 1 to 100 characters"),
        ({"surname": "Jaidee\u0000"}, "surname", "letters, spaces, hyphens and apostrophes"),
        ({"surname": "O'"}, "surname", "must begin and end with a letter"),
    ],
)
def test_names_must_be_names(changes: dict[str, str], field: str, message: str) -> None:
    [(found_field, found_message)] = traveller_problems(traveller(**changes))
    assert found_field == field
    assert message in found_message


# The name policy: NFC, one writing system (Latin, or an RCEP member's national script), no
# control or format character, no letter buried under combining marks.
NAMES_IN_POLICY = [
    "Nguy\u1ec5n Th\u1ecb",  # Vietnamese, precomposed by NFC
    "Adeb\u00e1y\u1ecd\u0300",  # a Latin letter that keeps a combining mark after NFC
    "\u0e2a\u0e21\u0e0a\u0e32\u0e22",  # Thai: Somchai
    "\u0e01\u0e34\u0e48\u0e07\u0e41\u0e01\u0e49\u0e27",  # Thai, two marks on a letter
    "\u1021\u1031\u102c\u1004\u103a\u1006\u1014\u103a\u1038",  # Myanmar: Aung San
    "\u1019\u1004\u103a\u1038\u1021\u1031\u102c\u1004\u103a\u101c\u103e\u102d\u102f\u1004\u103a",
    "\u17a0\u17ca\u17bb\u1793 \u179f\u17c2\u1793",  # Khmer: Hun Sen
    "\u0eaa\u0ebb\u0ea1\u0e9e\u0ead\u0e99",  # Lao: Somphone
    "\u738b\u5c0f\u660e",  # Han
    "\u4f50\u3005\u6728 \u3055\u304f\u3089",  # Japanese: kanji, iteration mark, kana
    "\u30b5\u30c8\u30fc",  # katakana with the prolonged sound mark
    "\uae40\ubbfc\uc900",  # Hangul
]


@pytest.mark.parametrize("name", NAMES_IN_POLICY)
def test_names_in_latin_or_a_national_script_of_rcep_pass(name: str) -> None:
    checked = check_traveller(traveller(given_names=name), TODAY)
    assert checked.given_names == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("\u0418\u0432\u0430\u043d", ONE_SCRIPT),  # Cyrillic
        ("J\u0430idee", ONE_SCRIPT),  # a Cyrillic a among Latin letters
        ("\u0395\u03bb\u03ad\u03bd\u03b7", ONE_SCRIPT),  # Greek
        ("\u0645\u062d\u0645\u062f", ONE_SCRIPT),  # Arabic
        ("\u0ba4\u0bae\u0bbf\u0bb4\u0bcd", ONE_SCRIPT),  # Tamil
        ("\uff33\uff4f\uff4d", ONE_SCRIPT),  # full-width Latin
        ("Somchai \u0e2a\u0e21\u0e0a\u0e32\u0e22", ONE_SCRIPT),  # Latin and Thai
        ("\u3055\u304f\u3089 \uae40", ONE_SCRIPT),  # kana and hangul
        ("Ja\u0336\u0336\u0336idee", TOO_MANY_MARKS),
        ("A\u0301\u0302\u0303\u0304", TOO_MANY_MARKS),  # NFC composes one: three remain
        ("\u0e01\u0e34\u0e48\u0e49", TOO_MANY_MARKS),  # three marks on a Thai letter
        ("\u1000\u103c\u102d\u102f\u1036", TOO_MANY_MARKS),  # four on a Myanmar letter
        ("Som\u200dchai", "letters, spaces, hyphens and apostrophes"),  # a format character
        ("Som\u202echai", "letters, spaces, hyphens and apostrophes"),  # a bidi override
    ],
)
def test_names_outside_the_policy_are_refused(name: str, message: str) -> None:
    [(field, found)] = traveller_problems(traveller(surname=name))
    assert field == "surname"
    assert message in found


@pytest.mark.parametrize(
    "born",
    [
        EARLIEST_BIRTH - timedelta(days=1),
        date(1066, 10, 14),
        TODAY,
        TODAY + timedelta(days=1),
    ],
)
def test_the_birth_date_must_be_in_the_past_and_after_1900(born: date) -> None:
    assert traveller_problems(traveller(date_of_birth=born)) == [
        ("date_of_birth", "must be a real date in the past, after 1900")
    ]


@pytest.mark.parametrize("code", ["ZZZ", "D", "tha", "TH", "UTO"])
def test_the_nationality_must_be_a_document_state(code: str) -> None:
    assert traveller_problems(traveller(nationality=code)) == [
        ("nationality", NOT_A_DOCUMENT_STATE)
    ]


@pytest.mark.parametrize("code", ["ZZZ", "D", "tha", "UTO"])
def test_the_issuing_state_must_be_a_document_state(code: str) -> None:
    assert traveller_problems(traveller(document=document(issuing_state=code))) == [
        ("document.issuing_state", NOT_A_DOCUMENT_STATE)
    ]


@pytest.mark.parametrize("number", ["", "--", "AB#123", "A" * 21, "\u0391\u0392123", "\u0131234"])
def test_the_document_number_must_be_canonical(number: str) -> None:
    [(field, message)] = traveller_problems(traveller(document=document(number=number)))
    assert field == "document.number"
    assert message.startswith("must be 1 to 20 letters A-Z or digits")


def test_an_expired_document_is_refused() -> None:
    expired = document(expiry_date=TODAY - timedelta(days=1))
    assert traveller_problems(traveller(document=expired)) == [
        ("document.expiry_date", "the document has expired")
    ]


@pytest.mark.parametrize("name", ["", "   ", "Acme\u0000", "Acme\nLtd", "Acme\u200b", "\ue000"])
def test_the_employer_name_must_be_printable_text(name: str) -> None:
    assert traveller_problems(traveller(employer=employer(name=name))) == [
        ("employer.name", PRINTABLE)
    ]


@pytest.mark.parametrize("code", ["ZZZ", "GBD", "XXA", "tha"])
def test_the_employer_country_must_be_an_iso_country(code: str) -> None:
    assert traveller_problems(traveller(employer=employer(country=code))) == [
        ("employer.country", NOT_A_COUNTRY)
    ]


def test_a_commercial_driver_needs_a_licence() -> None:
    assert traveller_problems(traveller(category="commercial_driver")) == [
        ("driving_licence", "required for a commercial driver")
    ]


def test_a_licence_number_must_be_canonical() -> None:
    [(field, message)] = traveller_problems(traveller(driving_licence=licence(number="DL#1")))
    assert field == "driving_licence.number"
    assert message.startswith("must be 1 to 20 letters A-Z or digits")


@pytest.mark.parametrize("code", ["ZZZ", "GBD", "D"])
def test_a_licence_is_issued_by_an_iso_country(code: str) -> None:
    assert traveller_problems(traveller(driving_licence=licence(issuing_state=code))) == [
        ("driving_licence.issuing_state", "not an ISO 3166-1 alpha-3 code")
    ]


def test_a_licence_must_not_repeat_a_class() -> None:
    assert traveller_problems(traveller(driving_licence=licence(classes=["B", "C", "B"]))) == [
        ("driving_licence.classes", "must not repeat a class")
    ]


def test_every_problem_is_reported_at_once_in_field_order() -> None:
    data = traveller(
        given_names="4nna",
        surname="",
        date_of_birth=date(1899, 1, 1),
        nationality="ZZZ",
        document=document(issuing_state="ZZZ", number="#", expiry_date=date(2020, 1, 1)),
        employer=employer(name="\u0007", country="ZZZ"),
        driving_licence=licence(number="#", issuing_state="ZZZ", classes=["B", "B"]),
        mrz="not a zone",
    )
    assert fields_of(traveller_problems(data)) == [
        "given_names",
        "surname",
        "date_of_birth",
        "nationality",
        "document.issuing_state",
        "document.number",
        "document.expiry_date",
        "employer.name",
        "employer.country",
        "driving_licence.number",
        "driving_licence.issuing_state",
        "driving_licence.classes",
        # No MRZ problem: without a canonical document number there is nothing to compare.
    ]


# --- the machine-readable zone --------------------------------------------------------------


def test_a_zone_that_agrees_passes() -> None:
    data = traveller()
    assert check_traveller(traveller(mrz=td3(data)), TODAY).document.number == "AA1234567"


def test_the_zone_is_compared_with_the_canonical_number() -> None:
    data = traveller(document=document(number="aa-1234 567"))
    zone = td3(data, number="AA1234567")
    assert check_traveller(msgspec.structs.replace(data, mrz=zone), TODAY).surname == "Jaidee"


def test_the_zone_is_not_checked_for_an_unreadable_document_number() -> None:
    data = traveller(document=document(number="#"), mrz="not a zone")
    assert fields_of(traveller_problems(data)) == ["document.number"]


@pytest.mark.parametrize(
    ("zone", "part"),
    [
        ("not a zone", "format"),
        ("P<THA\nshort", "format"),
        ("V<THAJAIDEE<<".ljust(44, "<") + "\n" + "<" * 44, "format"),
        (td3(traveller(), sex="Z"), "mrz"),
        (td3(traveller(), nationality="T1A"), "mrz"),
    ],
)
def test_a_malformed_zone_is_refused_naming_its_part(zone: str, part: str) -> None:
    [(found_field, message)] = traveller_problems(traveller(mrz=zone))
    assert found_field == "mrz"
    assert message.endswith(f"({part})")


def test_a_zone_failing_a_check_digit_is_refused() -> None:
    line1, line2 = td3(traveller()).split("\n")
    broken = line2[:9] + str((int(line2[9]) + 1) % 10) + line2[10:]
    [(field, message)] = traveller_problems(traveller(mrz=f"{line1}\n{broken}"))
    assert field == "mrz"
    assert message.endswith("(document_number)")


@pytest.mark.parametrize(
    ("disagreement", "field"),
    [
        ({"number": "AA7654321"}, "document.number"),
        ({"state": "MYS"}, "document.issuing_state"),
        ({"nationality": "MYS"}, "nationality"),
        ({"birth": date(1985, 3, 15)}, "date_of_birth"),
        ({"sex": "F"}, "sex"),
        ({"expiry": date(2031, 5, 21)}, "document.expiry_date"),
    ],
)
def test_a_zone_must_agree_with_each_registered_field(
    disagreement: dict[str, Any], field: str
) -> None:
    data = traveller()
    assert traveller_problems(traveller(mrz=td3(data, **disagreement))) == [(field, DISAGREES)]


def test_the_zone_is_compared_with_the_names() -> None:
    zone = td3(traveller(), names="SMITH<<JOHN")
    assert traveller_problems(traveller(mrz=zone)) == [
        ("given_names", DISAGREES),
        ("surname", DISAGREES),
    ]


def test_names_with_a_zone_are_written_in_latin_letters() -> None:
    thai = traveller(given_names="\u0e2a\u0e21\u0e0a\u0e32\u0e22")
    [(field, message)] = traveller_problems(msgspec.structs.replace(thai, mrz=td3(traveller())))
    assert field == "given_names"
    assert "Latin letters" in message


def test_a_name_already_refused_is_not_said_to_disagree() -> None:
    zone = td3(traveller())
    assert fields_of(traveller_problems(traveller(surname="J4idee", mrz=zone))) == ["surname"]


def test_every_disagreement_with_the_zone_is_reported() -> None:
    data = traveller()
    zone = td3(
        data,
        number="AA7654321",
        state="MYS",
        nationality="MYS",
        birth=date(1986, 3, 14),
        sex="F",
        expiry=date(2032, 5, 20),
    )
    assert traveller_problems(traveller(mrz=zone)) == [
        ("document.number", DISAGREES),
        ("document.issuing_state", DISAGREES),
        ("nationality", DISAGREES),
        ("date_of_birth", DISAGREES),
        ("sex", DISAGREES),
        ("document.expiry_date", DISAGREES),
    ]


# --- vehicles -------------------------------------------------------------------------------


def test_a_valid_vehicle_comes_back_cleaned_and_canonical() -> None:
    checked = check_vehicle(
        vehicle(
            plate="1ab\u2013 2345",
            vin="mr0fz22g9 01234567",
            make=" Hino ",
            model="Cafe\u0301 500",
            colour=None,
        )
    )
    assert checked.plate == "1AB2345"
    assert checked.vin == "MR0FZ22G901234567"
    assert checked.make == "Hino"
    assert checked.model == "Caf\u00e9 500"
    assert checked.colour is None
    assert checked.registration_country == "THA"
    assert checked.kind == "truck"
    assert checked.insurance_expiry == date(2027, 6, 30)


@pytest.mark.parametrize("plate", ["", "--", "AB#12", "A" * 13, "\u4eac A12345"])
def test_the_plate_must_be_canonical(plate: str) -> None:
    [(field, message)] = problems(lambda: check_vehicle(vehicle(plate=plate)))
    assert field == "plate"
    assert message.startswith("must be 1 to 12 letters A-Z or digits")


@pytest.mark.parametrize(
    "vin",
    ["MR0FZ22G90123456", "MR0FZ22G9012345678", "MR0FZ22G9O1234567", "IR0FZ22G901234567"],
)
def test_the_vin_must_be_17_characters_without_i_o_or_q(vin: str) -> None:
    assert problems(lambda: check_vehicle(vehicle(vin=vin))) == [
        ("vin", "must be 17 letters or digits, without I, O or Q")
    ]


@pytest.mark.parametrize("code", ["ZZZ", "GBD", "D", "tha"])
def test_the_registration_country_must_be_an_iso_country(code: str) -> None:
    assert problems(lambda: check_vehicle(vehicle(registration_country=code))) == [
        ("registration_country", NOT_A_COUNTRY)
    ]


@pytest.mark.parametrize("field", ["make", "model", "colour"])
@pytest.mark.parametrize("value", ["", "  ", "Hino\u0000", "Hi\tno", "\u202eHino"])
def test_free_text_must_be_printable(field: str, value: str) -> None:
    assert problems(lambda: check_vehicle(vehicle(**{field: value}))) == [(field, PRINTABLE)]


def test_every_vehicle_problem_is_reported_at_once() -> None:
    data = vehicle(
        plate="#", vin="short", registration_country="ZZZ", make="\u0000", model="", colour="\n"
    )
    assert fields_of(problems(lambda: check_vehicle(data))) == [
        "plate",
        "vin",
        "registration_country",
        "make",
        "model",
        "colour",
    ]


# --- a change of identity -------------------------------------------------------------------


def test_a_change_of_who_the_traveller_is_needs_an_mrz() -> None:
    changed = check_traveller(traveller(nationality="MYS", surname="Srisuk"), TODAY)
    [(field, message)] = problems(lambda: identity_changes(traveller(), changed))
    assert field == "mrz"
    assert message.endswith("surname, nationality")


def test_a_change_an_mrz_agrees_with_names_its_fields() -> None:
    new = traveller(surname="Srisuk", nationality="MYS", document=document(number="AB7654321"))
    changed = check_traveller(msgspec.structs.replace(new, mrz=td3(new)), TODAY)
    assert identity_changes(traveller(), changed) == (
        "surname",
        "nationality",
        "document.number",
    )


def test_category_employer_and_licence_are_not_identity() -> None:
    other = traveller(
        category="commercial_driver", employer=employer(name="Other"), driving_licence=licence()
    )
    assert identity_changes(traveller(), check_traveller(other, TODAY)) == ()
