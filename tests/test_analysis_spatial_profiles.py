"""Cursor/point x-y profiles and LINE/POLYLINE profiles (ANALYTICS.md §5, WIRE.md §4.1-4.2).

Decimation is checked against a direct transcription of the reference's per-window
loop (scalar, in order of occurrence); line profiles against the values confirmed by
experiment on the reference backend for the image v = x² + 100y².
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from carta_trio.analysis.line_profiles import (
    box_means,
    increment_unit,
    line_axis,
    line_boxes,
    polyline_boxes,
)
from carta_trio.analysis.spatial_profiles import decimate_min_max, profile_range, spatial_profile

F32 = np.float32
FLT_MAX = float(np.finfo(F32).max)


def loop_decimate(values: list[float], mip: int, length: int) -> list[float]:
    profile = list(values)
    for i in range(0, len(profile), 2 * mip):
        lo, hi, lo_pos, hi_pos = FLT_MAX, -FLT_MAX, -1, -1
        for idx, v in enumerate(values[i : i + 2 * mip]):
            if not math.isnan(v):
                if v < lo:
                    lo, lo_pos = v, idx
                if v > hi:
                    hi, hi_pos = v, idx
        if lo_pos > -1 and hi_pos > -1:
            pair = (lo, hi) if lo_pos < hi_pos else (hi, lo)
        elif lo_pos > -1:
            pair = (lo, lo)
        elif hi_pos > -1:
            pair = (hi, hi)
        else:
            pair = (math.nan, math.nan)
        profile[i // mip], profile[i // mip + 1] = pair
    return (profile + [0.0] * length)[:length]


@pytest.mark.parametrize("mip", [2, 3, 4, 8])
def test_decimation_matches_the_reference_loop(mip: int) -> None:
    rng = np.random.default_rng(mip)
    values = rng.standard_normal(101).astype(F32)
    values[5:5 + 2 * mip] = np.nan  # an all-NaN window
    values[40] = np.inf
    values[41] = -np.inf
    values[60:64] = 1.5  # ties
    for start, end in [(0, 101), (3, 97), (17, 50), (0, 0)]:
        span, got = spatial_profile(values, start, end, mip)
        want = loop_decimate(values[span.read_start : span.read_end].tolist(), mip, span.length)
        np.testing.assert_array_equal(got, np.array(want, dtype=F32))
        assert got.dtype == F32
        assert span.length == math.ceil((end or 101) / (2 * mip)) * 2 - math.ceil(start / (2 * mip)) * 2


def test_decimation_of_only_infinities() -> None:
    # the reference's min starts at FLT_MAX and max at -FLT_MAX with strict compares
    got = decimate_min_max(np.array([np.inf, np.inf, -np.inf, -np.inf], dtype=F32), 1, 4)
    np.testing.assert_array_equal(got, [np.inf, np.inf, -np.inf, -np.inf])


def test_full_resolution_profiles_and_ranges() -> None:
    row = np.arange(50, dtype=F32)
    row[7] = np.nan
    span, got = spatial_profile(row, 0, 0, 1)
    assert (span.start, span.end, span.length) == (0, 50, 50)
    np.testing.assert_array_equal(got, row)
    span, got = spatial_profile(row, 10, 20, 0)
    np.testing.assert_array_equal(got, row[10:20])
    span, got = spatial_profile(row, 45, 80, 1)  # clipped to the axis
    assert span.end == 80 and got.tolist() == row[45:].tolist()
    rng = profile_range(10, 0, 4, 50)
    assert (rng.read_start, rng.read_end, rng.length, rng.end) == (16, 50, 10, 50)  # ds = 4, de = 14
    # A request past the image end is clamped to it (the reference zero-pads up to
    # ceil(end/(2·mip))·2 values, unbounded: issue 11 D5), the requested end echoed.
    span, got = spatial_profile(row[:10], 0, 48, 4)
    assert (span.end, span.length) == (48, 4)
    np.testing.assert_array_equal(got, [0, 6, 8, 9])
    # As coded: decimation runs in place, so past the pairs the buffer keeps raw samples.
    span, got = spatial_profile(row[:20], 0, 20, 2)
    assert span.length == 10


# ----------------------------------------------------------------- line profiles


@pytest.fixture(scope="module")
def parabola() -> np.ndarray:
    y, x = np.mgrid[0:64, 0:64].astype(np.float64)
    return (x**2 + 100 * y**2).astype(F32)


def test_horizontal_line_averages_along_the_line(parabola: np.ndarray) -> None:
    boxes = line_boxes((30, 20), (10, 20), 5)
    values = box_means(parabola, boxes.boxes)
    want = [x * x + 2 + 40000 for x in range(10, 31)]  # 5 pixels along x, index 0 at p1
    np.testing.assert_array_equal(values, np.array(want, dtype=F32))
    assert boxes.increment == 1.0
    narrow = box_means(parabola, line_boxes((30, 20), (10, 20), 1).boxes)
    np.testing.assert_array_equal(narrow, np.array([x * x + 40000 for x in range(10, 31)], dtype=F32))


def test_vertical_and_diagonal_lines(parabola: np.ndarray) -> None:
    vertical = box_means(parabola, line_boxes((20, 10), (20, 30), 5).boxes)
    assert vertical.size == 21 and vertical[0] == 90600 and vertical[-1] == 10600
    diagonal = line_boxes((10, 10), (30, 30), 1)
    values = box_means(parabola, diagonal.boxes)
    assert values.size == 29 and diagonal.boxes[14].size == (1.0, 3.0)
    centre = np.mean([parabola[20, 20], parabola[19, 21], parabola[21, 19]])
    assert values[14] == pytest.approx(centre, rel=1e-6) == pytest.approx(40467.333, rel=1e-7)
    wide = box_means(parabola, line_boxes((10, 10), (30, 30), 5).boxes)
    assert wide[14] == pytest.approx(40542.59, rel=1e-6)


def test_polyline_walks_from_the_first_vertex(parabola: np.ndarray) -> None:
    boxes = polyline_boxes([(10, 20), (20, 20), (20, 30)], 5)
    values = box_means(parabola, boxes.boxes)
    assert values.size == 21
    assert values[0] == 40102 and values[10] == 40402 and values[11] == 44700 and values[-1] == 90600
    assert len(polyline_boxes([(1, 1), (9, 1), (9, 5)], 1).boxes) == 13
    order = [b.center for b in line_boxes((9, 5), (1, 5), 1).boxes]
    assert [c[0] for c in order] == list(range(1, 10))


def test_boxes_outside_the_image_are_nan(parabola: np.ndarray) -> None:
    values = box_means(parabola, line_boxes((-10, 5), (5, 5), 1).boxes)
    assert np.isnan(values[-5:]).all() and not np.isnan(values[:5]).any()


def test_width_and_linearity_checks() -> None:
    with pytest.raises(ValueError, match="averaging width"):
        line_boxes((0, 0), (5, 0), 21)
    with pytest.raises(ValueError, match="averaging width"):
        polyline_boxes([(0, 0), (5, 0), (5, 5)], 0)

    def stretched(a, b):  # spacing grows with x: not linear
        return abs(b[0] ** 2 - a[0] ** 2) / 10 + abs(b[1] - a[1])

    assert line_boxes((0, 0), (20, 0), 1, separation=stretched) is None
    one = line_boxes((3, 3), (3.5, 3), 1, unit_length=lambda c, s: 2.5)
    assert one is not None and len(one.boxes) == 1 and one.increment == 2.5


def test_increment_units_and_axis() -> None:
    assert increment_unit(1.0, 21) == (1.0, "arcsec")
    assert increment_unit(0.0001, 10) == pytest.approx((0.1, "marcsec"))
    assert increment_unit(6.0, 20) == (0.1, "arcmin")
    assert increment_unit(360.0, 20) == (0.1, "deg")
    axis = line_axis(False, 21, 1.0, "arcsec")
    assert (axis.axis_type, axis.crpix, axis.crval, axis.cdelt, axis.unit) == (0, 10.0, 0.0, 1.0, "arcsec")
    axis = line_axis(True, 21, 1.0, "arcsec")
    assert (axis.axis_type, axis.crpix, axis.crval) == (1, 10.0, 10.0)
