"""The compiled plane kernels (analysis/plane_kernels.c) against the numpy code they replace.

Histogram counts must be identical (the same float32 subtract and divide decide every
bin), statistics equal to rounding of float64 sums; both the SSE2 path the package
builds and the plain C path (built here with PLANE_KERNELS_SCALAR) are checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carta_trio.analysis import histograms, plane_kernels, reductions
from tests.compiled_variants import build_variant



def numpy_counts(values: np.ndarray, bins: histograms.HistogramBins, within: bool) -> np.ndarray:
    """The numpy rule of histograms.bin_counts, spelled out."""
    v = np.asarray(values, dtype=np.float32).reshape(-1)
    lo, hi, width, n = np.float32(bins.min), np.float32(bins.max), np.float32(bins.bin_width), bins.num_bins
    with np.errstate(invalid="ignore", over="ignore"):
        t = np.abs((v - lo) / width)
        keep = t < np.float32(n + 1)
        if not within:
            keep &= (v >= lo) & (v <= hi)
    counts = np.bincount(t[keep].astype(np.intp), minlength=n + 1)
    counts[n - 1] += counts[n]
    return counts[:n]


def test_the_package_is_built_with_the_kernels() -> None:
    assert plane_kernels.available()


@st.composite
def blocks(draw: st.DrawFn) -> np.ndarray:
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 19)), draw(st.integers(1, 23)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** draw(st.integers(-30, 30))
    with np.errstate(over="ignore"):
        block = (rng.normal(draw(st.floats(-5, 5)), 1.0, shape) * scale).astype(np.float32)
    picks = rng.random(shape)
    block[picks < draw(st.floats(0, 0.5))] = np.nan
    if draw(st.booleans()):
        block[picks > 0.97] = np.inf
        block[(picks > 0.94) & (picks <= 0.97)] = -np.inf
    if draw(st.booleans()):
        block[0] = np.float32(scale)  # a constant plane
    return block


@settings(max_examples=200, deadline=None)
@given(block=blocks())
def test_plane_stats_match_numpy(block: np.ndarray) -> None:
    rows = plane_kernels.plane_stats(block)
    assert rows is not None
    expected = reductions.plane_moments(block, finite_only=True)
    np.testing.assert_array_equal(rows[0], expected.count)
    valid = expected.count > 0
    for row, name in zip(rows[1:], ("sum", "sumsq", "m2", "min", "max")):
        want = getattr(expected, name)
        np.testing.assert_allclose(row[valid], want[valid], rtol=1e-9, atol=1e-30 if name != "m2" else 1e-9 * np.abs(want[valid]).max(initial=0))
        assert np.isnan(row[~valid]).all()


@settings(max_examples=200, deadline=None)
@given(block=blocks(), num_bins=st.integers(1, 300), within=st.booleans(), bounds=st.sampled_from(["data", "inside", "wide"]))
def test_bin_counts_are_identical_to_numpy(block: np.ndarray, num_bins: int, within: bool, bounds: str) -> None:
    finite = block[np.isfinite(block)]
    if finite.size == 0:
        return
    lo, hi = float(finite.min()), float(finite.max())
    if bounds == "inside":
        lo, hi = lo + (hi - lo) / 4, hi - (hi - lo) / 4
    elif bounds == "wide":
        lo, hi = lo - abs(lo) - 1, hi + abs(hi) + 1
    bins = histograms.histogram_bins(lo, hi, num_bins)
    if bins.degenerate:
        return
    if within and bounds == "inside":
        within = False  # the promise would be false
    got = plane_kernels.bin_counts(block, bins.min, bins.max, bins.bin_width, bins.num_bins, within)
    assert got is not None
    np.testing.assert_array_equal(got, numpy_counts(block, bins, within))


def test_histograms_use_the_kernels_with_the_same_result() -> None:
    rng = np.random.default_rng(8)
    plane = rng.normal(0, 1, (300, 301)).astype(np.float32)
    plane[::7, ::3] = np.nan
    stats = histograms.basic_stats(plane)
    moments = reductions.plane_moments(plane, finite_only=True)
    assert stats.num_pixels == int(moments.count[0])
    assert stats.mean == pytest.approx(float(moments.sum[0]) / float(moments.count[0]), rel=1e-12)
    bins = histograms.histogram_bins(stats.min, stats.max, 173)
    np.testing.assert_array_equal(histograms.bin_counts(plane, bins), numpy_counts(plane, bins, False))
    planes = histograms.basic_stats_planes(np.stack([plane, plane * 2]))
    assert planes[0] == stats and planes[1].max == pytest.approx(2 * stats.max)


def test_refuses_bad_buffers() -> None:
    kernels = plane_kernels.extension.module
    assert kernels is not None
    with pytest.raises(ValueError):
        kernels.plane_stats(np.zeros((2, 3), np.float64), 2, np.empty((6, 2)))
    with pytest.raises(ValueError):
        kernels.plane_stats(np.zeros((2, 3), np.float32), 2, np.empty((5, 2)))
    with pytest.raises(ValueError):
        kernels.bin_counts(np.zeros(4, np.float32), 0.0, 1.0, 0.5, 2, True, np.zeros(3, np.int64))
    assert plane_kernels.bin_counts(np.zeros(4), 0.0, 1.0, 0.5, 2, True) is None  # float64: numpy's business


def test_the_plain_c_path_agrees(tmp_path: Path) -> None:
    scalar = build_variant("analysis/plane_kernels.c", "_plane_kernels", "PLANE_KERNELS_SCALAR", tmp_path)
    assert plane_kernels._agrees_with_numpy(scalar)
