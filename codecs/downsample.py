"""Block-mean downsampling of image planes (WIRE.md 2.4), bit for bit as the reference.

Output pixel (i, j) is the mean of the finite pixels of the ``mip x mip`` block
starting at ``(x_min + i*mip, y_min + j*mip)``; blocks at the right and top edges of
the region are partial and average only the pixels that exist; a block without a
finite pixel gives NaN. The same rule serves raster tiles (mip = 2**k), contour
block averaging (any factor) and vector-overlay tiles (any factor).

Why the summation order matters: the reference sums in float32, and float32
addition is not associative, so the last bit depends on the order. The reference
(``BlockSmooth`` in ``src/DataStream/Smoothing.cc``, default x86-64 build with
``-msse4``, AVX off) uses two orders:

* factor % 4 == 0 (``BlockSmoothSSE``): four float32 lane sums; lane ``l`` adds the
  finite values of columns ``4k + l`` row by row (rows outer, 4-column chunks inner)
  over the chunks that fit completely in the block; the lanes are combined as
  ``(l0 + l1) + (l2 + l3)``; then the leftover columns of a partial right-edge block
  are added one by one, row by row. The count is exact; the mean is sum / count.
* otherwise (``BlockSmoothScalar``): one float32 sum in row-major order.

Both are reproduced here with whole-array numpy steps (one vectorised add per
position inside the block), so the results equal the reference's to the bit.
"""

from __future__ import annotations

import numpy as np

from .tile_geometry import TileBounds

__all__ = ["band_rows", "block_mean", "downsample_region", "downsample_tile", "tile_from_mip_plane"]

_LANES = 4  # SSE float32 lanes


def block_mean(region: np.ndarray, factor: int) -> np.ndarray:
    """Block mean of a whole 2-D array with the reference's float32 summation order.

    Returns float32 of shape ``(ceil(h / factor), ceil(w / factor))``. ``factor = 1``
    returns a float32 copy (NaN and Inf unchanged), as the reference's plain copy does.
    """
    if region.ndim != 2:
        raise ValueError(f"block_mean needs a 2-D array, got shape {region.shape}")
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"downsampling factor {factor} must be at least 1")
    h, w = region.shape
    if h == 0 or w == 0:
        raise ValueError(f"cannot downsample an empty {w}x{h} region")
    if factor == 1:
        return np.array(region, dtype=np.float32, order="C", copy=True)
    rows = _band_height(w, factor)
    if factor <= _BANDED_FACTORS and h > rows:
        # Cache-sized row bands (each block lies in one: bit-identical): the strided
        # adds below then read from L2 instead of memory (mip 4 of 4096²: 23 -> 10 ms).
        return np.concatenate([_block_mean(region[y : y + rows], factor) for y in range(0, h, rows)])
    return _block_mean(region, factor)


#: Factors up to this are reduced in cache-sized row bands (larger ones gain nothing:
#: their adds are few and short, and more bands only add Python overhead).
_BANDED_FACTORS = 8
#: Bytes of float32 input per band.
_BAND_BYTES = 1 << 20


def _band_height(width: int, factor: int) -> int:
    """Rows per band: a multiple of ``factor`` holding about :data:`_BAND_BYTES`."""
    return max(factor, _BAND_BYTES // (4 * max(width, 1)) // factor * factor)


def _block_mean(region: np.ndarray, factor: int) -> np.ndarray:
    """:func:`block_mean` of one band (``factor`` > 1, non-empty)."""
    h, w = region.shape
    out_h, out_w = -(-h // factor), -(-w // factor)

    src = np.asarray(region, dtype=np.float32)
    finite = np.isfinite(src)
    if h % factor == 0 and w % factor == 0 and finite.all():
        # Whole blocks of finite pixels (most planes): no padded copy, no counting.
        count = np.full((out_h, out_w), factor * factor, dtype=np.int32)
        if factor % _LANES == 0:
            total = _lane_sums(src, factor, w, out_h, out_w)
        else:
            total = _row_major_sums(src, factor, out_h, out_w)
        return total / count.astype(np.float32)
    # Non-finite and padding positions contribute +0.0, which leaves a float32 sum
    # unchanged (the sums start at +0.0 and can never become -0.0).
    values = np.zeros((out_h * factor, out_w * factor), dtype=np.float32)
    np.copyto(values[:h, :w], src, where=finite)
    padded_finite = np.zeros((out_h * factor, out_w * factor), dtype=bool)
    padded_finite[:h, :w] = finite
    count = _block_counts(padded_finite, factor, out_h, out_w)

    if factor % _LANES == 0:
        total = _lane_sums(values, factor, w, out_h, out_w)
    else:
        total = _row_major_sums(values, factor, out_h, out_w)

    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count.astype(np.float32)
    mean[count == 0] = np.nan
    return mean


def band_rows(height: int, factor: int, parts: int) -> list[tuple[int, int]]:
    """Row ranges ``(start, stop)`` cutting ``height`` rows into at most ``parts`` bands
    at multiples of ``factor``. Every block lies in one band, so the block means of the
    bands, stacked, are the block mean of the whole plane (bit for bit): the bands can
    be reduced on different cores."""
    out_h = -(-height // factor)
    edges = sorted({round(i * out_h / max(1, parts)) for i in range(max(1, parts) + 1)})
    return [(a * factor, min(height, b * factor)) for a, b in zip(edges, edges[1:]) if b > a]


def _block_counts(finite: np.ndarray, factor: int, out_h: int, out_w: int) -> np.ndarray:
    """Finite pixels per block (exact integers; the order does not matter here).

    Generic numpy reductions over the two block axes are slow; strided whole-array
    adds are fast for small factors, row sums first for large ones.
    """
    ones = finite.view(np.uint8)
    count = np.zeros((out_h, out_w), dtype=np.int32)
    if factor <= 32:
        blocks = ones.reshape(out_h, factor, out_w, factor)
        for row in range(factor):
            for col in range(factor):
                count += blocks[:, row, :, col]
    else:
        rows = ones.reshape(out_h * factor, out_w, factor).sum(axis=2, dtype=np.int32)
        rows = rows.reshape(out_h, factor, out_w)
        for row in range(factor):
            count += rows[:, row, :]
    return count


def _row_major_sums(values: np.ndarray, factor: int, out_h: int, out_w: int) -> np.ndarray:
    """Scalar reference order: one float32 accumulator per block, rows then columns."""
    blocks = values.reshape(out_h, factor, out_w, factor)
    total = np.zeros((out_h, out_w), dtype=np.float32)
    for row in range(factor):
        for col in range(factor):
            total += blocks[:, row, :, col]
    return total


def _lane_sums(values: np.ndarray, factor: int, w: int, out_h: int, out_w: int) -> np.ndarray:
    """SSE reference order: 4 lane sums over whole chunks, pairwise lane reduction,
    then the right edge's leftover columns added one at a time."""
    last_x0 = (out_w - 1) * factor
    columns_left = w - last_x0
    whole = (columns_left // _LANES) * _LANES
    leftover = None
    if columns_left != factor:
        # Columns past the last whole 4-chunk of the edge block are summed after the
        # lane reduction; take them out of the lane sums.
        leftover = values[:, last_x0 + whole : last_x0 + columns_left].copy()
        values[:, last_x0 + whole :] = 0.0

    chunks = values.reshape(out_h, factor, out_w, factor // _LANES, _LANES)
    lanes = np.zeros((out_h, out_w, _LANES), dtype=np.float32)
    for row in range(factor):
        for chunk in range(factor // _LANES):
            lanes += chunks[:, row, :, chunk, :]
    total = (lanes[..., 0] + lanes[..., 1]) + (lanes[..., 2] + lanes[..., 3])

    if leftover is not None:
        rows = leftover.reshape(out_h, factor, leftover.shape[1])
        edge = total[:, -1].copy()
        for row in range(factor):
            for col in range(rows.shape[2]):
                edge += rows[:, row, col]
        total[:, -1] = edge
    return total


def downsample_region(
    plane: np.ndarray, x_min: int, x_max: int, y_min: int, y_max: int, factor: int
) -> np.ndarray:
    """Block mean of ``plane[y_min:y_max, x_min:x_max]`` (half-open, clipped by the caller).

    Blocks start at ``(x_min, y_min)``; the region must lie inside the plane.
    """
    height, width = plane.shape
    if not (0 <= x_min < x_max <= width and 0 <= y_min < y_max <= height):
        raise ValueError(
            f"region x {x_min}:{x_max}, y {y_min}:{y_max} is empty or outside the "
            f"{width}x{height} plane"
        )
    return block_mean(plane[y_min:y_max, x_min:x_max], factor)


def downsample_tile(plane: np.ndarray, bounds: TileBounds) -> np.ndarray:
    """Tile data for ``bounds`` (from ``tile_geometry.tile_bounds``): float32
    ``(bounds.height, bounds.width)``, block-mean downsampled for mip > 1."""
    data = downsample_region(plane, bounds.x_min, bounds.x_max, bounds.y_min, bounds.y_max, bounds.mip)
    if data.shape != (bounds.height, bounds.width):  # pragma: no cover - geometry invariant
        raise AssertionError(f"tile data {data.shape} does not match bounds {bounds}")
    return data


def tile_from_mip_plane(mip_plane: np.ndarray, bounds: TileBounds) -> np.ndarray:
    """Tile data cut from a precomputed plane already downsampled by ``bounds.mip``
    (an IDIA HDF5 ``MipMaps`` dataset, ``ceil(H/mip) x ceil(W/mip)``), which the
    reference prefers over computing the block mean (WIRE.md 2.4)."""
    x0, y0 = bounds.x_min // bounds.mip, bounds.y_min // bounds.mip
    data = mip_plane[y0 : y0 + bounds.height, x0 : x0 + bounds.width]
    if data.shape != (bounds.height, bounds.width):
        raise ValueError(
            f"mip-{bounds.mip} plane of shape {mip_plane.shape} does not contain tile {bounds}"
        )
    return np.array(data, dtype=np.float32, copy=True)
