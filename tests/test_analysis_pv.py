"""PV cuts (ANALYTICS.md §5.2, §7.2-7.4): box geometry, box spectra against an independent
sampling of the cube, the PV matrix, preview rebinning and the increment unit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from carta_trio.analysis.line_boxes import box_increment, box_masks, increment_with_unit, line_boxes, lround
from carta_trio.analysis.pv import (
    box_spectra,
    masked_mean_spectrum,
    preview_cube_shape,
    preview_line,
    pv_matrix,
    rebin_channels,
)

F32 = np.float32


def quadratic_cube() -> np.ndarray:
    """v = (x² + 100·y²)·(c + 1) on 64 × 64 pixels, 3 channels (the reference experiment)."""
    yy, xx = np.mgrid[0:64, 0:64]
    base = (xx**2 + 100.0 * yy**2)
    return np.stack([base * (c + 1) for c in range(3)]).astype(F32)


def spectra_of(cube: np.ndarray, p0, p1, width: int) -> np.ndarray:
    boxes = line_boxes(p0, p1, width)
    masks = box_masks(boxes, cube.shape[2], cube.shape[1])
    return box_spectra(lambda m: cube[:, m.y0 : m.y1, m.x0 : m.x1], masks, cube.shape[0])


def test_lround_is_c_lround() -> None:
    assert [lround(v) for v in (-1.5, -0.5, 0.4, 0.5, 2.5)] == [-2, -1, 0, 1, 3]


@pytest.mark.parametrize(
    "p0, p1, count, angle, height",
    [((30, 20), (10, 20), 21, 0.0, 1), ((20, 10), (20, 30), 21, -90.0, 1), ((10, 10), (30, 30), 29, -135.0, 3),
     ((0, 0), (0.4, 0), 1, 180.0, 1), ((5, 5), (8.2, 5), 3, 180.0, 1)],
)
def test_box_count_order_and_shape(p0, p1, count, angle, height) -> None:
    boxes = line_boxes(p0, p1, 3)
    length = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    assert len(boxes) == count == 2 * max(lround((length - 1) / 2), 0) + 1
    assert boxes.angle_deg == pytest.approx(angle) and boxes.height == height
    assert boxes.centers.dtype == np.float32
    np.testing.assert_allclose(boxes.centers.mean(axis=0), [(p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2], atol=1e-5)
    if count > 1:  # box 0 sits at the p1 end
        assert np.hypot(*(boxes.centers[0] - np.array(p1))) < np.hypot(*(boxes.centers[-1] - np.array(p1)))


def test_horizontal_cut_averages_width_pixels_along_the_line() -> None:
    cube = quadratic_cube()
    spectra = spectra_of(cube, (30, 20), (10, 20), 5)
    expected = np.array([[cube[c, 20, x - 2 : x + 3].astype(np.float64).mean() for c in range(3)] for x in range(10, 31)])
    np.testing.assert_allclose(spectra, expected, rtol=1e-7)
    assert spectra[0, 0] == 40102 and spectra[-1, 0] == 40902 and spectra[0, 1] == 80204
    narrow = spectra_of(cube, (30, 20), (10, 20), 1)
    np.testing.assert_array_equal(narrow[:, 0], cube[0, 20, 10:31])


def test_vertical_and_diagonal_cuts_match_the_reference_experiment() -> None:
    cube = quadratic_cube()
    vertical = spectra_of(cube, (20, 10), (20, 30), 5)
    assert vertical[0, 0] == 90600 and vertical[-1, 0] == 10600
    expected = [cube[0, y - 2 : y + 3, 20].astype(np.float64).mean() for y in range(30, 9, -1)]
    np.testing.assert_allclose(vertical[:, 0], expected, rtol=1e-7)
    width3 = spectra_of(cube, (20, 10), (20, 30), 3)
    assert width3[0, 0] == pytest.approx(90466.667, rel=1e-7)
    diagonal = spectra_of(cube, (10, 10), (30, 30), 1)
    assert diagonal.shape == (29, 3)
    assert diagonal[14, 0] == pytest.approx(np.mean([cube[0, 20, 20], cube[0, 19, 21], cube[0, 21, 19]]), rel=1e-7)
    assert diagonal[14, 0] == pytest.approx(40467.333, rel=1e-7)
    assert spectra_of(cube, (10, 10), (30, 30), 5)[14, 0] == pytest.approx(40542.59, rel=1e-6)


def test_boxes_outside_and_nan_pixels() -> None:
    cube = quadratic_cube()
    cube[1, 20, 1] = np.nan
    spectra = spectra_of(cube, (2, 20), (-10, 20), 1)  # box centres x = -10 ... 2
    assert np.isnan(spectra[:9]).all()
    # casacore's truncation quirk (§1.4.1): the box at x = -1 (-1.5 ... -0.5) holds pixel 0
    assert spectra[9, 0] == cube[0, 20, 0]
    np.testing.assert_array_equal(spectra[10:, 0], cube[0, 20, 0:3])
    assert np.isnan(spectra[11, 1]) and spectra[11, 2] == cube[2, 20, 1]
    block = cube[:, 19:22, 0:3]
    mask = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]], dtype=bool)
    mean = masked_mean_spectrum(block, mask)
    assert mean[1] == pytest.approx((cube[1, 20, 0] + cube[1, 20, 2]) / 2)
    assert mean[0] == pytest.approx(cube[0, 20, 0:3].mean())
    all_nan = np.full((2, 1, 1), np.nan, dtype=F32)
    assert np.isnan(masked_mean_spectrum(all_nan, np.ones((1, 1), bool))).all()


def test_pv_matrix_orientation() -> None:
    spectra = np.arange(12, dtype=F32).reshape(4, 3)  # 4 boxes, 3 channels
    normal = pv_matrix(spectra, reverse=False)
    reverse = pv_matrix(spectra, reverse=True)
    assert normal.shape == (3, 4) and normal[2, 1] == spectra[1, 2]  # row = channel, column = offset
    assert reverse.shape == (4, 3) and reverse[1, 2] == spectra[1, 2]  # row = offset, column = channel
    assert normal.flags.c_contiguous and reverse.flags.c_contiguous


def test_increment_and_unit() -> None:
    boxes = line_boxes((0, 0), (10, 0), 1)

    def separations(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        return np.hypot(np.diff(xs), np.diff(ys)) * 0.5  # 0.5 arcsec pixels

    increment, linear = box_increment(boxes, separations, (0.5, 0.5))
    assert increment == pytest.approx(0.5) and linear
    single, _ = box_increment(line_boxes((0, 0), (0.5, 0), 1), separations, (0.5, 2.0))
    assert single == pytest.approx(0.5)

    def wobbly(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        return separations(xs, ys) * (1 + 0.1 * np.arange(xs.size - 1))

    assert not box_increment(boxes, wobbly, (0.5, 0.5))[1]
    assert increment_with_unit(1.0, 21) == (1.0, "arcsec")
    assert increment_with_unit(1e-4, 11) == pytest.approx((0.1, "marcsec"))
    assert increment_with_unit(6.0, 21) == pytest.approx((0.1, "arcmin"))
    assert increment_with_unit(400.0, 21) == pytest.approx((400.0 / 3600, "deg"))


def test_preview_rebinning() -> None:
    planes = np.arange(5 * 2 * 2, dtype=F32).reshape(5, 2, 2)
    planes[1, 0, 0] = np.nan
    rebinned = rebin_channels(planes, 2)
    assert rebinned.shape == (3, 2, 2)
    assert np.isnan(rebinned[0, 0, 0]) and rebinned[0, 1, 1] == (planes[0, 1, 1] + planes[1, 1, 1]) / 2
    np.testing.assert_array_equal(rebinned[1], (planes[2] + planes[3]) / 2)
    assert np.isnan(rebinned[2]).all()  # incomplete trailing group
    np.testing.assert_array_equal(rebin_channels(planes, 1), planes)
    assert preview_cube_shape(10, 7, 5, 3, 2) == (3, 3, 4)
    assert preview_line([(13.0, 7.0), (4.0, 1.0)], (4, 1), 3) == [(3.0, 2.0), (0.0, 0.0)]
