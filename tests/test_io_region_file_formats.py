"""Region files (CRTF, DS9) read and written by the pure io modules, checked against
independent truths: astropy's WCS and frame conversions for world coordinates, and
astropy-regions (another parser) for every exported file."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from carta_trio.analysis.region_geometry import RegionType as RT
from carta_trio.io.region_file_common import AnnotationData, StyleData
from carta_trio.io.region_sky import ImageGeometry
from carta_trio.io.region_values import QuantityError, parse_angle_value
from carta_trio.io.region_file_export import ExportRegion
from carta_trio.io.region_export_crtf import export_crtf
from carta_trio.io.region_files_crtf import import_crtf
from carta_trio.io.region_export_ds9 import export_ds9
from carta_trio.io.region_files_ds9 import import_ds9

regions_lib = pytest.importorskip("regions")


def fk5_wcs() -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    w.wcs.crval = [275.1, -16.2]
    w.wcs.crpix = [320.0, 400.0]
    w.wcs.cdelt = [-1e-4, 1e-4]
    w.wcs.radesys = "FK5"
    w.wcs.equinox = 2000.0
    return w


@pytest.fixture
def geometry() -> ImageGeometry:
    return ImageGeometry(640, 800, fk5_wcs())


def truth_pixel(lon: float, lat: float, frame: str) -> tuple[float, float]:
    """Independent world -> 0-based pixel through astropy SkyCoord + WCS."""
    coord = SkyCoord(lon * u.deg, lat * u.deg, frame=frame)
    x, y = fk5_wcs().world_to_pixel(coord)
    return float(x), float(y)


# --- quantities ------------------------------------------------------------------------


@pytest.mark.parametrize("text, value, kind", [
    ("10deg", 10.0, "deg"), ("1rad", math.degrees(1), "deg"), ("30arcmin", 0.5, "deg"), ("36arcsec", 0.01, "deg"),
    ("5pix", 5.0, "pix"), ("18:20:24.0", 275.1, "deg"), ("18h20m24s", 275.1, "deg"),
    ("-16.12.00.0", -16.2, "deg"), ("-16d12m00s", -16.2, "deg"), ("12", 12.0, ""), ('3"', 3 / 3600, "deg"),
    ("2'", 2 / 60, "deg"), ("7i", 7.0, "pix"),
])
def test_quantities(text: str, value: float, kind: str) -> None:
    got, got_kind = parse_angle_value(text)
    assert got == pytest.approx(value, abs=1e-12) and got_kind == kind


@pytest.mark.parametrize("text", ["nan", "inf", "1e999deg", "12parsec", "abc", "1:2"])
def test_bad_quantities(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_angle_value(text)


# --- CRTF import ------------------------------------------------------------------------


def test_crtf_pixels_are_zero_based_and_world_goes_through_the_wcs(geometry: ImageGeometry) -> None:
    text = [
        "#CRTFv0 CASA Region Text Format version 0",
        "symbol [[-103.8pix, 613.1pix], .]",
        "centerbox [[18:20:30.0, -16.13.00.0], [10arcsec, 20arcsec]] coord=J2000",
        "circle [[12.0deg, 0.1deg], 3.6arcsec] coord=GALACTIC",
        "ellipse [[275.11deg, -16.21deg], [7.2arcsec, 3.6arcsec], 30deg] coord=ICRS",
        "rotbox [[274.3deg, -16.25deg], [1arcmin, 0.5arcmin], 45deg] coord=B1950",
        "ann circle [[0.0048rad, 0.0001rad], 1arcsec] coord=ECLIPTIC",
    ]
    result = import_crtf(text, geometry)
    assert [r.region_type for r in result.regions] == [RT.POINT, RT.RECTANGLE, RT.ELLIPSE, RT.ELLIPSE,
                                                       RT.RECTANGLE, RT.ANNELLIPSE]
    point, box, circle, ellipse, rotbox, ecl = result.regions
    assert point.points == [(-103.8, 613.1)]
    assert box.points[0] == pytest.approx(truth_pixel(275.125, -16.216666666666667, "fk5"), abs=1e-6)
    assert box.points[1] == pytest.approx((10 / 0.36, 20 / 0.36))
    assert circle.points[0] == pytest.approx(truth_pixel(12.0, 0.1, "galactic"), abs=1e-6)
    assert circle.points[1] == pytest.approx((10.0, 10.0))
    assert ellipse.points[0] == pytest.approx(truth_pixel(275.11, -16.21, "icrs"), abs=1e-6)
    assert (ellipse.points[1], ellipse.rotation) == (pytest.approx((20.0, 10.0)), 30.0)
    b1950 = SkyCoord(274.3 * u.deg, -16.25 * u.deg, frame="fk4", equinox="B1950")
    assert rotbox.points[0] == pytest.approx(tuple(float(v) for v in fk5_wcs().world_to_pixel(b1950)), abs=1e-6)
    assert rotbox.rotation == 45.0
    ecliptic = SkyCoord(math.degrees(0.0048) * u.deg, math.degrees(0.0001) * u.deg,
                        frame="barycentricmeanecliptic")
    assert ecl.points[0] == pytest.approx(tuple(float(v) for v in fk5_wcs().world_to_pixel(ecliptic)), abs=1e-6)
    # Regions far off the image import, with a warning naming their line.
    assert result.errors and all("lies entirely outside the image" in text for _, text in result.errors)
    assert {n for n, _ in result.errors} == {2, 4, 6, 7}


def test_crtf_bad_lines_are_reported_by_number_and_good_lines_import(geometry: ImageGeometry) -> None:
    text = [
        "global color=red, linewidth=3",
        "circle [[10pix, 10pix], 2pix]",
        "annulus [[10pix, 10pix], [2pix, 4pix]]",
        "circle [[10pix",
        "box [[1pix, 1pix], [20pix, 20deg]]",
        "poly [[1pix, 1pix], [2pix, 2pix]]",
        "circle [[nanpix, 1pix], 2pix]",
        "circle [[1e12pix, 1pix], 2pix]",
        "circle [[1pix, 1pix], 2parsec]",
        "line [[1pix, 1pix], [5pix, 5pix]] color=2ee6d6, linestyle=:, label=\"a b\"",
    ]
    result = import_crtf(text, geometry)
    assert [(r.line, r.region_type) for r in result.regions] == [(2, RT.ELLIPSE), (10, RT.LINE)]
    message = result.message
    for n, fragment in [(3, "annulus not supported."), (4, "circle syntax invalid."),
                        (5, "Mixed world and pixel coordinates not supported"), (6, "poly syntax invalid."),
                        (7, "circle parameters invalid."), (8, "Conversion of region parameters"),
                        (9, "circle parameters invalid.")]:
        assert any(line.startswith(f"Line {n}: ") and fragment in line for line in message.splitlines()), (n, message)
    circle, line = result.regions
    assert (circle.style.color, circle.style.line_width, circle.style.dash_list) == ("red", 3, [0])
    assert (line.style.color, line.style.dash_list, line.style.name) == ("#2EE6D6", [1], "a b")


def test_crtf_annotations_and_styles(geometry: ImageGeometry) -> None:
    text = [
        "ann symbol [[3pix, 4pix], D] symsize=3, symthick=0",
        "# textbox [[50pix, 50pix], [30pix, 10pix], 45deg] label=\"box\", align=uleft",
        "text [[50pix, 50pix], \"Hello world\"] color=blue, font=Times, fontsize=20, fontstyle=bold-italic",
        "# compass [[10pix, 10pix], 20pix] compass=J2000 {N} {E} 1 0",
        "# ruler [[1pix, 1pix], [9pix, 9pix]] ruler=J2000 degrees",
        "vector [[1pix, 1pix], [9pix, 5pix]]",
        "ann polyline [[1pix, 1pix], [9pix, 5pix], [3pix, 7pix]]",
    ]
    result = import_crtf(text, geometry)
    assert result.errors == []
    point, textbox, compass, ruler, vector, polyline = result.regions
    assert point.region_type == RT.ANNPOINT and point.style.annotation is not None
    assert (point.style.annotation.point_shape, point.style.annotation.point_width) == (5, 3)  # DIAMOND_LINED
    assert textbox.region_type == RT.ANNTEXT and textbox.points == [(50.0, 50.0), (30.0, 10.0)]
    assert textbox.rotation == 45.0
    ann = textbox.style.annotation
    assert ann is not None and (ann.text_label0, ann.font, ann.font_size, ann.font_style, ann.text_position) == (
        "Hello world", "Times", 20, "bold_italic", 1)
    assert (textbox.style.name, textbox.style.color) == ("box", "blue")
    assert compass.region_type == RT.ANNCOMPASS and compass.points == [(10.0, 10.0), (20.0, 20.0)]
    assert compass.style.annotation is not None
    assert (compass.style.annotation.text_label0, compass.style.annotation.is_east_arrow) == ("N", False)
    assert [r.region_type for r in (ruler, vector, polyline)] == [RT.ANNRULER, RT.ANNVECTOR, RT.ANNPOLYLINE]


# --- DS9 import --------------------------------------------------------------------------


def test_ds9_pixels_are_one_based_and_frames_convert(geometry: ImageGeometry) -> None:
    text = [
        "circle(101,201,5)",  # headerless, no frame line: image pixels
        "# Region file format: DS9 version 4.1",
        "fk5",
        "circle(275.11,-16.21,3.6\") # color=red width=3 text={one}",
        "box(18:20:26.4,-16:12:36,7.2\",3.6\",30)",
        "galactic; point(12.0,0.1) # point=cross",
        "fk4",
        "ellipse(274.3,-16.25,1',0.5',40)",
        "icrs",
        "polygon(275.10,-16.20,275.11,-16.20,275.11,-16.21)",
        "image",
        "line(1,1,10,10) # line=0 0",
    ]
    result = import_ds9(text, geometry)
    assert [n for n, t in result.errors if "lies entirely outside the image" in t] == [6, 8]
    assert len(result.errors) == 2
    first, circle, box, point, ellipse, polygon, line = result.regions
    assert first.points == [(100.0, 200.0), (5.0, 5.0)]
    assert circle.points[0] == pytest.approx(truth_pixel(275.11, -16.21, "fk5"), abs=1e-6)
    assert circle.points[1] == pytest.approx((10.0, 10.0))
    assert (circle.style.name, circle.style.color, circle.style.line_width) == ("one", "red", 3)
    assert box.points[0] == pytest.approx(truth_pixel(275.11, -16.21, "fk5"), abs=1e-6)
    assert box.rotation == 30.0
    assert point.points[0] == pytest.approx(truth_pixel(12.0, 0.1, "galactic"), abs=1e-6)
    b1950 = SkyCoord(274.3 * u.deg, -16.25 * u.deg, frame="fk4", equinox="B1950")
    assert ellipse.points[0] == pytest.approx(tuple(float(v) for v in fk5_wcs().world_to_pixel(b1950)), abs=1e-6)
    assert ellipse.points[1] == pytest.approx((1 / 60 / 1e-4, 0.5 / 60 / 1e-4))
    assert ellipse.rotation == pytest.approx(310.0)  # DS9 angle - 90 when the radii differ
    assert polygon.points[2] == pytest.approx(truth_pixel(275.11, -16.21, "icrs"), abs=1e-6)
    assert line.points == [(0.0, 0.0), (9.0, 9.0)]


def test_ds9_bad_pieces_are_reported_and_good_ones_import(geometry: ImageGeometry) -> None:
    text = [
        "circle(10,10,2)",
        "annulus(10,10,1,2,3)",
        "circle(1,2)",
        "ellipse(10,10,1,2,3,4,5)",
        "box(10,10,abc,2)",
        "hello world",
        "-circle(10,10,2)",
        "wcs; circle(1,1,1)",
        "image; vector(10,10,5)",
        "point(10,10) # text={a;b}; circle(20,20,3)",
    ]
    result = import_ds9(text, geometry)
    assert [(r.line, r.region_type) for r in result.regions] == [(1, RT.ELLIPSE), (10, RT.POINT), (10, RT.ELLIPSE)]
    assert result.regions[1].style.name == "a;b"
    lines = result.message.splitlines()
    for n, fragment in [(2, "DS9 annulus region not supported."), (3, "Invalid DS9 region syntax: circle(1,2)"),
                        (4, "DS9 ellipse annulus region not supported."),
                        (5, "box invalid parameter abc, not a numeric value."),
                        (6, "Invalid DS9 region syntax: hello world"), (8, "Failed to apply circle to image"),
                        (9, "Unsupported vector definition.")]:
        assert any(line.startswith(f"Line {n}: ") and fragment in line for line in lines), (n, lines)


def test_ds9_annotation_styles(geometry: ImageGeometry) -> None:
    text = [
        'global color=cyan width=2 font="times 14 bold italic"',
        "# point(10,10) point=circle 7 fill=1",
        "# point(10,10) point=diamond",
        "# vector(10,10,20,90) vector=1",
        "# text(30,30) textangle=15 text={Label here}",
        "# compass(40,40,15) compass=fk5 {N} {E} 1 1",
        "# ruler(1,1,20,20) ruler=fk5 arcsec",
        "# polygon(1,1,20,1,10,10) dash=1 dashlist=4 2",
    ]
    result = import_ds9(text, geometry)
    assert result.errors == []
    filled, hollow, vector, label, compass, ruler, polygon = result.regions
    assert filled.style.annotation is not None and hollow.style.annotation is not None
    assert (filled.style.annotation.point_shape, filled.style.annotation.point_width) == (2, 7)  # CIRCLE
    assert hollow.style.annotation.point_shape == 5  # DIAMOND_LINED
    assert vector.points == [(9.0, 9.0), pytest.approx((9.0, 29.0))]
    assert label.region_type == RT.ANNTEXT and label.rotation == 15.0 and label.style.annotation is not None
    assert (label.style.annotation.text_label0, label.style.annotation.font, label.style.annotation.font_size,
            label.style.annotation.font_style) == ("Label here", "Times", 14, "bold_italic")
    assert (label.style.color, label.style.line_width) == ("cyan", 2)
    assert compass.points == [(39.0, 39.0), (15.0, 15.0)] and ruler.region_type == RT.ANNRULER
    assert polygon.region_type == RT.ANNPOLYGON and polygon.style.dash_list == [4, 2]


# --- export, checked by astropy-regions ------------------------------------------------

A = AnnotationData
EXPORTED = [
    ExportRegion(1, RT.POINT, [(10.0, 20.0)], 0.0, StyleData("p", "#FF0000", 2, [], A())),
    ExportRegion(2, RT.RECTANGLE, [(50.0, 60.0), (10.0, 20.0)], 30.0, StyleData("", "#00FF00", 1, [], A())),
    ExportRegion(3, RT.ELLIPSE, [(50.0, 60.0), (10.0, 5.0)], 30.0, StyleData("", "green", 1, [], A())),
    ExportRegion(4, RT.ELLIPSE, [(52.5, 61.25), (7.0, 7.0)], 0.0, StyleData("", "green", 1, [8, 3], A())),
    ExportRegion(5, RT.POLYGON, [(1.0, 1.0), (10.0, 1.0), (5.0, 8.0)], 0.0, StyleData("", "green", 1, [], A())),
    ExportRegion(6, RT.LINE, [(1.0, 1.0), (10.0, 3.0)], 0.0, StyleData("", "green", 1, [], A())),
    ExportRegion(7, RT.POLYLINE, [(1.0, 1.0), (10.0, 1.0), (5.0, 8.0)], 0.0, StyleData()),
    ExportRegion(8, RT.ANNPOINT, [(10.0, 20.0)], 0.0, StyleData("", "#FFBA01", 2, [], A(point_shape=2, point_width=4))),
    ExportRegion(9, RT.ANNRECTANGLE, [(50.0, 60.0), (10.0, 20.0)], 30.0, StyleData("", "#FFBA01", 2, [], A())),
    ExportRegion(10, RT.ANNTEXT, [(50.0, 60.0), (10.0, 5.0)], 30.0,
                 StyleData("", "#FFBA01", 1, [], A(text_label0="hi there", font="Helvetica", font_size=20))),
    ExportRegion(11, RT.ANNVECTOR, [(50.0, 60.0), (70.0, 80.0)], 0.0, StyleData("", "#FFBA01", 2, [], A())),
    ExportRegion(12, RT.ANNRULER, [(50.0, 60.0), (70.0, 80.0)], 0.0, StyleData("", "#FFBA01", 2, [], A())),
    ExportRegion(13, RT.ANNCOMPASS, [(50.0, 60.0), (20.0, 20.0)], 0.0,
                 StyleData("", "#FFBA01", 2, [], A(text_label0="N", text_label1="E", is_north_arrow=True))),
    ExportRegion(14, RT.ANNPOLYGON, [(1.0, 1.0), (10.0, 1.0), (5.0, 8.0)], 0.0, StyleData("", "red", 2, [8, 3], A())),
    ExportRegion(15, RT.ANNPOLYLINE, [(1.0, 1.0), (10.0, 1.0), (5.0, 8.0)], 0.0, StyleData("", "red", 2, [], A())),
]


def _parse_lines(head: str, lines: list[str], fmt: str) -> list[list[object]]:
    """astropy-regions' reading of each region line on its own (None: it cannot read it)."""
    out: list[list[object]] = []
    for line in lines:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out.append(list(regions_lib.Regions.parse(head + line, format=fmt)))
            except Exception as exc:  # noqa: BLE001 - recorded, the test asserts which shapes fail
                out.append([exc])
    return out


def _expected_pixel_shape(region: ExportRegion) -> tuple[str, list[float]] | None:
    """What astropy-regions must read for our region (pixel values), None if not a shape it reads."""
    rt, p, rot = region.region_type, region.points, region.rotation
    if rt in (RT.POINT, RT.ANNPOINT):
        return "Point", [p[0][0], p[0][1]]
    if rt in (RT.RECTANGLE, RT.ANNRECTANGLE):
        return "Rectangle", [p[0][0], p[0][1], p[1][0], p[1][1], rot]
    if rt in (RT.ELLIPSE, RT.ANNELLIPSE) and p[1][0] == p[1][1]:
        return "Circle", [p[0][0], p[0][1], p[1][0]]
    if rt in (RT.ELLIPSE, RT.ANNELLIPSE):
        return "Ellipse", [p[0][0], p[0][1]]
    if rt in (RT.POLYGON, RT.ANNPOLYGON):
        return "Polygon", [v for q in p for v in q]
    if rt == RT.LINE:
        return "Line", [v for q in p for v in q]
    if rt == RT.ANNTEXT:
        return "Text", [p[0][0], p[0][1]]
    return None


def _values(shape: object, geometry: ImageGeometry) -> list[float]:
    pix = shape.to_pixel(fk5_wcs()) if hasattr(shape, "to_pixel") else shape
    name = type(pix).__name__
    if name.startswith("Point") or name.startswith("Text"):
        return [float(pix.center.x), float(pix.center.y)]
    if name.startswith("Rectangle"):
        return [float(pix.center.x), float(pix.center.y), float(pix.width), float(pix.height),
                float(pix.angle.to_value(u.deg))]
    if name.startswith("Circle"):
        return [float(pix.center.x), float(pix.center.y), float(pix.radius)]
    if name.startswith("Ellipse"):
        return [float(pix.center.x), float(pix.center.y)]
    if name.startswith("Polygon"):
        return [float(v) for xy in zip(pix.vertices.x, pix.vertices.y) for v in xy]
    if name.startswith("Line"):
        return [float(pix.start.x), float(pix.start.y), float(pix.end.x), float(pix.end.y)]
    raise AssertionError(name)


@pytest.mark.parametrize("fmt", ["ds9", "crtf"])
@pytest.mark.parametrize("world", [False, True])
def test_exports_are_read_alike_by_astropy_regions(geometry: ImageGeometry, fmt: str, world: bool) -> None:
    writer = export_ds9 if fmt == "ds9" else export_crtf
    lines, errors = writer(EXPORTED, geometry, world)
    assert errors == []
    if fmt == "ds9":
        head, body = "".join(lines[:2]), lines[2:]
    else:
        head, body = lines[0] + "\n", [line + "\n" for line in lines[1:]]
    parsed = _parse_lines(head, body, fmt)
    # One line per region, two for the text box; the box line is a comment to other readers.
    text_index = [r.region_id for r in EXPORTED].index(10)
    assert len(body) == len(EXPORTED) + 1
    del parsed[text_index]
    tolerance = 1e-4 if world else 1e-6
    for region, got in zip(EXPORTED, parsed):
        expected = _expected_pixel_shape(region)
        failures = [g for g in got if isinstance(g, Exception)]
        if region.region_type in (RT.POLYLINE, RT.ANNPOLYLINE, RT.ANNVECTOR) and fmt == "crtf":
            assert failures or got == [], region  # astropy-regions has no CRTF polyline or vector
            continue
        assert not failures, (region, failures)
        if expected is None or (region.region_type > RT.POLYGON and fmt == "ds9" and region.region_type != RT.ANNTEXT):
            continue  # DS9 annotations are '#'-prefixed lines other readers take as comments
        if region.region_type == RT.POLYLINE and fmt == "ds9":
            assert got == []  # astropy-regions does not read DS9 polylines
            continue
        assert len(got) == 1, (region, got)
        name, values = expected
        assert type(got[0]).__name__.startswith(name), (region, got)
        got_values = _values(got[0], geometry)
        if name == "Rectangle" and world:
            got_values = got_values[:2] + [got_values[2], got_values[3]]
            values = values[:4]
        assert got_values == pytest.approx(values, abs=tolerance), (region, got_values, values)


def test_ellipse_axes_as_astropy_regions_reads_them(geometry: ImageGeometry) -> None:
    """CARTA's ellipse (a, b, rotation) is DS9's ellipse(r1=a, r2=b, angle=rotation+90)."""
    lines, _ = export_ds9([EXPORTED[2]], geometry, False)
    (shape,) = regions_lib.Regions.parse("".join(lines), format="ds9")
    assert (float(shape.width), float(shape.height)) == (20.0, 10.0)
    assert float(shape.angle.to_value(u.deg)) == pytest.approx(120.0)


@pytest.mark.parametrize("fmt", ["ds9", "crtf"])
@pytest.mark.parametrize("world", [False, True])
def test_exports_import_back_to_the_same_regions(geometry: ImageGeometry, fmt: str, world: bool) -> None:
    writer, reader = (export_ds9, import_ds9) if fmt == "ds9" else (export_crtf, import_crtf)
    lines, _ = writer(EXPORTED, geometry, world)
    text = "".join(lines) if fmt == "ds9" else "".join(line + "\n" for line in lines)
    result = reader(text.splitlines(), geometry)
    assert [r.region_type for r in result.regions] == [r.region_type for r in EXPORTED]
    for before, after in zip(EXPORTED, result.regions):
        assert np.allclose(before.points, after.points, atol=1e-5), (before, after)
        if before.region_type not in (RT.ANNVECTOR, RT.LINE):
            assert after.rotation == pytest.approx(before.rotation)
        color = (before.style.color or "green").upper()
        assert after.style.color.upper() in (color, "#" + color)


def test_world_export_without_sky_fails_per_region() -> None:
    plain = ImageGeometry(64, 48)
    lines, errors = export_ds9(EXPORTED[:2], plain, False)
    assert errors == [] and lines[1] == "image\n"
    crtf, _ = export_crtf(EXPORTED[:2], plain, False)
    assert "coord=" not in "".join(crtf)


def test_atomic_write_leaves_nothing_behind_when_the_rename_fails(tmp_path) -> None:
    from carta_trio.io.region_file_io import write_text_atomic

    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("keep")
    with pytest.raises(OSError):
        write_text_atomic(target, "text\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    write_text_atomic(tmp_path / "ok.reg", "a\n")
    write_text_atomic(tmp_path / "ok.reg", "b\n")
    assert (tmp_path / "ok.reg").read_text() == "b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.reg", "taken"]
