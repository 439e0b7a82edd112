"""Reading and writing region files on disk, with clear refusals.

:func:`read_region_lines` reads a region file (or joins client ``contents``) into
lines, refusing binary and oversized files; :func:`write_text_atomic` writes an
export beside its target under a temporary name, fsyncs it and renames it over the
target, so a reader never sees half a file and a failure leaves the old file intact.
The new file's mode is ``0666 & ~umask`` (the temporary file is created with mode
0666 and the process umask applies).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["MAX_REGION_FILE_BYTES", "RegionFileError", "contents_lines", "read_region_lines", "write_text_atomic"]

#: Larger files are refused (a region file of 64 MB is ~1 million regions).
MAX_REGION_FILE_BYTES = 64 * 1024 * 1024


class RegionFileError(ValueError):
    """A region file that cannot be used; the text is for the client."""


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:65536]:
        raise RegionFileError(f"File {name} is not a text file.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_region_lines(path: str | Path) -> list[str]:
    """The lines of a region file (line ends removed)."""
    p = Path(path)
    name = p.name
    if p.is_dir():
        raise RegionFileError(f"File {name} is a directory.")
    try:
        size = p.stat().st_size
        if size > MAX_REGION_FILE_BYTES:
            raise RegionFileError(f"File {name} is too large ({size} bytes; at most {MAX_REGION_FILE_BYTES}).")
        data = p.read_bytes()
    except OSError as exc:
        raise RegionFileError(f"File {name} is not readable: {exc.strerror or exc}.") from None
    return _decode(data, name).splitlines()


def contents_lines(contents: list[str]) -> list[str]:
    """Client contents: the strings joined (each carries its own newline) and split."""
    text = "".join(contents)
    if len(text) > MAX_REGION_FILE_BYTES:
        raise RegionFileError("Region contents are too large.")
    if "\x00" in text:
        raise RegionFileError("Region contents are not text.")
    return [line for line in text.split("\n") if line]


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file + fsync + rename)."""
    target = Path(path)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
