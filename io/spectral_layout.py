"""Byte layout of a spectral cache entry, and the tile-row sums it carries.

An entry (``io/spectral_cache.py`` writes it, ``io/spectral_cache_reader.py`` reads it) is:

1. a header of :data:`HEADER_BYTES`: :data:`MAGIC` and a JSON object (format, shape,
   edge, source, ``sums``: whether section 3 may be used);
2. the pixels as float32 tiles of ``EDGE x EDGE`` spectra: for each Stokes, tile row
   and tile column, the tile's channels one after another (each an ``EDGE x EDGE``
   block; pixels beyond the image edge are NaN);
3. per Stokes and tile row, prefix sums over the row's tiles: for tile-column corner
   ``c`` (0 .. tiles_x) and each channel, ``(count, sum, sum of squares)`` (float64) of
   the finite pixels of tiles ``0 .. c-1``; corner records are ``[channel][3]`` so a
   channel range is one contiguous read.

Section 3 is what makes a region profile cheap: the tiles a region covers completely
contribute ``prefix[b] - prefix[a]`` for each run ``a..b`` of them in a tile row (two
small reads per tile row), and only the tiles its edge cuts are read pixel by pixel.
For a 200x200 box that is ~15x fewer bytes than its whole spectra (~170 MB for 1000
channels). It is ~9% of section 2. Minimum and maximum are not summed: profiles of
those statistics read the pixels. A cube holding +-Inf writes ``sums: false`` (Inf
would poison every prefix after it) and its profiles read the pixels too.
"""

from __future__ import annotations

import numpy as np

#: Bumped when the layout changes; older entries are then ignored and evicted.
FORMAT_VERSION = 3
MAGIC = b"CARTA-TRIO-SPECTRAL\n"
HEADER_BYTES = 4096
#: Spatial edge of a tile: a cursor spectrum reads the tile's ``EDGE**2`` spectra.
EDGE = 8
#: float64 values per channel of a corner record: count, sum, sum of squares.
SUM_FIELDS = 3


class CacheUnavailable(Exception):
    """The cache cannot hold this cube (budget, free disk, unwritable folder)."""


def tiles(n: int) -> int:
    """Tiles of :data:`EDGE` needed to cover ``n`` pixels."""
    return -(-n // EDGE)


class Layout:
    """Offsets of an entry of shape ``(stokes, height, width, depth)``."""

    def __init__(self, shape: tuple[int, int, int, int]) -> None:
        self.shape = shape
        self.stokes, self.height, self.width, self.depth = shape
        self.tiles_y, self.tiles_x = tiles(self.height), tiles(self.width)
        self.tile_bytes = EDGE * EDGE * self.depth * 4
        self.sums_offset = HEADER_BYTES + self.stokes * self.tiles_y * self.tiles_x * self.tile_bytes
        self.corner_bytes = self.depth * SUM_FIELDS * 8

    @property
    def nbytes(self) -> int:
        return self.sums_offset + self.stokes * self.tiles_y * (self.tiles_x + 1) * self.corner_bytes

    def tile_offset(self, stokes: int, ty: int, tx: int, z0: int = 0) -> int:
        """Where channel ``z0`` of tile ``(ty, tx)`` starts."""
        return (HEADER_BYTES + ((stokes * self.tiles_y + ty) * self.tiles_x + tx) * self.tile_bytes
                + z0 * EDGE * EDGE * 4)

    def corner_offset(self, stokes: int, ty: int, corner: int, z0: int = 0) -> int:
        """Where channel ``z0`` of the prefix record of tile row ``ty`` at ``corner`` starts."""
        return (self.sums_offset + ((stokes * self.tiles_y + ty) * (self.tiles_x + 1) + corner) * self.corner_bytes
                + z0 * SUM_FIELDS * 8)


def row_prefix_sums(band: np.ndarray) -> tuple[np.ndarray, bool]:
    """Prefix records of a band of tiles ``[ty, tx, z, EDGE, EDGE]`` (float32, NaN for
    no value): ``[ty, tx + 1, z, 3]`` float64, and whether any pixel is +-Inf."""
    nty, ntx, depth = band.shape[:3]
    out = np.zeros((nty, ntx + 1, depth, SUM_FIELDS))
    has_inf = False
    for i in range(nty):
        block = band[i].reshape(ntx, depth, EDGE * EDGE)
        nan = np.isnan(block)
        out[i, 1:, :, 0] = EDGE * EDGE - nan.sum(axis=2)
        if nan.any():
            block = np.where(nan, np.float32(0), block)
        total = block.sum(axis=2, dtype=np.float64)  # finite float32 never overflows it: Inf is Inf
        has_inf = has_inf or not bool(np.isfinite(total).all())
        out[i, 1:, :, 1] = total
        out[i, 1:, :, 2] = np.einsum("tzp,tzp->tz", block, block, dtype=np.float64)
        np.cumsum(out[i], axis=0, out=out[i])
    return out, has_inf


def tile_cover(layout: Layout, x0: int, x1: int, y0: int, y1: int,
               mask: np.ndarray | None) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
    """Which tiles of the box ``[y0:y1, x0:x1]`` (``mask`` relative to it, None: all)
    the region covers: ``(ty0, tx0, whole, partial, masks)`` where ``whole`` and
    ``partial`` are boolean ``[tile row, tile column]`` grids from ``(ty0, tx0)`` on and
    ``masks`` the ``[.., .., EDGE * EDGE]`` pixel masks of each tile. Pixels beyond the
    image edge (NaN padding) count as covered, so edge tiles can be whole."""
    ty0, ty1 = y0 // EDGE, tiles(y1)
    tx0, tx1 = x0 // EDGE, tiles(x1)
    region = np.zeros(((ty1 - ty0) * EDGE, (tx1 - tx0) * EDGE), dtype=bool)
    oy, ox = y0 - ty0 * EDGE, x0 - tx0 * EDGE
    region[oy:oy + (y1 - y0), ox:ox + (x1 - x0)] = True if mask is None else mask
    padded = region.copy()
    padded[max(0, layout.height - ty0 * EDGE):, :] = True
    padded[:, max(0, layout.width - tx0 * EDGE):] = True

    def per_tile(grid: np.ndarray) -> np.ndarray:
        return grid.reshape(ty1 - ty0, EDGE, tx1 - tx0, EDGE).transpose(0, 2, 1, 3).reshape(
            ty1 - ty0, tx1 - tx0, EDGE * EDGE)

    masks = per_tile(region)
    touched = np.asarray(masks.any(axis=2))
    whole = np.asarray(touched & per_tile(padded).all(axis=2))
    return ty0, tx0, whole, touched & ~whole, masks


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[(a, b), ..]``: the maximal runs ``a..b-1`` of True in a 1-D boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def masked_sums(data: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``[z, 3]`` count, sum and sum of squares per channel of tiles ``data``
    ``[n, z, EDGE * EDGE]`` over their pixels where ``masks`` ``[n, EDGE * EDGE]`` holds."""
    tile, pixel = np.nonzero(masks)
    values = data[tile, :, pixel]  # [pixels, z], a copy
    nan = np.isnan(values)
    out = np.empty((data.shape[1], SUM_FIELDS))
    out[:, 0] = len(tile) - nan.sum(axis=0)
    if nan.any():
        values[nan] = 0
    out[:, 1] = values.sum(axis=0, dtype=np.float64)
    out[:, 2] = np.einsum("kz,kz->z", values, values, dtype=np.float64)
    return out
