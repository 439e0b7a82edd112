"""FITS images: plain and ``.fits.gz`` data read directly (``preadv``), fitsio for tile-compressed HDUs.

Plain (uncompressed) FITS data is read with :func:`carta_trio.io.safe_read.read_box` at
the HDU's data offset with the big-endian dtype of its BITPIX, so reading a plane or a
spectrum touches only those bytes; BSCALE/BZERO/BLANK are applied to the slice that was
read. No memory map: a file truncated while open would kill the process with SIGBUS;
here it is an error, and any change of size, mtime or inode since the file was opened
is reported (:class:`~carta_trio.io.safe_read.ImageChangedError`) instead of serving
data from a file that is being rewritten. A ``.fits.gz`` is first inflated into memory
without holding the GIL (:mod:`carta_trio.io.gunzip_memory`; cfitsio would hold it for
the whole inflation) and then read as a plain file. Tile-compressed HDUs are read
through fitsio (cfitsio) in short tile-aligned calls with scaling switched off, and
the same scaling code runs on the raw values.

HDU keys follow the reference: the number is taken from the leading digits of ``hdu``
(``"1"``, ``"1: SCI"``); an empty key selects the first image HDU (primary or image
extension with NAXIS > 1).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fitsio
import numpy as np

from carta_trio.io.axis_roles import roles_from_header
from carta_trio.io.fits_bands import band_budget, tile_bands, tile_shape
from carta_trio.io.fits_hdus import read_hdus
from carta_trio.io.fits_header import (cards_from_records, header_beam, records_from_card_images, table_beams,
                                       uncompressed_records)
from carta_trio.io.gunzip_memory import can_gunzip_to_memory, gunzip_to_memory, memory_path
from carta_trio.io.image_reader import Beam, HeaderCard, ImageOpenError, ImageReader
from carta_trio.io.safe_read import FileSignature, read_box

log = logging.getLogger(__name__)

FITS_FILE_TYPE = 3  # CARTA.FileType.FITS

#: Big-endian on-disk dtype per BITPIX.
BITPIX_DTYPES: dict[int, np.dtype[Any]] = {8: np.dtype("u1"), 16: np.dtype(">i2"), 32: np.dtype(">i4"),
                 64: np.dtype(">i8"), -32: np.dtype(">f4"), -64: np.dtype(">f8")}
#: casacore data type names per BITPIX, as the reference's "Data type" entry shows them.
BITPIX_TYPE_NAMES = {8: "uChar", 16: "Short", 32: "Int", 64: "Int64", -32: "float", -64: "double"}

READ_ERROR = "Error reading FITS file."
#: Pixels per cfitsio call for uncompressed images read through cfitsio (a ``.fits.gz``
#: where it cannot be inflated into a memfd first: cfitsio holds it in memory): a copy
#: and byte swap, a few ms per Mi pixels.
MEMORY_BAND_PIXELS = 1 << 20


def parse_hdu_number(hdu: str) -> int | None:
    """The HDU number from the leading digits of ``hdu``; None when there are none."""
    digits = ""
    for ch in hdu.strip():
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


def _is_image_hdu(info: dict[str, Any]) -> bool:
    return info.get("hdutype") == fitsio.IMAGE_HDU and int(info.get("ndims") or 0) > 1


def list_image_hdus(path: str | os.PathLike[str]) -> list[int]:
    """Numbers of the HDUs holding images (primary or IMAGE/compressed extension with
    NAXIS > 1), in file order."""
    try:
        with fitsio.FITS(str(path)) as f:
            return [i for i in range(len(f)) if _is_image_hdu(f[i].get_info())]
    except OSError as err:
        raise ImageOpenError(READ_ERROR) from err


def _is_plain_fits(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(6) == b"SIMPLE"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


class FitsReader(ImageReader):
    """One image HDU of a FITS file (plain, gzip or tile-compressed).

    Direct reads (``preadv``) are thread-safe; the fitsio path is serialised with a
    lock. ``bitpix``, ``bscale``, ``bzero`` and ``blank`` describe the stored values;
    ``reads_directly`` says which path is used.
    """

    def __init__(self, path: str | os.PathLike[str], hdu: str = "") -> None:
        self.path = Path(path)
        self.file_type = FITS_FILE_TYPE
        self._lock = threading.Lock()
        self._fits: fitsio.FITS | None = None
        self._fd: int | None = None
        self._data_offset = 0
        #: A ``.fits.gz`` inflated into memory (see io/gunzip_memory.py), else None.
        self._memory_fd: int | None = None
        #: What cfitsio and the direct reads open: the file, or its inflated copy.
        self._open_path = self.path
        try:
            self._signature = FileSignature.of(self.path)
            if _is_gzip(self.path) and can_gunzip_to_memory():
                self._memory_fd = gunzip_to_memory(self.path)
                self._open_path = memory_path(self._memory_fd)
            self._fits = fitsio.FITS(str(self._open_path))
            count = len(self._fits)
        except (OSError, ValueError) as err:
            log.info("fitsio cannot open %s: %s", self.path, err)
            self._close_memory()
            raise ImageOpenError(READ_ERROR) from err
        try:
            self._open_hdu(hdu, count)
        except BaseException:
            self.close()
            raise

    def _open_hdu(self, hdu: str, count: int) -> None:
        assert self._fits is not None
        number = parse_hdu_number(hdu)
        if number is None:
            number = next((i for i in range(count) if _is_image_hdu(self._fits[i].get_info())), None)
            if number is None:
                raise ImageOpenError("No image HDU found for FITS.")
        if number >= count:
            raise ImageOpenError(READ_ERROR)
        self.hdu = str(number)
        self._hdu = self._fits[number]
        info = self._hdu.get_info()
        if info.get("hdutype") != fitsio.IMAGE_HDU:
            raise ImageOpenError("No image at specified HDU.")
        dims = [int(d) for d in (info.get("dims") or [])]
        if not 2 <= len(dims) <= 4:
            raise ImageOpenError("Image must be 2D, 3D or 4D.")
        if min(dims) <= 0:
            raise ImageOpenError("The image has no pixels (an axis of length 0).")
        self._np_shape = tuple(dims)
        self.shape = tuple(reversed(dims))
        self.is_compressed = bool(info.get("is_compressed_image"))

        try:
            records = self._hdu.read_header_list()
        except OSError as err:
            if self.is_compressed:
                raise
            log.info("cfitsio cannot parse the header of %s (%s); astropy reads its cards", self.path.name, err)
            records = records_from_card_images(read_hdus(self._open_path, stop_at=number)[number].cards)
        #: cfitsio's unit of decompression (numpy order): fitsio read calls are cut on it.
        self.tile = tile_shape(records, self._np_shape) if self.is_compressed else (1,) * len(dims)
        #: Tile pixels decompressed per fitsio call at most (one tile if a tile is larger):
        #: cfitsio holds the GIL for a call, so this bounds the event-loop stall to ~1.5 ms
        #: of work (:func:`carta_trio.io.fits_bands.band_budget`, per algorithm).
        self.band_pixels = band_budget(records) if self.is_compressed else MEMORY_BAND_PIXELS
        if self.is_compressed:
            records = uncompressed_records(records)
        self._records = records
        self._cards = cards_from_records(records)
        header: dict[str, Any] = {}
        for card in self._cards:
            header.setdefault(card.key, card.value)
        self._header = header

        self.bitpix = int(header.get("BITPIX", info.get("img_type", -32)))
        if self.bitpix not in BITPIX_DTYPES:
            raise ImageOpenError(READ_ERROR)
        self.bscale = _as_float(header.get("BSCALE"), 1.0)
        self.bzero = _as_float(header.get("BZERO"), 0.0)
        blank = header.get("BLANK") if self.bitpix > 0 else None
        self.blank = int(blank) if isinstance(blank, (int, float)) and not isinstance(blank, bool) else None
        self.data_type = BITPIX_TYPE_NAMES[self.bitpix]
        self.unit = str(header.get("BUNIT", "") or "").strip()
        self.axes, self.stokes_values = roles_from_header(header, self.shape)
        self.extname = str(header.get("EXTNAME", "") or "").strip()

        if not self.is_compressed and _is_plain_fits(self._open_path):
            self._map_data(info)
        else:
            self._hdu.ignore_scaling = True

    def _map_data(self, info: dict[str, Any]) -> None:
        dtype = BITPIX_DTYPES[self.bitpix]
        offset = int(info["data_start"])
        nbytes = math.prod(self._np_shape) * dtype.itemsize
        size = self._signature.size if self._memory_fd is None else os.fstat(self._memory_fd).st_size
        if size < offset + nbytes:
            raise ImageOpenError(READ_ERROR)
        self._fd = os.open(self._open_path, os.O_RDONLY | os.O_CLOEXEC)
        self._data_offset = offset
        self._dtype = dtype
        # Direct reads need no cfitsio handle.
        assert self._fits is not None
        self._fits.close()
        self._fits = None

    @property
    def reads_directly(self) -> bool:
        """True for plain FITS data read with ``preadv`` (no cfitsio, no memory map)."""
        return self._fd is not None

    # -- data ---------------------------------------------------------------------
    def _read_region(self, starts: Sequence[int], stops: Sequence[int]) -> np.ndarray:
        self._signature.check()
        fd = self._fd
        if fd is not None:
            raw = read_box(fd, self._data_offset, self._np_shape, self._dtype,
                           list(reversed(starts)), list(reversed(stops)), self.path.name)
            return self._scaled(raw)
        return self._scaled(self._read_compressed(list(reversed(starts)), list(reversed(stops))))

    def _read_compressed(self, starts: list[int], stops: list[int]) -> np.ndarray:
        """A box (numpy axis order) read through cfitsio in short calls.

        cfitsio holds the GIL for a whole call (a 3000^2 RICE plane: ~0.15-0.4 s), which
        freezes the event loop of every session. The box is therefore read in bands
        cut on tile boundaries, each decompressing at most ``band_pixels`` tile pixels
        (:func:`carta_trio.io.fits_bands.tile_bands`): between two calls the
        event loop gets the GIL back (``bench/bench_loop_stall.py`` measures it). Each
        band takes the lock, so a close waits for the band in progress, never for the box.
        """
        shape = [b - a for a, b in zip(starts, stops)]
        out: np.ndarray | None = None
        for lo, hi in tile_bands(starts, stops, self.tile, self._np_shape, self.band_pixels):
            box = tuple(slice(a, b) for a, b in zip(lo, hi))
            with self._lock:
                if self._fits is None:
                    raise ValueError("reader is closed")
                raw = np.asarray(self._hdu[box])
            band_shape = [b - a for a, b in zip(lo, hi)]
            if out is None:
                if band_shape == shape:
                    return raw.reshape(shape)
                out = np.empty(shape, dtype=raw.dtype)
            out[tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, starts))] = raw.reshape(band_shape)
        assert out is not None
        return out

    def _scaled(self, raw: np.ndarray) -> np.ndarray:
        """Physical float32 values from stored values (only this slice is converted)."""
        scaled = self.bscale != 1.0 or self.bzero != 0.0
        if raw.dtype.kind == "f" and not scaled:
            return raw.astype(np.float32, copy=False)
        if raw.dtype.kind != "f" and not scaled and raw.dtype.itemsize <= 2 and self.blank is None:
            return raw.astype(np.float32)
        out = raw.astype(np.float64)
        if scaled:
            out *= self.bscale
            out += self.bzero
        result = out.astype(np.float32)
        if self.blank is not None:
            result[raw == self.blank] = np.nan
        return result

    # -- header -------------------------------------------------------------------
    def header_cards(self) -> list[HeaderCard]:
        return list(self._cards)

    def header_strings(self) -> list[str]:
        return [str(r.get("card_string", "")).ljust(80)[:80] for r in self._records]

    def beams(self) -> list[Beam]:
        if self._header.get("CASAMBM") is True:
            table = self._beam_table()
            if table:
                return table
        beam = header_beam(self._header)
        return [beam] if beam else []

    def _beam_table(self) -> list[Beam]:
        try:
            with fitsio.FITS(str(self._open_path)) as f:
                if "BEAMS" not in f:
                    return []
                ext = f["BEAMS"]
                data = ext.read()
                head = ext.read_header()
                names = [str(n).upper() for n in data.dtype.names or ()]
                columns = {n: data[orig] for n, orig in zip(names, data.dtype.names or ())}
                units = {}
                for i, n in enumerate(names, start=1):
                    unit = head.get(f"TUNIT{i}")
                    if unit:
                        units[n] = str(unit)
                nchan = int(head.get("NCHAN", self.depth))
                npol = int(head.get("NPOL", self.num_stokes))
            return table_beams(columns, units, nchan, npol)
        except (OSError, KeyError, ValueError) as err:
            log.warning("Cannot read the BEAMS table of %s: %s", self.path, err)
            return []

    def close(self) -> None:
        """Release the file handles; waits for a fitsio read in progress (reads and
        close take the same lock, so cfitsio is never closed under a read)."""
        with self._lock:
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)
            if self._fits is not None:
                try:
                    self._fits.close()
                finally:
                    self._fits = None
            self._close_memory()

    def _close_memory(self) -> None:
        fd, self._memory_fd = self._memory_fd, None
        if fd is not None:
            os.close(fd)


def _as_float(value: Any, default: float) -> float:
    if value is None or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
