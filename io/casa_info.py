"""FileInfoExtended for CASA (and MIRIAD) images, through python-casacore.

The reference describes these images from casacore itself (BEHAVIOUR.md §6.3, §6.4):
header entries are casacore's image-to-FITS conversion, and the coordinate block
comes from the image's coordinate system (world axis names such as ``Right
Ascension``/``Frequency``, ``SIN / NCP``, direction type and spectral frame names).
The FITS header is obtained by letting casacore write a one-pixel sub-image to a
temporary FITS file (so the cards are casacore's own) and restoring the real axis
lengths; the ranges are then evaluated on that header like for FITS files.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from carta_trio.io.axis_roles import casacore_axis_kinds, find_axis_roles
from carta_trio.io.computed_entries import (
    Beam,
    axis_names_from_entries,
    beam_entry,
    shape_entries,
    string_entry,
)
from carta_trio.io.casa_open import open_casacore_image, remove_shadow, user_message
from carta_trio.io.coordinate_block import coords_to_deg, increment_text, make_angle_string, unit_conforms
from carta_trio.io.coord_ranges import build_wcs, coordinate_ranges
from carta_trio.io.angle_format import fmt_shortest
from carta_trio.io.fits_info import ExtendedInfo
from carta_trio.io.header_entries import entries_from_converted_header, normalize_unit
from carta_trio.messages import schema as pb

__all__ = ["casa_extended_info", "converted_header"]

log = logging.getLogger(__name__)

_DATA_TYPES = {
    "float": "float", "double": "double", "complex": "Complex", "dcomplex": "DComplex",
    "int": "Int", "short": "Short", "uchar": "uChar", "bool": "Bool",
}  # fmt: skip
_DOPPLERS = {0: "RADIO", 1: "Z", 2: "RATIO", 3: "BETA", 4: "GAMMA"}
#: SpectralCoordinate native types: FREQ, VRAD, VOPT, BETA, WAVE, AWAV.
_VELOCITY_NATIVE = {1, 2, 3}

#: A casacore record (``coordinates().dict()``, ``imageinfo()``...): python-casacore has no
#: type stubs, so its images and records are ``Any`` here.
Record = dict[str, Any]


def _axis_table(coords: Record) -> dict[int, Record]:
    """Per pixel axis (FITS order, 0-based): kind, name, unit, crpix, crval, cdelt."""
    table: dict[int, Record] = {}
    i = 0
    while f"pixelmap{i}" in coords:
        pixel_axes = [int(a) for a in coords[f"pixelmap{i}"]]
        kind_key = next((k for k in coords if k.endswith(str(i)) and k[:-len(str(i))] in
                         ("direction", "spectral", "stokes", "linear", "tabular")), None)
        if kind_key is None:
            i += 1
            continue
        kind = kind_key[: -len(str(i))]
        c = coords[kind_key]
        for j, axis in enumerate(pixel_axes):
            if kind == "direction":
                row = {"kind": "lng" if j == 0 else "lat", "name": c["axes"][j], "unit": c["units"][j],
                       "crpix": float(c["crpix"][j]), "crval": float(c["crval"][j]), "cdelt": float(c["cdelt"][j])}
            elif kind == "spectral":
                wcs = c.get("wcs", {})
                row = {"kind": "spectral", "name": c.get("name", "Frequency"), "unit": c.get("unit", "Hz"),
                       "crpix": float(wcs.get("crpix", 0.0)), "crval": float(wcs.get("crval", 0.0)),
                       "cdelt": float(wcs.get("cdelt", 0.0))}
            elif kind == "stokes":
                row = {"kind": "stokes", "name": "Stokes", "unit": "", "crpix": 0.0,
                       "crval": float(c.get("crval", [1])[0]), "cdelt": float(c.get("cdelt", [1])[0])}
            else:
                names = list(c.get("axes", [])) or [""]
                units = list(c.get("units", [])) or [""]
                row = {"kind": "linear", "name": names[min(j, len(names) - 1)], "unit": units[min(j, len(units) - 1)],
                       "crpix": float(c.get("crpix", [0.0])[j]), "crval": float(c.get("crval", [0.0])[j]),
                       "cdelt": float(c.get("cdelt", [1.0])[j])}
            row["coordinate"] = c
            table[axis] = row
        i += 1
    return table


def converted_header(image: Any, shape: list[int], optical: bool, velocity: bool) -> list[tuple[str, object, str]]:
    """casacore's FITS header of ``image`` as (key, value, comment), as an IMAGE extension."""
    from astropy.io import fits

    ndim = len(shape)
    with tempfile.TemporaryDirectory(prefix="carta-info-") as tmp:
        target = os.path.join(tmp, "header.fits")
        sub = image.subimage(blc=[0] * ndim, trc=[0] * ndim, dropdegenerate=False)
        sub.tofits(target, overwrite=True, velocity=velocity, optical=optical)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = fits.getheader(target)
    cards: list[tuple[str, object, str]] = [("XTENSION", "IMAGE", "IMAGE extension")]
    for card in header.cards:
        key = card.keyword
        if key in ("SIMPLE", "EXTEND"):
            continue
        if key in ("HISTORY", "COMMENT", ""):
            cards.append((key, None, str(card.value)))
            continue
        value = card.value
        if key.startswith("NAXIS") and key[5:].isdigit():
            value = shape[int(key[5:]) - 1]
        cards.append((key, value, card.comment))
        if key == f"NAXIS{ndim}" or (key == "NAXIS" and ndim == 0):
            cards += [("PCOUNT", 0, ""), ("GCOUNT", 1, "")]
    return cards


def _card_strings(cards: list[tuple[str, object, str]]) -> list[str]:
    """80-character cards (for astropy WCS) from (key, value, comment)."""
    from astropy.io import fits

    out = []
    for key, value, _comment in cards:
        if value is None or key in ("XTENSION",):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(fits.Card(key, value).image[:80])
    return out


def _coordinate_block(info: pb.FileInfoExtended, table: dict[int, Record], display: tuple[int, int], unit: str) -> None:
    entries = info.computed_entries
    r0, r1 = table.get(display[0]), table.get(display[1])
    if r0 and r1:
        entries.append(string_entry("Coordinate type", f"{r0['name']}, {r1['name']}"))
    direction = next((r for r in table.values() if r["kind"] in ("lng", "lat")), None)
    if direction is not None:
        c = direction["coordinate"]
        projection = str(c.get("projection", ""))
        params = list(c.get("projection_parameters", []))
        if projection == "SIN" and len(params) >= 2 and params[0] == 0.0 and abs(params[1]) > 0 and _is_ncp(c):
            projection = "SIN / NCP"
        if projection:
            entries.append(string_entry("Projection", projection))
    if r0 and r1:
        entries.append(string_entry("Image reference pixels", f"[{fmt_shortest(r0['crpix'] + 1.0)}, {fmt_shortest(r1['crpix'] + 1.0)}]"))
        c0 = make_angle_string(r0["name"], r0["crval"], r0["unit"])
        c1 = make_angle_string(r1["name"], r1["crval"], r1["unit"])
        entries.append(string_entry("Image reference coords", f"[{c0}, {c1}]"))
        if unit_conforms(r0["unit"], "deg") or unit_conforms(r1["unit"], "deg"):
            d0 = coords_to_deg(r0["name"], r0["crval"], r0["unit"])
            d1 = coords_to_deg(r1["name"], r1["crval"], r1["unit"])
            entries.append(string_entry("Image ref coords (deg)", f"[{d0}, {d1}]"))
        entries.append(string_entry("Pixel increment", f"{increment_text(r0['cdelt'], r0['unit'])}, {increment_text(r1['cdelt'], r1['unit'])}"))
    if unit:
        entries.append(string_entry("Pixel unit", unit))
    if direction is not None:
        system = str(direction["coordinate"].get("system", ""))
        frame = {"J2000": "FK5, J2000", "B1950": "FK4, B1950"}.get(system, system)
        if "J2000" in system and system != "J2000":
            frame = f"FK5, {system}"
        elif "B1950" in system and system != "B1950":
            frame = f"FK4, {system}"
        entries.append(string_entry("Celestial frame", frame))
    spectral = next((r for r in table.values() if r["kind"] == "spectral"), None)
    if spectral is not None:
        c = spectral["coordinate"]
        entries.append(string_entry("Spectral frame", str(c.get("system", ""))))
        entries.append(string_entry("Velocity definition", _DOPPLERS.get(int(c.get("velType", 0)), "RADIO")))


def _is_ncp(coordinate: Record) -> bool:
    """casacore's ``isNCP``: SIN with PV2_1 = 0 and PV2_2 = cot(reference latitude)."""
    import math

    params: list[float] = list(coordinate.get("projection_parameters", []))
    lat = float(coordinate["crval"][1])
    if len(params) < 2 or math.tan(lat) == 0:
        return False
    return abs(params[1] - 1.0 / math.tan(lat)) < 1e-6


def _beams(image: Any) -> list[Beam]:
    info = image.imageinfo()
    if "restoringbeam" in info:
        rb = info["restoringbeam"]
        if "major" in rb:
            return [_beam(rb)]
    if "perplanebeams" in info:
        planes = info["perplanebeams"]
        beams = [_beam(v) for k, v in sorted(planes.items(), key=lambda kv: kv[0]) if isinstance(v, dict) and "major" in v]
        return beams
    return []


def _beam(record: Record) -> Beam:
    from casacore import quanta

    def value(q: Record, unit: str) -> float:
        return float(quanta.quantity(q["value"], q["unit"]).get_value(unit))

    return Beam(value(record["major"], "arcsec"), value(record["minor"], "arcsec"), value(record["positionangle"], "deg"))


def casa_extended_info(path: str | Path, name: str, hdu: str) -> ExtendedInfo:
    """The FileInfoExtended map (one entry keyed ``hdu``) of a casacore-readable image
    (also one without a ``logtable``: :func:`carta_trio.io.casa_open.open_casacore_image`)."""
    try:
        image, shadow = open_casacore_image(path)
    except Exception as exc:  # noqa: BLE001 - casacore raises RuntimeError with its message
        log.info("casacore cannot open %s: %s", path, exc)
        return ExtendedInfo(message=user_message(str(exc), path))
    try:
        return _image_info(image, name, hdu)
    finally:
        del image
        remove_shadow(shadow)


def _image_info(image: Any, name: str, hdu: str) -> ExtendedInfo:
    result = ExtendedInfo()
    shape = [int(n) for n in reversed(image.shape())]
    info = pb.FileInfoExtended()
    info.computed_entries.append(string_entry("Name", name))
    if len(shape) < 2 or len(shape) > 4:
        result.message = "Image must be 2D, 3D or 4D."
        return result
    coords = image.coordinates().dict()
    table = _axis_table(coords)
    spectral: Record = next((r["coordinate"] for r in table.values() if r["kind"] == "spectral"), {})
    native = int(spectral.get("nativeType", 0)) if spectral else 0
    cards = converted_header(image, shape, optical=native == 2, velocity=native in _VELOCITY_NATIVE)
    parsed = entries_from_converted_header(cards)
    info.header_entries.extend(parsed.entries)
    if hdu:
        info.computed_entries.append(string_entry("HDU", hdu))
    info.computed_entries.append(string_entry("Data type", _DATA_TYPES.get(image.datatype(), image.datatype())))
    try:
        axes = find_axis_roles(casacore_axis_kinds(coords, len(shape)), shape)
    except ValueError as exc:
        result.message = str(exc)
        return result
    shape_entries(info, shape, axes, axis_names_from_entries(parsed.entries))
    _coordinate_block(info, table, (axes.x, axes.y), normalize_unit(image.unit()))
    entry = beam_entry(_beams(image))
    if entry is not None:
        info.computed_entries.append(entry)
    wcs = build_wcs(_card_strings(cards), len(shape))
    velref = next((int(v) for k, v, _ in cards if k == "VELREF" and isinstance(v, int)), None)
    info.computed_entries.extend(coordinate_ranges(wcs, shape, axes.stokes, velref))
    result.infos[hdu] = info
    return result
