"""Independent numpy expectations for the region / profile / histogram protocol tests.

Written from the definitions in ANALYTICS.md, not from carta_trio.analysis: region
membership by pixel centre (the tests pick shapes whose edges avoid pixel centres, so
casacore's tolerances do not matter), statistics with float64 sums, histograms with
an explicit bin rule. Nothing here imports the code under test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from carta_trio.messages import schema as pb

ST = pb.StatsType
#: The ten statistics the frontend asks for, in its order.
FRONTEND_STATS = [ST.NumPixels, ST.Sum, ST.FluxDensity, ST.Mean, ST.RMS, ST.Sigma, ST.SumSq, ST.Min, ST.Max, ST.Extrema]


# ------------------------------------------------------------------------ masks


def grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:height, 0:width]
    return xx.astype(np.float64), yy.astype(np.float64)


def rectangle_mask(shape: tuple[int, int], cx: float, cy: float, w: float, h: float, rotation: float = 0.0) -> np.ndarray:
    """Pixel centres inside a rectangle of full size w x h rotated ``rotation`` degrees
    counter-clockwise (``w`` along the rotated x axis)."""
    xx, yy = grid(*shape)
    r = math.radians(rotation)
    dx, dy = xx - cx, yy - cy
    u = dx * math.cos(r) + dy * math.sin(r)
    v = -dx * math.sin(r) + dy * math.cos(r)
    margin = np.minimum(np.abs(np.abs(u) - w / 2), np.abs(np.abs(v) - h / 2))
    assert margin.min() > 1e-3, "a pixel centre lies on the rectangle's edge: pick other test numbers"
    return (np.abs(u) <= w / 2) & (np.abs(v) <= h / 2)


def ellipse_mask(shape: tuple[int, int], cx: float, cy: float, a: float, b: float, rotation: float = 0.0) -> np.ndarray:
    """Pixel centres inside an ellipse with semi-axis ``a`` along y and ``b`` along x at
    rotation 0, turned ``rotation`` degrees counter-clockwise."""
    xx, yy = grid(*shape)
    r = math.radians(rotation)
    dx, dy = xx - cx, yy - cy
    u = dx * math.cos(r) + dy * math.sin(r)
    v = -dx * math.sin(r) + dy * math.cos(r)
    q = (u / b) ** 2 + (v / a) ** 2
    assert np.abs(q - 1.0).min() > 1e-4, "a pixel centre lies on the ellipse: pick other test numbers"
    return q <= 1.0


def polygon_mask(shape: tuple[int, int], vertices: Sequence[tuple[float, float]]) -> np.ndarray:
    """Even-odd ray casting at pixel centres."""
    xx, yy = grid(*shape)
    inside = np.zeros(shape, dtype=bool)
    n = len(vertices)
    for i in range(n):
        x1, y1 = vertices[i]
        x2, y2 = vertices[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (yy >= min(y1, y2)) & (yy < max(y1, y2))
        xcross = x1 + (yy - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (xx < xcross)
    return inside


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1), half-open, of the True pixels."""
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1


# ------------------------------------------------------------------- statistics


def stats(values: np.ndarray, flux_factor: float = math.nan) -> dict[int, float]:
    """Engine-1 statistics of the region's pixel values (NaN dropped, ±Inf counted)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    n = v.size
    out = {int(st): math.nan for st in ST.values()}
    out[ST.NumPixels] = float(n)
    if n == 0:
        return out
    total = float(v.sum())
    lo, hi = float(v.min()), float(v.max())
    out.update({
        ST.Sum: total,
        ST.Mean: total / n,
        ST.RMS: math.sqrt(float(np.sum(v * v)) / n),
        ST.Sigma: float(np.std(v, ddof=1)) if n > 1 else 0.0,
        ST.SumSq: float(np.sum(v * v)),
        ST.Min: lo,
        ST.Max: hi,
        ST.Extrema: lo if abs(lo) > abs(hi) else hi,
        ST.FluxDensity: total * flux_factor,
    })
    return out


def beam_area_pixels(bmaj_arcsec: float, bmin_arcsec: float, pixel_arcsec: float) -> float:
    return math.pi / (4 * math.log(2)) * bmaj_arcsec * bmin_arcsec / pixel_arcsec**2


def assert_stats(message: pb.RegionStatsData, expected: dict[int, float], types: Sequence[int], rel: float = 1e-9) -> None:
    assert [s.stats_type for s in message.statistics] == list(types)
    for item in message.statistics:
        want = expected[item.stats_type]
        if math.isnan(want):
            assert math.isnan(item.value), (pb.StatsType.Name(item.stats_type), item.value)
        else:
            assert item.value == _approx(want, rel), (pb.StatsType.Name(item.stats_type), item.value, want)


def _approx(want: float, rel: float):  # type: ignore[no-untyped-def]
    import pytest

    return pytest.approx(want, rel=rel, abs=1e-9 * max(1.0, abs(want)))


# -------------------------------------------------------------------- histograms


def histogram(values: np.ndarray, num_bins: int, bounds: tuple[float, float] | None = None) -> dict[str, object]:
    """Reference histogram: bounds = finite min/max (or fixed, as float32), float32 bin
    geometry, bin = clamp(floor((v - min) / width)), mean/std over all finite values."""
    v = np.asarray(values, dtype=np.float32).ravel()
    finite = v[np.isfinite(v)]
    f64 = finite.astype(np.float64)
    mean = float(f64.mean()) if f64.size else math.nan
    std = float(np.std(f64, ddof=1)) if f64.size > 1 else math.nan
    if bounds is None:
        lo, hi = np.float32(finite.min()), np.float32(finite.max())
    else:
        lo, hi = np.float32(bounds[0]), np.float32(bounds[1])
    width = np.float32((float(hi) - float(lo)) / num_bins)
    inside = finite[(finite >= lo) & (finite <= hi)]
    index = np.floor((inside - lo) / width).astype(np.int64)
    counts = np.bincount(np.clip(index, 0, num_bins - 1), minlength=num_bins)
    return {
        "num_bins": num_bins,
        "bin_width": float(width),
        "first_bin_center": float(np.float32(float(lo) + float(width) / 2)),
        "bins": counts.tolist(),
        "mean": mean,
        "std_dev": std,
    }


def assert_histogram(got: pb.Histogram, want: dict[str, object]) -> None:
    import pytest

    assert got.num_bins == want["num_bins"]
    assert got.bin_width == pytest.approx(want["bin_width"], rel=1e-6)
    assert got.first_bin_center == pytest.approx(want["first_bin_center"], rel=1e-6, abs=1e-6)
    assert list(got.bins) == want["bins"]
    assert got.mean == pytest.approx(want["mean"], rel=1e-9)
    assert got.std_dev == pytest.approx(want["std_dev"], rel=1e-7)


# ----------------------------------------------------------------- polarization


def computed_pixels(kind: str, i: np.ndarray, q: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per-pixel computed polarization in float64 (the tests compare with a tolerance)."""
    i, q, u, v = (np.asarray(a, dtype=np.float64) for a in (i, q, u, v))
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "Ptotal":
            return np.sqrt(q**2 + u**2 + v**2)
        if kind == "Plinear":
            return np.sqrt(q**2 + u**2)
        if kind == "PFtotal":
            return 100 * np.sqrt(q**2 + u**2 + v**2) / i
        if kind == "PFlinear":
            return 100 * np.sqrt(q**2 + u**2) / i
        if kind == "Pangle":
            return np.degrees(np.arctan2(u, q)) / 2
    raise ValueError(kind)


def fp64(profile: pb.SpectralProfile) -> np.ndarray:
    return np.frombuffer(profile.raw_values_fp64, "<f8")


def fp32(profile: pb.SpectralProfile | pb.SpatialProfile) -> np.ndarray:
    return np.frombuffer(profile.raw_values_fp32, "<f4")
