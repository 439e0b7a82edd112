"""FileInfoExtended for IDIA-schema HDF5 images (group ``0`` with ``DATA``).

The reference (``CartaHdf5Image``) turns the group's attributes, in creation order,
into FITS cards and parses those like a FITS header (GOLDEN.md §1, §3.15):
1-byte unsigned and 4-byte signed integers are logicals (``T``/``F``), other
integers integers, floats are written with 13 significant digits (``{:.12E}``) and
re-parsed, fixed-length strings are quoted strings. Without a ``SIMPLE`` attribute,
or with an attribute type it cannot read, the image does not open.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from carta_trio.io.axis_roles import roles_from_header
from carta_trio.io.computed_entries import (
    Beam,
    axis_names_from_entries,
    beam_entry,
    shape_entries,
    string_entry,
)
from carta_trio.io.coord_ranges import build_wcs, coordinate_ranges
from carta_trio.io.coordinate_block import header_block_entries
from carta_trio.io.fits_info import ExtendedInfo
from carta_trio.io.header_entries import entries_from_cards

if TYPE_CHECKING:
    from carta_trio.messages import schema as pb

__all__ = ["OPEN_ERROR", "hdf5_cards", "hdf5_extended_info"]

log = logging.getLogger(__name__)

OPEN_ERROR = "Error opening HDF5 image"
_DTYPE_NAMES = {"f4": "float", "f8": "double", "i2": "Short", "i4": "Int", "i8": "Int64", "u1": "uChar"}


class _AttributeError(Exception):
    pass


def _card_value(value: object) -> str:
    if isinstance(value, np.ndarray):
        if value.shape not in ((), (1,)):
            raise _AttributeError("array attribute")
        value = value.reshape(-1)[0] if value.shape else value[()]
    if isinstance(value, (bytes, np.bytes_)):
        return "'" + bytes(value).decode("ascii", errors="replace").rstrip("\x00").replace("'", "''") + "'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (np.uint8, np.int32)):
        return "T" if value else "F"
    if isinstance(value, (bool, np.bool_)):
        raise _AttributeError("boolean attribute")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.12E}"
    raise _AttributeError(f"unsupported attribute type {type(value).__name__}")


def hdf5_cards(group: Any) -> list[str]:  # an h5py Group (h5py has no type stubs)
    """FITS-like card strings of an HDF5 group's attributes (creation order)."""
    cards = []
    for key in group.attrs.keys():
        try:
            value = group.attrs[key]
        except (OSError, TypeError, ValueError) as exc:
            raise _AttributeError(str(exc)) from exc
        cards.append(f"{key:<8}= {_card_value(value)}")
    return cards


def hdf5_extended_info(path: str | Path, name: str, hdu: str) -> ExtendedInfo:
    """The FileInfoExtended map (one entry) of an IDIA HDF5 file."""
    import h5py

    result = ExtendedInfo()
    try:
        f = h5py.File(path, "r")
    except OSError:
        result.message = OPEN_ERROR
        return result
    with f:
        key = hdu or next(iter(f.keys()), "")
        if key not in f or not isinstance(f[key], h5py.Group):
            result.message = f"HDF5 error: Could not open group {key} in parent {os.path.basename(path)}"
            return result
        group = f[key]
        data = group.get("DATA")
        if "SIMPLE" not in group.attrs or not isinstance(data, h5py.Dataset):
            result.message = OPEN_ERROR
            return result
        try:
            cards = hdf5_cards(group)
        except _AttributeError as exc:
            log.debug("HDF5 attributes of %s unreadable: %s", path, exc)
            result.message = OPEN_ERROR
            return result
        shape = list(reversed(data.shape))
        dtype_name = _DTYPE_NAMES.get(data.dtype.str[1:], "float")
        has_mips = "MipMaps/DATA/DATA_XY_2" in group
    try:
        result.infos[key] = _info(name, key, cards, shape, dtype_name, has_mips)
    except ValueError as exc:
        result.message = str(exc)
    return result


def _info(name: str, key: str, cards: list[str], shape: list[int], dtype_name: str, has_mips: bool) -> pb.FileInfoExtended:
    from carta_trio.messages import schema as pb

    info = pb.FileInfoExtended()
    info.computed_entries.append(string_entry("Name", name))
    parsed = entries_from_cards(cards)
    info.header_entries.extend(parsed.entries)
    if key:
        info.computed_entries.append(string_entry("HDU", key))
    if parsed.extname:
        info.computed_entries.append(string_entry("Extension name", parsed.extname))
    if len(shape) < 2 or len(shape) > 4:
        raise ValueError("Image must be 2D, 3D or 4D.")
    info.computed_entries.append(string_entry("Data type", dtype_name))
    wcs = build_wcs(cards, len(shape))
    header: dict[str, str] = {}
    for e in parsed.entries:
        header.setdefault(e.name, e.value)
    axes, _ = roles_from_header(header, shape)
    shape_entries(info, shape, axes, axis_names_from_entries(parsed.entries))
    block = header_block_entries(info, (axes.x, axes.y), axes.spectral)
    values = {e.name: e.numeric_value for e in info.header_entries}
    if "BMAJ" in values and "BMIN" in values:
        beam = Beam(values["BMAJ"] * 3600.0, values["BMIN"] * 3600.0, values.get("BPA", 0.0))
        info.computed_entries.append(beam_entry([beam]))
    info.computed_entries.extend(coordinate_ranges(wcs, shape, axes.stokes, block.velref))
    if has_mips:
        info.computed_entries.append(string_entry("Has mipmaps", "T"))
    return info
