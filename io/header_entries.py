"""FITS header cards -> ``HeaderEntry`` messages, with the reference's parsing rules.

Three flavours, one per reference code path (BEHAVIOUR.md §6.3):

* :func:`entries_from_cards` -- ordinary FITS and HDF5 (``AddEntriesFromHeaderStrings``):
  card text split at ``=`` and ``/`` with the reference's quirks (the value of an
  unquoted card ends *two* characters before the slash), units normalised, reals
  re-formatted ``{:.12E}`` (shortest form for names containing ``PIX`` and for
  ``EQUINOX``/``EPOCH``), integers kept as written, everything else a string;
* :func:`entries_from_converted_header` -- CASA/MIRIAD images, whose header is
  casacore's image-to-FITS conversion (``FitsHeaderInfoToHeaderEntries``): logicals
  become INT ``T``/``F``, HISTORY/COMMENT keep their text in ``comment``;
* :func:`entries_from_raw_cards` -- the header-only path for ``.fits.gz`` with an
  empty ``hdu`` (``CompressedFits::AddHeaderEntry``): values keep their raw text.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Iterable

from carta_trio.io.angle_format import fmt_shortest
from carta_trio.messages import schema as pb

__all__ = [
    "ParsedHeader",
    "entries_from_cards",
    "entries_from_converted_header",
    "entries_from_raw_cards",
    "normalize_unit",
    "parse_c_double",
    "parse_c_int",
]

STRING, FLOAT, INT = pb.EntryType.STRING, pb.EntryType.FLOAT, pb.EntryType.INT

#: CartaHdf5Image shortens the long IDIA keywords to 8 characters; the reference
#: renames them back.
HDF5_KEYS = {
    "H5SCHEMA": "SCHEMA_VERSION",
    "H5CNVRTR": "HDF5_CONVERTER",
    "H5CONVSN": "HDF5_CONVERTER_VERSION",
    "H5DATE": "HDF5_DATE",
}

#: casacore's ``UnitMap`` FITS names (``UnitMap::getNameFITS``).
FITS_UNITS = {
    "BEAM": "beam", "DAYS": "d", "DEGREES": "deg", "DEG": "deg", "HZ": "Hz", "JY": "Jy",
    "KELVINS": "K", "KELVIN": "K", "KM": "km", "METERS": "m", "M": "m", "PASCAL": "Pa",
    "PIXEL": "pixel", "SECONDS": "s", "SEC": "s", "S": "s", "VOLTS": "V", "YEARS": "a",
    "YEAR": "a",
}  # fmt: skip

#: casacore unit prefixes (``UnitMap::getPref``).
UNIT_PREFIXES = set("YZEPTGMkhdcmunpfazy") | {"u"}

_UNIT_FIXES = [
    ("JY", "Jy"), ("jy", "Jy"), ("Beam", "beam"), ("BEAM", "beam"), ("Jypb", "Jy/beam"),
    ("JyPB", "Jy/beam"), ("Jy beam-1", "Jy/beam"), ("Jy beam^-1", "Jy/beam"),
    ("beam-1 Jy", "Jy/beam"), ("beam^-1 Jy", "Jy/beam"), ("Pixel", "pixel"),
    ("DEGREE", "deg"), ('"', ""),
]  # fmt: skip

_FLOAT_PREFIX = re.compile(
    r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.IGNORECASE
)
_INT_PREFIX = re.compile(r"\s*[+-]?\d+")
_UNIT_WORD = re.compile(r"[A-Za-z]+")


def parse_c_double(text: str) -> float | None:
    """``std::stod``: parse the longest leading float; None if nothing parses."""
    match = _FLOAT_PREFIX.match(text)
    if not match:
        return None
    return float(match.group(0))


def parse_c_int(text: str) -> int | None:
    """``std::stoi``/``stol``: parse the leading integer; None if nothing parses."""
    match = _INT_PREFIX.match(text)
    if not match:
        return None
    return int(match.group(0))


#: FITS names that are also casacore units in their own right (siemens).
_FITS_NAMES_VALID = {"S"}
_PREFIXES_2 = ("da",)


def _uses_fits_name(unit: str) -> bool:
    """True if a word of ``unit`` is (a prefix plus) a FITS-only unit name.

    casacore accepts such words only after its FITS unit names were registered, which
    happens as a side effect of reading FITS files through casacore; checking them
    here keeps the result independent of that global state.
    """
    for word in _UNIT_WORD.findall(unit):
        for stem in (word, word[1:] if word[:1] in UNIT_PREFIXES else "", word[2:] if word.startswith(_PREFIXES_2) else ""):
            if stem and stem in FITS_UNITS and stem not in _FITS_NAMES_VALID:
                return True
    return False


@functools.lru_cache(maxsize=512)
def _valid_unit(unit: str) -> bool:
    if _uses_fits_name(unit):
        return False
    try:
        from casacore import quanta
    except ImportError:  # pragma: no cover - casacore is a hard dependency
        return True
    try:
        quanta.quantity(1.0, unit)
    except Exception:  # noqa: BLE001 - casacore raises RuntimeError for bad units
        return False
    return True


def _from_fits(unit: str) -> str:
    return _UNIT_WORD.sub(lambda m: FITS_UNITS.get(m.group(0), m.group(0)), unit)


def normalize_unit(unit: str) -> str:
    """The reference's ``NormalizeUnit``: fix common spellings, then casacore's FITS names."""
    for old, new in _UNIT_FIXES:
        unit = unit.replace(old, new)
    candidate = _from_fits(unit)
    if _valid_unit(candidate):
        return candidate
    if unit and unit[0] in UNIT_PREFIXES:
        candidate = unit[0] + _from_fits(unit[1:].upper())
        if _valid_unit(candidate):
            return candidate
    candidate = _from_fits(unit.upper())
    if _valid_unit(candidate):
        return candidate
    return unit


def _set_numeric(entry: pb.HeaderEntry, name: str, value: str) -> None:
    """``ConvertHeaderValueToNumeric``: FLOAT if the text has a '.', else INT, else STRING."""
    if "." in value:
        number = parse_c_double(value)
        if number is None:
            entry.value, entry.entry_type = value, STRING
            return
        if "PIX" in name or name in ("EQUINOX", "EPOCH"):
            entry.value = fmt_shortest(number)
        else:
            entry.value = f"{number:.12E}"
        entry.numeric_value = number
        entry.entry_type = FLOAT
        return
    integer = parse_c_int(value)
    if integer is None:
        entry.value, entry.entry_type = value, STRING
    elif -(2**31) <= integer < 2**31:
        entry.value, entry.numeric_value, entry.entry_type = value, integer, INT
    elif -(2**63) <= integer < 2**63:
        entry.value, entry.numeric_value, entry.entry_type = str(integer), integer, INT
    else:
        entry.entry_type = STRING  # quirk: the reference drops the value here


def split_card(card: str) -> tuple[str, str, str, bool]:
    """(name, value, comment, quoted) of a card, with the reference's quirks."""
    eq = card.find("=")
    name = (card if eq < 0 else card[:eq]).strip()
    value = comment = ""
    quoted = False
    if eq >= 0:
        rest = card[eq + 1 :].strip()
        if rest[:1] in ("'", '"'):
            end = rest.find(rest[0], 1)
            value = (rest[1:end] if end >= 0 else rest[1:]).strip()
            quoted = True
            slash = rest.find("/", end + 1)
        else:
            slash = rest.find("/")
            # quirk: the value is taken up to two characters before the slash
            value = (rest[: slash - 1] if slash > 0 else rest).strip()
        if slash >= 0:
            comment = rest[slash + 1 :].strip()
    return name, value, comment, quoted


@dataclass
class ParsedHeader:
    """Header entries plus what the computed entries need from the parse."""

    entries: list[pb.HeaderEntry] = field(default_factory=list)
    extname: str = ""


def entries_from_cards(cards: Iterable[str]) -> ParsedHeader:
    """Header entries of FITS/HDF5 card strings (``AddEntriesFromHeaderStrings``)."""
    parsed = ParsedHeader()
    specsys = ""
    has_specsys = False
    for card in cards:
        stripped = card.strip()
        if not stripped:
            continue
        if stripped == "END":
            break
        if stripped.startswith(("HISTORY", "COMMENT", "HIERARCH")):
            parsed.entries.append(pb.HeaderEntry(name=stripped))
            continue
        name, value, comment, quoted = split_card(card)
        name = HDF5_KEYS.get(name, name)
        is_string = quoted
        if name == "SPECSYS":
            has_specsys, specsys = True, value
        if name.startswith("CTYPE"):
            if value.startswith("VELO-"):
                if not specsys:
                    specsys = value.split("-", 1)[1]
                value = "VELO"
            is_string = True
        elif "UNIT" in name:
            value = normalize_unit(value)
            is_string = True
        elif name == "EXTNAME":
            parsed.extname = value
            is_string = True
        elif name == "SIMPLE":
            number = parse_c_int(value)
            if number is not None:
                value = "T" if number else "F"
            is_string = True
        entry = pb.HeaderEntry(name=name)
        if value:
            if is_string:
                entry.value = value
            else:
                _set_numeric(entry, name, value)
        if comment:
            entry.comment = comment
        parsed.entries.append(entry)
    if not has_specsys and specsys:
        parsed.entries.append(pb.HeaderEntry(name="SPECSYS", value=specsys, comment="separated from VELO CTYPE"))
    return parsed


def entries_from_raw_cards(cards: Iterable[str]) -> ParsedHeader:
    """Header entries as the gzip header-only path builds them (raw value text)."""
    parsed = ParsedHeader()
    for card in cards:
        stripped = card.strip()
        if not stripped:
            continue
        if stripped.startswith("HISTORY"):
            parsed.entries.append(pb.HeaderEntry(name=stripped))
            continue
        parts = [p for p in stripped.split("=") if p]
        name = parts[0].strip() if parts else ""
        value = comment = ""
        if name.startswith("#"):
            parsed.entries.append(pb.HeaderEntry(comment=name))
            continue
        if len(parts) > 1:
            rest = parts[1].strip()
            if rest.startswith("'"):
                end = rest.find("'", 1)
                value = rest[1:end].strip() if end > 0 else rest[1:].strip()
                pieces = [p for p in rest[end + 1 :].split("/") if p] if end > 0 else []
                comment = pieces[1].strip() if len(pieces) > 1 else ""
            else:
                pieces = [p for p in rest.split("/") if p]
                value = pieces[0].strip() if pieces else ""
                comment = pieces[1].strip() if len(pieces) > 1 else ""
        if name == "EXTNAME":
            parsed.extname = value
        entry = pb.HeaderEntry(name=name, value=value)
        if value:
            if "." in value:
                number = parse_c_double(value)
                if number is not None:
                    entry.numeric_value, entry.entry_type = number, FLOAT
            else:
                integer = parse_c_int(value)
                if integer is not None and -(2**31) <= integer < 2**31:
                    entry.numeric_value, entry.entry_type = integer, INT
        if comment:
            entry.comment = comment
        parsed.entries.append(entry)
    return parsed


def entries_from_converted_header(cards: Iterable[tuple[str, object, str]]) -> ParsedHeader:
    """Header entries of a casacore image-to-FITS header given as (key, value, comment).

    ``value`` is a Python bool/int/float/complex/str, or None for commentary cards.
    """
    parsed = ParsedHeader()
    for name, value, comment in cards:
        if name in ("DATE", "ORIGIN", "END"):
            continue
        entry = pb.HeaderEntry(name=name, comment=comment or "")
        if value is None:
            pass
        elif isinstance(value, bool):
            entry.value, entry.entry_type, entry.numeric_value = ("T" if value else "F"), INT, float(value)
        elif isinstance(value, int):
            entry.value, entry.entry_type, entry.numeric_value = f"{value:d}", INT, value
        elif isinstance(value, float):
            if "PIX" in name or "EQUINOX" in name or "EPOCH" in name:
                entry.value = fmt_shortest(value)
            else:
                entry.value = f"{value:.12E}" if math.isfinite(value) else fmt_shortest(value)
            entry.entry_type, entry.numeric_value = FLOAT, value
        elif isinstance(value, complex):
            entry.value = f"{fmt_shortest(value.real)} + {fmt_shortest(value.imag)}i"
        else:
            text = str(value).strip()
            if "CTYPE" in name and text.startswith("FREQ"):
                text = "FREQ"
            entry.value = text
        if name == "EXTNAME":
            parsed.extname = entry.value
        parsed.entries.append(entry)
    return parsed
