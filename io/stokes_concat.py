"""CONCAT_STOKES_FILES: two to four single-Stokes images presented as one Stokes cube.

The reference (``StokesFilesConnector``) opens each file, checks them, extends each to a
one-plane Stokes axis with the requested polarization and joins them with casacore's
``ImageConcat`` -- a virtual image that reads each Stokes plane from its own file. This
module does the same without copying data: :class:`StokesConcatReader` is an
:class:`ImageReader` whose Stokes index ``k`` is served by the ``k``-th part's reader
(its own Stokes index 0), so memory maps, HDF5 swizzled spectra, mip maps and stored
statistics of the parts keep working per plane.

:func:`concat_stokes_files` validates in the reference's order with its messages
(FILES_REGIONS_CATALOGS.md §3):

1. fewer than 2 files: ``Need at least two files to concatenate!``; more than 4:
   ``Can not concatenate more than four files!`` (ours: the reference lets five
   contiguous types through);
2. per file in request order: repeated polarization ``Duplicate Stokes type found!``,
   path errors of :func:`~carta_trio.io.paths.resolve_file` (no prefix), the same file
   twice ``The same file can not be used twice!`` (ours: the reference would show the
   same data twice), ``Failed to open the file: <msg>``, a file type differing from the
   first ``Different file types can not be concatenated!``;
3. more than 2 files: FITS Stokes codes in request order need a constant step, else
   ``Hypercube <names> is not allowed!``;
4. polarization NONE or computed (Ptotal...): ``Failed to set the stokes coordinate
   system!`` (the reference fails or silently drops them);
5. same shape, spectral and Stokes axis: ``Image shapes or axes are not consistent!``;
6. a file with a Stokes axis holding more than one value: ``Stokes coordinate has no or
   multiple stokes types!``;
7. the world coordinates of every non-Stokes axis must match the first file's
   (casacore's strict check in ``ImageConcat::setImage``): ``Failed to concatenate
   images: <what differs>``.

Planes are ordered by the polarization enum (I, Q, U, V, RR, LL, RL, LR, XX, YY, XY, YX),
not request order; the Stokes axis of the result carries those FITS codes (the
validation guarantees a constant step). The name is the longest common prefix of the
``file`` strings + ``hypercube_`` + the type names in enum order + the longest common
suffix. Everything here is blocking; callers run it in a worker thread.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from carta_trio.io import images, paths
from carta_trio.io.axis_roles import roles_from_header
from carta_trio.io.fits_header import format_card
from carta_trio.io.generated_image import CASA_FILE_TYPE, structural_cards
from carta_trio.io.image_reader import Beam, HeaderCard, ImageOpenError, ImageReader

__all__ = [
    "FITS_STOKES_CODES",
    "POLARIZATION_NAMES",
    "ConcatError",
    "StokesConcatReader",
    "StokesFile",
    "carried_cards",
    "concat_name",
    "concat_stokes_files",
]

#: CARTA.PolarizationType value -> name, for the twelve types a file plane can have.
POLARIZATION_NAMES = {1: "I", 2: "Q", 3: "U", 4: "V", 5: "RR", 6: "LL", 7: "RL", 8: "LR",
                      9: "XX", 10: "YY", 11: "XY", 12: "YX"}
log = logging.getLogger(__name__)

#: CARTA.PolarizationType value -> FITS Stokes code.
FITS_STOKES_CODES = {1: 1, 2: 2, 3: 3, 4: 4, 5: -1, 6: -2, 7: -3, 8: -4, 9: -5, 10: -6, 11: -7, 12: -8}
MAX_FILES = 4

#: Keys of the first file's header that do not describe the joined image.
_DROPPED = {"SIMPLE", "BITPIX", "NAXIS", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "BSCALE", "BZERO",
            "BLANK", "DATAMIN", "DATAMAX", "CHECKSUM", "DATASUM", "END", "WCSAXES"}


class ConcatError(Exception):
    """The files cannot be joined; ``str(exc)`` is the ack's message."""


@dataclass(frozen=True)
class StokesFile:
    """One ``CARTA.StokesFile`` of the request."""

    directory: str
    file: str
    hdu: str
    polarization: int


def _common_prefix(names: Sequence[str]) -> str:
    return os.path.commonprefix(list(names))


def concat_name(files: Sequence[StokesFile]) -> str:
    """The reference's name: common prefix + ``hypercube_`` + types in enum order + common suffix."""
    names = [f.file for f in files]
    prefix = _common_prefix(names)
    suffix = _common_prefix([n[::-1] for n in names])[::-1]
    types = "".join(POLARIZATION_NAMES.get(p, "") for p in sorted({f.polarization for f in files}))
    return f"{prefix}hypercube_{types}{suffix}"


def _contiguous(files: Sequence[StokesFile]) -> bool:
    """More than two files: FITS codes in request order have a constant step (the
    reference's check, order-dependent; unknown types are skipped)."""
    step, last = 0, 0
    for f in files:
        code = FITS_STOKES_CODES.get(f.polarization)
        if code is None:
            continue
        if last != 0:
            if step == 0:
                step = code - last
            elif code - last != step:
                return False
        last = code
    return True


def _is_structural(key: str) -> bool:
    return key in _DROPPED or (key.startswith("NAXIS") and key[5:].isdigit())


def carried_cards(cards: Sequence[HeaderCard]) -> list[HeaderCard]:
    """A source header without what does not describe a derived in-memory image
    (structure, scaling, checksums), to follow new structural cards."""
    return [c for c in cards if not _is_structural(c.key)]


def _mapping(reader: ImageReader) -> dict[str, Any]:
    return {c.key: c.value for c in reader.header_cards() if c.value is not None}


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _world_difference(first: dict[str, Any], other: dict[str, Any], ndim: int, skip: int | None) -> str | None:
    """What differs between two headers' world coordinates (None when they agree)."""
    for axis in range(1, ndim + 1):
        if skip is not None and axis == skip + 1:
            continue
        a_type = str(first.get(f"CTYPE{axis}", "")).strip().upper()
        b_type = str(other.get(f"CTYPE{axis}", "")).strip().upper()
        if a_type != b_type:
            return f"axis {axis} types differ ({a_type or 'none'} and {b_type or 'none'})"
        for key in ("CRVAL", "CDELT", "CRPIX"):
            a, b = _number(first.get(f"{key}{axis}")), _number(other.get(f"{key}{axis}"))
            if a is None and b is None:
                continue
            if a is None or b is None:
                return f"{key}{axis} differs"
            scale = max(abs(a), abs(b), abs(_number(first.get(f"CDELT{axis}")) or 0.0))
            if abs(a - b) > 1e-6 * max(scale, 1e-30):
                return f"{key}{axis} differs ({a:.10g} and {b:.10g})"
    return None


class StokesConcatReader(ImageReader):
    """Single-Stokes readers joined along a Stokes axis, read on demand.

    ``parts`` are ordered by Stokes index (enum order) with their FITS ``codes``; each
    part has the joined image's axes except the Stokes axis (absent, or of length 1).
    The reader owns the parts and closes them. Reads of different Stokes planes go to
    different files, so concurrency is that of the parts.
    """

    def __init__(self, name: str, parts: Sequence[ImageReader], codes: Sequence[int]) -> None:
        if len(parts) != len(codes) or len(parts) < 2:
            raise ValueError("need one Stokes code per part and at least two parts")
        first = parts[0]
        self.name = name
        self.path = Path(name)
        self.hdu = ""
        self.file_type = CASA_FILE_TYPE
        self.data_type = "float"
        self.unit = first.unit
        self._parts = list(parts)
        self._codes = [int(c) for c in codes]
        if first.axes.stokes is None:
            self._stokes_axis = first.ndim
            self._appended = True
            self.shape = tuple(first.shape) + (len(parts),)
        else:
            self._stokes_axis = first.axes.stokes
            self._appended = False
            shape = list(first.shape)
            shape[self._stokes_axis] = len(parts)
            self.shape = tuple(shape)
        self._cards = self._build_cards(first)
        self.axes, self.stokes_values = roles_from_header(self.header_mapping(), self.shape)
        if self.axes.stokes != self._stokes_axis:
            raise ConcatError("Failed to set the stokes coordinate system!")
        levels = [set(p.mip_levels) for p in self._parts]
        self._mip_levels = sorted(set.intersection(*levels)) if levels else []

    # -- header -------------------------------------------------------------------
    def _build_cards(self, first: ImageReader) -> list[HeaderCard]:
        n = self._stokes_axis + 1
        step = self._codes[1] - self._codes[0]
        stokes_keys = {f"CTYPE{n}", f"CRVAL{n}", f"CDELT{n}", f"CRPIX{n}", f"CUNIT{n}", f"CROTA{n}"}
        own = [c for c in first.header_cards() if not _is_structural(c.key) and c.key not in stokes_keys]
        stokes = [HeaderCard(f"CTYPE{n}", "STOKES", ""), HeaderCard(f"CRVAL{n}", float(self._codes[0]), ""),
                  HeaderCard(f"CDELT{n}", float(step), ""), HeaderCard(f"CRPIX{n}", 1.0, ""),
                  HeaderCard(f"CUNIT{n}", "", "")]
        # the Stokes cards go after the last WCS card of the lower axes, before anything else
        last_wcs = max((i for i, c in enumerate(own) if c.key[:5] in ("CTYPE", "CRVAL", "CDELT", "CRPIX", "CUNIT")),
                       default=len(own) - 1)
        return structural_cards(self.shape) + own[: last_wcs + 1] + stokes + own[last_wcs + 1:]

    def header_cards(self) -> list[HeaderCard]:
        return list(self._cards)

    def header_strings(self) -> list[str]:
        return [format_card(c.key, c.value, c.comment) for c in self._cards]

    def header_mapping(self) -> dict[str, Any]:
        return {c.key: c.value for c in self._cards if c.value is not None}

    def beams(self) -> list[Beam]:
        """One beam if every part has the same single beam, else one per plane (channel
        fastest) taken from each part; none if a part has none."""
        per_part = [p.beams() for p in self._parts]
        if any(not b for b in per_part):
            return []
        if all(len(b) == 1 for b in per_part) and len({b[0] for b in per_part}) == 1:
            return [per_part[0][0]]
        depth = self.depth
        out: list[Beam] = []
        for beams in per_part:
            if len(beams) == 1:
                out.extend(beams * depth)
            elif len(beams) >= depth:
                out.extend(beams[:depth])
            else:
                return []
        return out

    def source_paths(self) -> list[Path]:
        """The files the planes are read from (SAVE_FILE must not overwrite them)."""
        return [Path(p.path) for p in self._parts]

    # -- data ---------------------------------------------------------------------
    def part(self, stokes: int) -> ImageReader:
        """The reader serving Stokes index ``stokes``."""
        if not 0 <= stokes < len(self._parts):
            raise IndexError(f"stokes {stokes} outside [0, {len(self._parts)})")
        return self._parts[stokes]

    def read_cube(self, x0: int, x1: int, y0: int, y1: int, z0: int, z1: int, stokes: int) -> np.ndarray:
        self._check_box(x0, x1, y0, y1, z0, z1, stokes)
        return self._parts[stokes].read_cube(x0, x1, y0, y1, z0, z1, 0)

    def read_plane(self, channel: int, stokes: int) -> np.ndarray:
        self._check_box(0, self.width, 0, self.height, channel, channel + 1, stokes)
        return self._parts[stokes].read_plane(channel, 0)

    def read_spectrum(self, x: int, y: int, stokes: int, z0: int = 0, z1: int | None = None) -> np.ndarray:
        z1 = self.depth if z1 is None else z1
        self._check_box(x, x + 1, y, y + 1, z0, z1, stokes)
        return self._parts[stokes].read_spectrum(x, y, 0, z0, z1)

    def _read_region(self, starts: Sequence[int], stops: Sequence[int]) -> np.ndarray:
        s = self._stokes_axis
        pieces = []
        for index in range(int(starts[s]), int(stops[s])):
            part = self._parts[index]
            if self._appended:
                sub_starts, sub_stops = list(starts[:s]), list(stops[:s])
                piece = part._read_region(sub_starts, sub_stops)[np.newaxis]
            else:
                sub_starts, sub_stops = list(starts), list(stops)
                sub_starts[s], sub_stops[s] = 0, 1
                piece = part._read_region(sub_starts, sub_stops)
            pieces.append(piece)
        return np.concatenate(pieces, axis=self.ndim - 1 - s)

    def mipmap(self, mip: int, channel: int, stokes: int,
               bounds: tuple[int, int, int, int] | None = None) -> np.ndarray | None:
        if mip not in self._mip_levels:
            return None
        return self.part(stokes).mipmap(mip, channel, 0, bounds)

    @property
    def mip_levels(self) -> list[int]:
        return list(self._mip_levels)

    def precomputed_stats(self, channel: int, stokes: int) -> dict[str, Any] | None:
        return self.part(stokes).precomputed_stats(channel, 0)

    def precomputed_cube_stats(self, stokes: int) -> dict[str, Any] | None:
        return self.part(stokes).precomputed_cube_stats(0)

    def close(self) -> None:
        """Close every part (once; closing again does nothing)."""
        parts, self._parts = self._parts, []
        for p in parts:
            p.close()


def _close_all(readers: dict[int, ImageReader]) -> None:
    for reader in readers.values():
        try:
            reader.close()
        except Exception:  # closing must not hide the real error
            log.debug("closing %s failed", reader.path, exc_info=True)


def concat_stokes_files(top: str | Path, files: Sequence[StokesFile],
                        starting: str | Path | None = None) -> StokesConcatReader:
    """Validate and join ``files`` (see the module docstring); raises :class:`ConcatError`."""
    if len(files) < 2:
        raise ConcatError("Need at least two files to concatenate!")
    if len(files) > MAX_FILES:
        raise ConcatError("Can not concatenate more than four files!")
    readers: dict[int, ImageReader] = {}
    try:
        return _concat(top, files, starting, readers)
    except BaseException:
        _close_all(readers)
        raise


def _concat(top: str | Path, files: Sequence[StokesFile], starting: str | Path | None,
            readers: dict[int, ImageReader]) -> StokesConcatReader:
    seen_paths: set[str] = set()
    first_type: int | None = None
    for f in files:
        if f.polarization in readers:
            raise ConcatError("Duplicate Stokes type found!")
        try:
            path = paths.resolve_file(top, f.directory, f.file, starting)
        except paths.PathError as exc:
            raise ConcatError(exc.message) from exc
        key = os.path.realpath(path)
        if key in seen_paths:
            raise ConcatError("The same file can not be used twice!")
        seen_paths.add(key)
        try:
            reader = images.open_image(path, f.hdu)
        except (ImageOpenError, OSError, RuntimeError, ValueError) as exc:
            raise ConcatError(f"Failed to open the file: {exc}") from exc
        readers[f.polarization] = reader
        if first_type is None:
            first_type = reader.file_type
        elif reader.file_type != first_type:
            raise ConcatError("Different file types can not be concatenated!")
    name = concat_name(files)
    if len(files) > 2 and not _contiguous(files):
        types = "".join(POLARIZATION_NAMES.get(p, "") for p in sorted(readers))
        raise ConcatError(f"Hypercube {types} is not allowed!")
    if any(p not in FITS_STOKES_CODES for p in readers):
        raise ConcatError("Failed to set the stokes coordinate system!")
    ordered = [readers[p] for p in sorted(readers)]
    first = ordered[0]
    for reader in ordered[1:]:
        if (reader.shape != first.shape or reader.axes.spectral != first.axes.spectral
                or reader.axes.stokes != first.axes.stokes):
            raise ConcatError("Image shapes or axes are not consistent!")
    if first.axes.stokes is not None and any(r.num_stokes != 1 for r in ordered):
        raise ConcatError("Stokes coordinate has no or multiple stokes types!")
    reference = _mapping(first)
    for reader in ordered[1:]:
        difference = _world_difference(reference, _mapping(reader), first.ndim, first.axes.stokes)
        if difference is not None:
            raise ConcatError(f"Failed to concatenate images: coordinate systems differ, {difference}")
    codes = [FITS_STOKES_CODES[p] for p in sorted(readers)]
    return StokesConcatReader(name, ordered, codes)
