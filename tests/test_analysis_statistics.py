"""Per-plane moments and REGION_STATS_DATA statistics against plain numpy on generated data.

The expectations are straightforward numpy over the valid values of each plane
(boolean indexing, float64 sums, two-pass deviations); the worked examples are those
confirmed on the reference backend (ANALYTICS.md §0.4, §2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import carta_trio.analysis.reductions as reductions
from carta_trio.analysis.reductions import PlaneMoments, combine_moments, plane_moments
from carta_trio.analysis.statistics import (
    SPECTRAL_STATS,
    StatsType,
    beam_area_pixels,
    flux_scale,
    outside_statistics,
    region_statistics,
    stats_from_moments,
    stored_plane_statistics,
)

ST = StatsType


def numpy_moments(values: np.ndarray, finite_only: bool) -> tuple[float, ...]:
    v = values[np.isfinite(values)] if finite_only else values[~np.isnan(values)]
    v = v.astype(np.float64)
    if v.size == 0:
        return (0, math.nan, math.nan, math.nan, math.nan, math.nan)
    with np.errstate(invalid="ignore"):
        total = float(v.sum())
        m2 = float(((v - v.mean()) ** 2).sum()) if math.isfinite(total) else math.nan
    if v.size == 1:
        m2 = 0.0
    return (v.size, total, float((v * v).sum()), m2, float(v.min()), float(v.max()))


def assert_moments(got: PlaneMoments, z: int, want: tuple[float, ...], rel: float = 1e-12) -> None:
    values = (got.count[z], got.sum[z], got.sumsq[z], got.m2[z], got.min[z], got.max[z])
    for name, a, b in zip(("count", "sum", "sumsq", "m2", "min", "max"), values, want):
        if isinstance(b, float) and math.isnan(b):
            assert math.isnan(a), f"plane {z} {name}: {a} != NaN"
        elif math.isinf(b):
            assert a == b, f"plane {z} {name}: {a} != {b}"
        else:
            assert a == pytest.approx(b, rel=rel, abs=1e-9 * max(1.0, abs(b))), f"plane {z} {name}"


def make_cube(rng: np.random.Generator, nz: int, ny: int, nx: int) -> np.ndarray:
    cube = (rng.standard_normal((nz, ny, nx)) * 3 + 100).astype(np.float32)
    cube[1, 2, 3] = np.nan
    cube[2] = np.nan
    cube[3] = 5.5  # constant: M2 exactly 0
    cube[4, 1, 1] = np.inf
    cube[4, 2, 2] = np.nan  # NaN and +Inf in one plane
    cube[5, 0, 0], cube[5, 0, 1] = -np.inf, np.inf
    cube[6] = rng.standard_normal((ny, nx)).astype(np.float32)  # zero mean
    cube[7] = (rng.standard_normal((ny, nx)) * 1e-3 + 1e4).astype(np.float32)  # large offset
    cube[8, :, :2] = np.nan  # NaN border
    cube[9, 0, 0] = np.nan  # NaN at the first pixel
    return cube


@pytest.mark.parametrize("finite_only", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_plane_moments_match_numpy(finite_only: bool, masked: bool) -> None:
    rng = np.random.default_rng(5)
    cube = make_cube(rng, 11, 23, 31)
    mask = rng.random((23, 31)) < 0.6 if masked else None
    got = plane_moments(cube, mask, finite_only=finite_only)
    for z in range(cube.shape[0]):
        values = cube[z] if mask is None else cube[z][mask]
        assert_moments(got, z, numpy_moments(values, finite_only))
    assert got.m2[3] == 0.0


def test_plane_moments_on_a_strided_view_and_in_small_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(6)
    big = make_cube(rng, 12, 40, 50)
    view = big[:, 5:35, 7:44]
    mask = np.zeros((30, 37), dtype=bool)
    mask[3:25, 4:30] = rng.random((22, 26)) < 0.7
    want = [numpy_moments(view[z][mask], False) for z in range(12)]
    monkeypatch.setattr(reductions, "_TILE_ELEMENTS", 64)  # many bands and tiles
    got = plane_moments(view, mask)
    for z in range(12):
        assert_moments(got, z, want[z])


def test_partial_requests_and_workers_agree() -> None:
    rng = np.random.default_rng(8)
    cube = make_cube(rng, 13, 20, 21)
    full = plane_moments(cube, None)
    sums = plane_moments(cube, None, squares=False, extrema=False)
    np.testing.assert_array_equal(sums.count, full.count)
    np.testing.assert_allclose(sums.sum, full.sum, rtol=1e-13, equal_nan=True)
    assert np.isnan(sums.sumsq).all() and np.isnan(sums.min).all()
    parallel = plane_moments(cube, None, workers=3)
    for name in ("count", "sum", "sumsq", "m2", "min", "max"):
        np.testing.assert_array_equal(getattr(parallel, name), getattr(full, name))


def test_empty_inputs() -> None:
    cube = np.ones((3, 4, 5), dtype=np.float32)
    got = plane_moments(cube, np.zeros((4, 5), dtype=bool))
    assert (got.count == 0).all() and np.isnan(got.sum).all()
    assert len(plane_moments(np.zeros((0, 4, 5), dtype=np.float32))) == 0
    with pytest.raises(ValueError):
        plane_moments(cube, np.ones((5, 4), dtype=bool))


def test_combine_moments_equals_one_pass() -> None:
    rng = np.random.default_rng(9)
    a = (rng.standard_normal((4, 10)) + 50).astype(np.float32)
    b = (rng.standard_normal((4, 7)) * 2).astype(np.float32)
    joined = combine_moments(plane_moments(a[:, None, :]), plane_moments(b[:, None, :]))
    for z in range(4):
        assert_moments(joined, z, numpy_moments(np.concatenate([a[z], b[z]]), False), rel=1e-11)


# ----------------------------------------------------------------- statistics


def expected_stats(values: np.ndarray, flux: float = math.nan) -> dict[int, float]:
    v = values[~np.isnan(values)].astype(np.float64)
    n = v.size
    if n == 0:
        return {int(s): math.nan for s in SPECTRAL_STATS}
    with np.errstate(invalid="ignore"):
        sigma = 0.0 if n == 1 else math.sqrt(float(((v - v.mean()) ** 2).sum()) / (n - 1))
    lo, hi = float(v.min()), float(v.max())
    return {
        ST.NumPixels: n, ST.Sum: float(v.sum()), ST.FluxDensity: float(v.sum()) * flux, ST.Mean: float(v.mean()),
        ST.RMS: math.sqrt(float((v * v).sum()) / n), ST.Sigma: sigma, ST.SumSq: float((v * v).sum()),
        ST.Min: lo, ST.Max: hi, ST.Extrema: lo if abs(lo) > abs(hi) else hi,
    }


def test_stats_from_moments_per_plane_with_empty_planes() -> None:
    rng = np.random.default_rng(10)
    cube = rng.standard_normal((4, 6, 7)).astype(np.float32)
    cube[2] = np.nan
    cube[3, :, :] = np.nan
    cube[3, 2, 2] = 7.0  # a single pixel: Sigma 0
    got = stats_from_moments(plane_moments(cube), flux=np.array([0.5, 1.0, 2.0, 4.0]))
    for z, flux in enumerate([0.5, 1.0, 2.0, 4.0]):
        want = expected_stats(cube[z], flux)
        for st in SPECTRAL_STATS:
            if z == 2:
                assert math.isnan(got[st][z]), st  # NumPixels too (§2.3)
            else:
                assert got[st][z] == pytest.approx(want[st], rel=1e-12), (z, st)
    assert got[ST.Sigma][3] == 0.0


def reference_image() -> np.ndarray:
    """16x16 v = x + 16y with NaN at (5,5), (6,5) and +Inf at (5,6) (ANALYTICS.md §0.4)."""
    y, x = np.mgrid[0:16, 0:16]
    image = (x + 16 * y).astype(np.float32)
    image[5, 5] = image[5, 6] = np.nan
    image[6, 5] = np.inf
    return image


ALL = [int(s) for s in ST]


def test_image_statistics_worked_example_with_nan_and_inf() -> None:
    got = dict(region_statistics(reference_image(), None, 0, ALL))
    assert got[ST.NumPixels] == 254
    for st in (ST.Sum, ST.Mean, ST.RMS, ST.SumSq, ST.Max, ST.Extrema):
        assert got[st] == math.inf
    assert math.isnan(got[ST.Sigma]) and got[ST.Min] == 0
    assert got[ST.MaxPos] == 5 and got[ST.MinPos] == 0
    assert got[ST.Blc] == 0 and got[ST.Trc] == 15
    for st in (ST.NanCount, ST.Blcf, ST.Trcf, ST.MinPosf, ST.MaxPosf, ST.FluxDensity):
        assert math.isnan(got[st])


def test_region_statistics_keep_request_order_and_x_positions() -> None:
    image = reference_image()
    box = image[4:7, 4:7]  # 3x3 rectangle centred on (5, 5)
    order = [ST.Sum, ST.NumPixels, ST.Blc, ST.Trc, ST.Min, ST.MinPos]
    got = region_statistics(box, None, 4, order)
    assert [t for t, _ in got] == [int(s) for s in order]
    values = dict(got)
    assert values[ST.NumPixels] == 7 and values[ST.Sum] == math.inf
    assert values[ST.Blc] == 4 and values[ST.Trc] == 6 and values[ST.Min] == 68 and values[ST.MinPos] == 4


def test_single_pixel_and_nan_pixel_regions() -> None:
    image = reference_image()
    one = dict(region_statistics(np.float32([[153.0]]), None, 9, ALL))
    assert (one[ST.NumPixels], one[ST.Sum], one[ST.Mean], one[ST.RMS], one[ST.SumSq], one[ST.Sigma]) == (
        1, 153, 153, 153, 23409, 0)
    assert one[ST.Extrema] == 153 and one[ST.MinPos] == 9
    nan = dict(region_statistics(image[5:6, 5:6], None, 5, ALL))
    assert nan[ST.NumPixels] == 0 and nan[ST.Blc] == 5 and nan[ST.Trc] == 5
    for st in ALL:
        if st not in (ST.NumPixels, ST.Blc, ST.Trc):
            assert math.isnan(nan[st]), ST(st).name
    outside = outside_statistics([ST.NumPixels, ST.Mean, ST.Blc])
    assert [t for t, _ in outside] == [ST.NumPixels, ST.Mean, ST.Blc]
    assert outside[0][1] == 0 and math.isnan(outside[1][1]) and math.isnan(outside[2][1])


def test_masked_region_statistics_match_numpy() -> None:
    rng = np.random.default_rng(12)
    box = (rng.standard_normal((9, 12)) * 10).astype(np.float32)
    box[2, 3] = np.nan
    mask = rng.random((9, 12)) < 0.5
    mask[0, 0] = True
    box[0, 0] = np.nanmax(box[mask]) + 1  # first pixel of the region is the max
    flux = flux_scale("Jy/beam", 9.0647, 1.0)
    got = dict(region_statistics(box, mask, 20, ALL, flux))
    want = expected_stats(box[mask], flux)
    for st in SPECTRAL_STATS:
        assert got[st] == pytest.approx(want[st], rel=1e-12), ST(st).name
    assert got[ST.MaxPos] == 20
    valid = mask & ~np.isnan(box)
    first_min = np.flatnonzero(valid & (box == box[valid].min()))[0] % 12
    assert got[ST.MinPos] == 20 + first_min


@pytest.mark.parametrize(
    "unit, beam, image_flux, box_flux",
    [
        ("Jy/beam", True, 28.241357, 2.757945),
        ("JY/BEAM", True, 28.241357, 2.757945),
        ("mJy/beam", True, 28.241357, 2.757945),
        ("K", True, 256.0, 25.0),
        ("mK", False, 256.0, 25.0),
        ("Jy/pixel", True, math.nan, math.nan),
        ("Jy", True, math.nan, math.nan),
        ("", True, math.nan, math.nan),
        ("Jy/beam", False, math.nan, math.nan),
    ],
)
def test_flux_density_by_unit(unit: str, beam: bool, image_flux: float, box_flux: float) -> None:
    # 16x16 image of 1.0 with 1" pixels, beam 4" x 2" (ANALYTICS.md §2.4 table)
    image = np.ones((16, 16), dtype=np.float32)
    area = beam_area_pixels(4.0, 2.0, 1.0) if beam else None
    factor = flux_scale(unit, area, 1.0)
    whole = dict(region_statistics(image, None, 0, [ST.FluxDensity], factor))
    box = dict(region_statistics(image[:5, :5], None, 0, [ST.FluxDensity], factor))
    for got, want in ((whole[ST.FluxDensity], image_flux), (box[ST.FluxDensity], box_flux)):
        if math.isnan(want):
            assert math.isnan(got)
        else:
            assert got == pytest.approx(want, rel=1e-6)


def test_multi_beam_flux_per_channel() -> None:
    cube = np.ones((2, 5, 5), dtype=np.float32)
    factors = np.array([flux_scale("Jy/beam", beam_area_pixels(4, 2, 1), 1), flux_scale("Jy/beam", beam_area_pixels(8, 4, 1), 1)])
    got = stats_from_moments(plane_moments(cube), factors, [ST.FluxDensity])[ST.FluxDensity]
    np.testing.assert_allclose(got, [2.757945, 0.689486], rtol=1e-6)


def test_stored_hdf5_statistics() -> None:
    got = dict(stored_plane_statistics(4, 5, 2, 36.0, 100.0, -1.0, 7.0, ALL, beam_area=2.0))
    n = 18
    assert got[ST.NumPixels] == n and got[ST.NanCount] == 2 and got[ST.Mean] == 2.0
    assert got[ST.Sigma] == pytest.approx(math.sqrt((100 - 36**2 / n) / (n - 1)))
    assert got[ST.RMS] == pytest.approx(math.sqrt(100 / n)) and got[ST.Extrema] == 7.0
    assert got[ST.FluxDensity] == 18.0 and math.isnan(got[ST.Blc])
