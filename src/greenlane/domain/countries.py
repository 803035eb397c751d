"""Country and travel-document state codes.

Two different questions are asked of a three-letter code, and they have different answers:

* ``is_country``: is it a country in ISO 3166-1 alpha-3? Ports and employers are located in
  real countries, so only ISO codes qualify there.
* ``is_document_state``: may it be printed as the issuing state or the nationality of a travel
  document? ICAO 9303 Part 3 adds codes that real passports carry but that ISO does not list:
  the British nationality classes (GBD, GBN, GBO, GBP, GBS), the United Nations (UNO, UNA, UNK),
  stateless persons, refugees and unspecified nationality (XXA, XXB, XXC, XXX), the EU
  laissez-passer (EUE), the Sovereign Order of Malta (XOM), Interpol (XPO) and Kosovo (RKS).

Germany is the one state whose ICAO code is not its ISO code: its documents print ``D``
(``D<<`` in the machine-readable zone). The system keeps one spelling per state so that
comparisons, watchlist matches and CEL rules never have to know about the alias; ``D`` is
therefore not accepted as written, and ``canonical_state`` turns it into ``DEU``.

Both predicates match exactly (upper case, no padding); normalising input is the job of
``canonical_state``.
"""

import pycountry

RCEP_MEMBERS: frozenset[str] = frozenset(
    {
        "AUS", "BRN", "KHM", "CHN", "IDN", "JPN", "KOR", "LAO",
        "MYS", "MMR", "NZL", "PHL", "SGP", "THA", "VNM",
    }
)  # fmt: skip
# JSON and CEL want a list, and a stable order keeps rule evaluations and responses reproducible.
RCEP_MEMBERS_SORTED: tuple[str, ...] = tuple(sorted(RCEP_MEMBERS))

_ISO_ALPHA2_BY_ALPHA3: dict[str, str] = {c.alpha_3: c.alpha_2 for c in pycountry.countries}
_ISO_ALPHA3: frozenset[str] = frozenset(_ISO_ALPHA2_BY_ALPHA3)

_ICAO_ONLY_STATES: frozenset[str] = frozenset(
    {
        "GBD", "GBN", "GBO", "GBP", "GBS",
        "UNO", "UNA", "UNK",
        "XXA", "XXB", "XXC", "XXX",
        "EUE", "XOM", "XPO", "RKS",
    }
)  # fmt: skip

_DOCUMENT_STATES: frozenset[str] = _ISO_ALPHA3 | _ICAO_ONLY_STATES

# ICAO codes that are spelled differently from the ISO code of the same state.
_ICAO_ALIASES: dict[str, str] = {"D": "DEU"}

_FILLER = "<"


class CountryError(ValueError):
    """A code that names no state a travel document can carry."""

    code = "unknown_country"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def alpha2(alpha3: str) -> str | None:
    """The ISO 3166-1 alpha-2 code (the first two letters of a UN/LOCODE), if ``alpha3`` is ISO."""
    return _ISO_ALPHA2_BY_ALPHA3.get(alpha3)


def is_country(code: str) -> bool:
    """True for an ISO 3166-1 alpha-3 country code, written exactly (``CHN``)."""
    return code in _ISO_ALPHA3


def is_document_state(code: str) -> bool:
    """True for a code a travel document may carry as issuing state or nationality."""
    return code in _DOCUMENT_STATES


def normalise_state_code(code: str) -> str:
    """Spell a state code the way the system stores it, without judging whether it exists.

    The MRZ parser needs this on its own: it must read zones from states it does not know
    (ICAO's specimens are issued by the fictional ``UTO``) and leave the verdict to the caller.
    """
    letters = code.strip().upper().rstrip(_FILLER)
    return _ICAO_ALIASES.get(letters, letters)


def canonical_state(code: str) -> str:
    """The stored spelling of a document state (``D<<`` -> ``DEU``); unknown codes raise."""
    canonical = normalise_state_code(code)
    if not is_document_state(canonical):
        raise CountryError("is not an ISO 3166-1 alpha-3 or ICAO 9303 state code")
    return canonical
