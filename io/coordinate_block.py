"""The header-derived coordinate block of FILE_INFO (``AddComputedEntriesFromHeaders``).

For the two render axes: ``Coordinate type``, ``Projection``, ``Image reference pixels``,
``Image reference coords`` (sexagesimal for RA/Dec/Longitude/Latitude), ``Image ref
coords (deg)``, ``Pixel increment``, ``Pixel unit``, ``Celestial frame``, ``Spectral
frame`` and ``Velocity definition`` (BEHAVIOUR.md §6.4 item 8), plus the angle and unit
texts they are made of (also used by the CASA/MIRIAD block in ``casa_info``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from carta_trio.io.angle_format import fmt_g, fmt_shortest, mvangle_angle, mvangle_time
from carta_trio.io.computed_entries import string_entry
from carta_trio.io.header_entries import normalize_unit
from carta_trio.messages import schema as pb

__all__ = [
    "HeaderBlock",
    "coords_to_deg",
    "header_block_entries",
    "increment_text",
    "make_angle_string",
    "to_unit",
    "unit_conforms",
]

_COORD_NAMES = {"RA": "Right Ascension", "DEC": "Declination", "GLON": "Longitude", "GLAT": "Latitude"}


def _split_ctype(ctype: str) -> tuple[str, str]:
    """``SplitCtypeDescriptor``: ("RA", "SIN") for "RA---SIN"; descriptor "" if no dash."""
    pos = ctype.find("-")
    if pos < 0:
        return ctype, ""
    return ctype[:pos], ctype[pos:].lstrip("-")


#: Angle units in degrees: the common cases, converted without a casacore call.
_ANGLE_DEGREES = {"deg": 1.0, "rad": 180.0 / math.pi, "arcmin": 1.0 / 60.0, "arcsec": 1.0 / 3600.0,
                  "mas": 1.0 / 3.6e6, "'": 1.0 / 60.0, '"': 1.0 / 3600.0}
_NOT_ANGLE = {"", "Hz", "kHz", "MHz", "GHz", "m/s", "km/s", "m", "Jy/beam", "K", "pixel"}


@functools.lru_cache(maxsize=256)
def unit_conforms(unit: str, target: str) -> bool:
    """casacore's ``Quantity::isConform``: can ``unit`` be converted to ``target``?"""
    if target in _ANGLE_DEGREES and (unit in _ANGLE_DEGREES or unit in _NOT_ANGLE):
        return unit in _ANGLE_DEGREES
    try:
        from casacore import quanta

        return bool(quanta.quantity(1.0, unit).conforms(quanta.quantity(1.0, target)))
    except Exception:  # noqa: BLE001 - invalid unit strings do not conform
        return False


def to_unit(value: float, unit: str, target: str) -> float:
    """``value`` in ``unit`` expressed in ``target`` (conformant units)."""
    if unit in _ANGLE_DEGREES and target in _ANGLE_DEGREES:
        return value * _ANGLE_DEGREES[unit] / _ANGLE_DEGREES[target]
    from casacore import quanta

    return float(quanta.quantity(value, unit).get_value(target))


def make_angle_string(kind: str, value: float, unit: str) -> str:
    """``MakeAngleString``: sexagesimal for RA/Dec/Longitude/Latitude, else ``{:.6g} unit``."""
    if not unit:
        return fmt_g(value)
    if kind == "Right Ascension":
        fmt = "time"
    elif kind == "Declination" or "Longitude" in kind or "Latitude" in kind:
        fmt = "angle"
    else:
        return f"{fmt_g(value)} {unit}"
    if not unit_conforms(unit, "deg"):
        return f"{fmt_g(value)} {unit}"
    degrees = to_unit(value, unit, "deg")
    if "Longitude" in kind and degrees < 0:
        degrees += 360.0
    return mvangle_time(degrees, 10) if fmt == "time" else mvangle_angle(degrees, 10)


def coords_to_deg(kind: str, value: float, unit: str) -> str:
    """``ConvertCoordsToDeg``: a casacore Quantity printed by a C++ stream."""
    if unit_conforms(unit, "deg"):
        degrees = to_unit(value, unit, "deg")
        if kind == "Longitude" and degrees < 0:
            degrees += 360.0
        return f"{fmt_g(degrees)} deg"
    return f"{fmt_g(value)} {unit}".rstrip()


def increment_text(value: float, unit: str) -> str:
    if unit_conforms(unit, "arcsec"):
        return f'{fmt_g(to_unit(value, unit, "arcsec"))}"'
    return f"{fmt_g(value)} {unit}"


@dataclass
class HeaderBlock:
    """What the header-derived block found (also needed by the gzip ranges)."""

    frame: str = ""
    radesys: str = ""
    specsys: str = ""
    projection: str = ""
    rest_freq: float = 0.0
    velref: int | None = None


def header_block_entries(
    info: pb.FileInfoExtended, display: tuple[int, int], spectral: int | None
) -> HeaderBlock:
    """``AddComputedEntriesFromHeaders``: the coordinate block for the two display axes
    (0-based), with the spectral frame from the CTYPE of axis ``spectral`` if given."""
    s1, s2 = str(display[0] + 1), str(display[1] + 1)
    s_spec = "" if spectral is None else str(spectral + 1)
    ctype1 = ctype2 = spectral_ctype = ""
    cunit1 = cunit2 = "deg"
    #: CRPIX/CRVAL/CDELT of the two display axes, as found
    numbers: dict[str, list[float | None]] = {"CRPIX": [None, None], "CRVAL": [None, None], "CDELT": [None, None]}
    frame = radesys = specsys = bunit = ""
    found_frame = found_radesys = found_specsys = False
    block = HeaderBlock()

    for e in info.header_entries:
        name = e.name
        if name.startswith("CTYPE"):
            if name.startswith("CTYPE" + s1):
                ctype1 = e.value.split("/", 1)[0].strip()
            elif name.startswith("CTYPE" + s2):
                ctype2 = e.value.split("/", 1)[0].strip()
            elif s_spec and name.startswith("CTYPE" + s_spec):
                spectral_ctype = e.value
        elif name[:5] in numbers:
            if name.startswith(name[:5] + s1):
                numbers[name[:5]][0] = e.numeric_value
            elif name.startswith(name[:5] + s2):
                numbers[name[:5]][1] = e.numeric_value
        elif name.startswith("CUNIT"):
            if name.startswith("CUNIT" + s1):
                # quirk: a unit containing '/' is replaced by the CTYPE text before '/'
                cunit1 = normalize_unit(ctype1.split("/", 1)[0] if "/" in e.value else e.value)
            elif name.startswith("CUNIT" + s2):
                cunit2 = normalize_unit(e.value.split("/", 1)[0])
        elif not found_frame and name.startswith(("EQUINOX", "TELEQUIN", "EPOCH")):
            frame, found_frame = e.value, True
            if "2000" in frame or e.numeric_value == 2000.0:
                frame = "J2000"
            elif "1950" in frame or e.numeric_value == 1950.0:
                frame = "B1950"
        elif name.startswith("RADESYS"):
            radesys, found_radesys = e.value, True
        elif name.startswith("SPECSYS"):
            specsys, found_specsys = e.value, True
        elif name.startswith("VELREF"):
            block.velref = int(e.numeric_value)
        elif name.startswith("BUNIT"):
            bunit = normalize_unit(e.value)
        elif name.startswith(("RESTFREQ", "RESTFRQ")):
            block.rest_freq = e.numeric_value

    entries = info.computed_entries
    (crpix1, crpix2), (crval1, crval2), (cdelt1, cdelt2) = numbers["CRPIX"], numbers["CRVAL"], numbers["CDELT"]
    kind1, kind2 = ctype1, ctype2
    if ctype1 and ctype2:
        kind1, block.projection = _split_ctype(ctype1)
        if not radesys and kind1 == "GLON":
            radesys = "GALACTIC"
        kind1 = _COORD_NAMES.get(kind1, kind1)
        kind2 = _COORD_NAMES.get(_split_ctype(ctype2)[0], _split_ctype(ctype2)[0])
        found_radesys = bool(radesys)
        entries.append(string_entry("Coordinate type", f"{kind1}, {kind2}"))
        if block.projection:
            entries.append(string_entry("Projection", block.projection))
    if crpix1 is not None and crpix2 is not None:
        entries.append(string_entry("Image reference pixels", f"[{fmt_shortest(crpix1)}, {fmt_shortest(crpix2)}]"))
    if crval1 is not None and crval2 is not None:
        c1 = make_angle_string(kind1, crval1, cunit1)
        c2 = make_angle_string(kind2, crval2, cunit2)
        entries.append(string_entry("Image reference coords", f"[{c1}, {c2}]"))
        if unit_conforms(cunit1, "deg") or unit_conforms(cunit2, "deg"):
            d1, d2 = coords_to_deg(kind1, crval1, cunit1), coords_to_deg(kind2, crval2, cunit2)
            entries.append(string_entry("Image ref coords (deg)", f"[{d1}, {d2}]"))
    if cdelt1 is not None and cdelt2 is not None:
        entries.append(string_entry("Pixel increment", f"{increment_text(cdelt1, cunit1)}, {increment_text(cdelt2, cunit2)}"))
    if bunit:
        entries.append(string_entry("Pixel unit", bunit))
    if found_radesys or found_frame:
        if found_frame:
            celestial = {"J2000": "FK5, J2000", "B1950": "FK4, B1950", "ICRS": "ICRS, J2000"}.get(frame, frame)
        else:
            celestial = radesys
        entries.append(string_entry("Celestial frame", celestial))
    if not found_specsys and "-" in spectral_ctype:
        specsys = _split_ctype(spectral_ctype)[1]
    if specsys:
        entries.append(string_entry("Spectral frame", specsys))
    if block.velref is not None:
        velref = block.velref
        entries.append(
            string_entry("Velocity definition", "OPTICAL" if velref < 4 else "RADIO" if velref > 256 else "UNKNOWN")
        )
    block.frame, block.radesys, block.specsys = frame, radesys, specsys
    return block
