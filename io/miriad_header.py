"""The reference's MIRIAD pre-check, in pure Python, before casacore sees the image.

Some damaged MIRIAD headers make the MIRIAD library abort the whole process (the
reference's ``MiriadLoader::CanOpenFile`` checks first for that reason; here casacore
runs in a worker, which would die with a less useful message). The checks and texts
are the reference's: the data set must open and hold an ``image`` item (else ``Could
not open MIRIAD file``), and its ``naxis`` header item (0 when absent) must be 2, 3 or
4 (else ``Image must be 2D, 3D or 4D.``).

The ``header`` file is a sequence of items, each a 16-byte record (15-byte NUL-padded
name, one byte with the body length) followed by the body padded to 16 bytes; a body
is a 4-byte type code (big-endian) and the value, big-endian.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["miriad_open_error"]

#: MIRIAD item type codes of integers: int (4 bytes), int2, int8.
_INTEGER_FORMATS = {2: ">i", 3: ">h", 8: ">q"}
CANNOT_OPEN = "Could not open MIRIAD file"
BAD_DIMENSIONS = "Image must be 2D, 3D or 4D."


def header_integer(header: bytes, name: str, default: int = 0) -> int:
    """An integer item of a MIRIAD header cache (``default`` when absent or not integer)."""
    offset = 0
    wanted = name.encode("ascii")
    while offset + 16 <= len(header):
        item = header[offset:offset + 15].split(b"\0", 1)[0]
        size = header[offset + 15]
        body = header[offset + 16:offset + 16 + size]
        offset += 16 + size + (-size % 16)
        if item != wanted or len(body) < 4:
            continue
        code = struct.unpack(">i", body[:4])[0]
        fmt = _INTEGER_FORMATS.get(code)
        if fmt is None:
            return default
        width = struct.calcsize(fmt)
        start = 4 + (-4 % width)  # values are aligned to their own size
        if len(body) < start + width:
            return default
        return int(struct.unpack(fmt, body[start:start + width])[0])
    return default


def miriad_open_error(path: str | Path) -> str | None:
    """The reference's error text for a MIRIAD image it would not open, or None."""
    folder = Path(path)
    try:
        header = (folder / "header").read_bytes()
        with open(folder / "image", "rb"):
            pass
    except OSError:
        return CANNOT_OPEN
    naxis = header_integer(header, "naxis")
    if naxis < 2 or naxis > 4:
        return BAD_DIMENSIONS
    return None
