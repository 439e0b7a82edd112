"""Region and image statistics exactly as REGION_STATS_DATA carries them (ANALYTICS.md §2).

The reference's statistics engine (casacore ImageStatistics, "engine 1") counts every
non-NaN pixel — ±Inf included — and accumulates in double. Per plane:
NumPixels N, Sum S, Mean S/N, RMS sqrt(Σv²/N), Sigma sqrt(M2/(N−1)) (0 when N = 1),
SumSq Σv², Min, Max, Extrema (min if |min| > |max| else max), FluxDensity (§2.4).
NanCount and the world-coordinate positions are never computed (NaN); Blc, Trc, MinPos
and MaxPos carry only their x pixel index.

Empty results (§2.3): a plane with no valid pixel reports every statistic as NaN — in a
per-channel profile NumPixels too — while a single-plane REGION_STATS_DATA fills
NumPixels with 0 and still reports Blc/Trc. A region entirely outside the image sends
NumPixels 0 and NaN for everything else.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence

import numpy as np

from .reductions import PlaneMoments, plane_moments

__all__ = [
    "StatsType",
    "SPECTRAL_STATS",
    "beam_area_pixels",
    "flux_scale",
    "stats_from_moments",
    "needs_for",
    "region_statistics",
    "outside_statistics",
    "stored_plane_statistics",
]


class StatsType(enum.IntEnum):
    """CARTA.StatsType (shared/enums.proto)."""

    NumPixels = 0
    NanCount = 1
    Sum = 2
    FluxDensity = 3
    Mean = 4
    RMS = 5
    Sigma = 6
    SumSq = 7
    Min = 8
    Max = 9
    Extrema = 10
    Blc = 11
    Trc = 12
    MinPos = 13
    MaxPos = 14
    Blcf = 15
    Trcf = 16
    MinPosf = 17
    MaxPosf = 18


#: The ten statistics the reference computes (and caches) for region spectral profiles.
SPECTRAL_STATS: tuple[StatsType, ...] = (
    StatsType.Sum,
    StatsType.FluxDensity,
    StatsType.Mean,
    StatsType.RMS,
    StatsType.Sigma,
    StatsType.SumSq,
    StatsType.Min,
    StatsType.Max,
    StatsType.Extrema,
    StatsType.NumPixels,
)

_SQUARES = frozenset({StatsType.RMS, StatsType.Sigma, StatsType.SumSq})
_EXTREMA = frozenset({StatsType.Min, StatsType.Max, StatsType.Extrema, StatsType.MinPos, StatsType.MaxPos})


def needs_for(stats: Iterable[int] | None) -> tuple[bool, bool]:
    """``(squares, extrema)``: which optional reductions the requested statistics need."""
    if stats is None:
        return True, True
    wanted = {int(s) for s in stats}
    return bool(wanted & _SQUARES), bool(wanted & _EXTREMA)


def beam_area_pixels(bmaj_arcsec: float, bmin_arcsec: float, pixel_area_arcsec2: float) -> float:
    """Restoring-beam solid angle in pixels: π/(4 ln 2) · bmaj · bmin / pixel area (FWHMs)."""
    return math.pi / (4.0 * math.log(2.0)) * bmaj_arcsec * bmin_arcsec / pixel_area_arcsec2


def flux_scale(unit: str, beam_area: float | None, pixel_area_arcsec2: float | None) -> float:
    """Factor turning a Sum into casacore's FluxDensity, or NaN when it is not computable.

    Brightness unit containing "K" (K, mK): Sum × pixel area in arcsec² (beam not
    needed). Else a unit containing "/beam" (any case) with a beam: Sum / beam area in
    pixels — no prefix scaling (mJy/beam gives the same number as Jy/beam). Anything
    else (Jy/pixel, Jy, no unit, /beam without a beam): NaN. For multi-beam images call
    this per channel with that channel's beam area.
    """
    if "K" in unit:
        return float(pixel_area_arcsec2) if pixel_area_arcsec2 else math.nan
    if "/beam" in unit.lower() and beam_area and math.isfinite(beam_area) and beam_area > 0:
        return 1.0 / beam_area
    return math.nan


def stats_from_moments(
    moments: PlaneMoments, flux: float | np.ndarray = math.nan, stats: Iterable[int] | None = None
) -> dict[int, np.ndarray]:
    """Per-plane values (float64 arrays) of the moment-based statistics.

    ``flux`` is :func:`flux_scale` (a scalar, or one per plane for multi-beam images).
    Planes without valid pixels are all NaN, NumPixels included (§2.3). Types that
    cannot be derived from moments (NanCount, positions, world positions) are NaN.
    """
    wanted = list(SPECTRAL_STATS) if stats is None else [StatsType(int(s)) for s in stats]
    n = moments.count
    empty = n == 0
    safe_n = np.where(empty, 1.0, n)
    out: dict[int, np.ndarray] = {}  # keyed by StatsType members (ints to callers)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for st in wanted:
            if st == StatsType.NumPixels:
                value = n.copy()
            elif st == StatsType.Sum:
                value = moments.sum.copy()
            elif st == StatsType.FluxDensity:
                value = moments.sum * np.asarray(flux, dtype=np.float64)
            elif st == StatsType.Mean:
                value = moments.sum / safe_n
            elif st == StatsType.RMS:
                value = np.sqrt(moments.sumsq / safe_n)
            elif st == StatsType.Sigma:
                value = np.where(n > 1, np.sqrt(moments.m2 / np.maximum(n - 1, 1)), 0.0)
            elif st == StatsType.SumSq:
                value = moments.sumsq.copy()
            elif st == StatsType.Min:
                value = moments.min.copy()
            elif st == StatsType.Max:
                value = moments.max.copy()
            elif st == StatsType.Extrema:
                value = np.where(np.abs(moments.min) > np.abs(moments.max), moments.min, moments.max)
            else:
                value = np.full(len(n), np.nan)
            value = np.array(value, dtype=np.float64, copy=True).reshape(len(n))
            value[empty] = np.nan
            out[st] = value
    return out


def _first_extreme_x(values: np.ndarray, valid: np.ndarray, target: float | np.floating) -> int:
    """Column of the first (row-major, x fastest) valid pixel equal to ``target``."""
    hits = np.flatnonzero(valid & (values == target))
    return int(hits[0] % values.shape[1]) if hits.size else -1


def region_statistics(
    plane: np.ndarray,
    mask: np.ndarray | None,
    x0: int,
    stats: Sequence[int],
    flux: float = math.nan,
) -> list[tuple[int, float]]:
    """``(stats_type, value)`` pairs for REGION_STATS_DATA, in the requested order.

    ``plane`` is the region's bounding box in the current channel and Stokes (``[h, w]``,
    float32), ``mask`` the region mask on that box (None for the whole plane, region −1)
    and ``x0`` the box's first column in the image (Blc/Trc/MinPos/MaxPos are x only).
    """
    data = np.asarray(plane)
    squares, extrema = needs_for(stats)
    moments = plane_moments(data, mask, squares=squares, extrema=extrema)
    derived = stats_from_moments(moments, flux, [s for s in stats if int(s) <= StatsType.Extrema])
    count = int(moments.count[0])
    width = data.shape[1]
    valid = None
    result: list[tuple[int, float]] = []
    for st in stats:
        st = StatsType(int(st))
        if st == StatsType.NumPixels:
            value = float(count)
        elif st == StatsType.Blc:
            value = float(x0)
        elif st == StatsType.Trc:
            value = float(x0 + width - 1)
        elif st in (StatsType.MinPos, StatsType.MaxPos):
            if count == 0:
                value = math.nan  # the reference process crashes here; NaN is the natural answer
            else:
                if valid is None:
                    valid = ~np.isnan(data) if mask is None else (mask & ~np.isnan(data))
                target = moments.min[0] if st == StatsType.MinPos else moments.max[0]
                value = float(x0 + _first_extreme_x(data, valid, np.float32(target)))
        elif st in derived:
            value = float(derived[st][0])
        else:
            value = math.nan
        result.append((int(st), value))
    return result


def outside_statistics(stats: Sequence[int]) -> list[tuple[int, float]]:
    """Statistics of a region that has no pixels in the image: NumPixels 0, the rest NaN."""
    return [(int(st), 0.0 if int(st) == StatsType.NumPixels else math.nan) for st in stats]


def stored_plane_statistics(
    width: int,
    height: int,
    nan_count: float,
    total: float,
    total_sq: float,
    minimum: float,
    maximum: float,
    stats: Sequence[int],
    beam_area: float | None = None,
) -> list[tuple[int, float]]:
    """Region −1 statistics from an IDIA HDF5 file's stored per-plane values (engine 2).

    NumPixels = W·H − NaN count; Sigma uses sqrt((Q − S²/N)/(N−1)) as stored sums allow;
    FluxDensity = S / beam area whenever a single beam exists, whatever the unit.
    """
    n = float(width * height - nan_count)
    out: list[tuple[int, float]] = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for st in stats:
            st = StatsType(int(st))
            if st == StatsType.NumPixels:
                value = n
            elif st == StatsType.NanCount:
                value = float(nan_count)
            elif st == StatsType.Sum:
                value = float(total)
            elif st == StatsType.Mean:
                value = float(np.float64(total) / n)
            elif st == StatsType.RMS:
                value = float(np.sqrt(np.float64(total_sq) / n))
            elif st == StatsType.Sigma:
                value = float(np.sqrt((np.float64(total_sq) - np.float64(total) ** 2 / n) / np.float64(n - 1)))
            elif st == StatsType.SumSq:
                value = float(total_sq)
            elif st == StatsType.Min:
                value = float(minimum)
            elif st == StatsType.Max:
                value = float(maximum)
            elif st == StatsType.Extrema:
                value = float(minimum if abs(minimum) > abs(maximum) else maximum)
            elif st == StatsType.FluxDensity and beam_area:
                value = float(total) / beam_area
            else:
                value = math.nan
            out.append((int(st), value))
    return out
