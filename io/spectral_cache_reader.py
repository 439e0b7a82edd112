"""Reading a finished spectral cache entry: spectra, boxes and region sums.

The layout is in ``io/spectral_layout.py``. Reads use ``preadv`` (no memory map, so a
file that shrinks under us is an error, not SIGBUS). A profile job asks for one box's
channels a slice at a time; slices read from disk one by one would be thousands of
small scattered reads, so the box's whole spectra are read once (up to
:data:`BOX_KEEP_BYTES`) and later slices are served from them. :meth:`region_sums`
serves count/sum/sum-of-squares profiles from the entry's tile-row prefix sums plus
the pixels of the tiles the region's edge cuts.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import numpy as np

from carta_trio.io.spectral_layout import (EDGE, FORMAT_VERSION, HEADER_BYTES, MAGIC, SUM_FIELDS,
                                           CacheUnavailable, Layout, masked_sums, runs, tile_cover)

#: Largest box of whole spectra a reader keeps between calls.
BOX_KEEP_BYTES = 256 * 1024 * 1024
#: Cut tiles read and reduced at once by :meth:`SpectralCacheReader.region_sums` (bounds its temporaries).
SUM_TILE_GROUP = 32


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
        self.layout = Layout((self.shape[0], self.shape[1], self.shape[2], self.shape[3]))
        #: Whether :meth:`region_sums` may be used (False for cubes holding +-Inf).
        self.has_sums = bool(meta.get("sums"))
        self._tiles_y, self._tiles_x = self.layout.tiles_y, self.layout.tiles_x
        self._box_lock = threading.Lock()
        self._box_key: tuple[int, int, int, int, int] | None = None
        self._box: np.ndarray | None = None
        self._sums_lock = threading.Lock()
        self._sums_key: tuple[object, ...] | None = None
        self._sums_all: np.ndarray | None = None
        if os.fstat(self._fd).st_size < self.layout.nbytes:
            self.close()
            raise CacheUnavailable("a truncated spectral cache entry")

    @property
    def num_stokes(self) -> int:
        return self.shape[0]

    def _tile(self, out: np.ndarray, stokes: int, ty: int, tx: int, z0: int) -> None:
        """Fill ``out`` (contiguous) from channel ``z0`` of tile ``(ty, tx)`` on: channels of
        that tile, or (``z0 = 0``, ``out`` of several whole tiles) the tiles after it in its row."""
        self._read_into(out, self.layout.tile_offset(stokes, ty, tx, z0))

    def _read_into(self, out: np.ndarray, offset: int) -> None:
        assert self._fd is not None
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

    def region_sums(self, stokes: int, x0: int, x1: int, y0: int, y1: int, mask: np.ndarray | None,
                    z0: int, z1: int) -> np.ndarray:
        """``[z1 - z0, 3]`` float64: count, sum and sum of squares of the finite pixels of
        the region (box ``[y0:y1, x0:x1]``, ``mask`` relative to it, None: the whole box)
        for channels ``z0:z1``. Needs :attr:`has_sums`.

        A profile job asks for a region's channels a block at a time: when the region's
        cut tiles fit :data:`BOX_KEEP_BYTES`, the first call computes every channel (whole
        tiles read in runs, no small scattered reads) and later calls slice that."""
        if not self.has_sums:
            raise CacheUnavailable("this spectral cache entry has no sums")
        cover = tile_cover(self.layout, x0, x1, y0, y1, mask)
        depth = self.shape[3]
        if (z0, z1) == (0, depth) or int(cover[3].sum()) * self.layout.tile_bytes > BOX_KEEP_BYTES:
            return self._sums(stokes, cover, z0, z1)
        digest = None if mask is None else hashlib.blake2b(np.packbits(mask).tobytes() + bytes(str(mask.shape), "ascii"),
                                                           digest_size=16).digest()
        key = (stokes, x0, x1, y0, y1, digest)
        with self._sums_lock:
            if self._sums_key != key or self._sums_all is None:
                self._sums_all, self._sums_key = self._sums(stokes, cover, 0, depth), key
            return self._sums_all[z0:z1].copy()

    def sums_at_once(self, x0: int, x1: int, y0: int, y1: int, mask: np.ndarray | None) -> bool:
        """Whether :meth:`region_sums` of this region computes every channel in one go
        anyway (its cut tiles fit :data:`BOX_KEEP_BYTES`): a caller may then ask for all
        channels in one call instead of in blocks."""
        cover = tile_cover(self.layout, x0, x1, y0, y1, mask)
        return self.has_sums and int(cover[3].sum()) * self.layout.tile_bytes <= BOX_KEEP_BYTES

    def _sums(self, stokes: int, cover: tuple[int, int, np.ndarray, np.ndarray, np.ndarray],
              z0: int, z1: int) -> np.ndarray:
        ty0, tx0, whole, partial, masks = cover
        layout = self.layout
        # (sign, offset) of the prefix records: + the run's end, - its start (none at column 0).
        corners = [(sign, layout.corner_offset(stokes, ty0 + i, tx0 + edge, z0))
                   for i in range(whole.shape[0]) for a, b in runs(whole[i])
                   for sign, edge in ((1.0, b), (-1.0, a)) if tx0 + edge]
        # (tile row, first tile, end tile) of the cut tiles, at most SUM_TILE_GROUP at once.
        groups = [(i, start, min(b, start + SUM_TILE_GROUP)) for i in range(partial.shape[0])
                  for a, b in runs(partial[i]) for start in range(a, b, SUM_TILE_GROUP)]
        whole_depth = (z0, z1) == (0, self.shape[3])
        tiles = ([(layout.tile_offset(stokes, ty0 + i, tx0 + a), (b - a) * layout.tile_bytes) for i, a, b in groups]
                 if whole_depth else
                 [(layout.tile_offset(stokes, ty0 + i, tx0 + n, z0), (z1 - z0) * EDGE * EDGE * 4)
                  for i, a, b in groups for n in range(a, b)])
        self._prefetch([(offset, (z1 - z0) * SUM_FIELDS * 8) for _, offset in corners] + tiles)
        total = np.zeros((z1 - z0, SUM_FIELDS))
        corner = np.empty((z1 - z0, SUM_FIELDS))
        for sign, offset in corners:
            self._read_into(corner, offset)
            total += sign * corner
        for i, a, b in groups:
            data = np.empty((b - a, z1 - z0, EDGE * EDGE), dtype="<f4")
            if whole_depth:  # adjacent whole tiles: one read
                self._tile(data, stokes, ty0 + i, tx0 + a, 0)
            else:
                for n in range(b - a):
                    self._tile(data[n], stokes, ty0 + i, tx0 + a + n, z0)
            total += masked_sums(data, masks[i, a:b])
        return total

    def _prefetch(self, ranges: list[tuple[int, int]]) -> None:
        """Ask the kernel for every range at once before reading them one by one: on a
        cold disk the reads then overlap instead of each waiting its turn."""
        assert self._fd is not None
        for offset, length in ranges:
            os.posix_fadvise(self._fd, offset, length, os.POSIX_FADV_WILLNEED)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        self._box = self._sums_all = None
        if fd is not None:
            os.close(fd)
