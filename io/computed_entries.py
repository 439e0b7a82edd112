"""Computed entries of FILE_INFO: names, order and formatting as the reference.

Order (BEHAVIOUR.md §6.4): Name, HDU, Extension name (added by the caller), then
``Data type``, ``Shape``, channel/polarization counts (:func:`shape_entries`), the
header-derived block for the two render axes
(:func:`carta_trio.io.coordinate_block.header_block_entries`), the beam
(:func:`beam_entry`) and the coordinate ranges (:mod:`carta_trio.io.coord_ranges`).
Axis roles come from :mod:`carta_trio.io.axis_roles`, the same finder the readers use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from carta_trio.io.angle_format import fmt_g
from carta_trio.io.image_reader import AxisRoles
from carta_trio.messages import schema as pb

__all__ = [
    "Beam",
    "axis_names_from_entries",
    "beam_entry",
    "data_type_name",
    "shape_entries",
    "string_entry",
]

STRING, INT = pb.EntryType.STRING, pb.EntryType.INT

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


def shape_entries(
    info: pb.FileInfoExtended, shape: Sequence[int], axes: AxisRoles, axis_names: Sequence[str]
) -> None:
    """Fill dimensions/width/height/depth/stokes, axes_numbers, ``Shape`` and the counts."""
    info.dimensions = len(shape)
    info.width = shape[axes.x]
    info.height = shape[axes.y]
    info.depth = shape[axes.z] if axes.z is not None else 1
    info.stokes = shape[axes.stokes] if axes.stokes is not None else 1
    numbers = info.axes_numbers
    for field, number in axes.axes_numbers().items():
        setattr(numbers, field, number)
    names = list(axis_names[: len(shape)]) + ["NA"] * (len(shape) - len(axis_names))
    if axes.stokes is not None and names[axes.stokes] == "NA":
        names[axes.stokes] = "STOKES"
    dims = ", ".join(str(n) for n in shape)
    info.computed_entries.append(string_entry("Shape", f"[{dims}] ({', '.join(names)})"))
    if axes.spectral is not None:
        channels = shape[axes.spectral]
        info.computed_entries.append(
            pb.HeaderEntry(name="Number of channels", value=str(channels), entry_type=INT, numeric_value=channels)
        )
    if axes.stokes is not None:
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
