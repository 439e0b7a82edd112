"""The image reader interface shared by every file format.

An :class:`ImageReader` presents one image (one FITS HDU, one HDF5 group, one
CASA or MIRIAD image) as float32 data addressed the way the CARTA reference
addresses it: two *render* axes ``x`` (width) and ``y`` (height), an optional
*depth* axis ``z`` (channels) and an optional Stokes axis. Pixel values have
BSCALE/BZERO applied and masked pixels (BLANK, the image mask, NaN) are NaN.

Axis numbers in this module are 0-based *file* axes in FITS order (``NAXIS1`` is
axis 0), which is also casacore's order; numpy arrays read from a file have the
reverse order. ``shape`` is in FITS order too.

Subclasses implement :meth:`ImageReader._read_region` (a box in file axes,
returned in numpy order) and may override the read methods with faster paths
(memory maps, swizzled HDF5 datasets).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np


class ImageOpenError(Exception):
    """An image could not be opened; ``str(error)`` is the client-facing message.

    Messages follow the reference backend where it has one, e.g.
    ``File nope.fits does not exist.``, ``Error reading FITS file.``,
    ``Error opening HDF5 image``, ``HDF5 error: Could not open group 1 in parent <path>``.
    """

    @property
    def message(self) -> str:
        return str(self)


class HeaderCard(NamedTuple):
    """One FITS-like header card.

    ``value`` is typed: ``str``, ``bool`` (FITS logical), ``int``, ``float``,
    ``complex`` or ``None`` (``HISTORY``/``COMMENT``/cards without a value, whose
    text is in ``comment``).
    """

    key: str
    value: Any
    comment: str


class Beam(NamedTuple):
    """A restoring beam: major and minor FWHM in arcsec, position angle in degrees."""

    major: float
    minor: float
    pa: float


@dataclasses.dataclass(frozen=True)
class AxisRoles:
    """Which file axis plays which role (0-based FITS-order axis numbers).

    ``x``/``y`` are the render axes (the plane's width and height), ``z`` the depth
    axis stepped by channel, ``stokes`` the polarization axis. ``spectral`` and
    ``spatial_x``/``spatial_y`` describe the coordinates, which need not coincide with
    the render axes: as in the reference, a cube stored (FREQ, RA, DEC) renders FREQ x RA
    planes with DEC as depth (the frontend handles that as a "swapped-Z" image).
    """

    ndim: int
    x: int
    y: int
    z: int | None = None
    stokes: int | None = None
    spectral: int | None = None
    spatial_x: int | None = None
    spatial_y: int | None = None

    def axes_numbers(self) -> dict[str, int]:
        """1-based axis numbers as in ``FileInfoExtended.axes_numbers`` (0 = absent)."""

        def one(axis: int | None) -> int:
            return 0 if axis is None else axis + 1

        return {
            "spatial_x": one(self.spatial_x),
            "spatial_y": one(self.spatial_y),
            "spectral": one(self.spectral),
            "stokes": one(self.stokes),
            "depth": one(self.z),
        }


class ImageReader:
    """Base class: geometry, bounds checking and the generic read paths.

    Attributes set by subclasses before use: ``path``, ``hdu`` (the resolved HDU key:
    FITS ``"0"``, ``"1"``...; HDF5 group name; ``""`` for CASA/MIRIAD), ``file_type``
    (a ``CARTA.FileType`` value), ``shape`` (FITS order), ``axes``, ``unit``,
    ``data_type`` (the reference's storage type name: ``float``, ``double``, ``Short``,
    ``Int``, ``Int64``, ``uChar``, ``Complex``...), ``stokes_values`` (FITS Stokes codes
    per index of the Stokes axis, e.g. ``[1, 2, 3, 4]`` for I, Q, U, V; empty when the
    file gives none).

    Readers are not safe for concurrent use from several threads unless a subclass says
    so; a Frame owns one reader.
    """

    path: Path
    hdu: str = ""
    file_type: int = 6
    shape: tuple[int, ...] = ()
    axes: AxisRoles
    unit: str = ""
    data_type: str = "float"
    stokes_values: list[int]
    #: ``CARTA.FileFeatureFlags`` bits for OPEN_FILE_ACK (HDF5 only in the reference).
    feature_flags: int = 0

    # -- geometry -----------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def width(self) -> int:
        return self.shape[self.axes.x]

    @property
    def height(self) -> int:
        return self.shape[self.axes.y]

    @property
    def depth(self) -> int:
        return 1 if self.axes.z is None else self.shape[self.axes.z]

    @property
    def num_stokes(self) -> int:
        return 1 if self.axes.stokes is None else self.shape[self.axes.stokes]

    # -- reading ------------------------------------------------------------------
    def read_plane(self, channel: int, stokes: int) -> np.ndarray:
        """One whole plane as float32 ``[height, width]``."""
        plane: np.ndarray = self.read_cube(0, self.width, 0, self.height, channel, channel + 1, stokes)[0]
        return plane

    def read_cube(self, x0: int, x1: int, y0: int, y1: int, z0: int, z1: int, stokes: int) -> np.ndarray:
        """A box as float32 ``[z, y, x]``; bounds are half-open pixel ranges."""
        self._check_box(x0, x1, y0, y1, z0, z1, stokes)
        starts, stops = self._file_box(x0, x1, y0, y1, z0, z1, stokes)
        region = self._read_region(starts, stops)
        return self._to_zyx(region)

    def read_spectrum(self, x: int, y: int, stokes: int, z0: int = 0, z1: int | None = None) -> np.ndarray:
        """Values along the depth axis at pixel (x, y) as float32 ``[z]``."""
        if z1 is None:
            z1 = self.depth
        return self.read_cube(x, x + 1, y, y + 1, z0, z1, stokes)[:, 0, 0]

    def header_cards(self) -> list[HeaderCard]:
        """The header as FITS-like cards, in file order."""
        raise NotImplementedError

    def header_strings(self) -> list[str]:
        """The header as 80-character FITS card images (no ``END``), as the reference
        feeds its header-entry parser: the file's own cards for FITS, the attribute
        strings the reference builds for HDF5, casacore's FITS conversion for CASA/MIRIAD."""
        raise NotImplementedError

    def beams(self) -> list[Beam]:
        """Restoring beams: ``[]``, one beam, or one per plane ordered with the channel
        varying fastest (index = stokes * depth + channel), as the reference's beam table."""
        return []

    def mipmap(self, mip: int, channel: int, stokes: int,
               bounds: tuple[int, int, int, int] | None = None) -> np.ndarray | None:
        """A precomputed downsampled plane (HDF5 ``MipMaps``), or None if the file has none."""
        return None

    @property
    def mip_levels(self) -> list[int]:
        """Mip factors with precomputed datasets (HDF5 only)."""
        return []

    def precomputed_stats(self, channel: int, stokes: int) -> dict[str, Any] | None:
        """Per-plane statistics stored in the file (HDF5 ``Statistics/XY``), or None."""
        return None

    def precomputed_cube_stats(self, stokes: int) -> dict[str, Any] | None:
        """Whole-cube statistics stored in the file (HDF5 ``Statistics/XYZ``), or None."""
        return None

    def source_paths(self) -> list[Path]:
        """The files whose data this image shows (one; several for joined Stokes files
        and image expressions). SAVE_FILE refuses to overwrite any of them."""
        return [self.path]

    def close(self) -> None:
        """Release file handles and maps. Arrays already returned stay valid."""

    def __enter__(self) -> ImageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- for subclasses -----------------------------------------------------------
    def _read_region(self, starts: Sequence[int], stops: Sequence[int]) -> np.ndarray:
        """Read the box ``starts[k] <= i < stops[k]`` per file axis k; return float32 in
        numpy (reversed) axis order with all ``ndim`` axes kept."""
        raise NotImplementedError

    def _check_box(self, x0: int, x1: int, y0: int, y1: int, z0: int, z1: int, stokes: int) -> None:
        for name, lo, hi, size in (("x", x0, x1, self.width), ("y", y0, y1, self.height),
                                   ("channel", z0, z1, self.depth)):
            if not (0 <= lo < hi <= size):
                raise IndexError(f"{name} range [{lo}, {hi}) outside [0, {size})")
        if not (0 <= stokes < self.num_stokes):
            raise IndexError(f"stokes {stokes} outside [0, {self.num_stokes})")

    def _file_box(self, x0: int, x1: int, y0: int, y1: int, z0: int, z1: int,
                  stokes: int) -> tuple[list[int], list[int]]:
        starts = [0] * self.ndim
        stops = [1] * self.ndim
        a = self.axes
        starts[a.x], stops[a.x] = x0, x1
        starts[a.y], stops[a.y] = y0, y1
        if a.z is not None:
            starts[a.z], stops[a.z] = z0, z1
        if a.stokes is not None:
            starts[a.stokes], stops[a.stokes] = stokes, stokes + 1
        return starts, stops

    def _to_zyx(self, region: np.ndarray) -> np.ndarray:
        """Reorder a numpy-order region (every file axis present) to ``[z, y, x]``."""
        n = self.ndim
        a = self.axes
        order = [n - 1 - a.y, n - 1 - a.x]
        if a.z is not None:
            order.insert(0, n - 1 - a.z)
        rest = [i for i in range(n) if i not in order]
        out = np.transpose(region, order + rest).reshape(
            [region.shape[i] for i in order])
        if a.z is None:
            out = out[np.newaxis]
        return out


def backing_file(reader: Any) -> Path | None:
    """The one file (or CASA/MIRIAD folder) whose pixels a reader shows, by the absolute
    path another process can open; None for images that exist only in this server
    (joined Stokes files, expressions, in-memory generated images named after a source)."""
    sources = reader.source_paths()
    if len(sources) != 1:
        return None
    path = Path(sources[0])
    if not path.is_absolute() or Path(reader.path) != path:
        return None
    return path


def fits_stokes_values(crval: float, crpix: float, cdelt: float, count: int) -> list[int]:
    """FITS Stokes codes per index: ``int(CRVAL + (i + 1 - CRPIX) * CDELT)`` (truncated as
    the reference's C++, which also keeps CDELT as an ``int``), empty when that is 0."""
    cdelt = int(cdelt)
    if cdelt == 0:
        return []
    return [int(crval + (i + 1 - crpix) * cdelt) for i in range(count)]
