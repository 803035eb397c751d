"""Canonical forms of the numbers and names printed on travel documents and vehicles.

People type the same passport number as ``E 1234-567``, ``e1234567`` or in full-width form
(from a CJK input method). One canonical spelling per value is what lets a registration, an
MRZ, a lane's scan and a watchlist entry be compared, and hashed, byte for byte.

Error messages never repeat the input: it is a document number or a person's name.
"""

import re
import unicodedata

_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9]{1,20}")
_PLATE = re.compile(r"[A-Z0-9]{1,12}")
# ISO 3779 leaves out I, O and Q so that they cannot be misread as 1 and 0.
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")

_DOCUMENT_NUMBER_SEPARATORS = str.maketrans("", "", " -./<")
# Dashes and middle dots as they come out of NFKC: plates are often copied from documents
# typeset with en dashes, or typed on CJK keyboards that produce the katakana middle dot.
_PLATE_SEPARATORS = str.maketrans("", "", " .-\u2010\u2012\u2013\u2014\u2212\u00b7\u30fb")
_VIN_SEPARATORS = str.maketrans("", "", " ")

_PERSON_NAME_MAX = 100
_PERSON_NAME_PUNCTUATION = frozenset(" -'\u2019")

_MASK_VISIBLE = 3


class DocumentFieldError(ValueError):
    """A document value that cannot be brought into canonical form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DocumentNumberError(DocumentFieldError):
    """A passport, identity card or driving licence number that is not well formed."""


class PlateError(DocumentFieldError):
    """A registration plate that is not well formed."""


class VinError(DocumentFieldError):
    """A vehicle identification number that is not well formed."""


class PersonNameError(DocumentFieldError):
    """A given name or surname that is not a plausible name."""


def _canonical_code(raw: str, separators: dict[int, int | None], shape: re.Pattern[str]) -> str:
    """NFKC-normalise, drop separators, upper-case; "" unless the result has ``shape``.

    ASCII is checked before upper-casing because ``str.upper`` maps some non-ASCII letters onto
    ASCII ones (dotless i U+0131 becomes ``I``, sharp s becomes ``SS``), letting lookalikes in.
    """
    compact = unicodedata.normalize("NFKC", raw).translate(separators)
    if not compact.isascii():
        return ""
    canonical = compact.upper()
    return canonical if shape.fullmatch(canonical) else ""


def canonical_document_number(raw: str) -> str:
    """A passport, identity card or licence number as 1-20 characters ``A-Z0-9``."""
    canonical = _canonical_code(raw, _DOCUMENT_NUMBER_SEPARATORS, _DOCUMENT_NUMBER)
    if not canonical:
        raise DocumentNumberError(
            "number",
            "must be 1 to 20 letters A-Z or digits once spaces, '-', '.', '/' and '<' are removed",
        )
    return canonical


def canonical_plate(raw: str) -> str:
    """A registration plate as 1-12 characters ``A-Z0-9``.

    Plates in other scripts (a Chinese province character, Thai letters) must be sent in their
    official Latin transliteration, the form used on international circulation documents.
    """
    canonical = _canonical_code(raw, _PLATE_SEPARATORS, _PLATE)
    if not canonical:
        raise PlateError(
            "plate",
            "must be 1 to 12 letters A-Z or digits once spaces, dashes and dots are removed",
        )
    return canonical


def validate_vin(raw: str) -> str:
    """A VIN as 17 characters ``A-Z0-9`` without I, O or Q.

    The ninth character is not checked as a check digit: only North American VINs carry one,
    and vehicles registered in RCEP states generally do not.
    """
    canonical = _canonical_code(raw, _VIN_SEPARATORS, _VIN)
    if not canonical:
        raise VinError("vin", "must be 17 letters or digits, without I, O or Q")
    return canonical


def _is_person_name_character(char: str) -> bool:
    # Letters of any script plus combining marks, which Thai, Burmese, Khmer and Vietnamese
    # names need even after NFC composition.
    return char in _PERSON_NAME_PUNCTUATION or unicodedata.category(char)[0] in "LM"


def validate_person_name(raw: str, *, field: str) -> str:
    """A name in NFC: letters of any script, spaces, hyphens and apostrophes (``'`` or U+2019).

    Full stops are refused: documents print names without abbreviations, and a name must agree
    with the travel document it is registered with. A name must begin with a letter and end with
    a letter (or its combining mark), so punctuation-only and dangling-hyphen names are refused.
    """
    name = unicodedata.normalize("NFC", raw).strip()
    if not 1 <= len(name) <= _PERSON_NAME_MAX:
        raise PersonNameError(field, f"must be 1 to {_PERSON_NAME_MAX} characters")
    if not all(_is_person_name_character(char) for char in name):
        raise PersonNameError(field, "may contain only letters, spaces, hyphens and apostrophes")
    if unicodedata.category(name[0])[0] != "L" or unicodedata.category(name[-1])[0] not in "LM":
        raise PersonNameError(field, "must begin and end with a letter")
    return name


def mask_number(canonical: str) -> str:
    """The number with all but its last 3 characters replaced by ``*``, keeping its length.

    A number of 3 characters or fewer would be given away whole, so only its last character is
    shown, and a 1-character number is masked completely.
    """
    length = len(canonical)
    visible = _MASK_VISIBLE if length > _MASK_VISIBLE else max(min(1, length - 1), 0)
    hidden = length - visible
    return "*" * hidden + canonical[hidden:]
