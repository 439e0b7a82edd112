"""A content-mode listing's open, fstat, read and close, a batch of files per call (``io/file_heads.c``).

A first listing of a folder of images opens and reads every plain file (the content
rule of :mod:`.file_types`). Through ``os.open``/``os.fstat``/``os.pread``/``os.close``
that is four Python calls per file, and the GIL is held between them; the compiled
``read_heads`` makes the calls for a whole batch with the GIL released, and
:func:`read_heads_in_parallel` splits a batch over two threads: the kernel's work, most
of the cost, then runs on two cores.

Optional: without a C compiler the module is not built, :func:`available` is False and
:mod:`.file_list` makes the calls itself, one file at a time.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from carta_trio.extensions import CheckedExtension

__all__ = ["Head", "available", "extension", "read_heads", "read_heads_in_parallel"]


class Head(NamedTuple):
    """What ``read_heads`` found for one name (``head`` is None for a non-regular file)."""

    mode: int
    size: int
    mtime: int
    dev: int
    ino: int
    ctime_ns: int
    head: bytes | None


#: No check to run: the calls are the system's, and the tests compare the listings.
extension = CheckedExtension("carta_trio.io._file_heads", lambda module: True, "listings make the calls one by one")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def available() -> bool:
    """True when the compiled batch reader is built."""
    return extension.available()


def read_heads(dir_fd: int, names: list[str], nbytes: int) -> list[Head | None]:
    """For each name in the folder open as ``dir_fd``: None if it cannot be opened or
    stat'ed (not listed), else its :class:`Head` with up to ``nbytes`` bytes from its
    start. Only when :func:`available`."""
    module = extension.module
    assert module is not None, "read_heads needs the compiled module"
    return [None if r is None else Head._make(r) for r in module.read_heads(dir_fd, names, nbytes)]


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-heads")
        return _pool


#: Below this many names a batch is read by the caller alone.
SPLIT_AT = 64


def read_heads_in_parallel(dir_fd: int, names: list[str], nbytes: int) -> list[Head | None]:
    """:func:`read_heads`, half the names in a helper thread and half in the caller's.

    The kernel's part of opening and reading a file is most of a listing's cost, and
    both calls run it with the GIL released: on two cores the batch takes half the time.
    """
    if len(names) < SPLIT_AT:
        return read_heads(dir_fd, names, nbytes)
    half = len(names) // 2
    other = _executor().submit(read_heads, dir_fd, names[half:], nbytes)
    try:
        first = read_heads(dir_fd, names[:half], nbytes)
    finally:
        second = other.result()  # the folder's descriptor must outlive the helper's call
    return first + second
