"""Cutting a read of a tile-compressed FITS image into short, tile-aligned calls.

cfitsio holds the GIL for a whole read call, and a call decompresses every tile the
requested box touches, whole. So what a call costs is not the bytes it returns but
the pixels of the tiles it touches: one pixel's spectrum through a cube stored in
512 x 512 tiles decompresses 512 x 512 pixels per channel. :func:`tile_bands` cuts a
box into sub-boxes whose *decompression* cost (pixels of the tiles touched) stays
within a budget, with every cut on a tile boundary, so no tile is decompressed twice
and no call holds the GIL for long (:func:`band_budget`: ~1.5 ms of work per call on
this machine). A box cheaper than the budget stays one call; a single tile
costlier than the budget is one call of its own (a tile cannot be cut).

Axes are in numpy order (outermost first) throughout; ``tile`` is the ZTILEn shape
reversed. Pure Python, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

Box = tuple[list[int], list[int]]


def tile_shape(records: Sequence[Mapping[str, Any]], np_shape: Sequence[int]) -> tuple[int, ...]:
    """The compression tile of an image HDU (numpy order) from its binary-table header
    records: ``ZTILEn``, by default whole rows (``ZTILE1 = NAXIS1``, the others 1),
    each clipped to the image."""
    values: dict[str, Any] = {str(r.get("name", "")).upper(): r.get("value") for r in records}
    ndim = len(np_shape)
    tile = []
    for axis in range(1, ndim + 1):  # FITS order
        size = int(np_shape[ndim - axis])
        default = size if axis == 1 else 1
        try:
            value = int(values.get(f"ZTILE{axis}", default))
        except (TypeError, ValueError):
            value = default
        tile.append(min(size, max(1, value)))
    return tuple(reversed(tile))


#: Tile pixels per cfitsio call by compression algorithm (``ZCMPTYPE``): ~1.5 ms of
#: decompression on this machine when idle. GZIP and HCOMPRESS cost about twice RICE
#: per pixel (``bench/bench_loop_stall.py``); PLIO is cheaper than RICE.
BAND_PIXELS = {"RICE_1": 1 << 16, "RICE_ONE": 1 << 16, "PLIO_1": 1 << 16,
               "GZIP_1": 1 << 15, "GZIP_2": 1 << 15, "HCOMPRESS_1": 1 << 15}
#: For an algorithm not listed.
DEFAULT_BAND_PIXELS = 1 << 15


def band_budget(records: Sequence[Mapping[str, Any]]) -> int:
    """Tile pixels per call for the compression algorithm named in the HDU's records."""
    for record in records:
        if str(record.get("name", "")).upper() == "ZCMPTYPE":
            return BAND_PIXELS.get(str(record.get("value", "")).strip().upper(), DEFAULT_BAND_PIXELS)
    return DEFAULT_BAND_PIXELS


def _aligned(lo: int, hi: int, tile: int, size: int) -> tuple[int, int]:
    """[lo, hi) widened to whole tiles along one axis of length ``size``."""
    return (lo // tile) * tile, min(size, -(-hi // tile) * tile)


def decompressed_pixels(starts: Sequence[int], stops: Sequence[int], tile: Sequence[int],
                        shape: Sequence[int]) -> int:
    """Pixels cfitsio decompresses to read the box: those of every tile it touches."""
    total = 1
    for lo, hi, t, n in zip(starts, stops, tile, shape):
        a, b = _aligned(lo, hi, t, n)
        total *= b - a
    return total


def tile_bands(starts: Sequence[int], stops: Sequence[int], tile: Sequence[int],
               shape: Sequence[int], budget: int) -> Iterator[Box]:
    """Sub-boxes covering ``[starts, stops)`` in order, each touching at most ``budget``
    tile pixels (or one tile, when a tile alone is costlier), cut on tile boundaries."""
    yield from _split(list(starts), list(stops), tile, shape, budget, 0)


def _split(starts: list[int], stops: list[int], tile: Sequence[int], shape: Sequence[int],
           budget: int, axis: int) -> Iterator[Box]:
    if axis >= len(starts) or decompressed_pixels(starts, stops, tile, shape) <= budget:
        yield starts, stops
        return
    t = tile[axis]
    lo, hi = starts[axis], stops[axis]
    a, b = _aligned(lo, hi, t, shape[axis])
    # cost of one tile-row of this axis (the other axes as they are)
    unit = decompressed_pixels(starts, stops, tile, shape) // max(1, b - a) * t
    rows = max(1, budget // unit) if unit <= budget else 1
    edge = (lo // t) * t
    while edge < hi:
        nxt = edge + rows * t
        sub_starts, sub_stops = list(starts), list(stops)
        sub_starts[axis], sub_stops[axis] = max(lo, edge), min(hi, nxt)
        if unit <= budget:
            yield sub_starts, sub_stops
        else:
            yield from _split(sub_starts, sub_stops, tile, shape, budget, axis + 1)
        edge = nxt


def band_count(starts: Sequence[int], stops: Sequence[int], tile: Sequence[int],
               shape: Sequence[int], budget: int) -> int:
    """How many calls :func:`tile_bands` makes for the box (tests, benchmarks)."""
    return sum(1 for _ in tile_bands(starts, stops, tile, shape, budget))


def box_size(starts: Sequence[int], stops: Sequence[int]) -> int:
    return math.prod(b - a for a, b in zip(starts, stops))
