"""A spectral-major copy of a large cube on disk, so spectra read as contiguous runs.

FITS and CASA cubes are stored plane by plane: the spectrum of one pixel is one value
per plane, ``width * height * 4`` bytes apart, so a cursor or region spectral profile
touches every plane of the file (minutes on a network file system for a big cube). The
cache holds the same pixels transposed, in the HDF5-IDIA ``SwizzledData`` axis order
(Stokes, x, y, z in numpy order), chunked as small spatial tiles that run the whole
spectral axis. HDF5 through h5py was chosen over zarr because it is already a
dependency, is one file per cube (one rename publishes it, one unlink evicts it), and
the layout is the one CARTA's own HDF5 converter writes, so tools that know IDIA files
can read it.

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
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Bumped when the layout changes; older entries are then ignored and evicted.
FORMAT_VERSION = 1
DATASET = "SwizzledData"
#: Spatial edge of a chunk: a cursor spectrum reads one chunk of ``EDGE**2`` spectra.
CHUNK_EDGE = 4
#: Largest spectral run of one chunk (values).
CHUNK_DEPTH = 16384
#: Bytes read from the image per build step (a band of rows over every channel).
BUILD_STEP_BYTES = 64 * 1024 * 1024
#: Free disk left untouched when deciding whether a build fits.
DISK_RESERVE_BYTES = 512 * 1024 * 1024
SUFFIX = ".spectral.h5"


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
        return stokes * height * width * depth * 4


def key_for(reader: Any) -> CacheKey | None:
    """The cache key of a reader's image, or None when it has no single backing file
    (joined Stokes files, expressions, generated images)."""
    sources = reader.source_paths()
    if len(sources) != 1:
        return None
    path = Path(sources[0])
    if not path.is_absolute() or Path(reader.path) != path:
        return None  # an in-memory image named after its source, or an expression
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
        """Remove staging files left by a build that was interrupted by a crash."""
        try:
            with os.scandir(self.folder) as it:
                for entry in it:
                    if entry.name.startswith(".") and entry.name.endswith(".partial"):
                        _unlink(Path(entry.path))
        except FileNotFoundError:
            pass


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class CacheBuild:
    """Writing one entry, a band of rows at a time (each :meth:`step` is one chunk of
    blocking work, so a job can cancel between steps and report progress).

    Call :meth:`step` for each index of :attr:`bands` (from a worker thread), then
    :meth:`commit`, or :meth:`abort` to drop the staging file.
    """

    def __init__(self, store: SpectralCacheStore, reader: Any, key: CacheKey) -> None:
        import h5py

        self.store = store
        self.reader = reader
        self.key = key
        stokes, height, width, depth = key.shape
        rows = max(CHUNK_EDGE, BUILD_STEP_BYTES // max(1, width * depth * 4) // CHUNK_EDGE * CHUNK_EDGE)
        self.bands = [(s, y0, min(height, y0 + rows)) for s in range(stokes) for y0 in range(0, height, rows)]
        store.folder.mkdir(parents=True, exist_ok=True)
        self.staging = store.folder / f".{key.file_name}.{os.getpid()}.partial"
        self._file = h5py.File(self.staging, "w")
        chunks = (1, min(CHUNK_EDGE, width), min(CHUNK_EDGE, height), min(CHUNK_DEPTH, depth))
        self._data = self._file.create_dataset(DATASET, shape=(stokes, width, height, depth), dtype="<f4",
                                               chunks=chunks)
        self._file.attrs["source"] = key.path
        self._file.attrs["hdu"] = key.hdu
        self._file.attrs["format"] = FORMAT_VERSION

    def step(self, index: int) -> None:
        """Copy band ``index``: rows ``y0:y1`` of one Stokes over every channel."""
        stokes, y0, y1 = self.bands[index]
        _, _, width, depth = self.key.shape
        block = self.reader.read_cube(0, width, y0, y1, 0, depth, stokes)  # [z, y, x]
        self._data[stokes, :, y0:y1, :] = np.ascontiguousarray(block.transpose(2, 1, 0))

    def commit(self) -> Path:
        """Publish the entry, unless the image changed while it was copied."""
        self._file.close()
        current = key_for(self.reader)
        if current != self.key:
            self.abort()
            raise CacheUnavailable("the image changed while its spectral cache was built")
        final = self.store.entry_path(self.key)
        os.replace(self.staging, final)
        return final

    def abort(self) -> None:
        """Drop the staging file (idempotent)."""
        try:
            self._file.close()
        except Exception:  # noqa: BLE001 - closing a half-written file may fail; unlink anyway
            pass
        _unlink(self.staging)


class SpectralCacheReader:
    """Spectra and boxes read from a finished entry (float32, as the image reader gives)."""

    def __init__(self, path: Path, stokes_values: list[int] | None = None) -> None:
        import h5py

        self.path = Path(path)
        #: The image's Stokes codes, so computed polarizations combine cached spectra.
        self.stokes_values = list(stokes_values or [])
        # A chunk cache that holds the chunks of a 200x200 region's band of spectra.
        self._file = h5py.File(self.path, "r", rdcc_nbytes=64 * 1024 * 1024, rdcc_nslots=100003)
        self._data = self._file[DATASET]

    @property
    def num_stokes(self) -> int:
        return int(self._data.shape[0])

    def read_spectrum(self, x: int, y: int, stokes: int, z0: int = 0, z1: int | None = None) -> np.ndarray:
        depth = self._data.shape[3]
        z1 = depth if z1 is None else z1
        return np.asarray(self._data[stokes, x, y, z0:z1], dtype=np.float32)

    def read_cube(self, x0: int, x1: int, y0: int, y1: int, z0: int, z1: int, stokes: int) -> np.ndarray:
        """A box as float32 ``[z, y, x]`` like :meth:`ImageReader.read_cube`."""
        block = self._data[stokes, x0:x1, y0:y1, z0:z1]  # [x, y, z]
        return np.ascontiguousarray(block.transpose(2, 1, 0))

    def close(self) -> None:
        self._file.close()

