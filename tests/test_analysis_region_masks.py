"""Region masks against brute-force per-pixel tests, worked examples and real casacore.

The brute-force references below loop over every pixel centre of the image and decide
membership geometrically; shapes are generated so that no pixel centre lies within a
small margin of the outline (where casacore's 1e-5 tolerances matter), and those
boundary rules are pinned separately by hand-made cases and, where python-casacore is
installed, by casacore's own LCPolygon/LCEllipsoid evaluated on a scratch CASA image.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from carta_trio.analysis.ellipse_mask import ellipse_mask, lc_ellipsoid_mask
from carta_trio.analysis.polygon_mask import polygon_mask, rectangle_corners
from carta_trio.analysis.region_masks import (
    RegionError,
    RegionMask,
    RegionType,
    c_round,
    cursor_pixel,
    point_mask,
    point_pixel,
    region_mask,
)

W, H = 37, 29


# ----------------------------------------------------------------- brute force


def _edge_distance(px: float, py: float, xs: list[float], ys: list[float]) -> float:
    best = math.inf
    n = len(xs)
    for i in range(n):
        ax, ay, bx, by = xs[i], ys[i], xs[(i + 1) % n], ys[(i + 1) % n]
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
        best = min(best, math.hypot(px - (ax + t * dx), py - (ay + t * dy)))
    return best


def _inside_polygon(px: float, py: float, xs: list[float], ys: list[float]) -> bool:
    inside = False
    n = len(xs)
    for i in range(n):
        x0, y0, x1, y1 = xs[i], ys[i], xs[(i + 1) % n], ys[(i + 1) % n]
        if (y0 > py) != (y1 > py):
            cross = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
            if px < cross:
                inside = not inside
    return inside


def _row_spans(y: float, xs: list[float], ys: list[float]) -> list[tuple[float, float]]:
    cross = []
    n = len(xs)
    for i in range(n):
        x0, y0, x1, y1 = xs[i], ys[i], xs[(i + 1) % n], ys[(i + 1) % n]
        if (y0 > y) != (y1 > y):
            cross.append(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
    cross.sort()
    return list(zip(cross[0::2], cross[1::2]))


def _near_box_start_quirk(xs: list[float], ys: list[float]) -> bool:
    """True if some row's span ends in (x0 - 1, x0), x0 the box's first column.

    casacore truncates such a span to column x0 (see the quirk test below); the
    geometric reference does not, so random shapes that hit it are skipped.
    """
    x0 = max(math.ceil(min(xs) - 1e-9), 0)
    for j in range(H):
        for c0, c1 in _row_spans(j, xs, ys):
            if x0 - 1 < c1 < x0:
                return True
    return False


def brute_polygon(xs: list[float], ys: list[float], margin: float = 1e-3) -> np.ndarray | None:
    """Full-image mask, or None if some pixel centre is too close to an edge."""
    if _near_box_start_quirk(xs, ys):
        return None
    out = np.zeros((H, W), dtype=bool)
    for j in range(H):
        for i in range(W):
            if _edge_distance(i, j, xs, ys) < margin:
                return None
            out[j, i] = _inside_polygon(i, j, xs, ys)
    return out


def brute_ellipse(cx: float, cy: float, a: float, b: float, rotation: float, margin: float = 1e-3) -> np.ndarray | None:
    """``a`` along y and ``b`` along x at rotation 0, turned counter-clockwise by ``rotation``°."""
    out = np.zeros((H, W), dtype=bool)
    r = math.radians(rotation)
    for j in range(H):
        for i in range(W):
            dx, dy = i - cx, j - cy
            u = dx * math.cos(r) + dy * math.sin(r)
            v = -dx * math.sin(r) + dy * math.cos(r)
            q = (u / b) ** 2 + (v / a) ** 2
            if abs(q - 1.0) < margin:
                return None
            out[j, i] = q <= 1.0
    return out


def pasted(region: RegionMask | None) -> np.ndarray:
    return np.zeros((H, W), dtype=bool) if region is None else region.full_mask(W, H)


def assert_box_is_tight(region: RegionMask) -> None:
    rows = np.flatnonzero(region.mask.any(axis=1))
    cols = np.flatnonzero(region.mask.any(axis=0))
    assert rows[0] == 0 and rows[-1] == region.height - 1
    assert cols[0] == 0 and cols[-1] == region.width - 1


# ----------------------------------------------------------------- polygons


def test_random_polygons_match_brute_force() -> None:
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 40:
        n = int(rng.integers(3, 8))
        xs = rng.uniform(-8, W + 8, n).astype(np.float32).tolist()
        ys = rng.uniform(-8, H + 8, n).astype(np.float32).tolist()
        want = brute_polygon(xs, ys)
        if want is None:
            continue
        checked += 1
        got = polygon_mask(xs, ys, W, H)
        np.testing.assert_array_equal(pasted(got), want)
        if got is not None:
            assert_box_is_tight(got)
        else:
            assert not want.any()


@pytest.mark.parametrize("rotation", [0.0, 17.0, 45.0, 90.0, 123.4, -30.0, 180.0])
def test_rotated_rectangles_match_brute_force(rotation: float) -> None:
    rng = np.random.default_rng(int(rotation * 10) % 1000)
    checked = 0
    while checked < 8:
        cx, cy = rng.uniform(-3, W + 3), rng.uniform(-3, H + 3)
        w, h = rng.uniform(0.7, 20), rng.uniform(0.7, 20)
        xs, ys = rectangle_corners(cx, cy, w, h, rotation)
        want = brute_polygon(xs.tolist(), ys.tolist())
        if want is None:
            continue
        checked += 1
        got = region_mask(RegionType.RECTANGLE, [(cx, cy), (w, h)], rotation, W, H)
        np.testing.assert_array_equal(pasted(got), want)


def test_rectangle_corners_follow_the_reference_convention() -> None:
    xs, ys = rectangle_corners(10, 20, 4, 2, 0)
    np.testing.assert_array_equal(xs, [8, 12, 12, 8])
    np.testing.assert_array_equal(ys, [19, 19, 21, 21])
    # width lies along the rotated x axis: at 90° the 4-pixel side is vertical
    xs, ys = rectangle_corners(10, 20, 4, 2, 90)
    np.testing.assert_allclose(xs, [11, 11, 9, 9], atol=1e-6)
    np.testing.assert_allclose(ys, [18, 22, 22, 18], atol=1e-6)


def test_rectangle_centred_on_a_pixel_includes_its_edges() -> None:
    # ICD test REGION_STATISTICS_RECTANGLE: 10x10 centred on a pixel -> 11x11 = 121 pixels
    region = region_mask(RegionType.RECTANGLE, [(21, 14), (10, 10)], 0.0, W, H)
    assert region is not None
    assert (region.x0, region.y0, region.width, region.height) == (16, 9, 11, 11)
    assert region.num_pixels == 121 and region.is_full


def test_unit_square_around_a_pixel_and_empty_triangle() -> None:
    # ICD test REGION_STATISTICS_POLYGON: square 299.5..300.5 -> one pixel; a triangle
    # containing no pixel centre -> no region
    region = polygon_mask([9.5, 10.5, 10.5, 9.5], [5.5, 5.5, 6.5, 6.5], W, H)
    assert region is not None and (region.x0, region.y0) == (10, 6) and region.num_pixels == 1
    assert polygon_mask([10.2, 10.8, 10.5], [5.2, 5.2, 5.8], W, H) is None
    assert region_mask(RegionType.RECTANGLE, [(10.25, 5.25), (0.4, 0.4)], 0.0, W, H) is None


def test_horizontal_edge_on_a_pixel_row_is_inside() -> None:
    # the top edge y = 8 lies exactly on a row of pixel centres: that row is included
    region = polygon_mask([2.5, 6.5, 6.5, 2.5], [4.5, 4.5, 8.0, 8.0], W, H)
    assert region is not None
    assert (region.y0, region.y1) == (5, 9)
    assert region.mask.all() and region.width == 4


def test_vertices_on_pixel_centres_are_inside() -> None:
    region = polygon_mask([3, 9, 3], [2, 2, 8], W, H)
    assert region is not None
    full = region.full_mask(W, H)
    for x, y in [(3, 2), (9, 2), (3, 8), (6, 5)]:
        assert full[y, x]
    assert not full[5, 7] and full[4, 7] and not full[8, 4]


def test_polygon_partly_outside_is_clipped_and_outside_is_none() -> None:
    region = polygon_mask([-5.5, 4.5, 4.5, -5.5], [-3.5, -3.5, 2.5, 2.5], W, H)
    assert region is not None and (region.x0, region.y0, region.x1, region.y1) == (0, 0, 5, 3)
    assert region.mask.all()
    assert polygon_mask([-9, -2, -2], [3, 3, 9], W, H) is None
    assert polygon_mask([W + 1, W + 5, W + 3], [3, 3, 9], W, H) is None


def test_crossing_just_before_the_box_start_quirk() -> None:
    # As coded in LCPolygon: a crossing pair inside (-1, 0) relative to the box start
    # truncates to column 0. Here row 1's span is x in [2.3, 2.78], which holds no pixel
    # centre, yet column 3 (the box start) is set — casacore reports the same.
    region = polygon_mask([2.3, 3.2, 3.2, 2.8], [0.5, 0.5, 1.5, 1.5], W, H)
    assert region is not None
    assert region.full_mask(W, H)[1, 3]


# ----------------------------------------------------------------- ellipses


@pytest.mark.parametrize("rotation", [0.0, 20.0, 45.0, 90.0, 135.0, 200.0, -70.0])
def test_ellipses_match_brute_force(rotation: float) -> None:
    rng = np.random.default_rng(int(abs(rotation)) + 3)
    checked = 0
    while checked < 8:
        cx, cy = rng.uniform(0, W - 1), rng.uniform(0, H - 1)
        a, b = rng.uniform(0.8, 12, 2)
        want = brute_ellipse(cx, cy, a, b, rotation)
        if want is None:
            continue
        checked += 1
        got = region_mask(RegionType.ELLIPSE, [(cx, cy), (a, b)], rotation, W, H)
        np.testing.assert_array_equal(pasted(got), want, err_msg=f"{(cx, cy, a, b, rotation)}")


def test_ellipse_axes_orientation() -> None:
    # a is the semi-axis along y at rotation 0, b along x
    region = ellipse_mask((18, 14), (6, 2), 0.0, W, H)
    assert region is not None
    assert (region.width, region.height) == (5, 13)
    turned = ellipse_mask((18, 14), (6, 2), 90.0, W, H)
    assert turned is not None and (turned.width, turned.height) == (13, 5)


def test_rotated_ellipse_box_is_the_square_of_the_larger_radius() -> None:
    region = ellipse_mask((18, 14), (6, 2), 30.0, W, H)
    assert region is not None
    # casacore uses max(radius) on both axes for a rotated ellipse: empty edge rows stay
    assert (region.x0, region.y0, region.width, region.height) == (12, 8, 13, 13)
    assert not region.mask[0].any() or not region.mask[:, 0].any()


def test_ellipse_outside_or_too_small_is_none() -> None:
    assert ellipse_mask((-10, 5), (3, 3), 0.0, W, H) is None
    assert ellipse_mask((5.5, 5.5), (0.2, 0.2), 0.0, W, H) is None  # no pixel centre within
    assert ellipse_mask((W + 4, 5), (2, 3), 45.0, W, H) is None


def test_ellipse_partly_outside() -> None:
    region = ellipse_mask((1.3, 2.2), (5.1, 4.3), 0.0, W, H)
    want = brute_ellipse(1.3, 2.2, 5.1, 4.3, 0.0)
    assert region is not None and want is not None
    np.testing.assert_array_equal(region.full_mask(W, H), want)
    assert (region.x0, region.y0) == (0, 0)


def test_ellipse_centre_outside_truncation_quirk() -> None:
    # As coded in LCEllipsoid::_doOutside: column bounds use C int() (toward zero), so
    # with the centre at x = -3 a row whose span ends at x = -0.5 still sets column 0:
    # pixel (0, 7) is 3.6 from the centre of this radius-3.2 circle, yet included.
    region = ellipse_mask((-3.0, 5.0), (3.2, 3.2), 0.0, W, H)
    assert region is not None
    full = region.full_mask(W, H)
    assert full[5, 0] and full[6, 0] and full[7, 0]
    assert math.hypot(3, 2) > 3.2


def test_non_square_pixels_use_world_radii() -> None:
    # As coded: world radii A = a·|dx| = 2, B = b·|dy| = 12; B is the major axis, and the
    # round trip divides the major radius by |dx| and the minor by |dy| -> 12 along x, 1 along y.
    region = ellipse_mask((18, 14), (2, 6), 0.0, W, H, pixel_scale=(1.0, 2.0))
    same = lc_ellipsoid_mask(18, 14, 12.0, 1.0, 0.0, W, H)
    assert region is not None and same is not None
    np.testing.assert_array_equal(region.full_mask(W, H), same.full_mask(W, H))


# ----------------------------------------------------------------- points and cursor


def test_point_pixel_uses_int_of_p_plus_half() -> None:
    assert point_pixel(3.49, 7.5, W, H) == (3, 8)
    assert point_pixel(-0.4, 0.0, W, H) == (0, 0)
    assert point_pixel(-1.2, 0.0, W, H) == (0, 0)  # int(-0.7) == 0
    assert point_pixel(-1.6, 0.0, W, H) is None
    assert point_pixel(W - 0.6, 0, W, H) == (W - 1, 0)
    assert point_pixel(W - 0.5, 0, W, H) is None
    region = point_mask(4.2, 5.7, W, H)
    assert region is not None and (region.x0, region.y0, region.num_pixels) == (4, 6, 1)
    assert region_mask(RegionType.POINT, [(4.2, 5.7)], 0.0, W, H) == region


def test_cursor_uses_c_round() -> None:
    assert [c_round(v) for v in (2.5, -2.5, 2.4999999, -0.5, 0.49)] == [3, -3, 2, -1, 0]
    assert cursor_pixel(-0.4, 3.5, W, H) == (0, 4)
    assert cursor_pixel(-0.5, 3.0, W, H) is None
    assert cursor_pixel(W - 0.51, H - 0.51, W, H) == (W - 1, H - 1)
    assert cursor_pixel(W - 0.5, 0, W, H) is None


# ----------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "region_type, points",
    [
        (RegionType.RECTANGLE, [(5, 5), (0, 3)]),
        (RegionType.RECTANGLE, [(5, 5), (3, -1)]),
        (RegionType.ELLIPSE, [(5, 5), (0, 2)]),
        (RegionType.RECTANGLE, [(5, 5)]),
        (RegionType.POLYGON, [(1, 1), (4, 1)]),
        (RegionType.POLYGON, [(1, 1), (4, float("nan")), (2, 5)]),
        (RegionType.POINT, [(float("inf"), 1)]),
        (RegionType.POINT, [(1, 1), (2, 2)]),
        (RegionType.LINE, [(1, 1)]),
        (RegionType.POLYLINE, [(1, 1), (2, 2)]),
        (RegionType.ANNULUS, [(1, 1), (2, 2)]),
        (99, [(1, 1)]),
    ],
)
def test_invalid_control_points_raise(region_type: int, points: list[tuple[float, float]]) -> None:
    with pytest.raises(RegionError):
        region_mask(region_type, points, 0.0, W, H)


def test_types_without_a_mask_raise() -> None:
    with pytest.raises(RegionError, match="no pixel mask"):
        region_mask(RegionType.LINE, [(1, 1), (5, 5)], 0.0, W, H)
    with pytest.raises(RegionError, match="annotation"):
        region_mask(RegionType.ANNRECTANGLE, [(5, 5), (2, 2)], 0.0, W, H)


def test_region_mask_slices_select_the_box() -> None:
    region = region_mask(RegionType.POLYGON, [(2.2, 3.1), (9.7, 4.4), (5.5, 12.9)], 0.0, W, H)
    assert region is not None
    image = np.arange(W * H).reshape(H, W)
    box = image[region.slices()]
    assert box.shape == region.mask.shape and box[0, 0] == region.y0 * W + region.x0


# ----------------------------------------------------------------- real casacore

casacore_images = pytest.importorskip("casacore.images", reason="python-casacore not installed")


def _casacore_mask(tmp_path, record: dict, nx: int, ny: int) -> tuple[int, int, np.ndarray] | None:
    """Evaluate a casacore region record on a scratch image; None when casacore refuses it."""
    import casacore.tables as ct

    path = str(tmp_path / f"scratch{np.random.default_rng().integers(1 << 30)}.im")
    image = casacore_images.image(path, shape=(ny, nx))
    image.putdata(np.arange(nx * ny, dtype=np.float32).reshape(ny, nx))
    del image
    table = ct.table(path, readonly=False, ack=False)
    table.putkeyword("regions", {"r": record})
    table.close()
    try:
        sub = casacore_images.image(f"'{path}'[r]")
    except RuntimeError:
        shutil.rmtree(path)
        return None
    inside = ~sub.getmask()
    y0, x0 = divmod(int(round(float(sub.getdata().flat[0]))), nx)
    del sub
    shutil.rmtree(path)
    return x0, y0, inside


def _compare(ours: RegionMask | None, theirs: tuple[int, int, np.ndarray] | None, label: str) -> None:
    if theirs is None or ours is None:
        assert theirs is None and ours is None, label
        return
    assert (ours.x0, ours.y0) == theirs[:2], label
    np.testing.assert_array_equal(ours.mask, theirs[2], err_msg=label)


def test_polygons_match_casacore_lcpolygon(tmp_path) -> None:
    rng = np.random.default_rng(11)
    nx, ny = 23, 17
    for it in range(60):
        if it % 3 == 0:
            n = int(rng.integers(3, 8))
            xs = rng.uniform(-5, nx + 5, n)
            ys = rng.uniform(-5, ny + 5, n)
        elif it % 3 == 1:  # vertices on pixel centres and half-pixels: tolerance rules
            n = int(rng.integers(3, 7))
            xs = rng.integers(-3, nx + 3, n) + rng.choice([0.0, 0.5], n)
            ys = rng.integers(-3, ny + 3, n) + rng.choice([0.0, 0.5], n)
        else:
            xs, ys = rectangle_corners(rng.integers(0, nx), rng.integers(0, ny), rng.integers(1, 12), rng.integers(1, 9),
                                       float(rng.choice([0, 90, 45, 30, -60])))
        xs, ys = np.asarray(xs, np.float32), np.asarray(ys, np.float32)
        record = {"isRegion": 1, "name": "LCPolygon", "comment": "", "oneRel": False, "x": xs, "y": ys,
                  "shape": np.array([nx, ny], np.int32)}
        _compare(polygon_mask(xs, ys, nx, ny), _casacore_mask(tmp_path, record, nx, ny), f"{xs.tolist()} {ys.tolist()}")


def test_ellipses_match_casacore_lcellipsoid(tmp_path) -> None:
    rng = np.random.default_rng(12)
    nx, ny = 21, 17
    for it in range(60):
        if it % 2 == 0:
            cx, cy = rng.uniform(-6, nx + 6), rng.uniform(-6, ny + 6)
            a, b = rng.uniform(0.1, 9, 2)
        else:
            cx = rng.integers(-4, nx + 4) + rng.choice([0.0, 0.5])
            cy = rng.integers(-4, ny + 4) + rng.choice([0.0, 0.5])
            a, b = rng.integers(1, 8, 2) + rng.choice([0.0, 0.5], 2)
        theta = float(rng.choice([0.0, math.pi / 2, math.pi, -math.pi / 2, rng.uniform(-4, 4)]))
        cx, cy, major, minor, theta = (float(np.float32(v)) for v in (cx, cy, max(a, b), min(a, b), theta))
        record = {"isRegion": 1, "name": "LCEllipsoid", "comment": "", "oneRel": False,
                  "center": np.array([cx, cy], np.float32), "radii": np.array([major, minor], np.float32),
                  "theta": np.float32(theta), "shape": np.array([nx, ny], np.int32)}
        _compare(lc_ellipsoid_mask(cx, cy, major, minor, theta, nx, ny), _casacore_mask(tmp_path, record, nx, ny),
                 f"{(cx, cy, major, minor, theta)}")
