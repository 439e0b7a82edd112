"""Regions applied to another image through a coordinate conversion (ANALYTICS.md §1.5).

Conversions here are affine maps written in the test; expectations are per-pixel
geometric tests of the converted shape (shapes whose outline stays clear of pixel
centres) and the reference's rules for when a shape is converted directly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from carta_trio.analysis.matched_regions import (
    approximate_outline,
    matched_region_mask,
    needs_polygon_approximation,
    remove_horizontal_points,
)
from carta_trio.analysis.region_masks import RegionError, RegionType, region_mask

W, H = 48, 40


def shift(dx: float, dy: float):
    return lambda xs, ys: (xs + dx, ys + dy)


def stretch(sx: float, sy: float, dx: float = 0.0, dy: float = 0.0):
    return lambda xs, ys: (xs * sx + dx, ys * sy + dy)


def inside_ellipse(cx: float, cy: float, rx: float, ry: float, margin: float = 0.02) -> np.ndarray | None:
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    q = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    if (np.abs(np.sqrt(q) - 1.0) < margin).any():
        return None
    return q <= 1.0


def inside_polygon(xs: list[float], ys: list[float]) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    inside = np.zeros((H, W), dtype=bool)
    n = len(xs)
    for i in range(n):
        x0, y0, x1, y1 = xs[i], ys[i], xs[(i + 1) % n], ys[(i + 1) % n]
        crosses = (y0 > yy) != (y1 > yy)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (yy - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (xx < at)
    return inside


def full(region) -> np.ndarray:
    return np.zeros((H, W), dtype=bool) if region is None else region.full_mask(W, H)


def test_direct_conversion_of_ellipse_and_rectangle() -> None:
    for region_type, points, rotation in [
        (RegionType.ELLIPSE, [(12.25, 9.75), (5.5, 3.25)], 0.0),
        (RegionType.ELLIPSE, [(12.25, 9.75), (5.5, 3.25)], 30.0),
        (RegionType.RECTANGLE, [(12.5, 9.25), (7.0, 4.5)], 0.0),
    ]:
        assert not needs_polygon_approximation(region_type, points, rotation, shift(10, 6))
        moved = [(points[0][0] + 10, points[0][1] + 6), points[1]]
        got = matched_region_mask(region_type, points, rotation, shift(10, 6), W, H)
        np.testing.assert_array_equal(full(got), full(region_mask(region_type, moved, rotation, W, H)))


def test_rotated_rectangles_and_polygons_use_the_polygon_approximation() -> None:
    rect = [(15.3, 12.2), (9.0, 5.0)]
    assert needs_polygon_approximation(RegionType.RECTANGLE, rect, 25.0, shift(0, 0))
    assert needs_polygon_approximation(RegionType.POLYGON, [(1, 1), (5, 1), (3, 4)], 0.0, shift(0, 0))
    vertices = [(3.3, 2.6), (20.7, 5.1), (14.2, 17.8), (6.1, 12.4)]
    got = matched_region_mask(RegionType.POLYGON, vertices, 0.0, shift(7, 3), W, H)
    want = inside_polygon([x + 7 for x, _ in vertices], [y + 3 for _, y in vertices])
    np.testing.assert_array_equal(full(got), want)


def test_distorted_ellipse_is_approximated() -> None:
    points = [(10.2, 12.7), (6.3, 4.15)]  # a along y, b along x
    convert = stretch(2.0, 1.0, 1.0, 0.5)
    assert needs_polygon_approximation(RegionType.ELLIPSE, points, 0.0, convert)
    got = matched_region_mask(RegionType.ELLIPSE, points, 0.0, convert, W, H)
    want = inside_ellipse(10.2 * 2 + 1, 12.7 + 0.5, 4.15 * 2, 6.3, margin=1e-3)
    assert want is not None
    np.testing.assert_array_equal(full(got), want)


def test_approximate_outline_sizes() -> None:
    (xs, ys), = approximate_outline(RegionType.ELLIPSE, [(0, 0), (2, 1)], 0.0)
    assert xs.size == 1000 and xs[0] == 1.0 and ys[250] == pytest.approx(2.0)
    sides = approximate_outline(RegionType.RECTANGLE, [(0, 0), (30, 10)], 0.0)
    assert [s[0].size for s in sides] == [375, 125, 375, 125]
    with pytest.raises(RegionError):
        approximate_outline(RegionType.LINE, [(0, 0), (1, 1)], 0.0)


def test_remove_horizontal_points() -> None:
    xs = np.arange(6, dtype=float)
    # y changes between neighbours: everything but the last two points is kept
    kept = remove_horizontal_points(xs, np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]))
    assert kept[0].tolist() == [0, 1, 2, 3]
    # a horizontal run off the pixel grid keeps only its first point
    kept = remove_horizontal_points(xs, np.full(6, 3.4))
    assert kept[0].tolist() == [0]
    # on the pixel row, the point nearer the integer wins
    kept = remove_horizontal_points(xs, np.array([7.0, 7.0, 7.000001, 7.0, 7.0, 7.0]))
    assert kept[0].tolist() == [0, 1, 3]
    assert remove_horizontal_points(np.array([1.0]), np.array([2.0]))[0].tolist() == [1.0]


def test_points_and_failures() -> None:
    got = matched_region_mask(RegionType.POINT, [(3.4, 4.6)], 0.0, shift(2, 2), W, H)
    assert got is not None and (got.x0, got.y0) == (5, 7)
    assert matched_region_mask(RegionType.POINT, [(3.4, 4.6)], 0.0, shift(-10, 0), W, H) is None

    def no_world(xs, ys):
        return xs * np.nan, ys

    assert matched_region_mask(RegionType.POLYGON, [(1, 1), (5, 1), (3, 4)], 0.0, no_world, W, H) is None
    with pytest.raises(RegionError):
        matched_region_mask(RegionType.LINE, [(1, 1), (5, 1)], 0.0, shift(0, 0), W, H)
    with pytest.raises(RegionError):
        matched_region_mask(RegionType.RECTANGLE, [(1, 1), (0, 1)], 0.0, shift(0, 0), W, H)


def test_ellipse_direct_conversion_scales_radii_by_target_pixels() -> None:
    # target pixels twice as large: the same world ellipse covers half the pixels
    points = [(10.0, 10.0), (6.0, 4.0)]
    got = matched_region_mask(RegionType.ELLIPSE, points, 0.0, stretch(0.5, 0.5, 3, 3), W, H,
                              reference_scale=(1.0, 1.0), target_scale=(2.0, 2.0))
    want = inside_ellipse(8.0, 8.0, 2.0, 3.0, margin=0.0)
    assert got is not None and want is not None
    assert math.isclose(got.num_pixels, want.sum(), abs_tol=4)
