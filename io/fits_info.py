"""FileInfoExtended for FITS files (plain, tile-compressed and ``.fits.gz``).

``fits_extended_info`` answers FILE_INFO for one FITS file (BEHAVIOUR.md §6.1, §6.5):
with ``hdu=""`` one entry per image HDU keyed ``"0"``, ``"1"``, ...; with an HDU named,
one entry keyed by the string as sent. A ``.fits.gz`` asked with ``hdu=""`` is
described from its headers only, with the reference's quirks (raw value texts, the
spectral range evaluated one channel early); with an HDU named it is read like a
plain file.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from carta_trio.io.axis_roles import roles_from_header, scan_header_roles
from carta_trio.io.computed_entries import (
    Beam,
    axis_names_from_entries,
    beam_entry,
    data_type_name,
    shape_entries,
    string_entry,
)
from carta_trio.io.coord_ranges import (
    STOKES_NAMES,
    build_wcs,
    coordinate_ranges,
    direction_range_entries,
    spectral_range_entries,
)
from carta_trio.io.coordinate_block import HeaderBlock, header_block_entries
from carta_trio.io.fits_hdus import FitsError, FitsHdu, read_hdus
from carta_trio.io.header_entries import entries_from_cards, entries_from_raw_cards, parse_c_double
from carta_trio.messages import schema as pb

__all__ = ["ExtendedInfo", "fits_extended_info", "hdu_number", "history_beam"]

log = logging.getLogger(__name__)

NO_IMAGE_AT_HDU = "No image at specified HDU."
READ_ERROR = "Error reading FITS file."

_BEAM_EQ = re.compile(
    r".*Beam\s*=\s*([\d.Ee+-]+)\s*x\s*([\d.Ee+-]+)\s*([A-Za-z]*)\s*,*\s*pa\s*=\s*([\d.Ee+-]+)\s*([A-Za-z]*).*"
)
_BEAM_KW = re.compile(r".*BMAJ\s*=\s*([\d.Ee+-]+)\s*BMIN\s*=\s*([\d.Ee+-]+)\s*BPA\s*=\s*([\d.Ee+-]+).*")
_ARCSEC_PER = {"deg": 3600.0, "degrees": 3600.0, "arcmin": 60.0, "arcsec": 1.0, "rad": 206264.80624709636}


@dataclass
class ExtendedInfo:
    """The ``file_info_extended`` map, the last error text and INFO notices to send."""

    infos: dict[str, pb.FileInfoExtended] = field(default_factory=dict)
    message: str = ""
    notices: list[str] = field(default_factory=list)


def hdu_number(hdu: str) -> int:
    """The HDU index from the leading digits of the request's ``hdu`` ("" -> 0)."""
    match = re.match(r"\s*(\d+)", hdu)
    return int(match.group(1)) if match else 0


def _float(keywords: dict[str, str], key: str, default: float) -> float:
    value = parse_c_double(keywords.get(key, "")) if key in keywords else None
    return default if value is None else value


def history_beam(cards: Sequence[str]) -> Beam | None:
    """The last AIPS HISTORY beam line (``ParseHistoryBeamHeader``), in arcsec/deg."""
    found: Beam | None = None
    for card in cards:
        if not card.startswith("HISTORY"):
            continue
        text = card.rstrip()
        match = _BEAM_EQ.fullmatch(text) if "Beam" in text else None
        if match:
            units = (match.group(3) or "deg", match.group(5) or "deg")
            values: tuple[str | Any, ...] = (match.group(1), match.group(2), match.group(4))
        else:
            match = _BEAM_KW.fullmatch(text) if "BMAJ" in text else None
            if not match:
                continue
            units, values = ("deg", "deg"), match.groups()
        try:
            major, minor, pa = (float(v) for v in values)
        except ValueError:
            continue
        scale = _ARCSEC_PER.get(units[0])
        if scale is None:
            continue
        pa_deg = pa if units[1] in ("deg", "degrees") else pa * 180.0 / np.pi
        found = Beam(major * scale, minor * scale, pa_deg)
    return found


def _beams_table(path: str | Path, hdus: Sequence[FitsHdu]) -> list[Beam]:
    """Per-plane beams from a CASA ``BEAMS`` binary table, if the file has one."""
    index = next((h.index for h in hdus if h.kind == "BINTABLE" and h.extname.strip() == "BEAMS"), None)
    if index is None:
        return []
    try:
        from astropy.io import fits

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdul:
                table = hdul[index]
                units = [str(table.columns[c].unit or "arcsec") for c in ("BMAJ", "BMIN", "BPA")]
                data = table.data
                scale = [_ARCSEC_PER.get(u, 1.0) for u in units[:2]]
                return [
                    Beam(float(r["BMAJ"]) * scale[0], float(r["BMIN"]) * scale[1], float(r["BPA"]))
                    for r in data
                ]
    except Exception as exc:  # noqa: BLE001
        log.debug("BEAMS table of %s unreadable: %s", path, exc)
        return []


def _header_beams(
    image: FitsHdu, hdus: Sequence[FitsHdu], path: str | Path, aips: bool, result: ExtendedInfo, name: str
) -> tuple[list[Beam], bool]:
    keys = image.keywords
    if "BMAJ" in keys and "BMIN" in keys:
        return [Beam(_float(keys, "BMAJ", 0) * 3600.0, _float(keys, "BMIN", 0) * 3600.0, _float(keys, "BPA", 0.0))], False
    table = _beams_table(path, hdus)
    if table:
        return table, False
    if aips:
        beam = history_beam(image.cards)
        if beam is not None:
            result.notices.append(
                f'Deriving {name} beam info from HISTORY headers: BMAJ={beam.major:.4f}" '
                f'BMIN={beam.minor:.4f}" BPA={beam.pa:g} deg'
            )
            return [beam], True
    return [], False


def _history_header_entries(info: pb.FileInfoExtended, beam: Beam) -> None:
    for key, value in (("BMAJ", beam.major / 3600.0), ("BMIN", beam.minor / 3600.0), ("BPA", beam.pa)):
        info.header_entries.append(
            pb.HeaderEntry(
                name=key, value=f"{value:E}", entry_type=pb.EntryType.FLOAT, numeric_value=value,
                comment="extracted from HISTORY",
            )
        )


def _image_hdu_for(hdus: Sequence[FitsHdu], index: int) -> FitsHdu:
    """The HDU whose data/WCS describe ``index``: itself, or for an empty primary the
    first image extension (the reference's quirk, GOLDEN.md §3.12)."""
    hdu = hdus[index]
    if hdu.is_image or (hdu.kind in ("primary", "IMAGE") and len(hdu.shape) >= 1):
        return hdu
    if hdu.kind == "primary" and not hdu.shape:
        for other in hdus[1:]:
            if other.is_image:
                return other
    raise ValueError(NO_IMAGE_AT_HDU)


def _hdu_info(path: str | Path, name: str, hdus: Sequence[FitsHdu], index: int, key: str, aips: bool,
              result: ExtendedInfo) -> pb.FileInfoExtended:
    hdu = hdus[index]
    info = pb.FileInfoExtended()
    info.computed_entries.append(string_entry("Name", name))
    parsed = entries_from_cards(hdu.cards)
    info.header_entries.extend(parsed.entries)
    if key:
        info.computed_entries.append(string_entry("HDU", key))
    if parsed.extname:
        info.computed_entries.append(string_entry("Extension name", parsed.extname))
    image = _image_hdu_for(hdus, index)
    shape = list(image.shape)
    if len(shape) < 2 or len(shape) > 4:
        raise ValueError("Image must be 2D, 3D or 4D.")
    keys = image.keywords
    info.computed_entries.append(
        string_entry("Data type", data_type_name(image.bitpix, _float(keys, "BSCALE", 1.0), _float(keys, "BZERO", 0.0)))
    )
    wcs = build_wcs(image.cards, len(shape))
    axes, _ = roles_from_header(keys, shape)
    shape_entries(info, shape, axes, axis_names_from_entries(parsed.entries))
    block = header_block_entries(info, (axes.x, axes.y), axes.spectral)
    beams, from_history = _header_beams(image, hdus, path, aips, result, name)
    entry = beam_entry(beams, from_history)
    if entry is not None:
        info.computed_entries.append(entry)
        if from_history:
            _history_header_entries(info, beams[0])
    info.computed_entries.extend(coordinate_ranges(wcs, shape, axes.stokes, block.velref))
    return info


def _gz_header_info(name: str, hdu: FitsHdu, key: str) -> pb.FileInfoExtended:
    """Header-only description of one image HDU of a ``.fits.gz`` (``CompressedFits``)."""
    info = pb.FileInfoExtended()
    info.computed_entries.append(string_entry("Name", name))
    info.computed_entries.append(string_entry("HDU", key))
    parsed = entries_from_raw_cards(hdu.cards)
    info.header_entries.extend(parsed.entries)
    shape: list[int] = []
    names = ["NA"] * 4
    ctypes: dict[int, str] = {}
    bitpix, bscale, bzero = 0, 1.0, 0.0
    for e in info.header_entries:
        n = e.name
        if n == "EXTNAME":
            info.computed_entries.append(string_entry("Extension name", e.value))
        elif n.startswith("NAXIS"):
            if n == "NAXIS":
                shape = [0] * int(e.numeric_value)
            elif n[5:].isdigit() and 0 < int(n[5:]) <= len(shape):
                shape[int(n[5:]) - 1] = int(e.numeric_value)
        elif n.startswith("CTYPE") and n[5:].isdigit():
            axis = int(n[5:]) - 1
            ctypes[axis] = e.value
            if e.value and 0 <= axis < 4:
                names[axis] = e.value.split("-", 1)[0].upper()
        elif n.startswith("BITPIX"):
            bitpix = int(e.numeric_value)
        elif n.startswith("BSCALE"):
            bscale = e.numeric_value
        elif n.startswith("BZERO"):
            bzero = e.numeric_value
    if len(shape) < 2 or len(shape) > 4:
        raise ValueError("Image must be 2D, 3D or 4D.")
    info.computed_entries.append(string_entry("Data type", data_type_name(bitpix, bscale, bzero, header_only=True)))
    axes = scan_header_roles(ctypes, shape)
    shape_entries(info, shape, axes, names)
    # quirk: the depth axis, not the spectral one, names the spectral frame here
    block = header_block_entries(info, (0, 1), axes.z)
    keys = hdu.keywords
    if "BMAJ" in keys and "BMIN" in keys:
        beam = Beam(_float(keys, "BMAJ", 0) * 3600.0, _float(keys, "BMIN", 0) * 3600.0, _float(keys, "BPA", 0.0))
        info.computed_entries.append(beam_entry([beam]))
    info.computed_entries.extend(_gz_ranges(info, hdu, shape, block, axes.z, axes.stokes))
    return info


_FREQUENCY_TYPES = {"REST", "LSRK", "LSRD", "BARY", "GEO", "TOPO", "GALACTO", "LGROUP", "CMB"}
_DIRECTION_TYPES = {"J2000", "B1950", "ICRS", "GALACTIC", "ECLIPTIC", "SUPERGAL", "B1950_VLA", "JMEAN", "BMEAN", "APP"}


def _gz_ranges(info: pb.FileInfoExtended, hdu: FitsHdu, shape: list[int], block: HeaderBlock,
               spectral: int | None, stokes: int | None) -> list[pb.HeaderEntry]:
    """Ranges of the header-only path, from a coordinate system built from the headers
    (quirk: the depth axis is taken as the spectral axis)."""
    entries: list[pb.HeaderEntry] = []
    frame = block.frame.upper()
    radesys = block.radesys.upper()
    if frame in _DIRECTION_TYPES or radesys in _DIRECTION_TYPES:
        wcs = build_wcs(hdu.cards, len(shape))
        if wcs is not None:
            kind = frame if frame in _DIRECTION_TYPES else radesys
            equatorial = kind not in ("GALACTIC", "ECLIPTIC", "SUPERGAL")
            entries += direction_range_entries(wcs, shape, label_equatorial=equatorial)
    values = {e.name: e.numeric_value for e in info.header_entries}
    if spectral is not None and block.specsys.upper() in _FREQUENCY_TYPES and f"CTYPE{spectral + 1}" in values:
        n = shape[spectral]
        crval = values.get(f"CRVAL{spectral + 1}", 0.0)
        cdelt = values.get(f"CDELT{spectral + 1}", 0.0)
        crpix = values.get(f"CRPIX{spectral + 1}", 0.0)
        # quirk: the 1-based CRPIX is used as a 0-based reference pixel
        freqs = [crval + (p - crpix) * cdelt for p in ([0, n - 1] if n > 1 else [0])]
        entries += spectral_range_entries(freqs, block.rest_freq)
    if stokes is not None and f"CTYPE{stokes + 1}" in values:
        crval = values.get(f"CRVAL{stokes + 1}", 0.0)
        cdelt = values.get(f"CDELT{stokes + 1}", 0.0)
        crpix = values.get(f"CRPIX{stokes + 1}", 0.0)
        if crpix != 1:
            crval -= cdelt * (crpix - 1)
        codes = [int(crval + cdelt * i) for i in range(shape[stokes])]
        names = [STOKES_NAMES[c] for c in codes if c in STOKES_NAMES]
        if names:
            entries.append(string_entry("Stokes coverage", f"[{', '.join(names)}]"))
    return entries


def fits_extended_info(path: str | Path, name: str, hdu: str, aips: bool, gz: bool) -> ExtendedInfo:
    """FileInfoExtended map for a FITS file (see module docstring)."""
    result = ExtendedInfo()
    try:
        hdus = read_hdus(path)
    except FitsError as exc:
        result.message = str(exc)
        return result
    if hdu:
        index = hdu_number(hdu)
        if index >= len(hdus):
            result.message = READ_ERROR
            return result
        try:
            result.infos[hdu] = _hdu_info(path, name, hdus, index, hdu, aips, result)
        except ValueError as exc:
            result.message = str(exc)
        return result
    images = [h for h in hdus if h.is_image and not (gz and h.compressed)]
    if not images:
        result.message = "No image HDUs found."
        return result
    for image in images:
        key = str(image.index)
        try:
            if gz:
                result.infos[key] = _gz_header_info(name, image, key)
            else:
                result.infos[key] = _hdu_info(path, name, hdus, image.index, key, aips, result)
        except ValueError as exc:
            result.message = str(exc)
    if not result.infos:
        result.message = "Error loading headers or image."
    return result
