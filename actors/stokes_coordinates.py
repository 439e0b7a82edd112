"""Requirement coordinates of a frame: parse once, resolve to a Stokes index on demand.

The grammar and the reference's resolution order (header type, computed 13-17,
assumed ``(type - 1) % 4``) are :mod:`carta_trio.analysis.spectral_profiles`'
``parse_coordinate`` / ``resolve_stokes_index``. This adapter feeds them the image's
Stokes axis (FITS codes from the reader, turned into CARTA polarization types), keeps
the parsed form with each stored requirement (``"z"`` must follow the current Stokes,
so it is resolved when used), and refuses a computed polarization the image cannot
form (the planes it combines are missing) instead of failing later.
"""

from __future__ import annotations

from dataclasses import dataclass

from carta_trio.analysis import polarization
from carta_trio.analysis.spectral_profiles import parse_coordinate as _parse
from carta_trio.analysis.spectral_profiles import resolve_stokes_index

__all__ = ["CoordinateError", "Coordinate", "parse_coordinate", "resolve_stokes", "stokes_components", "is_computed"]

is_computed = polarization.is_computed

#: CARTA polarization type of each FITS STOKES code.
_TYPE_OF_FITS_CODE = {1: 1, 2: 2, 3: 3, 4: 4, -1: 5, -2: 6, -3: 7, -4: 8, -5: 9, -6: 10, -7: 11, -8: 12}


class CoordinateError(ValueError):
    """A coordinate string that names no Stokes parameter of the image."""


@dataclass(frozen=True)
class Coordinate:
    """A parsed coordinate: ``stokes_type`` (None = current Stokes) and ``axis``
    (``"x"``, ``"y"``, ``"z"`` or None when the string has no axis letter)."""

    text: str
    stokes_type: int | None
    axis: str | None


def parse_coordinate(text: str) -> Coordinate:
    """Parse a requirement coordinate; :class:`CoordinateError` for unknown strings."""
    try:
        ptype, axis = _parse(text)
    except ValueError as exc:
        raise CoordinateError(f"Unknown coordinate '{text}': {exc}") from None
    return Coordinate(text, None if ptype is None else int(ptype), axis or None)


def stokes_types(stokes_values: list[int]) -> list[int]:
    """CARTA polarization types per Stokes index from the header's FITS codes."""
    return [_TYPE_OF_FITS_CODE.get(int(code), 0) for code in stokes_values]


def stokes_components(stokes_values: list[int], num_stokes: int) -> dict[str, int | None]:
    """Indices of the I, Q, U and V planes (header first, else assumed 0-3; None if absent)."""
    out: dict[str, int | None] = {}
    for name in ("I", "Q", "U", "V"):
        try:
            index = resolve_stokes_index(name, stokes_types=stokes_types(stokes_values), num_stokes=num_stokes,
                                         current_stokes=0)
        except ValueError:
            index = None
        out[name] = index if index is not None and index < num_stokes else None
    return out


def resolve_stokes(coordinate: Coordinate, current: int, stokes_values: list[int], num_stokes: int) -> int:
    """The Stokes index a parsed coordinate selects on an image with these Stokes codes.

    Raises :class:`CoordinateError` if the image has no such Stokes, or lacks the planes
    a computed polarization combines.
    """
    if coordinate.stokes_type is None:
        return current
    try:
        index = resolve_stokes_index(
            coordinate.text, stokes_types=stokes_types(stokes_values), num_stokes=num_stokes, current_stokes=current
        )
    except ValueError as exc:
        raise CoordinateError(str(exc)) from None
    if is_computed(index):
        components = stokes_components(stokes_values, num_stokes)
        needed = polarization.required_components(index)
        if num_stokes < 2 or any(components[name] is None for name in needed):
            raise CoordinateError(f"Stokes '{coordinate.text}' cannot be computed: the image lacks its Stokes planes")
    return index
