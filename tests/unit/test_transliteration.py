"""Registered names against the names a machine-readable zone prints (ICAO 9303 Part 3).

The examples are the specimen's and those of Part 3: section 4.6 for spaces, hyphens and
apostrophes, and the table of section 6 for the letters of Latin alphabets.
"""

import pytest

from greenlane.domain.transliteration import agrees_with_zone, has_zone_spelling

AGREE = [
    ("Eriksson", "ERIKSSON"),
    ("Anna Maria", "ANNA<MARIA"),
    ("van der Berg", "VAN<DER<BERG"),
    ("Marie-\u00c9lise", "MARIE<ELISE"),
    ("Jean - Paul", "JEAN<PAUL"),
    ("D'Artagnan", "DARTAGNAN"),
    ("O\u2019Brien", "OBRIEN"),
    ("G\u00e4rtner", "GAERTNER"),
    ("G\u00e4rtner", "GARTNER"),
    ("\u00c5str\u00f6m", "AASTROEM"),
    ("\u00c5str\u00f6m", "ASTROM"),
    ("\u00c5str\u00f6m", "AASTROM"),
    ("M\u00fcller", "MUELLER"),
    ("M\u00fcller", "MUXXLLER"),
    ("M\u00fcller", "MULLER"),
    ("Mu\u00f1oz", "MUNOZ"),
    ("Mu\u00f1oz", "MUNXXOZ"),
    ("\u00d8re", "OERE"),
    ("\u00de\u00f3runn", "THORUNN"),
    ("Strau\u00df", "STRAUSS"),
    ("\u00c6sa", "AESA"),
    ("\u0152uvre", "OEUVRE"),
    ("\u0141\u00f3d\u017a", "LODZ"),
    ("\u0110\u1eb7ng", "DANG"),
    ("Nguy\u1ec5n", "NGUYEN"),
    ("\u0132sselmeer", "IJSSELMEER"),
    ("\u00c7elik", "CELIK"),
    ("\u015eahin", "SAHIN"),
    ("\u0130lker", "ILKER"),
    ("Y\u0131ld\u0131z", "YILDIZ"),
    ("Adeb\u00e1y\u1ecd\u0300", "ADEBAYO"),
    ("", ""),
]


@pytest.mark.parametrize(("name", "printed"), AGREE)
def test_icao_spellings_agree(name: str, printed: str) -> None:
    assert agrees_with_zone(name, printed, cut=False)


DISAGREE = [
    ("\u00d8re", "ORE"),  # Ø is OE, and only OE
    ("G\u00e4rtner", "GAARTNER"),
    ("Jaidee", "JAIDE"),
    ("Jaidee", "JAIDEEE"),
    ("Smith", "JAIDEE"),
    ("Anna Maria", "ANNAMARIA"),
    ("Anna Maria", "ANNA<<MARIA"),
    ("D'Artagnan", "D<ARTAGNAN"),
    ("", "ANNA"),
]


@pytest.mark.parametrize(("name", "printed"), DISAGREE)
def test_other_spellings_disagree(name: str, printed: str) -> None:
    assert not agrees_with_zone(name, printed, cut=False)


CUT = [
    ("Phanomwanchaisiriwong", "PHANOMWANCHAI", True),
    ("Anna Maria", "ANNA<M", True),
    ("G\u00e4rtner", "GA", True),  # AE or A, cut after its first letter
    ("G\u00e4rtner", "GAE", True),
    ("Anna Maria", "ANNA<MARIA", True),
    ("Anna Maria", "ANNA<X", False),
    ("Anna", "ANNAB", False),
    ("Anna Maria", "MARIA", False),
]


@pytest.mark.parametrize(("name", "printed", "agrees"), CUT)
def test_a_cut_zone_must_begin_the_name(name: str, printed: str, agrees: bool) -> None:
    assert agrees_with_zone(name, printed, cut=True) is agrees


@pytest.mark.parametrize(
    "name",
    [
        "\u0e2a\u0e21\u0e0a\u0e32\u0e22",  # Thai
        "\u0418\u0432\u0430\u043d",  # Cyrillic
        "J\u0430idee",  # a Cyrillic a among Latin letters
        "\u738b",  # Han
        "\uff33\uff4f\uff4d",  # full-width Latin
    ],
)
def test_only_latin_letters_have_a_zone_spelling(name: str) -> None:
    assert not has_zone_spelling(name)
    assert not agrees_with_zone(name, "SOM", cut=True)


def test_latin_names_have_a_zone_spelling() -> None:
    assert all(has_zone_spelling(name) for name, _ in AGREE)
