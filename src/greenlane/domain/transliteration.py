"""Names as a machine-readable zone prints them: ICAO Doc 9303 Part 3, section 6.

A zone holds only ``A-Z`` and the filler ``<``. Issuers write a name in it upper-case, with the
letters of Latin alphabets transliterated by the table of section 6 (some have two accepted
spellings: ``Ä`` is ``AE`` or ``A``), a filler for each space or hyphen and nothing for an
apostrophe. The name field is 39 characters in a passport and 30 in an identity card; a longer
name is cut, and then the zone holds only its beginning.

So a registered name agrees with a zone when some spelling the table allows is what the zone
prints, or begins with it when the zone was cut. No library was taken for this: the one that
implements the table (``mrz``) has not been released since 2020, and general transliterators
(``unidecode``) spell ``Ø`` as ``O`` where ICAO writes ``OE``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

FILLER = "<"
_AZ = re.compile(r"[A-Z]")
_SEPARATORS = re.compile(r"[ \-]+")
_APOSTROPHES = frozenset("'\u2019")

# ICAO 9303 Part 3, section 6, the letters whose spelling is not simply the letter without its
# diacritics (upper case: names are upper-cased first, which also turns ß into SS). Every other
# Latin letter is written as its base letter, as the table does for À, Ć, Ď, Ę, Ğ, Ő, Ř, Ş, Ž, ...
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "\u00c4": ("AE", "A"),  # Ä
    "\u00c5": ("AA", "A"),  # Å
    "\u00c6": ("AE",),  # Æ
    "\u00d0": ("D",),  # Ð
    "\u00d1": ("N", "NXX"),  # Ñ
    "\u00d6": ("OE", "O"),  # Ö
    "\u00d8": ("OE",),  # Ø
    "\u00dc": ("UE", "UXX", "U"),  # Ü
    "\u00de": ("TH",),  # Þ
    "\u0110": ("D",),  # Đ
    "\u0126": ("H",),  # Ħ
    "\u0132": ("IJ",),  # Ĳ
    "\u013f": ("L",),  # Ŀ
    "\u0141": ("L",),  # Ł
    "\u014a": ("N",),  # Ŋ
    "\u0152": ("OE",),  # Œ
    "\u0166": ("T",),  # Ŧ
    "\u1e9e": ("SS",),  # ẞ
}


def _spellings(char: str) -> tuple[str, ...]:
    """How the zone may print one upper-case character; () when it cannot."""
    if char in _SPELLINGS:
        return _SPELLINGS[char]
    if char in _APOSTROPHES:
        return ("",)
    if char == " ":
        return (FILLER,)
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    if _AZ.fullmatch(base) and unicodedata.name(char, "").startswith("LATIN"):
        return (base,)
    return ()


def _characters(name: str) -> list[tuple[str, ...]]:
    """The spellings of each character of ``name``, spaces and hyphens as one filler, and
    the combining marks NFC leaves (no letter holds them precomposed) dropped like any other
    diacritic."""
    words = _SEPARATORS.split(unicodedata.normalize("NFC", name).strip().upper())
    text = " ".join(word for word in words if word)
    return [_spellings(char) for char in text if not unicodedata.category(char).startswith("M")]


def has_zone_spelling(name: str) -> bool:
    """Whether every character of ``name`` can be written in a zone (Latin letters only)."""
    return all(_characters(name))


def agrees_with_zone(name: str, printed: str, *, cut: bool) -> bool:
    """Whether ``printed`` (``A-Z`` and ``<``, one filler between words) spells ``name`` as
    ICAO 9303 allows, or, when the zone was ``cut``, begins such a spelling."""
    return _matches(_characters(name), printed, cut=cut)


def _matches(characters: Sequence[tuple[str, ...]], printed: str, *, cut: bool) -> bool:
    # Every position in ``printed`` that some spelling of the characters so far can reach: a
    # character with two spellings (AE or A) forks, and the sets stay as small as the name.
    reached = {0}
    end = len(printed)
    for spellings in characters:
        following: set[int] = set()
        for at in reached:
            if cut and at == end:
                following.add(end)  # the zone stops here; the rest of the name was cut off
                continue
            rest = printed[at:]
            for spelling in spellings:
                if rest.startswith(spelling):
                    following.add(at + len(spelling))
                elif cut and spelling.startswith(rest):
                    following.add(end)  # cut inside a two-letter spelling (AE cut to A)
        reached = following
    return end in reached
