"""A spectral-major copy of a large cube on disk, so spectra read as contiguous runs.

FITS and CASA cubes are stored plane by plane: the spectrum of one pixel is one value
per plane, ``width * height * 4`` bytes apart, so a cursor or region spectral profile
touches every plane of the file (minutes on a network file system for a big cube). The
cache holds the same pixels regrouped in tiles of ``EDGE x EDGE`` spectra: for each
Stokes, tile row and tile column, the tile's channels one after another, each channel
an ``EDGE x EDGE`` block. A box of channels of one tile is then one contiguous read, a
region is one read per tile it touches, and a band of tile rows (what one build step
writes) is one contiguous write.

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
import threading
from pathlib import Path
from typing import Any

import numpy as np

from carta_trio.io.image_reader import backing_file

log = logging.getLogger(__name__)

#: Bumped when the layout changes; older entries are then ignored and evicted.
FORMAT_VERSION = 2
MAGIC = b"CARTA-TRIO-SPECTRAL\n"
HEADER_BYTES = 4096
#: Spatial edge of a tile: a cursor spectrum reads the tile's ``EDGE**2`` spectra.
EDGE = 8
#: Largest box of whole spectra a reader keeps: profile jobs ask for one region's
#: channels a slice at a time, and slices read from disk one by one would be thousands
#: of small scattered reads; the whole box is read once instead (large sequential reads).
BOX_KEEP_BYTES = 256 * 1024 * 1024
#: Bytes read from the image per build step (a band of rows over every channel).
BUILD_STEP_BYTES = 64 * 1024 * 1024
#: Free disk left untouched when deciding whether a build fits.
DISK_RESERVE_BYTES = 512 * 1024 * 1024
SUFFIX = ".spectral"


class CacheUnavailable(Exception):
    """The cache cannot hold this cube (budget, free disk, unwritable folder)."""


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
        stokes, height, width, depth = self.shape
        return stokes * _tiles(height) * _tiles(width) * EDGE * EDGE * depth * 4 + HEADER_BYTES


def _tiles(n: int) -> int:
    return -(-n // EDGE)


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
        stokes, height, width, depth = key.shape
        self.tiles_y, self.tiles_x = _tiles(height), _tiles(width)
        tile_rows = max(1, BUILD_STEP_BYTES // max(1, self.tiles_x * EDGE * EDGE * depth * 4))
        self.bands = [(s, ty, min(self.tiles_y, ty + tile_rows)) for s in range(stokes)
                      for ty in range(0, self.tiles_y, tile_rows)]
        store.folder.mkdir(parents=True, exist_ok=True)
        self.staging = store.folder / f".{key.file_name}.{os.getpid()}-{secrets.token_hex(4)}.partial"
        self._fd: int | None = _create_locked(self.staging)
        header = json.dumps({"format": FORMAT_VERSION, "shape": list(key.shape), "edge": EDGE,
                             "source": key.path, "hdu": key.hdu}).encode()
        if len(MAGIC) + len(header) > HEADER_BYTES:
            header = json.dumps({"format": FORMAT_VERSION, "shape": list(key.shape), "edge": EDGE}).encode()
        try:
            os.posix_fallocate(self._fd, 0, key.nbytes)  # a full disk fails here, not half-way
        except OSError as exc:
            self.abort()
            raise CacheUnavailable(f"cannot allocate the cache entry: {exc.strerror or exc}") from None
        os.pwrite(self._fd, (MAGIC + header).ljust(HEADER_BYTES, b" "), 0)

    def step(self, index: int) -> None:
        """Copy band ``index``: tile rows ``ty0:ty1`` of one Stokes over every channel."""
        assert self._fd is not None
        stokes, ty0, ty1 = self.bands[index]
        _, height, width, depth = self.key.shape
        y0, y1 = ty0 * EDGE, min(height, ty1 * EDGE)
        block = self.reader.read_cube(0, width, y0, y1, 0, depth, stokes)  # [z, y, x]
        padded = np.full((depth, (ty1 - ty0) * EDGE, self.tiles_x * EDGE), np.nan, dtype="<f4")
        padded[:, : y1 - y0, :width] = block
        tiles = padded.reshape(depth, ty1 - ty0, EDGE, self.tiles_x, EDGE).transpose(1, 3, 0, 2, 4)
        data = np.ascontiguousarray(tiles)
        offset = HEADER_BYTES + (stokes * self.tiles_y + ty0) * self.tiles_x * EDGE * EDGE * depth * 4
        view = memoryview(data.data).cast("B")
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


class SpectralCacheReader:
    """Spectra and boxes read from a finished entry (float32, as the image reader gives)."""

    def __init__(self, path: Path, stokes_values: list[int] | None = None) -> None:
        self.path = Path(path)
        #: The image's Stokes codes, so computed polarizations combine cached spectra.
        self.stokes_values = list(stokes_values or [])
        self._fd: int | None = os.open(self.path, os.O_RDONLY)
        head = os.pread(self._fd, HEADER_BYTES, 0)
        if not head.startswith(MAGIC):
            self.close()
            raise CacheUnavailable("not a spectral cache entry")
        meta = json.loads(head[len(MAGIC):].decode().strip())
        if meta.get("format") != FORMAT_VERSION or meta.get("edge") != EDGE:
            self.close()
            raise CacheUnavailable("a spectral cache entry of another format")
        self.shape = tuple(int(n) for n in meta["shape"])  # (stokes, height, width, depth)
        _, height, width, _ = self.shape
        self._tiles_y, self._tiles_x = _tiles(height), _tiles(width)
        self._box_lock = threading.Lock()
        self._box_key: tuple[int, int, int, int, int] | None = None
        self._box: np.ndarray | None = None
        expected = HEADER_BYTES + self.shape[0] * self._tiles_y * self._tiles_x * EDGE * EDGE * self.shape[3] * 4
        if os.fstat(self._fd).st_size < expected:
            self.close()
            raise CacheUnavailable("a truncated spectral cache entry")

    @property
    def num_stokes(self) -> int:
        return self.shape[0]

    def _tile(self, out: np.ndarray, stokes: int, ty: int, tx: int, z0: int) -> None:
        """Fill ``out`` (contiguous) from channel ``z0`` of tile ``(ty, tx)`` on: channels of
        that tile, or (``z0 = 0``, ``out`` of several whole tiles) the tiles after it in its row."""
        assert self._fd is not None
        depth = self.shape[3]
        offset = HEADER_BYTES + ((((stokes * self._tiles_y + ty) * self._tiles_x + tx) * depth + z0)
                                 * EDGE * EDGE * 4)
        view = memoryview(out.data).cast("B")
        while view:
            got = os.preadv(self._fd, [view], offset)
            if got <= 0:
                raise OSError("the spectral cache entry is shorter than its header says")
            view, offset = view[got:], offset + got

    def read_spectrum(self, x: int, y: int, stokes: int, z0: int = 0, z1: int | None = None) -> np.ndarray:
        z1 = self.shape[3] if z1 is None else z1
        tiles = self._tiles_of(stokes, y // EDGE, y // EDGE + 1, x // EDGE, x // EDGE + 1, z0, z1)
        return tiles[0, 0, :, y % EDGE, x % EDGE].astype(np.float32)

    def read_cube(self, x0: int, x1: int, y0: int, y1: int, z0: int, z1: int, stokes: int) -> np.ndarray:
        """A box as float32 ``[z, y, x]`` like :meth:`ImageReader.read_cube`."""
        ty0, ty1 = y0 // EDGE, (y1 - 1) // EDGE + 1
        tx0, tx1 = x0 // EDGE, (x1 - 1) // EDGE + 1
        buffer = self._tiles_of(stokes, ty0, ty1, tx0, tx1, z0, z1)
        planes = buffer.transpose(2, 0, 3, 1, 4).reshape(z1 - z0, (ty1 - ty0) * EDGE, (tx1 - tx0) * EDGE)
        oy, ox = y0 - ty0 * EDGE, x0 - tx0 * EDGE
        return np.ascontiguousarray(planes[:, oy:oy + (y1 - y0), ox:ox + (x1 - x0)], dtype=np.float32)

    def _tiles_of(self, stokes: int, ty0: int, ty1: int, tx0: int, tx1: int, z0: int, z1: int) -> np.ndarray:
        """Tiles ``[ty, tx, z, EDGE, EDGE]`` for channels ``z0:z1``: from the kept box of
        whole spectra when it covers them, else read (the whole spectra, kept, when a
        slice of a box that fits :data:`BOX_KEEP_BYTES` is asked for)."""
        depth = self.shape[3]
        key = (stokes, ty0, ty1, tx0, tx1)
        with self._box_lock:
            if self._box_key == key and self._box is not None:
                return self._box[:, :, z0:z1]
        whole = (ty1 - ty0) * (tx1 - tx0) * EDGE * EDGE * depth * 4
        keep = (z0, z1) != (0, depth) and whole <= BOX_KEEP_BYTES
        lo, hi = (0, depth) if keep else (z0, z1)
        buffer = np.empty((ty1 - ty0, tx1 - tx0, hi - lo, EDGE, EDGE), dtype="<f4")
        for i, ty in enumerate(range(ty0, ty1)):
            if (lo, hi) == (0, depth):
                self._tile(buffer[i], stokes, ty, tx0, 0)  # whole tiles of a row are adjacent: one read
                continue
            for j, tx in enumerate(range(tx0, tx1)):
                self._tile(buffer[i, j], stokes, ty, tx, lo)
        if keep:
            with self._box_lock:
                self._box_key, self._box = key, buffer
            return buffer[:, :, z0:z1]
        return buffer

    def close(self) -> None:
        fd, self._fd = self._fd, None
        self._box = None
        if fd is not None:
            os.close(fd)
