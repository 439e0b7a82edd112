"""File type detection: ONE content rule for opening, FILE_INFO and the file browser.

:func:`identify` is the rule (BEHAVIOUR.md §5.2, §6.1): a regular file is FITS when it
is at least one 2880-byte block starting with the card ``SIMPLE  = T`` (casacore's
test, which FILE_INFO's "Unsupported format." follows), or is gzip and its name without the last extension
ends ``.fits`` (any case: ``A.FITS.GZ``); HDF5 when the HDF5 signature is at offset 0
or at a user-block boundary (512, 1024, 2048, ...); a directory is CASA (casacore
image, concat, expression, component list) or MIRIAD. Everything else is UNKNOWN.
OPEN_FILE (``images.open_image``), FILE_INFO (:func:`carta_file_type`) and the listing's
content mode (:func:`identify_fd`, the same rule on an open descriptor) all use it, so
a file that opens is never listed or described as UNKNOWN (before, an HDF5 file with a
user block and ``A.FITS.GZ`` were; a FITS file under 2880 bytes was listed and opened
but FILE_INFO called it unsupported).

:func:`guess_image_type` without content is the listing's by-name mode
(``Extension``/``AllFiles``), deliberately a different rule.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from carta_trio.messages import schema as pb

__all__ = [
    "identify",
    "identify_fd",
    "identify_head",
    "carta_file_type",
    "casacore_image_type",
    "folder_image_type",
    "guess_image_type",
    "guess_region_type",
    "image_type_of_head",
    "is_compressed_fits",
    "magic_bytes",
]

FITS_MAGIC = b"SIMP"
HDF5_MAGIC = b"\x89HDF"
GZIP_MAGIC = b"\x1f\x8b"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: Bytes :func:`identify_head` needs from the start of a file (one FITS card).
HEAD_BYTES = 80
#: casacore's FITS test wants at least one whole FITS block.
FITS_BLOCK = 2880

FileType = pb.FileType
# Plain ints: enum attribute lookups are slow in per-entry loops.
_FITS, _HDF5, _CASA, _MIRIAD, _UNKNOWN = (int(FileType.FITS), int(FileType.HDF5), int(FileType.CASA),
                                          int(FileType.MIRIAD), int(FileType.UNKNOWN))
_CRTF, _DS9 = int(FileType.CRTF), int(FileType.DS9_REG)


def magic_bytes(path: str | Path, count: int = 4) -> bytes:
    """The first ``count`` bytes of a file (empty if unreadable)."""
    try:
        with open(path, "rb") as f:
            return f.read(count)
    except OSError:
        return b""


def _stem_is_fits(name: str) -> bool:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return Path(stem).suffix.lower() == ".fits"


def _hdf5_after_user_block(read_at: Callable[[int, int], bytes], size: int) -> bool:
    """The HDF5 signature at a user-block boundary (512, 1024, 2048, ... bytes)."""
    offset = 512
    while offset + 8 <= size:
        if read_at(offset, 8) == HDF5_SIGNATURE:
            return True
        offset *= 2
    return False


def _fits_card(head: bytes, size: int) -> bool:
    """casacore's FITS test: a whole 2880-byte block starting ``SIMPLE  = T``."""
    if size < FITS_BLOCK or not head.startswith(b"SIMPLE") or head[8:10] != b"= ":
        return False
    return head[10:80].split(b"/", 1)[0].strip() == b"T"


def identify_head(head: bytes, name: str, size: int) -> int:
    """The rule on the first :data:`HEAD_BYTES` bytes of a ``size``-byte file; HDF5 files
    with a user block need more (:func:`identify`, :func:`identify_fd`)."""
    if _fits_card(head, size):
        return _FITS
    if head[:8] == HDF5_SIGNATURE:
        return _HDF5
    if head[:2] == GZIP_MAGIC:
        return _FITS if _stem_is_fits(name) else _UNKNOWN
    return _UNKNOWN


def identify_fd(fd: int, name: str, size: int) -> int:
    """:func:`identify` for a regular file already open as ``fd`` (the listing's path)."""
    try:
        head = os.pread(fd, HEAD_BYTES, 0)
    except OSError:
        return _UNKNOWN
    kind = identify_head(head, name, size)
    if kind == _UNKNOWN and size >= 520 and _hdf5_after_user_block(lambda off, n: os.pread(fd, n, off), size):
        return _HDF5
    return kind


def identify(path: str | Path) -> int:
    """THE file type rule (see the module docstring): a ``CARTA.FileType`` value."""
    p = str(path)
    if os.path.isdir(p):
        return folder_image_type(p)
    if not os.path.isfile(p):
        return _UNKNOWN
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return _UNKNOWN
    try:
        return identify_fd(fd, os.path.basename(p), os.fstat(fd).st_size)
    finally:
        os.close(fd)


def is_compressed_fits(path: str | Path) -> bool:
    """A gzip file whose name without its last extension ends ``.fits``."""
    return magic_bytes(path, 2) == GZIP_MAGIC and _stem_is_fits(os.path.basename(str(path)))


def guess_image_type(path: str | Path, check_content: bool) -> int:
    """Image type of a regular file for the file list: :func:`identify` in content mode,
    else by name (``GuessImageType``)."""
    name = os.path.basename(str(path))
    if check_content:
        return identify(path)
    if name.endswith((".fits", ".FITS", ".fz", ".fits.gz")):
        return _FITS
    if name.lower().endswith(".hdf5"):
        return _HDF5
    return _UNKNOWN


def image_type_of_head(head: bytes, name: str) -> int:
    """The content rule of :func:`guess_image_type`, given the file's first four bytes."""
    if head == FITS_MAGIC:
        return _FITS
    if head == HDF5_MAGIC:
        return _HDF5
    if head[:2] == GZIP_MAGIC:
        return _FITS if _stem_is_fits(name) else _UNKNOWN
    return _UNKNOWN


def guess_region_type(path: str | Path, check_content: bool) -> int:
    """Region file type by first line (``#CRTF``, ``# Region file format: DS9``) or extension."""
    if check_content:
        try:
            with open(path, "rb") as f:
                first = f.readline(4096)
        except OSError:
            return _UNKNOWN
        if first.startswith(b"#CRTF"):
            return _CRTF
        if first.startswith(b"# Region file format: DS9"):
            return _DS9
        return _UNKNOWN
    name = os.path.basename(str(path))
    if name.endswith(".crtf"):
        return _CRTF
    if name.endswith(".reg"):
        return _DS9
    return _UNKNOWN


def _table_type(path: str) -> str:
    """The ``Type`` line of a casacore table's ``table.info`` ('' if not a table)."""
    if not os.path.isfile(os.path.join(path, "table.dat")):
        return ""
    try:
        with open(os.path.join(path, "table.info"), encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Type"):
                    return line.split("=", 1)[1].strip() if "=" in line else ""
    except OSError:
        return ""
    return "Table"


def _is_fits_file(path: str) -> bool:
    """casacore's FITS test: at least one 2880-byte block starting ``SIMPLE = T``."""
    try:
        if os.path.getsize(path) < 2880:
            return False
        with open(path, "rb") as f:
            card = f.read(80).decode("ascii", errors="replace")
    except OSError:
        return False
    return card.startswith("SIMPLE") and card[8:10] == "= " and card[10:].split("/", 1)[0].strip() == "T"


def casacore_image_type(path: str | Path) -> str:
    """casacore's ImageOpener type name: AIPSPP, IMAGECONCAT, IMAGEEXPR, COMPLISTIMAGE,
    FITS, MIRIAD, HDF5 or UNKNOWN."""
    p = str(path)
    if os.path.isdir(p):
        if os.path.isfile(os.path.join(p, "imageconcat.json")):
            return "IMAGECONCAT"
        if os.path.isfile(os.path.join(p, "imageexpr.json")):
            return "IMAGEEXPR"
        table_type = _table_type(p)
        if table_type in ("Image", "PagedImage"):
            return "AIPSPP"
        if table_type in ("Component List", "ComponentListImage"):
            return "COMPLISTIMAGE"
        if not table_type and os.path.isfile(os.path.join(p, "header")) and os.path.isfile(os.path.join(p, "image")):
            return "MIRIAD"
        return "UNKNOWN"
    if os.path.isfile(p):
        if _is_fits_file(p):
            return "FITS"
        if magic_bytes(p, 8) == b"\x89HDF\r\n\x1a\n":
            return "HDF5"
    return "UNKNOWN"


def folder_image_type(path: str | Path) -> int:
    """CASA or MIRIAD for image directories, UNKNOWN for ordinary folders."""
    kind = casacore_image_type(path)
    if kind in ("AIPSPP", "IMAGECONCAT", "IMAGEEXPR", "COMPLISTIMAGE"):
        return _CASA
    if kind == "MIRIAD":
        return _MIRIAD
    return _UNKNOWN


def carta_file_type(path: str | Path) -> int:
    """The type FILE_INFO and OPEN_FILE report: :func:`identify`."""
    return identify(path)
