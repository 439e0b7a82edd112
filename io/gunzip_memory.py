"""Decompressing a ``.fits.gz`` into memory without holding the GIL.

cfitsio opens a gzip-compressed file by inflating all of it into memory inside the
open call, holding the GIL throughout: opening a 72 MB ``.fits.gz`` froze the event
loop of every session for ~2 s (``bench/bench_loop_stall.py``). Here the file is
inflated with :mod:`zlib` (which releases the GIL while it inflates) in bounded steps
into an anonymous in-memory file (``memfd``), which the FITS reader then reads as a
plain FITS file: headers with cfitsio, data with ``preadv``. The memory used is the
uncompressed size, as with cfitsio's own in-memory copy.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

#: Compressed bytes fed to zlib per step, and the most it may produce per step.
_IN_STEP = 256 << 10
_OUT_STEP = 4 << 20


class GunzipError(OSError):
    """The file is not a complete gzip stream."""


def can_gunzip_to_memory() -> bool:
    """True where anonymous memory files can be opened by path (Linux)."""
    return hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


def gunzip_to_memory(path: str | os.PathLike[str], label: str = "carta-trio-gunzip") -> int:
    """A new memfd holding the decompressed content of the gzip file ``path`` (every
    member of a multi-member file, in order); the caller closes it."""
    fd = os.memfd_create(label, os.MFD_CLOEXEC)
    try:
        _inflate(Path(path), fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def memory_path(fd: int) -> Path:
    """A path by which this process (and cfitsio) can open the memory file ``fd``."""
    return Path(f"/proc/self/fd/{fd}")


def _inflate(path: Path, fd: int) -> None:
    offset = 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as source:
        pending = source.read(_IN_STEP)
        if not pending:
            raise GunzipError(f"{path.name} is empty")
        while pending:
            try:
                out = inflater.decompress(pending, _OUT_STEP)
            except zlib.error as exc:
                raise GunzipError(f"{path.name}: {exc}") from exc
            offset = _write_all(fd, out, offset)
            if inflater.unconsumed_tail:
                pending = inflater.unconsumed_tail
                continue
            if inflater.eof:
                rest = inflater.unused_data + source.read(_IN_STEP)
                if not rest.strip(b"\0"):
                    return  # end of the last member (padding allowed)
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                pending = rest
                continue
            pending = source.read(_IN_STEP)
    if not inflater.eof:
        raise GunzipError(f"{path.name} ends before its compressed data does (truncated?)")


def _write_all(fd: int, data: bytes, offset: int) -> int:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written
    return offset
