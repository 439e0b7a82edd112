"""IDIA-schema HDF5 images (h5py), with the schema's helper datasets.

Layout, per image group (``"0"`` by default), as carta-backend v4.1.0's ``Hdf5Loader``
reads it (casacore's HDF5 lattices use Fortran axis order, so the h5py/C shapes below
are reversed from the reference's names):

* ``DATA``: the image, C shape ``(nstokes, nz, ny, nx)`` / ``(nz, ny, nx)`` / ``(ny, nx)``;
* ``SwizzledData/ZYXW`` ``(nstokes, nx, ny, nz)``, ``ZYX`` ``(nx, ny, nz)``, ``YX``
  ``(nx, ny)``: the same data with the spectral axis fastest, for spectra;
* ``MipMaps/DATA/DATA_XY_<mip>``: block-mean downsampled planes, C shape
  ``(nstokes, nz, ceil(ny/mip), ceil(nx/mip))`` (fewer leading axes for 2D/3D);
* ``Statistics/XY/{MIN,MAX,SUM,SUM_SQ,NAN_COUNT}`` per plane, C shape ``(nstokes, nz)``
  / ``(nz,)`` / scalar, ``Statistics/XY/HISTOGRAM`` with a trailing bin axis, and the
  same under ``Statistics/XYZ`` per Stokes for the whole cube;
* the group's attributes are the FITS header, read in creation order.

Masked pixels are the non-finite ones (NaN and +-Inf come back as NaN), as the
reference's ``CartaHdf5Image`` mask.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from carta_trio.io.axis_roles import roles_from_header
from carta_trio.io.fits_header import header_beam
from carta_trio.io.image_reader import Beam, HeaderCard, ImageOpenError, ImageReader
from carta_trio.io.safe_read import FileSignature

log = logging.getLogger(__name__)

HDF5_FILE_TYPE = 4  # CARTA.FileType.HDF5
#: ROTATED_DATASET | CHANNEL_HISTOGRAMS | CUBE_HISTOGRAMS, as the reference sets for every HDF5 file.
HDF5_FEATURE_FLAGS = 1 | 2 | 4
MIP_DATASET_FLAG = 32
OPEN_ERROR = "Error opening HDF5 image"
_MIP_NAME = re.compile(r"DATA_XY_(\d+)$")
_STATS_NAMES = {"MIN": "min", "MAX": "max", "SUM": "sum", "SUM_SQ": "sum_sq",
                "NAN_COUNT": "nan_count", "HISTOGRAM": "histogram", "PERCENTILES": "percentiles"}


def read_attributes(group: h5py.Group) -> list[tuple[str, Any, str]]:
    """The group's scalar attributes in creation order (name order if the file does not
    track it) as ``(name, typed value, FITS card image)``.

    Types as the reference reads them: a 1-byte unsigned or 4-byte signed integer is a
    logical, other integers are integers, floats are doubles printed ``{:#.13G}``,
    strings are quoted. Non-scalar attributes are skipped.
    """
    names: list[str] = []
    try:
        h5py.h5a.iterate(group.id, lambda name, *_: names.append(name.decode()),
                         index_type=h5py.h5.INDEX_CRT_ORDER)
    except (KeyError, ValueError, RuntimeError):
        names = sorted(group.attrs.keys())
    out = []
    for name in names:
        try:
            raw = group.attrs.get_id(name)
            dtype = raw.dtype
            if raw.shape not in ((), None):
                continue
            value = group.attrs[name]
        except (OSError, TypeError, KeyError) as err:
            log.warning("HDF5 attribute %s unreadable: %s", name, err)
            continue
        typed, text = _attribute_value(dtype, value)
        out.append((name, typed, f"{name:<8}= {text}".ljust(80)))
    return out


def _attribute_value(dtype: np.dtype, value: Any) -> tuple[Any, str]:
    if dtype.kind == "b" or (dtype.kind == "u" and dtype.itemsize == 1) or (
            dtype.kind == "i" and dtype.itemsize == 4):
        flag = bool(value)
        return flag, "T" if flag else "F"
    if dtype.kind in "iu":
        return int(value), str(int(value))
    if dtype.kind == "f":
        return float(value), format(float(value), "#.13G")
    if isinstance(value, bytes):
        value = value.split(b"\0", 1)[0].decode("utf-8", "replace")
    text = str(value)
    return text, f"'{text}'"


class Hdf5Reader(ImageReader):
    """One image group of an IDIA HDF5 file. h5py serialises access internally."""

    def __init__(self, path: str | os.PathLike[str], hdu: str = "") -> None:
        self.path = Path(path)
        self.file_type = HDF5_FILE_TYPE
        self.hdu = hdu or "0"
        try:
            self._signature = FileSignature.of(self.path)
            self._file = h5py.File(self.path, "r")
        except (OSError, ValueError) as err:
            log.info("h5py cannot open %s: %s", self.path, err)
            raise ImageOpenError(OPEN_ERROR) from err
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self) -> None:
        group = self._file.get(self.hdu)
        if not isinstance(group, h5py.Group):
            raise ImageOpenError(f"HDF5 error: Could not open group {self.hdu} in parent {self.path.name}")
        self._group = group
        data = group.get("DATA")
        if not isinstance(data, h5py.Dataset):
            raise ImageOpenError(OPEN_ERROR)
        self._data = data
        attributes = read_attributes(group)
        header = {name: typed for name, typed, _ in reversed(attributes)}
        if "SIMPLE" not in header:
            raise ImageOpenError(OPEN_ERROR)
        self._attributes = attributes
        self._header = header
        if not 2 <= data.ndim <= 4:
            raise ImageOpenError("Image must be 2D, 3D or 4D.")
        self.shape = tuple(reversed(data.shape))
        self.data_type = {4: "float", 8: "double"}.get(data.dtype.itemsize, "float") \
            if data.dtype.kind == "f" else str(data.dtype)
        self.unit = str(header.get("BUNIT", "") or "").strip()
        self.axes, self.stokes_values = roles_from_header(header, self.shape)
        self._swizzled = self._find_swizzled()
        self._mips = self._find_mips()
        self.feature_flags = HDF5_FEATURE_FLAGS | (MIP_DATASET_FLAG if self._mips else 0)

    def _find_swizzled(self) -> h5py.Dataset | None:
        name = {2: "YX", 3: "ZYX", 4: "ZYXW"}[self.ndim]
        ds = self._group.get(f"SwizzledData/{name}")
        standard = (self.axes.x, self.axes.y, self.axes.z) == (0, 1, 2 if self.ndim > 2 else None)
        if isinstance(ds, h5py.Dataset) and standard:
            expected = self.shape if self.ndim < 4 else (self.shape[3],) + self.shape[:3]
            if tuple(ds.shape) == expected:
                return ds
            log.warning("Ignoring SwizzledData/%s of shape %s in %s", name, ds.shape, self.path)
        return None

    def _find_mips(self) -> dict[int, h5py.Dataset]:
        mips: dict[int, h5py.Dataset] = {}
        group = self._group.get("MipMaps/DATA")
        if isinstance(group, h5py.Group):
            for name, ds in group.items():
                match = _MIP_NAME.match(name)
                if match and isinstance(ds, h5py.Dataset) and ds.ndim == self.ndim:
                    mips[int(match.group(1))] = ds
        return dict(sorted(mips.items()))

    @property
    def has_swizzled(self) -> bool:
        return self._swizzled is not None

    # -- data ---------------------------------------------------------------------
    def _read(self, dataset: h5py.Dataset, index: Any) -> Any:
        """``dataset[index]``, refused when the file changed since it was opened.

        HDF5 returns zeros (the fill value) for chunks beyond the end of a truncated
        file, so the file is checked before and after the read.
        """
        self._signature.check()
        values = dataset[index]
        self._signature.check()
        return values

    def _read_region(self, starts: Sequence[int], stops: Sequence[int]) -> np.ndarray:
        slices = tuple(slice(a, b) for a, b in zip(reversed(starts), reversed(stops)))
        return _finite_float32(self._read(self._data, slices))

    def read_spectrum(self, x: int, y: int, stokes: int, z0: int = 0, z1: int | None = None) -> np.ndarray:
        """Uses ``SwizzledData`` when present (one contiguous read per spectrum)."""
        if z1 is None:
            z1 = self.depth
        if self._swizzled is None or self.ndim < 3:
            return super().read_spectrum(x, y, stokes, z0, z1)
        self._check_box(x, x + 1, y, y + 1, z0, z1, stokes)
        if self.ndim == 4:
            values = self._read(self._swizzled, (stokes, x, y, slice(z0, z1)))
        else:
            values = self._read(self._swizzled, (x, y, slice(z0, z1)))
        return _finite_float32(values)

    def read_cube(self, x0: int, x1: int, y0: int, y1: int, z0: int, z1: int, stokes: int) -> np.ndarray:
        """Uses ``SwizzledData`` for boxes deeper than their area (the reference's rule
        for region spectra: height * depth >= width, here area <= depth)."""
        if self._swizzled is None or self.ndim < 3 or (x1 - x0) * (y1 - y0) > (z1 - z0):
            return super().read_cube(x0, x1, y0, y1, z0, z1, stokes)
        self._check_box(x0, x1, y0, y1, z0, z1, stokes)
        if self.ndim == 4:
            block = self._read(self._swizzled, (stokes, slice(x0, x1), slice(y0, y1), slice(z0, z1)))
        else:
            block = self._read(self._swizzled, (slice(x0, x1), slice(y0, y1), slice(z0, z1)))
        return np.ascontiguousarray(_finite_float32(block).transpose(2, 1, 0))

    def mipmap(self, mip: int, channel: int, stokes: int,
               bounds: tuple[int, int, int, int] | None = None) -> np.ndarray | None:
        """The ``DATA_XY_<mip>`` plane ``[ceil(h/mip), ceil(w/mip)]``, or the part covering
        full-resolution ``bounds = (x0, x1, y0, y1)`` (mip pixels ``ceil(v / mip)``, as the
        reference); None if that mip level is absent."""
        ds = self._mips.get(mip)
        if ds is None:
            return None
        self._check_box(0, self.width, 0, self.height, channel, channel + 1, stokes)
        ny, nx = ds.shape[-2], ds.shape[-1]
        if bounds is None:
            xs, ys = slice(0, nx), slice(0, ny)
        else:
            x0, x1, y0, y1 = (math.ceil(v / mip) for v in bounds)
            xs, ys = slice(x0, min(x1, nx)), slice(y0, min(y1, ny))
        index: tuple[Any, ...] = (ys, xs)
        if self.ndim >= 3:
            index = (channel,) + index
        if self.ndim == 4:
            index = (stokes,) + index
        return _finite_float32(self._read(ds, index))

    @property
    def mip_levels(self) -> list[int]:
        return list(self._mips)

    def precomputed_stats(self, channel: int, stokes: int) -> dict[str, Any] | None:
        """``Statistics/XY`` for one plane: keys ``min``, ``max``, ``sum``, ``sum_sq``,
        ``nan_count``, ``histogram`` (int64 bin counts over [min, max]) and
        ``percentiles`` + ``percentile_ranks`` where the file has them."""
        self._check_box(0, self.width, 0, self.height, channel, channel + 1, stokes)
        index: tuple[int, ...] = ()
        if self.ndim == 4:
            index = (stokes, channel)
        elif self.ndim == 3:
            index = (channel,)
        return self._stats("Statistics/XY", index)

    def precomputed_cube_stats(self, stokes: int) -> dict[str, Any] | None:
        """``Statistics/XYZ`` for one Stokes (3D and 4D images)."""
        if self.ndim < 3:
            return None
        if not 0 <= stokes < self.num_stokes:
            raise IndexError(f"stokes {stokes} outside [0, {self.num_stokes})")
        return self._stats("Statistics/XYZ", (stokes,) if self.ndim == 4 else ())

    def _stats(self, where: str, index: tuple[int, ...]) -> dict[str, Any] | None:
        self._signature.check()
        group = self._group.get(where)
        if not isinstance(group, h5py.Group):
            return None
        out: dict[str, Any] = {}
        for name, key in _STATS_NAMES.items():
            ds = group.get(name)
            if not isinstance(ds, h5py.Dataset):
                continue
            try:
                value = ds[index] if index else ds[()]
            except (ValueError, IndexError) as err:
                log.warning("Statistics dataset %s/%s does not fit the image: %s", where, name, err)
                continue
            if key in ("histogram", "nan_count"):
                out[key] = np.asarray(value, dtype=np.int64) if key == "histogram" else int(value)
            elif key == "percentiles":
                out[key] = np.asarray(value, dtype=np.float64)
            else:
                out[key] = float(value)
        ranks = self._group.get("PERCENTILE_RANKS")
        if "percentiles" in out and isinstance(ranks, h5py.Dataset):
            out["percentile_ranks"] = np.asarray(ranks[()], dtype=np.float64)
        return out or None

    # -- header -------------------------------------------------------------------
    def header_cards(self) -> list[HeaderCard]:
        return [HeaderCard(name, typed, "") for name, typed, _ in self._attributes]

    def header_strings(self) -> list[str]:
        return [card for _, _, card in self._attributes]

    def beams(self) -> list[Beam]:
        beam = header_beam(self._header)
        return [beam] if beam else []

    def close(self) -> None:
        try:
            self._file.close()
        except (AttributeError, ValueError):
            pass


def _finite_float32(values: Any) -> np.ndarray:
    out = np.array(values, dtype=np.float32, copy=None)
    infinite = np.isinf(out)
    if infinite.any():
        out = out.copy() if not out.flags.writeable else out
        out[infinite] = np.nan
    return out
