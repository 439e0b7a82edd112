"""What each plain file's content said at its last listing, while the file is unchanged.

A content-mode listing opens and reads the head of every plain file (four system calls
each, against one ``stat`` for a bare directory scan). Users list the same folders
again and again (back and forth in the file browser, the frontend re-listing after an
open); a file whose identity and change time are those of the last look has the same
bytes and the same permissions, so its type is what the last open and read found, and
it need not be opened again: the listing then costs one ``stat`` per entry plus the
message.

The key is (device, inode); the value is kept with the file's *change* time in
nanoseconds. ``ctime`` moves with every write, truncation, chmod, chown, ACL change,
utime and rename, and users cannot set it, so an unchanged ``ctime`` means unchanged
content, size, times and readability. Timestamps come from a coarse kernel clock (a
few milliseconds): a file changed twice within one tick, the second time after a
listing read it, could keep its ctime, so files changed less than :data:`SETTLED_NS`
before the listing are not remembered ("racily clean" entries, as git treats them).

Thread-safe (listings run in worker threads); bounded to :data:`MAX_FILES` entries,
the oldest half dropped when full.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["MAX_FILES", "SETTLED_NS", "forget_all", "recall", "recall_ids", "remember"]

#: Files remembered at most (a 100,000-entry folder fits; ~130 bytes each, ~13 MB).
MAX_FILES = 100_000
#: A file changed less than this before it was read is not remembered.
SETTLED_NS = 2_000_000_000

_kinds: dict[int, int] = {}
_lock = threading.Lock()


def recall(st: os.stat_result) -> int | None:
    """The file type found at the last look at this file, if it has not changed since."""
    return recall_ids(st.st_dev, st.st_ino, st.st_ctime_ns)


def recall_ids(dev: int, ino: int, ctime_ns: int) -> int | None:
    """:func:`recall` for a file known by device, inode and change time (ns)."""
    known = _kinds.get((dev << 64) | ino)
    if known is None or known >> 8 != ctime_ns:
        return None
    return known & 0xFF


def remember(found: list[tuple[int, int, int, int]], settled_ns: int | None = None) -> None:
    """Keep each ``(dev, ino, ctime_ns, kind)``: the FileType value found in that file
    (device, inode and change time from the ``fstat`` of the descriptor its head was
    read through), unless it changed too recently to trust its times: after
    ``settled_ns`` (default: :data:`SETTLED_NS` before now)."""
    settled = time.time_ns() - SETTLED_NS if settled_ns is None else settled_ns
    entries = [((dev << 64) | ino, (ctime_ns << 8) | kind) for dev, ino, ctime_ns, kind in found
               if ctime_ns <= settled and 0 <= kind <= 0xFF]
    with _lock:
        if len(_kinds) + len(entries) > MAX_FILES:
            for key in list(_kinds)[: MAX_FILES // 2]:  # the oldest half (insertion order)
                del _kinds[key]
        _kinds.update(entries)


def forget_all() -> None:
    """Drop everything (tests)."""
    with _lock:
        _kinds.clear()
