from datetime import date
from typing import Any

import pytest

from greenlane.domain.mrz import Mrz, MrzError, check_digit, mrz_disagreements, parse_mrz

TODAY = date(2026, 11, 26)

# ICAO 9303 Part 4, the TD3 (passport) specimen.
TD3_SPECIMEN = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]
# ICAO 9303 Part 5, the TD1 (identity card) specimen.
TD1_SPECIMEN = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
]
# ICAO 9303 Part 11, Appendix D.2: a TD1 whose 12-character number overflows into optional data.
TD1_LONG_NUMBER = [
    "I<UTOD23145890<7349<<<<<<<<<<<",
    "3407127M9507122UTO<<<<<<<<<<<2",
    "STEVENSON<<PETER<JOHN<<<<<<<<<",
]


def zone(lines: list[str]) -> str:
    return "\n".join(lines)


def td3(
    *,
    name: str = "ERIKSSON<<ANNA<MARIA",
    state: str = "UTO",
    number: str = "L898902C3",
    nationality: str = "UTO",
    birth: str = "740812",
    sex: str = "F",
    expiry: str = "120415",
    personal: str = "ZE184226B",
) -> str:
    """A TD3 zone with correct check digits, for fields the specimen does not exercise."""

    def with_check(value: str) -> str:
        return value + str(check_digit(value))

    line1 = f"P<{state:<<3}{name}".ljust(44, "<")
    body = (
        with_check(number.ljust(9, "<"))
        + f"{nationality:<<3}"
        + with_check(birth)
        + sex
        + with_check(expiry)
        + with_check(personal.ljust(14, "<"))
    )
    composite = body[0:10] + body[13:20] + body[21:43]
    return f"{line1}\n{body}{check_digit(composite)}"


def corrupt(lines: list[str], line: int, position: int) -> str:
    """The zone with one check digit moved on by one."""
    changed = list(lines)
    digit = changed[line][position]
    changed[line] = (
        changed[line][:position] + str((int(digit) + 1) % 10) + changed[line][position + 1 :]
    )
    return zone(changed)


@pytest.mark.parametrize(
    ("value", "digit"),
    [
        ("L898902C3", 6),
        ("740812", 2),
        ("120415", 9),
        ("ZE184226B<<<<<", 1),
        ("D23145890", 7),
        ("D23145890734", 9),
        ("<<<<<<<<<", 0),
        ("", 0),
    ],
)
def test_check_digit_matches_icao_specimens(value: str, digit: int) -> None:
    assert check_digit(value) == digit


def test_check_digit_refuses_characters_outside_the_zone_alphabet() -> None:
    with pytest.raises(MrzError) as caught:
        check_digit("ab1")
    assert caught.value.field == "format"


def test_td3_builder_reproduces_the_specimen() -> None:
    assert td3() == zone(TD3_SPECIMEN)


def test_parses_the_td3_specimen() -> None:
    assert parse_mrz(zone(TD3_SPECIMEN), today=TODAY) == Mrz(
        format="TD3",
        document_type="P",
        issuing_state="UTO",
        document_number="L898902C3",
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        nationality="UTO",
        birth_date=date(1974, 8, 12),
        sex="F",
        expiry_date=date(2012, 4, 15),
        optional_data="ZE184226B",
    )


def test_parses_the_td1_specimen() -> None:
    assert parse_mrz(zone(TD1_SPECIMEN), today=TODAY) == Mrz(
        format="TD1",
        document_type="I",
        issuing_state="UTO",
        document_number="D23145890",
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        nationality="UTO",
        birth_date=date(1974, 8, 12),
        sex="F",
        expiry_date=date(2012, 4, 15),
        optional_data="",
    )


def test_td1_long_document_number_continues_in_optional_data() -> None:
    mrz = parse_mrz(zone(TD1_LONG_NUMBER), today=TODAY)
    assert mrz.document_number == "D23145890734"
    assert mrz.optional_data == ""
    assert (mrz.surname, mrz.given_names, mrz.sex) == ("STEVENSON", "PETER JOHN", "M")
    assert mrz.birth_date == date(1934, 7, 12)
    assert mrz.expiry_date == date(2095, 7, 12)  # expiry is always read as 20YY


def test_td1_long_document_number_check_digit_is_verified() -> None:
    lines = list(TD1_LONG_NUMBER)
    lines[0] = lines[0].replace("<7349<", "<7348<")
    with pytest.raises(MrzError) as caught:
        parse_mrz(zone(lines), today=TODAY)
    assert caught.value.field == "document_number"


def test_td1_filler_check_digit_without_an_overflow_is_refused() -> None:
    lines = list(TD1_SPECIMEN)
    lines[0] = "I<UTOD23145890<<<<<<<<<<<<<<<<"
    with pytest.raises(MrzError) as caught:
        parse_mrz(zone(lines), today=TODAY)
    assert caught.value.field == "document_number"


@pytest.mark.parametrize(
    ("lines", "line", "position", "field"),
    [
        (TD3_SPECIMEN, 1, 9, "document_number"),
        (TD3_SPECIMEN, 1, 19, "birth_date"),
        (TD3_SPECIMEN, 1, 27, "expiry_date"),
        (TD3_SPECIMEN, 1, 42, "optional_data"),
        (TD3_SPECIMEN, 1, 43, "composite"),
        (TD1_SPECIMEN, 0, 14, "document_number"),
        (TD1_SPECIMEN, 1, 6, "birth_date"),
        (TD1_SPECIMEN, 1, 14, "expiry_date"),
        (TD1_SPECIMEN, 1, 29, "composite"),
        # A changed data character is caught by its own check digit, not only the composite.
        (TD3_SPECIMEN, 1, 13, "birth_date"),
        (TD1_SPECIMEN, 1, 8, "expiry_date"),
    ],
)
def test_each_corrupted_check_names_its_field(
    lines: list[str], line: int, position: int, field: str
) -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(corrupt(lines, line, position), today=TODAY)
    assert caught.value.field == field


def test_errors_never_include_the_document_number() -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(corrupt(TD3_SPECIMEN, 1, 9), today=TODAY)
    assert "L898902C3" not in str(caught.value)


@pytest.mark.parametrize("check", ["<", "0"])
def test_td3_blank_personal_number_may_have_filler_or_zero_check(check: str) -> None:
    line2 = "L898902C36UTO7408122F1204159<<<<<<<<<<<<<<" + check + "8"
    mrz = parse_mrz(zone([TD3_SPECIMEN[0], line2]), today=TODAY)
    assert mrz.optional_data == ""


def test_td3_filler_check_is_refused_when_a_personal_number_is_present() -> None:
    lines = [TD3_SPECIMEN[0], TD3_SPECIMEN[1][:42] + "<" + TD3_SPECIMEN[1][43]]
    with pytest.raises(MrzError) as caught:
        parse_mrz(zone(lines), today=TODAY)
    assert caught.value.field == "optional_data"


def test_accepts_crlf_and_surrounding_whitespace() -> None:
    text = "  \r\n" + "\r\n".join(f"  {line}\t" for line in TD3_SPECIMEN) + "\r\n\n"
    assert parse_mrz(text, today=TODAY).document_number == "L898902C3"


@pytest.mark.parametrize(
    "text",
    [
        "",
        TD3_SPECIMEN[0],
        zone([*TD3_SPECIMEN, TD3_SPECIMEN[1]]),
        zone(TD1_SPECIMEN[:2]),
        zone([TD3_SPECIMEN[0], TD3_SPECIMEN[1][:-1]]),
        zone([TD3_SPECIMEN[0] + "<", TD3_SPECIMEN[1]]),
        zone([TD1_SPECIMEN[0], TD1_SPECIMEN[1] + "<", TD1_SPECIMEN[2]]),
        zone([TD3_SPECIMEN[0], "", TD3_SPECIMEN[1]]),
        " ".join(TD3_SPECIMEN),
        TD3_SPECIMEN[0] + "\r" + TD3_SPECIMEN[1],
        zone([line.lower() for line in TD3_SPECIMEN]),
        zone([TD3_SPECIMEN[0].replace("<<ANNA", "< ANNA"), TD3_SPECIMEN[1]]),
        zone(["V" + TD3_SPECIMEN[0][1:], TD3_SPECIMEN[1]]),  # a visa is not a passport
        zone(["P" + TD1_SPECIMEN[0][1:], *TD1_SPECIMEN[1:]]),
    ],
)
def test_malformed_zones_are_format_errors(text: str) -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(text, today=TODAY)
    assert caught.value.field == "format"


def test_filler_sex_means_unspecified() -> None:
    assert parse_mrz(td3(sex="<"), today=TODAY).sex == "X"


def test_unknown_sex_character_is_refused() -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(td3(sex="Q"), today=TODAY)
    assert caught.value.field == "mrz"


def test_german_issuing_state_is_canonicalised() -> None:
    mrz = parse_mrz(td3(state="D", nationality="D<<"), today=TODAY)
    assert (mrz.issuing_state, mrz.nationality) == ("DEU", "DEU")


@pytest.mark.parametrize(("state", "nationality"), [("U<O", "UTO"), ("UTO", "<<<"), ("UT1", "UTO")])
def test_state_codes_must_be_three_letters(state: str, nationality: str) -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(td3(state=state, nationality=nationality), today=TODAY)
    assert caught.value.field == "mrz"


def test_missing_surname_is_refused() -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(td3(name="<<ANNA"), today=TODAY)
    assert caught.value.field == "mrz"


def test_blank_document_number_is_refused() -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(td3(number=""), today=TODAY)
    assert caught.value.field == "document_number"


def test_name_fillers_become_spaces() -> None:
    mrz = parse_mrz(td3(name="VAN<DER<BERG<<JAN<PIETER"), today=TODAY)
    assert (mrz.surname, mrz.given_names) == ("VAN DER BERG", "JAN PIETER")


def test_single_name_has_no_given_names() -> None:
    assert parse_mrz(td3(name="SUKARNO"), today=TODAY).given_names == ""


@pytest.mark.parametrize(
    ("birth", "today", "born"),
    [
        ("150101", date(2026, 1, 1), date(2015, 1, 1)),
        ("260101", date(2026, 1, 1), date(2026, 1, 1)),
        ("260102", date(2026, 1, 1), date(1926, 1, 2)),
        ("991231", date(2026, 1, 1), date(1999, 12, 31)),
        ("000229", date(2026, 1, 1), date(2000, 2, 29)),
        ("150101", date(2014, 6, 1), date(1915, 1, 1)),
    ],
)
def test_birth_century_is_the_latest_not_in_the_future(birth: str, today: date, born: date) -> None:
    assert parse_mrz(td3(birth=birth), today=today).birth_date == born


@pytest.mark.parametrize(
    ("birth", "expiry", "field"),
    [
        ("741312", "120415", "birth_date"),
        ("740832", "120415", "birth_date"),
        ("74<<<<", "120415", "birth_date"),
        ("740812", "120431", "expiry_date"),
        ("740812", "230229", "expiry_date"),
        ("740812", "12<415", "expiry_date"),
    ],
)
def test_impossible_dates_are_refused(birth: str, expiry: str, field: str) -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(td3(birth=birth, expiry=expiry), today=TODAY)
    assert caught.value.field == field


def test_repr_leaves_out_the_document_number() -> None:
    mrz = parse_mrz(zone(TD3_SPECIMEN), today=TODAY)
    assert "L898902C3" not in repr(mrz)
    assert "ZE184226B" not in repr(mrz)


def disagreements(
    *,
    lines: list[str] = TD3_SPECIMEN,
    given_names: str = "Anna Maria",
    surname: str = "Eriksson",
    document_type: str = "P",
    document_number: str = "L898902C3",
    issuing_state: str = "UTO",
    nationality: str = "UTO",
    date_of_birth: date = date(1974, 8, 12),
    sex: str = "F",
    expiry_date: date = date(2012, 4, 15),
) -> list[tuple[str, str]]:
    """The disagreements between a specimen (TD3 unless told) and registered fields, by
    default its own."""
    return mrz_disagreements(
        parse_mrz(zone(lines), today=TODAY),
        given_names=given_names,
        surname=surname,
        document_type=document_type,
        document_number=document_number,
        issuing_state=issuing_state,
        nationality=nationality,
        date_of_birth=date_of_birth,
        sex=sex,
        expiry_date=expiry_date,
    )


def test_matching_fields_have_no_disagreements() -> None:
    assert disagreements() == []


def test_document_numbers_are_compared_in_canonical_form() -> None:
    assert disagreements(document_number="l898-902 c3") == []


def test_birth_date_is_compared_as_the_zone_prints_it() -> None:
    # The zone says only 740812: a traveller born in 1874 would be read as 1974.
    assert disagreements(date_of_birth=date(1874, 8, 12)) == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"document_number": "L898902C4"}, "document.number"),
        ({"document_number": "not a number!"}, "document.number"),
        ({"issuing_state": "THA"}, "document.issuing_state"),
        ({"nationality": "VNM"}, "nationality"),
        ({"date_of_birth": date(1974, 8, 13)}, "date_of_birth"),
        ({"sex": "M"}, "sex"),
        ({"sex": "X"}, "sex"),
        ({"expiry_date": date(2012, 4, 16)}, "document.expiry_date"),
        ({"document_type": "ID"}, "document.type"),
        ({"surname": "Eriksen"}, "surname"),
        ({"given_names": "Anna"}, "given_names"),
        ({"given_names": "Anna Marie"}, "given_names"),
    ],
)
def test_each_disagreement_names_its_field(change: dict[str, Any], path: str) -> None:
    found = disagreements(**change)
    assert [field for field, _ in found] == [path]
    assert "L898902C" not in found[0][1]


def test_all_disagreements_are_listed() -> None:
    found = disagreements(
        given_names="Peter",
        surname="Stevenson",
        document_type="ID",
        document_number="X1",
        issuing_state="CHN",
        nationality="CHN",
        date_of_birth=date(1980, 1, 1),
        sex="M",
        expiry_date=date(2030, 1, 1),
    )
    assert [field for field, _ in found] == [
        "given_names",
        "surname",
        "document.type",
        "document.number",
        "document.issuing_state",
        "nationality",
        "date_of_birth",
        "sex",
        "document.expiry_date",
    ]


def test_german_alias_agrees_with_canonical_code() -> None:
    mrz = parse_mrz(td3(state="D", nationality="D"), today=TODAY)
    found = mrz_disagreements(
        mrz,
        given_names="Anna Maria",
        surname="Eriksson",
        document_type="P",
        document_number="L898902C3",
        issuing_state="DEU",
        nationality="D",
        date_of_birth=date(1974, 8, 12),
        sex="F",
        expiry_date=date(2012, 4, 15),
    )
    assert found == []


def test_an_identity_card_is_the_three_line_zone() -> None:
    assert disagreements(lines=TD1_SPECIMEN, document_type="ID", document_number="D23145890") == []


def disagreements_of(mrz: Mrz, *, given_names: str, surname: str) -> list[tuple[str, str]]:
    """The disagreements of ``mrz`` with these names and the specimen's other fields."""
    return mrz_disagreements(
        mrz,
        given_names=given_names,
        surname=surname,
        document_type="P",
        document_number="L898902C3",
        issuing_state="UTO",
        nationality="UTO",
        date_of_birth=date(1974, 8, 12),
        sex="F",
        expiry_date=date(2012, 4, 15),
    )


def test_names_agree_through_icao_transliteration() -> None:
    mrz = parse_mrz(td3(name="OESTERGAARD<<SOEREN<ANNE"), today=TODAY)
    found = disagreements_of(mrz, given_names="S\u00f8ren-Anne", surname="\u00d8sterg\u00e5rd")
    assert found == []


def test_a_name_filling_its_field_was_cut() -> None:
    assert not parse_mrz(zone(TD3_SPECIMEN), today=TODAY).name_cut
    assert parse_mrz(td3(name="A" * 20 + "<<" + "B" * 17), today=TODAY).name_cut


@pytest.mark.parametrize(
    ("surname", "given_names", "fields"),
    [
        ("A" * 20, "B" * 17 + "C", []),  # the given names were cut
        ("A" * 20, "B" * 16, ["given_names"]),
        ("A" * 21, "B" * 17, ["surname"]),
        ("A" * 19, "B" * 18, ["surname"]),
    ],
)
def test_a_cut_name_must_begin_the_registered_one(
    surname: str, given_names: str, fields: list[str]
) -> None:
    mrz = parse_mrz(td3(name="A" * 20 + "<<" + "B" * 17), today=TODAY)
    found = disagreements_of(mrz, given_names=given_names, surname=surname)
    assert [field for field, _ in found] == fields


def test_a_surname_cut_short_leaves_no_given_names_to_compare() -> None:
    mrz = parse_mrz(td3(name="A" * 39), today=TODAY)
    assert disagreements_of(mrz, surname="A" * 45, given_names="Zed") == []
    assert [f for f, _ in disagreements_of(mrz, surname="B" * 45, given_names="")] == ["surname"]


def test_a_name_in_another_script_cannot_be_compared() -> None:
    mrz = parse_mrz(zone(TD3_SPECIMEN), today=TODAY)
    [(field, message)] = disagreements_of(mrz, surname="\u0e2a\u0e21", given_names="Anna Maria")
    assert field == "surname"
    assert "Latin letters" in message
