"""Machine-readable zones of passports (TD3) and identity cards (TD1), ICAO Doc 9303.

The parser checks the zone, not the world: every check digit must hold, but a state code it
does not know (ICAO's specimens are issued by the fictional ``UTO``) is kept as printed, in
canonical spelling, for the caller to accept or refuse. Whether a document has expired is the
caller's question too.

Dates carry two-digit years. A birth date gets the most recent century that does not put it in
the future, judged against the ``today`` the caller passes in (the domain reads no clock). An
expiry date is always 20YY: machine-readable passports issued in the 1900s have all expired.
"""

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from greenlane.domain.countries import normalise_state_code
from greenlane.domain.documents import DocumentNumberError, canonical_document_number
from greenlane.domain.transliteration import FILLER, agrees_with_zone, has_zone_spelling

MrzFormat = Literal["TD1", "TD3"]
Sex = Literal["M", "F", "X"]
CheckDigitField = Literal[
    "document_number", "birth_date", "expiry_date", "optional_data", "composite"
]
MrzField = Literal["mrz", "format"] | CheckDigitField

_FILLER = FILLER
_ZONE_CHARACTERS = re.compile(r"[A-Z0-9<]+")
_STATE_CODE = re.compile(r"[A-Z]{3}")
_LINE_WIDTHS: dict[int, int] = {2: 44, 3: 30}  # line count -> width: TD3, TD1
_CHECK_WEIGHTS = (7, 3, 1)
# Visas share the TD3 shape but not its check digits; identity cards are A, C or I.
_TD3_TYPES = "P"
_TD1_TYPES = "AIC"
# ICAO prints "unspecified" as a filler; some issuers print the X of the visual zone instead.
_SEXES: dict[str, Sex] = {"M": "M", "F": "F", "X": "X", _FILLER: "X"}
_CHECKED: dict[CheckDigitField, str] = {
    "document_number": "document number",
    "birth_date": "date of birth",
    "expiry_date": "date of expiry",
    "optional_data": "optional data",
    "composite": "composite",
}
_DISAGREES = "does not agree with the machine-readable zone"
_NOT_IN_ZONE_LETTERS = (
    "must be written in Latin letters, as the document prints it, to be compared with the"
    " machine-readable zone"
)


class MrzError(ValueError):
    """A zone that is malformed or fails a check digit; ``field`` says which part."""

    def __init__(self, field: MrzField, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field: MrzField = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Mrz:
    """What a zone says, fillers removed.

    The document number and optional data (often a national personal number) are left out of
    ``repr`` so that a logged value cannot leak them. ``name_cut`` says the name filled its
    field to the last character: a longer name was cut there (ICAO 9303 Part 3, 4.6).
    """

    format: MrzFormat
    document_type: str
    issuing_state: str
    document_number: str = dataclasses.field(repr=False)
    surname: str
    given_names: str
    nationality: str
    birth_date: date
    sex: Sex
    expiry_date: date
    optional_data: str = dataclasses.field(repr=False)
    name_cut: bool = False


@dataclass(frozen=True, slots=True)
class _Zone:
    """The fields of either layout as printed, fillers intact, check digits already verified."""

    format: MrzFormat
    document_type: str
    issuing_state: str
    document_number: str
    name: str
    nationality: str
    birth_date: str
    sex: str
    expiry_date: str
    optional_data: tuple[str, ...]


def _character_value(char: str) -> int:
    if char == _FILLER:
        return 0
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    raise MrzError("format", "only A-Z, 0-9 and '<' can carry a check digit")


def check_digit(value: str) -> int:
    """The ICAO 9303 check digit: weights 7, 3, 1 repeating; ``<`` is 0, A-Z are 10-35."""
    total = sum(
        _character_value(char) * _CHECK_WEIGHTS[index % len(_CHECK_WEIGHTS)]
        for index, char in enumerate(value)
    )
    return total % 10


def _verify(field: CheckDigitField, value: str, digit: str) -> None:
    if digit != str(check_digit(value)):
        raise MrzError(field, f"the {_CHECKED[field]} check digit does not match")


def _zone_lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.strip().split("\n")]
    width = _LINE_WIDTHS.get(len(lines))
    if width is None or any(len(line) != width for line in lines):
        raise MrzError(
            "format", "must be two lines of 44 characters (TD3) or three lines of 30 (TD1)"
        )
    if not all(_ZONE_CHARACTERS.fullmatch(line) for line in lines):
        raise MrzError("format", "may contain only the characters A-Z, 0-9 and '<'")
    return lines


def _read_td3(line1: str, line2: str) -> _Zone:
    """ICAO 9303 Part 4: the passport layout."""
    if line1[0] not in _TD3_TYPES:
        raise MrzError("format", "a two-line zone must be a passport's (document type P)")
    number, birth, expiry = line2[0:9], line2[13:19], line2[21:27]
    personal_number, personal_check = line2[28:42], line2[42]
    _verify("document_number", number, line2[9])
    _verify("birth_date", birth, line2[19])
    _verify("expiry_date", expiry, line2[27])
    # With no personal number, ICAO allows a filler instead of the check digit (which is 0).
    if not (personal_check == _FILLER and not personal_number.strip(_FILLER)):
        _verify("optional_data", personal_number, personal_check)
    _verify("composite", line2[0:10] + line2[13:20] + line2[21:43], line2[43])
    return _Zone(
        format="TD3",
        document_type=line1[0:2],
        issuing_state=line1[2:5],
        document_number=number,
        name=line1[5:44],
        nationality=line2[10:13],
        birth_date=birth,
        sex=line2[20],
        expiry_date=expiry,
        optional_data=(personal_number,),
    )


def _td1_document_number(line1: str) -> tuple[str, str]:
    """The document number of a TD1 zone, and what is left of optional data element 1.

    ICAO 9303 Part 5 (note j): a number longer than nine characters keeps its first nine in the
    number field, puts a filler in the check-digit position, and continues at the start of the
    optional data, followed by its check digit and a filler.
    """
    principal, check, optional = line1[5:14], line1[14], line1[15:30]
    if check != _FILLER:
        _verify("document_number", principal, check)
        return principal, optional
    overflow, _, rest = optional.partition(_FILLER)
    if not overflow:
        raise MrzError("document_number", "the document number check digit is missing")
    number = principal + overflow[:-1]
    _verify("document_number", number, overflow[-1])
    return number, rest


def _read_td1(line1: str, line2: str, line3: str) -> _Zone:
    """ICAO 9303 Part 5: the identity card layout."""
    if line1[0] not in _TD1_TYPES:
        raise MrzError("format", "a three-line zone must be an identity card's (type A, C or I)")
    number, optional_1 = _td1_document_number(line1)
    birth, expiry = line2[0:6], line2[8:14]
    _verify("birth_date", birth, line2[6])
    _verify("expiry_date", expiry, line2[14])
    _verify("composite", line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29], line2[29])
    return _Zone(
        format="TD1",
        document_type=line1[0:2],
        issuing_state=line1[2:5],
        document_number=number,
        name=line3,
        nationality=line2[15:18],
        birth_date=birth,
        sex=line2[7],
        expiry_date=expiry,
        optional_data=(optional_1, line2[18:29]),
    )


def _filler_text(value: str) -> str:
    """Fillers as the spaces they stand for: ``ANNA<MARIA<<<`` -> ``ANNA MARIA``."""
    return " ".join(part for part in value.split(_FILLER) if part)


def _state(value: str, what: str) -> str:
    canonical = normalise_state_code(value)
    if not _STATE_CODE.fullmatch(canonical):
        raise MrzError("mrz", f"the {what} is not a three-letter code")
    return canonical


def _yymmdd(value: str, field: MrzField) -> tuple[int, int, int]:
    if not value.isdigit():
        raise MrzError(field, "is not a date (YYMMDD)")
    return int(value[0:2]), int(value[2:4]), int(value[4:6])


def _birth_date(value: str, today: date) -> date:
    year, month, day = _yymmdd(value, "birth_date")
    this_century = today.year // 100 * 100
    for century in (this_century, this_century - 100):
        try:
            born = date(century + year, month, day)
        except ValueError:
            continue
        if born <= today:
            return born
    raise MrzError("birth_date", "is not a valid date in the past")


def _expiry_date(value: str) -> date:
    year, month, day = _yymmdd(value, "expiry_date")
    try:
        return date(2000 + year, month, day)
    except ValueError:
        raise MrzError("expiry_date", "is not a valid date") from None


def parse_mrz(text: str, *, today: date) -> Mrz:
    """Read and check a TD3 (2 x 44) or TD1 (3 x 30) zone given as newline-separated lines."""
    lines = _zone_lines(text)
    zone = _read_td3(*lines) if len(lines) == 2 else _read_td1(*lines)
    primary, _, secondary = zone.name.partition(_FILLER * 2)
    surname = _filler_text(primary)
    if not surname:
        raise MrzError("mrz", "the name has no primary identifier")
    document_number = zone.document_number.replace(_FILLER, "")
    if not document_number:
        raise MrzError("document_number", "the document number is missing")
    sex = _SEXES.get(zone.sex)
    if sex is None:
        raise MrzError("mrz", "sex must be M, F or '<'")
    return Mrz(
        format=zone.format,
        document_type=zone.document_type.rstrip(_FILLER),
        issuing_state=_state(zone.issuing_state, "issuing state"),
        document_number=document_number,
        surname=surname,
        given_names=_filler_text(secondary),
        nationality=_state(zone.nationality, "nationality"),
        birth_date=_birth_date(zone.birth_date, today),
        sex=sex,
        expiry_date=_expiry_date(zone.expiry_date),
        # A filler between the two TD1 elements reads as one space, like any other filler run.
        optional_data=_filler_text(_FILLER.join(zone.optional_data)),
        name_cut=not zone.name.endswith(_FILLER),
    )


def _same_document_number(first: str, second: str) -> bool:
    try:
        return canonical_document_number(first) == canonical_document_number(second)
    except DocumentNumberError:
        return False


def _names_agree(mrz: Mrz, surname: str, given_names: str) -> tuple[bool, bool]:
    """Whether the surname and the given names agree with the zone's, transliterated as ICAO
    9303 Part 3 does. A cut zone must begin the name: the surname whole when given names
    follow it in the zone, otherwise the surname's start (and the given names are not there)."""
    printed_surname = mrz.surname.replace(" ", _FILLER)
    printed_given = mrz.given_names.replace(" ", _FILLER)
    cut_in_surname = mrz.name_cut and not printed_given
    surname_agrees = agrees_with_zone(surname, printed_surname, cut=cut_in_surname)
    given_agree = cut_in_surname or agrees_with_zone(given_names, printed_given, cut=mrz.name_cut)
    return surname_agrees, given_agree


def _name_disagreements(mrz: Mrz, surname: str, given_names: str) -> list[tuple[str, str]]:
    names = (("given_names", given_names), ("surname", surname))
    unwritable = [
        (path, _NOT_IN_ZONE_LETTERS) for path, name in names if not has_zone_spelling(name)
    ]
    if unwritable:
        return unwritable
    surname_agrees, given_agree = _names_agree(mrz, surname, given_names)
    agreements = (("given_names", given_agree), ("surname", surname_agrees))
    return [(path, _DISAGREES) for path, agrees in agreements if not agrees]


def mrz_disagreements(
    mrz: Mrz,
    *,
    given_names: str,
    surname: str,
    document_type: str,
    document_number: str,
    issuing_state: str,
    nationality: str,
    date_of_birth: date,
    sex: str,
    expiry_date: date,
) -> list[tuple[str, str]]:
    """``(field path, message)`` for every registered field the zone contradicts.

    The date of birth is compared as the six digits the zone prints: its century is our guess,
    and a 101-year-old traveller must not disagree with their own passport. Names are compared
    as the zone spells them (ICAO 9303 transliteration, possibly cut), and a passport ("P") is
    the two-line zone, an identity card ("ID") the three-line one.
    """
    agreements = (
        ("document.type", (document_type == "P") == (mrz.format == "TD3")),
        ("document.number", _same_document_number(mrz.document_number, document_number)),
        ("document.issuing_state", normalise_state_code(issuing_state) == mrz.issuing_state),
        ("nationality", normalise_state_code(nationality) == mrz.nationality),
        ("date_of_birth", f"{date_of_birth:%y%m%d}" == f"{mrz.birth_date:%y%m%d}"),
        ("sex", sex == mrz.sex),
        ("document.expiry_date", expiry_date == mrz.expiry_date),
    )
    found = _name_disagreements(mrz, surname, given_names)
    return found + [(path, _DISAGREES) for path, agrees in agreements if not agrees]
