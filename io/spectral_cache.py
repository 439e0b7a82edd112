"""A spectral-major copy of a large cube on disk, so spectra read as contiguous runs.

FITS and CASA cubes are stored plane by plane: the spectrum of one pixel is one value
per plane, ``width * height * 4`` bytes apart, so a cursor or region spectral profile
touches every plane of the file (minutes on a network file system for a big cube). The
cache holds the same pixels regrouped in tiles of ``EDGE x EDGE`` spectra: for each
Stokes, tile row and tile column, the tile's channels one after another, each channel
an ``EDGE x EDGE`` block. A box of channels of one tile is then one contiguous read, a
region is one read per tile it touches, and a band of tile rows (what one build step
writes) is one contiguous write. Each band also gets prefix sums per tile row, so the
count/sum/sum-of-squares profiles of a region read its edge tiles only (layout and
reasons: ``io/spectral_layout.py``; reading: ``io/spectral_cache_reader.py``).

The format is a raw float32 file with a small JSON header, written and read with
pwrite/preadv (no memory map: a file that shrinks under a map kills the process with
SIGBUS). HDF5 (the IDIA ``SwizzledData`` layout) was tried first: h5py's hyperslab
selections made writing and reading 10-50x slower than the disk (25 s to write 0.5 GB,
2 s to read one 200x200 region), and zarr would be a folder of thousands of files.

An entry is keyed by the image's real path, HDU, size, modification time and shape: a
changed file never matches its old entry, and :meth:`SpectralCacheStore.discard_stale`
removes entries of earlier versions. The store is a folder with a byte budget; the
least recently used entries are evicted to make room, and a build that cannot fit
(budget or free disk) is not started. Entries are written under a dot-name beside
their final name and renamed into place when complete, so a reader never sees a
half-written entry.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from carta_trio.io.image_reader import backing_file
from carta_trio.io.spectral_cache_reader import BOX_KEEP_BYTES, SpectralCacheReader
from carta_trio.io.spectral_layout import (EDGE, FORMAT_VERSION, HEADER_BYTES, MAGIC, CacheUnavailable, Layout,
                                           row_prefix_sums)

__all__ = ["BOX_KEEP_BYTES", "BUILD_STEP_BYTES", "CacheBuild", "CacheKey", "CacheUnavailable", "HEADER_BYTES",
           "SpectralCacheReader", "SpectralCacheStore", "key_for"]

log = logging.getLogger(__name__)

#: Bytes read from the image per build step (a band of rows over every channel).
BUILD_STEP_BYTES = 64 * 1024 * 1024
#: Free disk left untouched when deciding whether a build fits.
DISK_RESERVE_BYTES = 512 * 1024 * 1024
SUFFIX = ".spectral"


@dataclasses.dataclass(frozen=True)
class CacheKey:
    """Identity of one version of one image."""

    path: str
    hdu: str
    size: int
    mtime_ns: int
    inode: int
    #: (stokes, height, width, depth)
    shape: tuple[int, int, int, int]

    @property
    def source_digest(self) -> str:
        """Same for every version of the file: names the entries of one image."""
        return hashlib.sha256(f"{self.path}\0{self.hdu}".encode()).hexdigest()[:20]

    @property
    def version_digest(self) -> str:
        text = json.dumps([FORMAT_VERSION, self.size, self.mtime_ns, self.inode, list(self.shape)])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def file_name(self) -> str:
        return f"{self.source_digest}-{self.version_digest}{SUFFIX}"

    @property
    def nbytes(self) -> int:
        return Layout(self.shape).nbytes


def key_for(reader: Any) -> CacheKey | None:
    """The cache key of a reader's image, or None when it has no single backing file
    (joined Stokes files, expressions, generated images)."""
    path = backing_file(reader)
    if path is None:
        return None
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    size, mtime_ns = int(st.st_size), int(st.st_mtime_ns)
    if os.path.isdir(real):
        # A CASA image is a folder whose own mtime does not change when the pixel
        # files inside are rewritten: use the total size and the newest file.
        size, mtime_ns = _folder_version(real)
    shape = (int(reader.num_stokes), int(reader.height), int(reader.width), int(reader.depth))
    return CacheKey(real, str(reader.hdu), size, mtime_ns, int(st.st_ino), shape)


def _folder_version(folder: str) -> tuple[int, int]:
    total, newest = 0, 0
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
            total += st.st_size
            newest = max(newest, st.st_mtime_ns)
    return total, newest


class SpectralCacheStore:
    """One cache folder with a byte budget, shared by every session of the process."""

    def __init__(self, folder: Path, budget_bytes: int) -> None:
        self.folder = Path(folder)
        self.budget_bytes = int(budget_bytes)

    # ------------------------------------------------------------------ entries
    def entry_path(self, key: CacheKey) -> Path:
        return self.folder / key.file_name

    def lookup(self, key: CacheKey) -> Path | None:
        """The finished entry for ``key``, marked as just used; None if there is none."""
        path = self.entry_path(key)
        try:
            os.utime(path)
        except OSError:
            return None
        return path

    def entries(self) -> list[tuple[Path, int, float]]:
        """Finished entries as (path, bytes, last use), least recently used first."""
        found = []
        try:
            with os.scandir(self.folder) as it:
                for entry in it:
                    if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
                        try:
                            st = entry.stat()
                        except OSError:
                            continue
                        found.append((Path(entry.path), st.st_size, st.st_mtime))
        except FileNotFoundError:
            return []
        return sorted(found, key=lambda item: item[2])

    def used_bytes(self) -> int:
        return sum(size for _, size, _ in self.entries())

    def discard_stale(self, key: CacheKey) -> int:
        """Remove entries of other versions of the same image; returns how many."""
        removed = 0
        prefix = key.source_digest + "-"
        for path, _, _ in self.entries():
            if path.name.startswith(prefix) and path.name != key.file_name:
                _unlink(path)
                removed += 1
        return removed

    def make_room(self, nbytes: int) -> None:
        """Evict least recently used entries until ``nbytes`` more fit the budget and the
        disk; raises :class:`CacheUnavailable` if they never can."""
        if nbytes > self.budget_bytes:
            raise CacheUnavailable(
                f"a cube of {nbytes / 2**30:.1f} GiB does not fit the cache budget of {self.budget_bytes / 2**30:.1f} GiB")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheUnavailable(f"cache folder cannot be created: {exc.strerror or exc}") from None
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise CacheUnavailable("cache folder is not writable")
        entries = self.entries()
        used = sum(size for _, size, _ in entries)
        while entries and (used + nbytes > self.budget_bytes or self._free() < nbytes + DISK_RESERVE_BYTES):
            path, size, _ = entries.pop(0)
            _unlink(path)
            used -= size
        if self._free() < nbytes + DISK_RESERVE_BYTES:
            raise CacheUnavailable(f"not enough free disk for a {nbytes / 2**30:.1f} GiB cache entry")

    def _free(self) -> int:
        return shutil.disk_usage(self.folder).free

    def remove_partials(self) -> None:
        """Remove staging files left by builds that were interrupted by a crash.

        Several carta-trio processes may share one cache folder: a staging file whose
        builder is alive is locked by it (``flock``, held from creation to publication)
        and is left alone. A lock dies with its process, so a crashed build's file is
        unlocked and removed; unlike a pid in the name, this cannot be fooled by a
        reused pid or by a builder on another host of a shared folder.
        """
        try:
            with os.scandir(self.folder) as it:
                names = [entry.path for entry in it
                         if entry.name.startswith(".") and entry.name.endswith(".partial")]
        except FileNotFoundError:
            return
        for name in names:
            _remove_if_orphaned(Path(name))


def _remove_if_orphaned(path: Path) -> None:
    """Unlink the staging file ``path`` unless a live build holds its lock."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # a live build holds it
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            return
        if same:
            log.info("Removing the unfinished spectral cache file %s", path.name)
            _unlink(path)
    finally:
        os.close(fd)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class CacheBuild:
    """Writing one entry, a band of tile rows at a time (each :meth:`step` is one chunk
    of blocking work, so a job can cancel between steps and report progress).

    Call :meth:`step` for each index of :attr:`bands` (from a worker thread), then
    :meth:`commit`, or :meth:`abort` to drop the staging file.
    """

    def __init__(self, store: SpectralCacheStore, reader: Any, key: CacheKey) -> None:
        self.store = store
        self.reader = reader
        self.key = key
        self.layout = Layout(key.shape)
        stokes, _, _, depth = key.shape
        self.tiles_y, self.tiles_x = self.layout.tiles_y, self.layout.tiles_x
        tile_rows = max(1, BUILD_STEP_BYTES // max(1, self.tiles_x * self.layout.tile_bytes))
        self.bands = [(s, ty, min(self.tiles_y, ty + tile_rows)) for s in range(stokes)
                      for ty in range(0, self.tiles_y, tile_rows)]
        #: False once a band held +-Inf: the entry's prefix sums are then not used.
        self.sums_usable = True
        store.folder.mkdir(parents=True, exist_ok=True)
        self.staging = store.folder / f".{key.file_name}.{os.getpid()}-{secrets.token_hex(4)}.partial"
        self._fd: int | None = _create_locked(self.staging)
        try:
            os.posix_fallocate(self._fd, 0, key.nbytes)  # a full disk fails here, not half-way
        except OSError as exc:
            self.abort()
            raise CacheUnavailable(f"cannot allocate the cache entry: {exc.strerror or exc}") from None
        self._write_header(sums=False)

    def _write_header(self, sums: bool) -> None:
        assert self._fd is not None
        meta = {"format": FORMAT_VERSION, "shape": list(self.key.shape), "edge": EDGE, "sums": sums}
        header = json.dumps({**meta, "source": self.key.path, "hdu": self.key.hdu}).encode()
        if len(MAGIC) + len(header) > HEADER_BYTES:
            header = json.dumps(meta).encode()
        os.pwrite(self._fd, (MAGIC + header).ljust(HEADER_BYTES, b" "), 0)

    def step(self, index: int) -> None:
        """Copy band ``index``: tile rows ``ty0:ty1`` of one Stokes over every channel,
        and write their prefix sums."""
        stokes, ty0, ty1 = self.bands[index]
        _, height, width, depth = self.key.shape
        y0, y1 = ty0 * EDGE, min(height, ty1 * EDGE)
        block = self.reader.read_cube(0, width, y0, y1, 0, depth, stokes)  # [z, y, x]
        padded = np.full((depth, (ty1 - ty0) * EDGE, self.tiles_x * EDGE), np.nan, dtype="<f4")
        padded[:, : y1 - y0, :width] = block
        del block
        tiles = padded.reshape(depth, ty1 - ty0, EDGE, self.tiles_x, EDGE).transpose(1, 3, 0, 2, 4)
        data = np.ascontiguousarray(tiles)
        del padded, tiles
        self._write(data, self.layout.tile_offset(stokes, ty0, 0))
        sums, has_inf = row_prefix_sums(data)
        self.sums_usable = self.sums_usable and not has_inf
        self._write(sums, self.layout.corner_offset(stokes, ty0, 0))

    def _write(self, data: np.ndarray, offset: int) -> None:
        assert self._fd is not None
        view = memoryview(np.ascontiguousarray(data).data).cast("B")
        while view:
            written = os.pwrite(self._fd, view, offset)
            view, offset = view[written:], offset + written

    def commit(self) -> Path:
        """Publish the entry, unless the image changed while it was copied."""
        current = key_for(self.reader)
        if current != self.key:
            self.abort()
            raise CacheUnavailable("the image changed while its spectral cache was built")
        final = self.store.entry_path(self.key)
        self._write_header(sums=self.sums_usable)
        try:
            os.replace(self.staging, final)  # still locked: no cleaner can take it meanwhile
        finally:
            self._close()
        return final

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def abort(self) -> None:
        """Drop the staging file (idempotent)."""
        self._close()
        _unlink(self.staging)


def _create_locked(path: Path) -> int:
    """Create the staging file ``path`` and hold an exclusive ``flock`` on it, so that
    :meth:`SpectralCacheStore.remove_partials` of any process leaves it alone."""
    for _ in range(3):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # removed by a cleaner between creation and locking: again
    raise CacheUnavailable("the cache folder's staging file keeps disappearing")
