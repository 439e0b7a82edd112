"""Histograms against a per-value loop of the reference's float32 rule (ANALYTICS.md §3).

The reference rule, written here value by value with numpy float32 scalars:
bin_width = f32(f32(max − min)/n), counted iff min <= v <= max, bin =
clamp(int(f32(f32(v − min)/bin_width)), 0, n−1). The kernel under test is vectorised
and chunked; the loop below is the independent computation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import carta_trio.analysis.histograms as histograms
from carta_trio.analysis.histograms import (
    BasicStats,
    CubeHistogram,
    auto_bin_count,
    basic_stats,
    basic_stats_planes,
    bin_counts,
    histogram,
    histogram_bins,
    resolve_num_bins,
)

F32 = np.float32


def reference_counts(values: np.ndarray, lo: float, hi: float, n: int) -> tuple[list[int], float, float]:
    lo32, hi32 = F32(lo), F32(hi)
    width = F32(F32(hi32 - lo32) / F32(n))
    center = F32(float(lo32) + float(width) * 0.5)
    counts = [0] * n
    for v in np.asarray(values, dtype=F32).ravel():
        if lo32 <= v <= hi32:
            t = F32(F32(v - lo32) / width)
            counts[min(max(int(t), 0), n - 1)] += 1
    return counts, float(width), float(center)


def reference_stats(values: np.ndarray) -> tuple[int, float, float, float, float]:
    v = np.asarray(values, dtype=F32)
    v = v[np.isfinite(v)].astype(np.float64)
    n = v.size
    std = math.sqrt(float(((v - v.mean()) ** 2).sum()) / (n - 1)) if n > 1 else math.nan
    return n, float(v.mean()) if n else math.nan, std, float(v.min()) if n else math.nan, float(v.max()) if n else math.nan


def noisy_plane(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    plane = (rng.standard_normal(shape) * 5).astype(F32)
    plane[0, :3] = [np.nan, np.inf, -np.inf]
    plane[1, 1] = plane[1, 0] = F32(2.5)  # repeated values
    return plane


def test_bin_geometry_worked_example() -> None:
    bins = histogram_bins(-1.0, 3.0, 100)
    assert bins.bin_width == float(F32(0.04)) and bins.first_bin_center == float(F32(-0.98))
    counts = bin_counts(np.array([3.0, -1.0, 1.0], dtype=F32), bins)
    assert counts[99] == 1 and counts[0] == 1 and counts.sum() == 3  # max lands in the last bin


def test_one_bin_worked_example() -> None:
    y, x = np.mgrid[0:64, 0:64]
    image = (x**2 + 100 * y**2).astype(F32)
    result = histogram(image, 1)
    assert (result.num_bins, result.bin_width, result.first_bin_center) == (1, 400869.0, 200434.5)
    assert result.bins.tolist() == [4096]


@pytest.mark.parametrize("num_bins", [1, 7, 100, 333])
def test_auto_bounds_counts_match_the_reference_loop(num_bins: int) -> None:
    rng = np.random.default_rng(num_bins)
    plane = noisy_plane(rng, (41, 57))
    result = histogram(plane, num_bins)
    n, mean, std, lo, hi = reference_stats(plane)
    counts, width, center = reference_counts(plane, lo, hi, num_bins)
    assert result.bins.tolist() == counts
    assert (result.bin_width, result.first_bin_center) == (width, center)
    assert result.mean == pytest.approx(mean, rel=1e-12) and result.std_dev == pytest.approx(std, rel=1e-12)
    assert sum(counts) == n  # NaN and ±Inf dropped


def test_values_on_bin_edges() -> None:
    # exact multiples of the width fall into the bin they start, per the float32 rule
    values = (np.arange(0, 101, dtype=F32) * F32(0.25)).astype(F32)
    result = histogram(values.reshape(1, -1), 25)
    counts, _, _ = reference_counts(values, 0.0, 25.0, 25)
    assert result.bins.tolist() == counts


def test_fixed_bounds_drop_out_of_range_values_but_keep_full_stats() -> None:
    rng = np.random.default_rng(3)
    plane = noisy_plane(rng, (30, 30))
    result = histogram(plane, 40, fixed_bounds=(-2.0, 1.7))
    counts, width, center = reference_counts(plane, -2.0, 1.7, 40)
    assert result.bins.tolist() == counts and result.bin_width == width and result.first_bin_center == center
    assert sum(counts) < np.isfinite(plane).sum()
    assert result.mean == pytest.approx(reference_stats(plane)[1], rel=1e-12)


def test_chunked_and_strided_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    big = noisy_plane(rng, (60, 80))
    view = big[5:50, 3:70]
    monkeypatch.setattr(histograms, "_CHUNK", 100)
    bins = histogram_bins(-7.5, 8.25, 33)
    for within in (False, True):
        clipped = np.where((view >= F32(-7.5)) & (view <= F32(8.25)), view, F32(np.nan)) if within else view
        assert bin_counts(clipped, bins, within_bounds=within).tolist() == reference_counts(clipped, -7.5, 8.25, 33)[0]
    cube = np.stack([view, view * 2])
    assert bin_counts(cube, bins).tolist() == reference_counts(cube, -7.5, 8.25, 33)[0]


def test_degenerate_bounds_give_one_zero_width_bin() -> None:
    constant = np.full((4, 4), 5.0, dtype=F32)
    result = histogram(constant, 10)
    assert (result.num_bins, result.bin_width, result.first_bin_center, result.bins.tolist()) == (1, 0.0, 0.0, [0])
    zeros = np.zeros((3, 3), dtype=F32)
    zeros[0, 0] = np.nan
    assert histogram(zeros, 10).bins.tolist() == [8]  # the single bin counts exact zeros
    empty = np.full((3, 3), np.nan, dtype=F32)
    result = histogram(empty, 10)
    assert result.bins.tolist() == [0] and math.isnan(result.mean) and math.isnan(result.std_dev)
    assert histogram(constant, 10, fixed_bounds=(3.0, 3.0)).num_bins == 1
    assert histogram_bins(1.0, -1.0, 5).degenerate


def test_region_histogram_uses_mask_only() -> None:
    rng = np.random.default_rng(5)
    box = noisy_plane(rng, (20, 25))
    mask = rng.random((20, 25)) < 0.4
    result = histogram(box, 9, mask=mask)
    inside = box[mask]
    n, mean, _std, lo, hi = reference_stats(inside)
    assert result.bins.tolist() == reference_counts(inside, lo, hi, 9)[0] and result.mean == pytest.approx(mean)


def test_inf_split_example() -> None:
    # the 16x16 v = x + 16y image with two NaN and one +Inf: the histogram sees 253 values
    y, x = np.mgrid[0:16, 0:16]
    image = (x + 16 * y).astype(F32)
    image[5, 5] = image[5, 6] = np.nan
    image[6, 5] = np.inf
    result = histogram(image, auto_bin_count(16, 16))
    assert result.bins.sum() == 253 and result.mean == pytest.approx(127.937, abs=5e-4)


def test_auto_bin_counts() -> None:
    assert auto_bin_count(100, 100) == 100 and auto_bin_count(1, 1) == 2 and auto_bin_count(10, 3) == 5
    assert resolve_num_bins(-1, 64, 16) == 32 and resolve_num_bins(0, 64, 16) == 32 and resolve_num_bins(7, 64, 16) == 7


def test_basic_stats_and_join() -> None:
    rng = np.random.default_rng(6)
    a, b = noisy_plane(rng, (10, 12)), noisy_plane(rng, (7, 12)) + F32(3)
    sa, sb = basic_stats(a), basic_stats(b)
    joined = sa.join(sb)
    n, mean, std, lo, hi = reference_stats(np.concatenate([a, b]))
    assert (joined.num_pixels, joined.min, joined.max) == (n, lo, hi)
    assert joined.mean == pytest.approx(mean, rel=1e-12) and joined.std_dev == pytest.approx(std, rel=1e-12)
    assert BasicStats().join(sa) == sa and sa.join(BasicStats()) == sa
    assert math.isnan(BasicStats().mean) and BasicStats().min == float(np.finfo(F32).max)
    one = basic_stats(np.float32([[4.0, np.nan]]))
    assert one.num_pixels == 1 and math.isnan(one.std_dev) and one.rms == 4.0


@pytest.mark.parametrize("fixed", [None, (-3.0, 4.0)])
def test_cube_histogram_equals_one_histogram_of_all_planes(fixed: tuple[float, float] | None) -> None:
    rng = np.random.default_rng(7)
    cube = np.stack([noisy_plane(rng, (15, 18)) + F32(z) for z in range(5)])
    cube[2] = np.nan  # an empty plane
    nbins = auto_bin_count(18, 15)
    hist = CubeHistogram(nbins, fixed)
    hist.add_stats(basic_stats_planes(cube[:3]))
    for plane_stats in basic_stats_planes(cube[3:]):
        hist.add_stats(plane_stats)
    assert hist.result().bins.size == 0  # pass 1 only: empty histogram for progress messages
    hist.freeze_bounds()
    for plane in cube:
        hist.add_counts(plane)
        partial = hist.result()
    n, mean, std, lo, hi = reference_stats(cube)
    bounds = fixed if fixed else (lo, hi)
    counts, width, center = reference_counts(cube, bounds[0], bounds[1], nbins)
    assert partial.bins.tolist() == counts and (partial.bin_width, partial.first_bin_center) == (width, center)
    assert partial.mean == pytest.approx(mean, rel=1e-12) and partial.std_dev == pytest.approx(std, rel=1e-12)


def test_cube_histogram_needs_bounds_before_counts() -> None:
    with pytest.raises(RuntimeError):
        CubeHistogram(4).add_counts(np.zeros((2, 2), dtype=F32))


@pytest.mark.parametrize("shape", [(60, 80), (7, 3), (1, 1000)])
def test_all_finite_counts_equal_the_general_rule(monkeypatch: pytest.MonkeyPatch, shape: tuple[int, int]) -> None:
    """The lean pass for planes without NaN/Inf (the render histogram) bins exactly as the
    general one, the maximum included, also chunked and on a strided view."""
    rng = np.random.default_rng(11)
    plane = (rng.standard_normal(shape) * 10.0 ** rng.integers(-2, 3, size=shape)).astype(F32)
    monkeypatch.setattr(histograms, "_CHUNK", 97)
    for values in (plane, plane[:, ::2]):
        lo, hi = float(values.min()), float(values.max())
        for n in (1, 7, 33, 1000):
            bins = histogram_bins(lo, hi, n)
            lean = bin_counts(values, bins, within_bounds=True, all_finite=True)
            assert lean.tolist() == bin_counts(values, bins, within_bounds=True).tolist()
            assert lean.tolist() == reference_counts(values, lo, hi, n)[0]
    assert histogram(plane, 50).bins.tolist() == reference_counts(plane, float(plane.min()), float(plane.max()), 50)[0]


def test_all_finite_counts_with_an_overflowing_span_use_the_general_rule() -> None:
    values = np.array([-3e38, 0.0, 3e38], dtype=F32)
    bins = histogram_bins(-3e38, 3e38, 4)
    assert bin_counts(values, bins, within_bounds=True, all_finite=True).tolist() == (
        bin_counts(values, bins, within_bounds=True).tolist()
    )
