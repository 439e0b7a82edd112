"""In-memory images made by the backend: moments, PV diagrams, fitting models and residuals.

The reference keeps such results as casacore ``TempImage``s and opens them as frames
like any file (WIRE.md §8.3): the client gets an OpenFileAck whose ``file_info`` is
``{name, type CASA, size 0, HDU_list [""]}`` and a FileInfoExtended built from the
image's FITS-like header, then asks for tiles, profiles and statistics as usual.

:class:`GeneratedImage` is that image: a float32 array, header cards (WCS, BUNIT,
beam, anything else worth showing), a unit and restoring beams, behind the common
:class:`~carta_trio.io.image_reader.ImageReader` interface so a normal Frame serves
it. :func:`generated_file_info` describes it for the ack (header entries in the
converted-header style of CASA images, the computed entries and coordinate ranges of
the FITS path).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from carta_trio.io.axis_roles import roles_from_header
from carta_trio.io.computed_entries import (
    Beam as EntryBeam,
    axis_names_from_entries,
    beam_entry,
    shape_entries,
    string_entry,
)
from carta_trio.io.coord_ranges import build_wcs, coordinate_ranges
from carta_trio.io.coordinate_block import header_block_entries
from carta_trio.io.fits_header import format_card
from carta_trio.io.header_entries import entries_from_converted_header
from carta_trio.io.image_reader import Beam, HeaderCard, ImageReader
from carta_trio.messages import schema as pb

__all__ = ["GeneratedImage", "generated_file_info", "structural_cards", "CASA_FILE_TYPE"]

CASA_FILE_TYPE = 0  # CARTA.FileType.CASA: how the reference labels in-memory images
_STRUCTURAL = ("SIMPLE", "BITPIX", "NAXIS", "EXTEND", "END")


def structural_cards(shape: Sequence[int]) -> list[HeaderCard]:
    """``SIMPLE``/``BITPIX``/``NAXIS``/``NAXISn`` for a float32 image of FITS-order ``shape``."""
    cards = [HeaderCard("SIMPLE", True, "Standard FITS"), HeaderCard("BITPIX", -32, "Floating point (32 bit)"),
             HeaderCard("NAXIS", len(shape), "")]
    cards += [HeaderCard(f"NAXIS{i + 1}", int(n), "") for i, n in enumerate(shape)]
    return cards


def _is_structural(key: str) -> bool:
    return key in _STRUCTURAL or (key.startswith("NAXIS") and key[5:].isdigit())


class GeneratedImage(ImageReader):
    """A float32 image held in memory.

    ``data`` is in numpy order (the reverse of FITS axis order: ``[stokes, chan, y, x]``,
    ``[chan, y, x]`` or ``[y, x]``); ``cards`` are ``(key, value, comment)`` in FITS
    order, without the structural keys (they are derived from ``data``). Masked pixels
    are NaN. Safe for concurrent reads (the array is never modified).
    """

    def __init__(
        self,
        name: str,
        data: np.ndarray,
        cards: Iterable[tuple[str, Any, str] | HeaderCard],
        *,
        unit: str | None = None,
        beams: Sequence[tuple[float, float, float]] = (),
    ) -> None:
        array = np.ascontiguousarray(data, dtype=np.float32)
        if not 2 <= array.ndim <= 4:
            raise ValueError(f"a generated image needs 2 to 4 axes, got shape {array.shape}")
        self.name = name
        self.path = Path(name)
        self.hdu = ""
        self.file_type = CASA_FILE_TYPE
        self.data_type = "float"
        self.shape = tuple(int(n) for n in reversed(array.shape))
        own = [HeaderCard(str(c[0]), c[1], str(c[2]) if len(c) > 2 else "") for c in cards]
        own = [c for c in own if not _is_structural(c.key)]
        self._cards = structural_cards(self.shape) + own
        header = {c.key: c.value for c in self._cards if c.value is not None}
        self.axes, self.stokes_values = roles_from_header(header, self.shape)
        self.unit = str(header.get("BUNIT", "")) if unit is None else unit
        self._beams = [Beam(float(a), float(b), float(c)) for a, b, c in beams]
        self._data = array
        self._data.setflags(write=False)

    @property
    def data(self) -> np.ndarray:
        """The pixels (read-only view, numpy order)."""
        return self._data

    def header_cards(self) -> list[HeaderCard]:
        return list(self._cards)

    def header_strings(self) -> list[str]:
        return [format_card(c.key, c.value, c.comment) for c in self._cards]

    def header_mapping(self) -> dict[str, Any]:
        """``{KEY: value}`` of the valued cards (the last one wins)."""
        return {c.key: c.value for c in self._cards if c.value is not None}

    def beams(self) -> list[Beam]:
        return list(self._beams)

    def _read_region(self, starts: Sequence[int], stops: Sequence[int]) -> np.ndarray:
        slices = tuple(slice(a, b) for a, b in zip(reversed(starts), reversed(stops)))
        return np.array(self._data[slices], dtype=np.float32, copy=True)


def generated_file_info(image: ImageReader, name: str | None = None) -> tuple[pb.FileInfo, pb.FileInfoExtended]:
    """``file_info`` and ``file_info_extended`` of an OpenFileAck for an in-memory image.

    Works for any reader with a ``name`` (or an explicit ``name``): generated images,
    joined Stokes files and image expressions are all described this way, as the
    reference describes every ``ImagePtrLoader`` image.
    """
    name = name if name is not None else str(getattr(image, "name"))
    info = pb.FileInfo(name=name, type=CASA_FILE_TYPE, size=0, HDU_list=[""])
    extended = pb.FileInfoExtended()
    extended.computed_entries.append(string_entry("Name", name))
    typed = [(c.key, c.value, c.comment) for c in image.header_cards() if c.key not in ("SIMPLE", "END")]
    parsed = entries_from_converted_header(typed)
    extended.header_entries.extend(parsed.entries)
    extended.computed_entries.append(string_entry("Data type", image.data_type))
    shape = list(image.shape)
    wcs = build_wcs(image.header_strings(), len(shape))
    axes = image.axes  # the roles the image was opened with (io.axis_roles)
    shape_entries(extended, shape, axes, axis_names_from_entries(parsed.entries))
    block = header_block_entries(extended, (axes.x, axes.y), axes.spectral)
    if axes.spectral is not None:
        _ensure_velocity_definition(extended)
    entry = beam_entry([EntryBeam(b.major, b.minor, b.pa) for b in image.beams()])
    if entry is not None:
        extended.computed_entries.append(entry)
    extended.computed_entries.extend(coordinate_ranges(wcs, shape, axes.stokes, block.velref))
    return info, extended


def _ensure_velocity_definition(extended: pb.FileInfoExtended) -> None:
    """The reference describes a generated image from its casacore coordinate system,
    which always has a velocity doppler: with a spectral axis it always lists
    ``Velocity definition`` after ``Spectral frame`` (FileExtInfoLoader::AddComputedEntries),
    also when the source FITS/HDF5 header had no VELREF. casacore reads such a header
    with the RADIO doppler, so that is the value then."""
    entries = extended.computed_entries
    names = [e.name for e in entries]
    if "Velocity definition" in names:
        return
    entry = string_entry("Velocity definition", "RADIO")
    at = names.index("Spectral frame") + 1 if "Spectral frame" in names else len(names)
    entries.insert(at, entry)
