"""File type detection for the file browser and FILE_INFO, as the reference does it.

Three rules (BEHAVIOUR.md §5.2, §6.1), from ``BE:src/Util/File.cc`` and casacore's
``ImageOpener::imageType``:

* :func:`guess_image_type` -- listing: by the first four bytes (``Content`` mode:
  ``SIMP`` FITS, ``\\x89HDF`` HDF5, gzip whose name without the last extension ends
  ``.fits``) or by the name (``Extension``/``AllFiles`` modes);
* :func:`folder_image_type` -- a directory that is a casacore image (CASA, concat,
  expression, component list) or a MIRIAD image;
* :func:`carta_file_type` -- the type FILE_INFO reports for any path.
"""

from __future__ import annotations

import os
from pathlib import Path

from carta_trio.messages import schema as pb

__all__ = [
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
    return Path(stem).suffix == ".fits"


def is_compressed_fits(path: str | Path) -> bool:
    """A gzip file whose name without its last extension ends ``.fits``."""
    return magic_bytes(path, 2) == GZIP_MAGIC and _stem_is_fits(os.path.basename(str(path)))


def guess_image_type(path: str | Path, check_content: bool) -> int:
    """Image type of a regular file for the file list (``GuessImageType``)."""
    name = os.path.basename(str(path))
    if check_content:
        return image_type_of_head(magic_bytes(path), name)
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
        if table_type == "Image":
            return "AIPSPP"
        if table_type == "Component List":
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
    """The type FILE_INFO and OPEN_FILE report (``FileInfoLoader::GetCartaFileType``)."""
    if is_compressed_fits(path):
        return _FITS
    kind = casacore_image_type(path)
    if kind in ("AIPSPP", "IMAGECONCAT", "IMAGEEXPR", "COMPLISTIMAGE"):
        return _CASA
    return {"FITS": _FITS, "MIRIAD": _MIRIAD, "HDF5": _HDF5}.get(kind, _UNKNOWN)
