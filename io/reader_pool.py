"""Readers and their derived data shared per file across file ids and sessions.

One server serves every viewer of a machine, and the same file is often open many
times: under several file ids of one session, in several sessions. Before this
module each opening had its own reader, planes, mips and encoded tiles, so one 4K
image opened under 40 file ids took 5.4 GB (issue 11 D8). Now:

* :func:`open_shared` returns a :class:`PooledReader` for an image: every opening
  of the same file (same path, HDU, inode, size and modification time) shares one
  underlying reader, closed when its last user closes. A changed file is a new
  identity, so it gets a fresh reader and never stale data.
* :func:`cached` memoises derived data (planes, mips, tiles, histograms) of a pooled
  reader in one process-wide LRU cache with a byte budget (:func:`configure`, the
  ``--cache_size`` option); concurrent requests for the same entry compute it once.
  A file's entries go when its last reader closes; values in it are shared, so they
  are made read-only where they are numpy arrays.

Pure Python and thread-safe (a lock around the bookkeeping; computations run
outside it): called from worker threads and the event loop alike.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import os
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from carta_trio.io.image_reader import ImageReader

T = TypeVar("T")

MiB = 1 << 20


def default_cache_bytes() -> int:
    """An eighth of the machine's physical memory, between 256 MiB and 8 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return int(min(8 << 30, max(256 * MiB, total // 8)))


def nbytes_of(value: Any) -> int:
    """Approximate memory held by a cached value: arrays, bytes, and dataclasses,
    tuples and lists of them (plus a small per-object overhead)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 112
    if isinstance(value, (bytes, bytearray, str)):
        return len(value) + 48
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(nbytes_of(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, (tuple, list)):
        return 56 + 8 * len(value) + sum(nbytes_of(v) for v in value)
    if isinstance(value, dict):
        return 232 + sum(nbytes_of(v) for v in value.values())
    return 32


def _freeze(value: Any) -> None:
    """Make shared arrays read-only, so no user of a cached value can change it for another."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, (tuple, list)):
        for item in value:
            _freeze(item)


class ByteLRU:
    """Least-recently-used cache bounded by the bytes of its values (thread-safe)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._items: collections.OrderedDict[Hashable, tuple[Any, int]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Store ``value``; values larger than the whole budget are not kept."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.used -= old[1]
            if size > self.budget:
                return
            self._items[key] = (value, size)
            self.used += size
            while self.used > self.budget and self._items:
                _, (_, dropped) = self._items.popitem(last=False)
                self.used -= dropped

    def drop_where(self, predicate: Callable[[Hashable], bool]) -> int:
        """Remove the entries whose key matches; returns how many."""
        with self._lock:
            keys = [key for key in self._items if predicate(key)]
            for key in keys:
                self.used -= self._items.pop(key)[1]
            return len(keys)

    def resize(self, budget: int) -> None:
        with self._lock:
            self.budget = budget
            while self.used > self.budget and self._items:
                _, (_, dropped) = self._items.popitem(last=False)
                self.used -= dropped


@dataclasses.dataclass(eq=False)
class _Entry:
    identity: Hashable
    reader: ImageReader
    users: int = 0


class PooledReader:
    """One user's handle on a shared reader: reads and attributes go to the reader;
    :meth:`close` ends this handle only (the reader closes with its last handle)."""

    def __init__(self, pool: ReaderPool, entry: _Entry) -> None:
        self._pool = pool
        self._entry: _Entry | None = entry
        #: The file version's identity: the key of its cached data. Read through any
        #: wrapper that passes plain attributes on (the frame's GuardedReader does).
        self.pool_identity = entry.identity
        self.shared = entry.reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self.shared, name)

    @property
    def closed(self) -> bool:
        """True once this handle has been closed (the reader may live on for others)."""
        return self._entry is None

    def close(self) -> None:
        entry, self._entry = self._entry, None
        if entry is not None:
            self._pool._release(entry)

    def __enter__(self) -> PooledReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PooledReader({self.shared!r})"


class ReaderPool:
    """Open readers by file identity, and the byte-bounded cache of their derived data."""

    def __init__(self, budget: int) -> None:
        self.cache = ByteLRU(budget)
        self._entries: dict[Hashable, _Entry] = {}
        self._inflight: dict[Hashable, threading.Event] = {}
        self._adopted = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def open_files(self) -> int:
        return len(self._entries)

    def open(self, path: str | os.PathLike[str], hdu: str, opener: Callable[[Path, str], ImageReader]) -> PooledReader:
        """A handle on the shared reader of ``path``/``hdu``, opening it with ``opener``
        if nobody has this version of the file open (blocking)."""
        p = Path(path)
        st = os.stat(p)
        identity = (str(p.resolve()), hdu, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            entry = self._entries.get(identity)
            if entry is not None:
                entry.users += 1
                return PooledReader(self, entry)
        reader = opener(p, hdu)  # outside the lock: opening can take a while
        with self._lock:
            entry = self._entries.get(identity)
            if entry is None:
                entry = self._entries[identity] = _Entry(identity, reader)
            else:  # opened meanwhile by someone else: use theirs
                _close_quietly(reader)
            entry.users += 1
            return PooledReader(self, entry)

    def adopt(self, reader: ImageReader | PooledReader) -> PooledReader:
        """A handle on a reader opened elsewhere (a generated image, an expression):
        its own identity, so its derived data is cached and dropped like any other."""
        if isinstance(reader, PooledReader):
            return reader
        with self._lock:
            entry = _Entry(("adopted", next(self._adopted)), reader, 1)
            self._entries[entry.identity] = entry
        return PooledReader(self, entry)

    def share(self, reader: object) -> PooledReader | None:
        """Another handle on the shared reader behind ``reader`` (a handle, or anything
        wrapping one), or None if it is not pooled or already closed. A session kept for a
        reconnect holds its images this way, so they and their cached data outlive the
        frames that showed them."""
        identity = getattr(reader, "pool_identity", None)
        with self._lock:
            entry = self._entries.get(identity) if identity is not None else None
            if entry is None:
                return None
            entry.users += 1
        return PooledReader(self, entry)

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.users -= 1
            if entry.users > 0:
                return
            if self._entries.get(entry.identity) is entry:
                del self._entries[entry.identity]
        self.cache.drop_where(lambda key: isinstance(key, tuple) and key[:1] == (entry.identity,))
        _close_quietly(entry.reader)

    def cached(self, reader: object, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()`` memoised under ``key`` for a pooled reader, or anything wrapping
        one (blocking; computed once when several threads ask together). Other readers
        just compute."""
        identity = getattr(reader, "pool_identity", None)
        if identity is None:
            return compute()
        full = (identity, *key)
        while True:
            value: T | None = self.cache.get(full)  # what compute() gave under this key
            if value is not None:
                return value
            with self._lock:
                pending = self._inflight.get(full)
                if pending is None:
                    mine = self._inflight[full] = threading.Event()
                    break
            pending.wait()
        try:
            value = compute()
            _freeze(value)
            self.cache.put(full, value, nbytes_of(value))
            return value
        finally:
            with self._lock:
                del self._inflight[full]
            mine.set()

    def peek(self, reader: object, key: tuple[Any, ...]) -> Any | None:
        """The cached value under ``key`` for ``reader``, or None (never computes)."""
        identity = getattr(reader, "pool_identity", None)
        if identity is None:
            return None
        return self.cache.get((identity, *key))

    def store(self, reader: object, key: tuple[Any, ...], value: Any) -> None:
        """Cache ``value`` under ``key`` for a pooled reader (ignored for others)."""
        identity = getattr(reader, "pool_identity", None)
        if identity is not None:
            _freeze(value)
            self.cache.put((identity, *key), value, nbytes_of(value))


def _close_quietly(reader: ImageReader) -> None:
    try:
        reader.close()
    except Exception:  # noqa: BLE001 - closing must never fail the caller
        pass


_pool = ReaderPool(default_cache_bytes())


def pool() -> ReaderPool:
    """The process-wide pool."""
    return _pool


def configure(cache_bytes: int | None) -> None:
    """Set the cache budget (None or <= 0: :func:`default_cache_bytes`)."""
    _pool.cache.resize(cache_bytes if cache_bytes and cache_bytes > 0 else default_cache_bytes())


def open_shared(path: str | os.PathLike[str], hdu: str, opener: Callable[[Path, str], ImageReader]) -> PooledReader:
    return _pool.open(path, hdu, opener)


def adopt(reader: ImageReader | PooledReader) -> PooledReader:
    return _pool.adopt(reader)


def share(reader: object) -> PooledReader | None:
    return _pool.share(reader)


def is_adopted(reader: object) -> bool:
    """True for a reader made in memory (a generated image, an expression), not opened
    from one file: there is no file to open it again from."""
    identity = getattr(reader, "pool_identity", None)
    return isinstance(identity, tuple) and identity[:1] == ("adopted",)


def cached(reader: object, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    return _pool.cached(reader, key, compute)


def peek(reader: object, key: tuple[Any, ...]) -> Any | None:
    return _pool.peek(reader, key)


def store(reader: object, key: tuple[Any, ...], value: Any) -> None:
    _pool.store(reader, key, value)
