"""Cursor and point-region x/y spatial profiles (ANALYTICS.md §5.1, WIRE.md §4.1).

The position is the cursor pixel (C ``round``) or a point region's pixel (casacore
``int(p + 0.5)``), see :mod:`carta_trio.analysis.region_masks`. The "x" profile is row
``y`` over columns ``[start, end)``, the "y" profile column ``x`` over rows
``[start, end)``; ``end = 0`` means the full width/height. With ``mip >= 2`` and no
precomputed mipmaps the reference decimates: it reads ``[ds·mip, min(de·mip, n))`` with
``ds = ceil(start/(2·mip))·2`` and ``de = ceil(end/(2·mip))·2`` and replaces every
window of ``2·mip`` samples by its finite minimum and maximum in order of occurrence,
so the result has ``de − ds`` values; the message keeps the requested start/end/mip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ProfileRange", "profile_range", "decimate_min_max", "spatial_profile"]

_F32 = np.float32


@dataclass(frozen=True)
class ProfileRange:
    """What to read for one profile and how to report it.

    ``read_start``/``read_end`` are the half-open pixel range to fetch along the axis;
    ``start``/``end`` are echoed in the message (``end`` with 0 replaced by the axis
    length); ``length`` is the number of values sent.
    """

    start: int
    end: int
    read_start: int
    read_end: int
    mip: int
    decimated: bool
    length: int


def profile_range(start: int, end: int, mip: int, axis_length: int) -> ProfileRange:
    """Read range and output length of an x or y profile request (no mipmap datasets)."""
    start = max(int(start), 0)
    end = int(end) or axis_length
    if mip >= 2:
        # Bounded by the axis (the reference is not: an ``end`` far beyond the image
        # asked it for that many decimated values, or a multi-GiB allocation).
        clamped_start, clamped_end = min(start, axis_length), min(end, axis_length)
        ds = math.ceil(float(_F32(clamped_start) / _F32(mip * 2))) * 2
        de = math.ceil(float(_F32(clamped_end) / _F32(mip * 2))) * 2
        read_start = min(ds * mip, axis_length)
        read_end = min(de * mip, axis_length)
        return ProfileRange(start, end, read_start, max(read_start, read_end), mip, True, max(de - ds, 0))
    read_start = min(start, axis_length)
    read_end = min(max(end, read_start), axis_length)
    return ProfileRange(start, end, read_start, read_end, mip, False, read_end - read_start)


def decimate_min_max(values: np.ndarray, mip: int, length: int) -> np.ndarray:
    """The reference's in-place min/max decimation of a full-resolution profile.

    Each window of ``2·mip`` samples (the last may be short) becomes two values: its
    minimum and maximum over non-NaN samples, in order of occurrence (a tie or a single
    valid sample gives the same value twice; no valid sample gives NaN, NaN). The
    result is cut or zero-padded to ``length`` exactly as the reference's ``resize``.
    """
    data = np.asarray(values, dtype=_F32)
    width = 2 * mip
    nwin = -(-data.size // width) if data.size else 0
    padded = np.full(nwin * width, np.nan, dtype=_F32)
    padded[: data.size] = data
    windows = padded.reshape(nwin, width)
    valid = ~np.isnan(windows)
    any_valid = valid.any(axis=1)
    lo = np.where(valid, windows, np.inf)
    hi = np.where(valid, windows, -np.inf)
    lo_pos = np.argmin(lo, axis=1)  # first occurrence of the minimum
    hi_pos = np.argmax(hi, axis=1)
    rows = np.arange(nwin)
    lo_val = windows[rows, lo_pos]
    hi_val = windows[rows, hi_pos]
    # The reference's max starts at -FLT_MAX and its min at FLT_MAX with strict
    # comparisons: a window of only -Inf has no "max" position (and vice versa).
    has_lo = any_valid & (lo_val < np.float32(np.finfo(np.float32).max))
    has_hi = any_valid & (hi_val > np.float32(-np.finfo(np.float32).max))
    first = np.where(has_lo & has_hi, np.where(lo_pos < hi_pos, lo_val, hi_val), np.where(has_lo, lo_val, hi_val))
    second = np.where(has_lo & has_hi, np.where(lo_pos < hi_pos, hi_val, lo_val), np.where(has_lo, lo_val, hi_val))
    nothing = ~(has_lo | has_hi)
    first = np.where(nothing, np.nan, first).astype(_F32)
    second = np.where(nothing, np.nan, second).astype(_F32)
    decimated = np.empty(2 * nwin, dtype=_F32)
    decimated[0::2] = first
    decimated[1::2] = second
    # In place: the first 2·nwin slots hold the pairs, later slots keep raw samples.
    result = data.copy()
    result[: decimated.size] = decimated[: result.size]
    if length <= result.size:
        return result[:length].copy()
    return np.concatenate([result, np.zeros(length - result.size, dtype=_F32)])


def spatial_profile(line: np.ndarray, start: int, end: int, mip: int) -> tuple[ProfileRange, np.ndarray]:
    """An x or y profile from the full row or column ``line`` (float32, NaN kept).

    Returns the range (for the message's start/end/mip) and the float32 values.
    """
    data = np.asarray(line, dtype=_F32)
    rng = profile_range(start, end, mip, data.size)
    values = data[rng.read_start : rng.read_end]
    if rng.decimated:
        values = decimate_min_max(values, rng.mip, rng.length)
    return rng, np.ascontiguousarray(values, dtype=_F32)
