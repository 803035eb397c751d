import pytest

from greenlane.domain.countries import (
    RCEP_MEMBERS,
    RCEP_MEMBERS_SORTED,
    CountryError,
    canonical_state,
    is_country,
    is_document_state,
    normalise_state_code,
)

ICAO_ONLY_STATES = [
    "GBD", "GBN", "GBO", "GBP", "GBS", "UNO", "UNA", "UNK",
    "XXA", "XXB", "XXC", "XXX", "EUE", "XOM", "XPO", "RKS",
]  # fmt: skip


def test_rcep_has_the_fifteen_parties() -> None:
    parties = {
        "AUS", "BRN", "KHM", "CHN", "IDN", "JPN", "KOR", "LAO",
        "MYS", "MMR", "NZL", "PHL", "SGP", "THA", "VNM",
    }  # fmt: skip
    assert parties == RCEP_MEMBERS


def test_rcep_sorted_is_the_same_set_in_order() -> None:
    assert list(RCEP_MEMBERS_SORTED) == sorted(RCEP_MEMBERS)
    assert RCEP_MEMBERS_SORTED[0] == "AUS"


def test_every_rcep_member_is_an_iso_country() -> None:
    assert all(is_country(code) for code in RCEP_MEMBERS)


@pytest.mark.parametrize("code", ["CHN", "THA", "VNM", "DEU", "USA", "TWN"])
def test_is_country_accepts_iso_alpha3(code: str) -> None:
    assert is_country(code)


@pytest.mark.parametrize(
    "code", ["chn", "CN", "D", "DEU ", "GBD", "UTO", "XXA", "RKS", "", "\uff23\uff28\uff2e"]
)
def test_is_country_refuses_everything_else(code: str) -> None:
    assert not is_country(code)


@pytest.mark.parametrize("code", [*ICAO_ONLY_STATES, "CHN", "DEU"])
def test_is_document_state_accepts_iso_and_icao_codes(code: str) -> None:
    assert is_document_state(code)


@pytest.mark.parametrize("code", ["D", "D<<", "deu", "UTO", "XKX", "ZZZ", ""])
def test_is_document_state_refuses_aliases_and_unknown_codes(code: str) -> None:
    assert not is_document_state(code)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("D<<", "DEU"),
        ("D", "DEU"),
        ("d<<", "DEU"),
        ("DEU", "DEU"),
        ("chn", "CHN"),
        (" THA ", "THA"),
        ("GBO", "GBO"),
        ("XXA", "XXA"),
    ],
)
def test_canonical_state(raw: str, canonical: str) -> None:
    assert canonical_state(raw) == canonical


@pytest.mark.parametrize("raw", ["UTO", "", "<<<", "DE", "ZZZ", "C<HN", "CHNA"])
def test_canonical_state_refuses_unknown_codes(raw: str) -> None:
    with pytest.raises(CountryError) as caught:
        canonical_state(raw)
    assert caught.value.code == "unknown_country"
    assert "ISO 3166-1" in caught.value.message


def test_normalise_state_code_keeps_unknown_codes() -> None:
    assert normalise_state_code("UTO") == "UTO"
    assert normalise_state_code("D<<") == "DEU"
