"""Open any supported image by content: a registry of identifier functions per format.

As in spectral-cube/astropy, a format is recognised by what the file holds, not by its
name: FITS by ``SIMPLE  =`` at the start, gzip-compressed FITS by the gzip magic plus a
``.fits`` name under the ``.gz``, HDF5 by its signature, CASA images as directories with
a casacore table of image type (or an ``imageconcat.json``/``imageexpr.json``), MIRIAD
images as directories with ``header`` and ``image`` files.

File types are ``CARTA.FileType`` wire values (plain ints, equal to
``carta_trio.messages.schema.FileType.*``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path

from carta_trio.io.file_types import identify
from carta_trio.io.image_reader import ImageOpenError, ImageReader

log = logging.getLogger(__name__)

# CARTA.FileType values (shared/enums.proto).
CASA = 0
FITS = 3
HDF5 = 4
MIRIAD = 5
UNKNOWN = 6

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
GZIP_MAGIC = b"\x1f\x8b"


def _head(path: Path, count: int, offset: int = 0) -> bytes:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(count)
    except OSError:
        return b""


def is_fits(path: Path) -> bool:
    """FITS by the one rule (:func:`carta_trio.io.file_types.identify`), plain or gzip'd."""
    return identify(path) == FITS


def is_hdf5(path: Path) -> bool:
    """HDF5 by the one rule (signature at offset 0 or after a user block)."""
    return identify(path) == HDF5


def is_casa_image(path: Path) -> bool:
    """A casacore image directory (image, concatenation, expression, component list)."""
    return path.is_dir() and identify(path) == CASA


def is_miriad_image(path: Path) -> bool:
    """A MIRIAD image directory (``header`` and ``image`` files)."""
    return path.is_dir() and identify(path) == MIRIAD


def _open_fits(path: Path, hdu: str) -> ImageReader:
    from carta_trio.io.fits_reader import FitsReader
    return FitsReader(path, hdu)


def _open_hdf5(path: Path, hdu: str) -> ImageReader:
    from carta_trio.io.hdf5_reader import Hdf5Reader
    return Hdf5Reader(path, hdu)


def _open_casa(path: Path, hdu: str) -> ImageReader:
    # casacore runs in a worker process: a damaged image crashes the worker, not the server.
    from carta_trio.io.worker_reader import WorkerReader
    return WorkerReader("carta_trio.io.casa_reader:CasaReader", str(path), hdu, CASA)


def _open_miriad(path: Path, hdu: str) -> ImageReader:
    from carta_trio.io.worker_reader import WorkerReader
    return WorkerReader("carta_trio.io.casa_reader:CasaReader", str(path), hdu, MIRIAD)


@dataclasses.dataclass(frozen=True)
class ImageFormat:
    """One registered format: how to recognise it and how to open it."""

    name: str
    file_type: int
    identify: Callable[[Path], bool]
    open: Callable[[Path, str], ImageReader]


#: Checked in order; the first whose ``identify`` is true wins.
FORMATS: list[ImageFormat] = [
    ImageFormat("fits", FITS, is_fits, _open_fits),
    ImageFormat("hdf5", HDF5, is_hdf5, _open_hdf5),
    ImageFormat("casa", CASA, is_casa_image, _open_casa),
    ImageFormat("miriad", MIRIAD, is_miriad_image, _open_miriad),
]


def register_format(fmt: ImageFormat, first: bool = False) -> None:
    """Add a format to the registry (at the front with ``first=True``)."""
    if first:
        FORMATS.insert(0, fmt)
    else:
        FORMATS.append(fmt)


def find_format(path: str | os.PathLike[str]) -> ImageFormat | None:
    p = Path(path)
    return next((fmt for fmt in FORMATS if fmt.identify(p)), None)


def detect_file_type(path: str | os.PathLike[str]) -> int:
    """The ``CARTA.FileType`` of ``path`` by content; ``UNKNOWN`` (6) if unrecognised."""
    fmt = find_format(path)
    return fmt.file_type if fmt else UNKNOWN


def open_image(path: str | os.PathLike[str], hdu: str = "") -> ImageReader:
    """Open the image at ``path`` (FITS HDU or HDF5 group ``hdu``; empty = default).

    Raises :class:`ImageOpenError` with the reference's message: ``File <name> does not
    exist.``, ``Unsupported format.``, or the format reader's own error.
    """
    p = Path(path)
    if not p.exists():
        raise ImageOpenError(f"File {p.name} does not exist.")
    fmt = find_format(p)
    if fmt is None:
        raise ImageOpenError("Unsupported format.")
    log.debug("Opening %s as %s (hdu %r)", p, fmt.name, hdu)
    return fmt.open(p, hdu)
