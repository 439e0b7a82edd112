"""Reading image bytes so that a file changed under us is an error, never a signal.

A memory map of a file that is truncated while open kills the whole process with
SIGBUS on the next access (issue 11 D2). Here the bytes of a box of a raw,
C-ordered array stored at ``offset`` in a file are read with ``preadv`` into the
result buffer: a short read is an :class:`ImageChangedError`, not a crash.
Contiguous runs are read with one call each, and nearby runs are merged into one
read when the gap between them is small, so a plane is one system call and a
spectrum one per channel. When ``io/box_reads.c`` is built, the whole loop is one call
with the GIL released (two threads reading bands then use both cores).

:class:`FileSignature` remembers size, modification time and inode of a file when
it is opened; :meth:`FileSignature.check` raises :class:`ImageChangedError` when
any of them changed, so the frame reports the change instead of serving data from
a half-written or replaced file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carta_trio.extensions import CheckedExtension

#: A read unit may span at most this many bytes.
_MAX_SPAN = 64 << 20
#: Merge runs into one read while the bytes read stay within 4 x needed + this slack.
_SLACK = 256 << 10


class ImageChangedError(OSError):
    """The file changed (truncated, rewritten, replaced) after it was opened;
    ``str(exc)`` is the client message."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "The file changed on disk."


@dataclass(frozen=True)
class FileSignature:
    """Identity of a file's contents as far as the file system tells: size, mtime, inode."""

    path: Path
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> FileSignature:
        st = os.stat(path)
        return cls(Path(path), st.st_size, st.st_mtime_ns, st.st_ino)

    def check(self) -> None:
        """Raise :class:`ImageChangedError` if the file is no longer as it was opened."""
        try:
            st = os.stat(self.path)
        except OSError as err:
            raise ImageChangedError(f"{self.path.name} was removed after it was opened.") from err
        if (st.st_size, st.st_mtime_ns, st.st_ino) != (self.size, self.mtime_ns, self.inode):
            how = "truncated" if st.st_size < self.size else "modified"
            raise ImageChangedError(
                f"{self.path.name} was {how} on disk after it was opened; close and reopen it.")


#: The read loop in C (io/box_reads.c: one call per box with the GIL released, runs
#: byte-swapped in cache), when built; else the loop of :func:`read_box` below.
_box_reads = CheckedExtension("carta_trio.io._box_reads", lambda module: True, "boxes are read run by run")


def _truncated(name: str) -> ImageChangedError:
    return ImageChangedError(f"{name} is shorter than its header says (truncated?); close and reopen it.")


def _pread_into(fd: int, buffer: memoryview, offset: int, name: str) -> None:
    done = 0
    total = len(buffer)
    while done < total:
        n = os.preadv(fd, [buffer[done:]], offset + done)
        if n <= 0:
            raise _truncated(name)
        done += n


def read_box(fd: int, offset: int, shape: Sequence[int], dtype: np.dtype, starts: Sequence[int],
             stops: Sequence[int], name: str = "The file") -> np.ndarray:
    """The box [starts, stops) (numpy axis order) of the C-ordered array of ``shape`` and
    ``dtype`` stored at byte ``offset`` of the open file ``fd``, in native byte order.

    Raises :class:`ImageChangedError` if the file ends before the box does.
    """
    n = len(shape)
    counts = [int(b) - int(a) for a, b in zip(starts, stops)]
    itemsize = dtype.itemsize
    out = np.empty(counts, dtype=dtype)
    if out.size == 0:
        return _native(out)
    strides = [math.prod(shape[i + 1:]) for i in range(n)]
    # The read unit: axes k..n-1 read with one call (span from first to last element needed).
    k = n - 1
    while k > 0:
        span = sum((counts[i] - 1) * strides[i] for i in range(k - 1, n)) + 1
        needed = math.prod(counts[k - 1:])
        if span * itemsize > _MAX_SPAN or span * itemsize > 4 * needed * itemsize + _SLACK:
            break
        k -= 1
    inner_exact = all(counts[i] == shape[i] for i in range(k + 1, n))
    head = sum(int(starts[i]) * strides[i] for i in range(k + 1, n))
    # File offsets (in elements) of every read unit, in C order of the outer axes.
    bases = np.zeros([counts[i] for i in range(k)] or [1], dtype=np.int64)
    for i in range(k):
        axis = (np.arange(int(starts[i]), int(stops[i]), dtype=np.int64) * strides[i]).reshape(
            [-1 if j == i else 1 for j in range(k)])
        bases = bases + axis
    first = offset + (int(starts[k]) * strides[k] + head) * itemsize
    runs = bases.reshape(-1) * itemsize + first
    span = sum((counts[i] - 1) * strides[i] for i in range(k, n)) + 1
    box_reads = _box_reads.module
    if box_reads is not None:
        if inner_exact:
            rows, row_bytes = np.zeros(1, np.int64), span * itemsize
        else:
            rows, row_bytes = _row_starts(counts, starts, strides, k, head, itemsize), counts[-1] * itemsize
        swap = 0 if dtype.isnative or itemsize == 1 else itemsize
        if box_reads.read_runs(fd, runs, span * itemsize, rows, row_bytes, out.reshape(-1), swap) >= 0:
            raise _truncated(name)
        return out if not swap else out.view(dtype.newbyteorder("="))
    byte_offsets = runs.tolist()
    if inner_exact:
        unit = counts[k] * strides[k] * itemsize
        flat = memoryview(out.reshape(-1)).cast("B")  # type: ignore[arg-type]  # numpy's stubs give ndarray __buffer__ only for Python >= 3.12
        pos = 0
        for where in byte_offsets:
            if os.preadv(fd, [flat[pos:pos + unit]], where) != unit:
                _pread_into(fd, flat[pos:pos + unit], where, name)
            pos += unit
        return _native(out)
    scratch = np.empty(counts[k] * strides[k], dtype=dtype)
    window = memoryview(scratch).cast("B")[head * itemsize:(head + span) * itemsize]  # type: ignore[arg-type]  # numpy's stubs give ndarray __buffer__ only for Python >= 3.12
    block = scratch.reshape([counts[k]] + list(shape[k + 1:]))
    inner = (slice(None),) + tuple(slice(int(starts[i]), int(stops[i])) for i in range(k + 1, n))
    # the copy out of the read unit also converts to native byte order: one pass, not two
    result = np.empty(counts, dtype=dtype.newbyteorder("=")) if not dtype.isnative else out
    targets = result.reshape([-1] + counts[k:])
    for j, where in enumerate(byte_offsets):
        _pread_into(fd, window, where, name)
        targets[j] = block[inner]
    return result


def _row_starts(counts: list[int], starts: Sequence[int], strides: list[int], k: int, head: int,
                itemsize: int) -> np.ndarray:
    """Byte offsets, within a read unit's span, of the box's rows (runs along the last
    axis) in C order: axis ``k`` counts from the unit's first element, the axes after it
    from the box's start, and the span begins ``head`` elements into the unit."""
    n = len(counts)
    offsets = np.zeros(1, dtype=np.int64)
    for i in range(k, n - 1):
        base = 0 if i == k else int(starts[i])
        axis = (base + np.arange(counts[i], dtype=np.int64)) * strides[i]
        offsets = (offsets[:, None] + axis[None, :]).reshape(-1)
    return (offsets + int(starts[n - 1]) - head) * itemsize


def _native(array: np.ndarray) -> np.ndarray:
    """``array`` converted in place to native byte order."""
    if array.dtype.byteorder in ("=", "|") or array.dtype.isnative:
        return array
    array.byteswap(inplace=True)
    return array.view(array.dtype.newbyteorder("="))
