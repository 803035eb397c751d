import pytest

from greenlane.domain.documents import (
    DocumentFieldError,
    DocumentNumberError,
    PersonNameError,
    PlateError,
    VinError,
    canonical_document_number,
    canonical_plate,
    mask_number,
    validate_person_name,
    validate_vin,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("E1234567", "E1234567"),
        ("e 1234-567", "E1234567"),
        ("E.123/456<7", "E1234567"),
        ("\uff25\uff11\uff12\uff13", "E123"),  # full-width, as a CJK input method types it
        ("  L898902C3  ", "L898902C3"),
        ("A" * 20, "A" * 20),
    ],
)
def test_canonical_document_number(raw: str, canonical: str) -> None:
    assert canonical_document_number(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " - ",
        "A" * 21,
        "E123_456",
        "E123\t456",
        "\u0131123",  # dotless i would upper-case to I
        "stra\u00dfe1",  # sharp s would upper-case to SS
        "\u0661\u0662\u0663",  # Arabic-Indic digits
        "\u00c91234",  # accented letter
    ],
)
def test_canonical_document_number_refuses(raw: str) -> None:
    with pytest.raises(DocumentNumberError) as caught:
        canonical_document_number(raw)
    assert caught.value.field == "number"
    assert isinstance(caught.value, DocumentFieldError)
    assert isinstance(caught.value, ValueError)


def test_document_number_error_does_not_echo_the_input() -> None:
    with pytest.raises(DocumentNumberError) as caught:
        canonical_document_number("SECRET99_X")
    assert "SECRET99" not in str(caught.value)
    assert "SECRET99" not in caught.value.message


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("ab-123", "AB123"),
        ("1AB 234", "1AB234"),
        ("GX.1234", "GX1234"),
        ("A\u00b712345", "A12345"),
        ("AB\u2013123", "AB123"),
        ("AB\uff65123", "AB123"),  # half-width katakana middle dot
        ("\uff21\uff22\uff11", "AB1"),
    ],
)
def test_canonical_plate(raw: str, canonical: str) -> None:
    assert canonical_plate(raw) == canonical


@pytest.mark.parametrize("raw", ["", "---", "A" * 13, "\u4eacA12345", "AB_123", "AB/123"])
def test_canonical_plate_refuses(raw: str) -> None:
    with pytest.raises(PlateError) as caught:
        canonical_plate(raw)
    assert caught.value.field == "plate"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("1HGCM82633A004352", "1HGCM82633A004352"),
        ("jtdkb20u 0 93 012345", "JTDKB20U093012345"),
        # A wrong North American check digit (position 9) is still a valid RCEP VIN.
        ("1HGCM82603A004352", "1HGCM82603A004352"),
    ],
)
def test_validate_vin(raw: str, canonical: str) -> None:
    assert validate_vin(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "1HGCM82633A00435",  # 16
        "1HGCM82633A0043521",  # 18
        "1HGCM82633A00435I",
        "1HGCM82633A00435O",
        "1HGCM82633A00435Q",
        "1hgcm82633a00435q",
        "1HGCM8263-A004352",
        "",
    ],
)
def test_validate_vin_refuses(raw: str) -> None:
    with pytest.raises(VinError) as caught:
        validate_vin(raw)
    assert caught.value.field == "vin"


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("Anna Maria", "Anna Maria"),
        ("  O'Brien ", "O'Brien"),
        ("N\u2019Diaye", "N\u2019Diaye"),
        ("Jean-Luc", "Jean-Luc"),
        ("\u738b\u5c0f\u660e", "\u738b\u5c0f\u660e"),  # Chinese
        ("\u0e2a\u0e21\u0e0a\u0e32\u0e22", "\u0e2a\u0e21\u0e0a\u0e32\u0e22"),  # Thai
        ("Nguy\u1ec5n", "Nguy\u1ec5n"),  # Vietnamese
        ("\uae40\ubbfc\uc900", "\uae40\ubbfc\uc900"),  # Korean
        ("\u0e01\u0e34", "\u0e01\u0e34"),  # ends with a Thai combining vowel
        ("A" * 100, "A" * 100),
    ],
)
def test_validate_person_name(raw: str, valid: str) -> None:
    assert validate_person_name(raw, field="given_names") == valid


def test_validate_person_name_composes_to_nfc() -> None:
    assert validate_person_name("Jose\u0301", field="surname") == "Jos\u00e9"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "A" * 101,
        "St. John",
        "Anna1",
        "Anna\u0000",
        "Anna\nMaria",
        "Anna\u00a0Maria",
        "'",
        "--",
        "-Anna",
        "Anna-",
        "'Anna",
        "\u0301Anna",  # a combining mark with nothing to combine with
        "Anna\u30fbMaria",
    ],
)
def test_validate_person_name_refuses(raw: str) -> None:
    with pytest.raises(PersonNameError) as caught:
        validate_person_name(raw, field="traveller.surname")
    assert caught.value.field == "traveller.surname"
    assert caught.value.message
    if raw.strip():
        assert raw.strip() not in caught.value.message


@pytest.mark.parametrize(
    ("canonical", "masked"),
    [
        ("L898902C3", "******2C3"),
        ("ABCD", "*BCD"),
        ("ABC", "**C"),
        ("AB", "*B"),
        ("A", "*"),
        ("", ""),
    ],
)
def test_mask_number(canonical: str, masked: str) -> None:
    assert mask_number(canonical) == masked
