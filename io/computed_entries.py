"""Computed entries of FILE_INFO: names, order and formatting as the reference.

Order (BEHAVIOUR.md §6.4): Name, HDU, Extension name (added by the caller), then
``Data type``, ``Shape``, channel/polarization counts (:func:`shape_entries`), the
header-derived block for the two render axes (:func:`header_block_entries`), the
beam (:func:`beam_entry`) and the coordinate ranges (:mod:`carta_trio.io.coord_ranges`).
Axis roles come from :func:`find_axes` (``FileLoader::FindCoordinateAxes``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

from carta_trio.io.angle_format import fmt_g, fmt_shortest, mvangle_angle, mvangle_time
from carta_trio.io.header_entries import normalize_unit
from carta_trio.messages import schema as pb

__all__ = [
    "AxesInfo",
    "coords_to_deg",
    "increment_text",
    "make_angle_string",
    "unit_conforms",
    "Beam",
    "beam_entry",
    "data_type_name",
    "find_axes",
    "header_block_entries",
    "shape_entries",
    "stokes_types",
    "string_entry",
]

STRING, INT = pb.EntryType.STRING, pb.EntryType.INT

_COORD_NAMES = {"RA": "Right Ascension", "DEC": "Declination", "GLON": "Longitude", "GLAT": "Latitude"}

#: casacore DataType names (``operator<<(ostream, DataType)``) by FITS BITPIX.
_BITPIX_TYPES = {8: "uChar", 16: "Short", 32: "Int", 64: "Int64", -32: "float", -64: "double"}
#: casacore's DataType enum order, used by the reference to decide "rescaled to".
_TYPE_ORDER = ["Bool", "Char", "uChar", "Short", "uShort", "Int", "uInt", "float", "double", "Complex", "DComplex"]


def string_entry(name: str, value: str) -> pb.HeaderEntry:
    return pb.HeaderEntry(name=name, value=value, entry_type=STRING)


def data_type_name(bitpix: int, bscale: float = 1.0, bzero: float = 0.0, header_only: bool = False) -> str:
    """``Data type`` value: ``float``, ``Short (rescaled to float)``, ``Int64``, ...

    ``header_only`` reproduces the ``.fits.gz`` path's operator-precedence quirk
    (``bitpix > 0 && bscale != 1 || bzero != 0``).
    """
    name = _BITPIX_TYPES.get(bitpix, "Other")
    if header_only:
        rescaled = (bitpix > 0 and bscale != 1.0) or bzero != 0.0
    else:
        rescaled = bitpix > 0 and (bscale != 1.0 or bzero != 0.0)
    if rescaled and name in _TYPE_ORDER and _TYPE_ORDER.index("float") > _TYPE_ORDER.index(name):
        return f"{name} (rescaled to float)"
    return name


@dataclass
class AxesInfo:
    """0-based axis roles (-1 = absent), as ``FileLoader::FindCoordinateAxes`` sets them."""

    x: int = 0
    y: int = 1
    z: int = -1
    spectral: int = -1
    stokes: int = -1
    spatial: tuple[int, int] = (-1, -1)


def find_axes(shape: Sequence[int], kinds: Sequence[str]) -> AxesInfo:
    """Axis roles from the axis kinds of the coordinate system.

    ``kinds[i]`` is ``lng``, ``lat``, ``spectral``, ``stokes`` or ``linear``. Raises
    ValueError with the reference's message for unsupported dimensions.
    """
    ndim = len(shape)
    if ndim < 2 or ndim > 4:
        raise ValueError("Image must be 2D, 3D or 4D.")
    if len(kinds) != ndim:
        raise ValueError("Problem loading image: cannot determine coordinate axes from incomplete header.")
    axes = AxesInfo()
    axes.spectral = kinds.index("spectral") if "spectral" in kinds else -1
    axes.stokes = kinds.index("stokes") if "stokes" in kinds else -1
    render = [i for i in range(ndim) if i != axes.stokes][:2]
    axes.x, axes.y = render
    if "lng" in kinds and "lat" in kinds:
        axes.spatial = (kinds.index("lng"), kinds.index("lat"))
    else:
        linear = [i for i, k in enumerate(kinds) if k == "linear"]
        axes.spatial = (linear[0] if linear else -1, linear[1] if len(linear) > 1 else -1)
    if ndim == 2:
        return axes
    no_spectral, no_stokes = axes.spectral < 0, axes.stokes < 0
    if no_spectral and no_stokes and ndim == 3:
        axes.spectral = 2
    if (no_spectral or no_stokes) and ndim == 4:
        if no_spectral and not no_stokes:
            axes.spectral = 2 if axes.stokes == 3 else 3
        elif not no_spectral and no_stokes:
            axes.stokes = 2 if axes.spectral == 3 else 3
        else:
            if shape[2] > 4:
                axes.spectral, axes.stokes = 2, 3
            elif shape[3] > 4:
                axes.spectral, axes.stokes = 3, 2
            else:
                axes.spectral, axes.stokes = 2, 3
    for i in range(ndim):
        if i not in (axes.x, axes.y, axes.stokes):
            axes.z = i
            break
    return axes


def shape_entries(
    info: pb.FileInfoExtended, shape: Sequence[int], axes: AxesInfo, axis_names: Sequence[str]
) -> None:
    """Fill dimensions/width/height/depth/stokes, axes_numbers, ``Shape`` and the counts."""
    info.dimensions = len(shape)
    info.width = shape[axes.x]
    info.height = shape[axes.y]
    info.depth = shape[axes.z] if axes.z >= 0 else 1
    info.stokes = shape[axes.stokes] if axes.stokes >= 0 else 1
    numbers = info.axes_numbers
    numbers.spatial_x = axes.spatial[0] + 1
    numbers.spatial_y = axes.spatial[1] + 1
    numbers.spectral = axes.spectral + 1
    numbers.stokes = axes.stokes + 1
    numbers.depth = axes.z + 1
    names = list(axis_names[: len(shape)]) + ["NA"] * (len(shape) - len(axis_names))
    if axes.stokes >= 0 and names[axes.stokes] == "NA":
        names[axes.stokes] = "STOKES"
    dims = ", ".join(str(n) for n in shape)
    info.computed_entries.append(string_entry("Shape", f"[{dims}] ({', '.join(names)})"))
    if axes.spectral >= 0:
        channels = shape[axes.spectral]
        info.computed_entries.append(
            pb.HeaderEntry(name="Number of channels", value=str(channels), entry_type=INT, numeric_value=channels)
        )
    if axes.stokes >= 0:
        stokes = shape[axes.stokes]
        info.computed_entries.append(
            pb.HeaderEntry(name="Number of polarizations", value=str(stokes), entry_type=INT, numeric_value=stokes)
        )


def axis_names_from_entries(entries: Sequence[pb.HeaderEntry]) -> list[str]:
    """Shape axis names: CTYPE1..4 values up to the first '-' (``NA`` if missing)."""
    names = ["NA"] * 4
    for entry in entries:
        if entry.name.startswith("CTYPE") and entry.value and entry.name[-1:] in "1234":
            names[int(entry.name[-1]) - 1] = entry.value.split("-", 1)[0]
    return names


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
    info: pb.FileInfoExtended, display: tuple[int, int], spectral: int, stokes: int
) -> HeaderBlock:
    """``AddComputedEntriesFromHeaders``: the coordinate block for the two display axes."""
    s1, s2 = str(display[0] + 1), str(display[1] + 1)
    s_spec = str(spectral + 1)
    ctype1 = ctype2 = spectral_ctype = ""
    cunit1 = cunit2 = "deg"
    crval1 = crval2 = crpix1 = crpix2 = cdelt1 = cdelt2 = None
    frame = radesys = specsys = bunit = ""
    found_frame = found_radesys = found_specsys = False
    block = HeaderBlock()

    def numeric(e: pb.HeaderEntry) -> float:
        return e.numeric_value

    for e in info.header_entries:
        name = e.name
        if name.startswith("CTYPE"):
            if name.startswith("CTYPE" + s1):
                ctype1 = e.value.split("/", 1)[0].strip()
            elif name.startswith("CTYPE" + s2):
                ctype2 = e.value.split("/", 1)[0].strip()
            elif name.startswith("CTYPE" + s_spec):
                spectral_ctype = e.value
        elif name.startswith("CRPIX"):
            if name.startswith("CRPIX" + s1):
                crpix1 = numeric(e)
            elif name.startswith("CRPIX" + s2):
                crpix2 = numeric(e)
        elif name.startswith("CRVAL"):
            if name.startswith("CRVAL" + s1):
                crval1 = numeric(e)
            elif name.startswith("CRVAL" + s2):
                crval2 = numeric(e)
        elif name.startswith("CDELT"):
            if name.startswith("CDELT" + s1):
                cdelt1 = numeric(e)
            elif name.startswith("CDELT" + s2):
                cdelt2 = numeric(e)
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


@dataclass(frozen=True)
class Beam:
    """A restoring beam: major/minor axis in arcsec, position angle in degrees."""

    major: float
    minor: float
    pa: float

    @property
    def area(self) -> float:
        return self.major * self.minor


def beam_entry(beams: Sequence[Beam], from_history: bool = False) -> pb.HeaderEntry | None:
    """``Restoring beam`` (one beam) or ``Median area beam`` (per-plane beams)."""
    if not beams:
        return None
    if len(beams) == 1:
        beam, name = beams[0], "Restoring beam"
    else:
        order = sorted(range(len(beams)), key=lambda i: beams[i].area)
        beam, name = beams[order[len(order) // 2]], "Median area beam"
    value = f'{fmt_g(beam.major)}" X {fmt_g(beam.minor)}", {fmt_g(beam.pa)} deg'
    if from_history:
        value += " (extracted from HISTORY)"
    return string_entry(name, value)


def stokes_types(entries: Sequence[pb.HeaderEntry], count: int) -> dict[int, int]:
    """Stokes index -> FITS Stokes code, from the header entries (BEHAVIOUR.md §6.2).

    The reference records CRVAL/CRPIX/CDELT of the ``STOKES`` axis while parsing the
    header; with CDELT (truncated to an integer) non-zero, index ``i`` has code
    ``int(CRVAL + (i + 1 - CRPIX) * CDELT)``. Empty if there is no usable Stokes axis.
    Codes map to names with ``carta_trio.io.coord_ranges.STOKES_NAMES``.
    """
    axis = ""
    values: dict[str, float] = {}
    for e in entries:
        if e.name.startswith("CTYPE") and e.value in ("STOKES", "Stokes", "stokes"):
            axis = e.name[5:]
        elif axis and e.name in (f"CRVAL{axis}", f"CRPIX{axis}", f"CDELT{axis}"):
            values[e.name[:5]] = e.numeric_value
    cdelt = int(values.get("CDELT", 0.0))
    if not axis or cdelt == 0:
        return {}
    crval, crpix = values.get("CRVAL", 0.0), values.get("CRPIX", 0.0)
    return {i: int(crval + (i + 1 - crpix) * cdelt) for i in range(count)}
