"""IMPORT_REGION and EXPORT_REGION through the real server: what the CARTA protocol
suite's region-file tests assert (ids continuing the session's, control points,
styles after an export/import round trip, error messages), bad input answered with
success=false, exported files read by astropy-regions, imported regions used like
drawn ones (statistics, RESUME_SESSION)."""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.conftest import server_url
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.region_client import new_region, open_image, stats_of

RT = pb.RegionType
CRTF, DS9 = pb.FileType.CRTF, pb.FileType.DS9_REG
WORLD, PIXEL = pb.CoordinateType.WORLD, pb.CoordinateType.PIXEL
SHAPE = (2, 48, 64)

DS9_FILE = """# Region file format: DS9 version 4.1
global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman"
image
circle(20,20,5) # color=red text={first}
box(30,25,10,6,30)
polygon(5,5,15,5,10,12)
fk5
point(201.37,-43.015) # point=x
ellipse(201.362,-43.02,3.6",1.8",60)
"""


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    data = make_cube(SHAPE, seed=3)
    write_fits(data_dir / "cube.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    (data_dir / "regions").mkdir()
    (data_dir / "regions" / "set.reg").write_text(DS9_FILE)
    return data


def cube_wcs(data_dir: Path) -> WCS:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WCS(fits.getheader(data_dir / "cube.fits")).celestial


def points_of(info: pb.RegionInfo) -> list[tuple[float, float]]:
    return [(p.x, p.y) for p in info.control_points]


async def import_file(client: CartaClient, directory: str, file: str, file_type: int = DS9,
                      group_id: int = 0) -> pb.ImportRegionAck:
    return await client.request(pb.ImportRegion(group_id=group_id, type=file_type, directory=directory, file=file))


async def test_import_ds9_file_gives_session_regions(carta_url: str, cube: np.ndarray, data_dir: Path) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        ack = await import_file(client, "regions", "set.reg")
        assert ack.success and ack.message == ""
        assert sorted(ack.regions) == [1, 2, 3, 4, 5]
        regions = ack.regions
        assert (regions[1].region_type, points_of(regions[1])) == (RT.ELLIPSE, [(19.0, 19.0), (5.0, 5.0)])
        assert (regions[2].region_type, points_of(regions[2]), regions[2].rotation) == (
            RT.RECTANGLE, [(29.0, 24.0), (10.0, 6.0)], 30.0)
        assert points_of(regions[3]) == [(4.0, 4.0), (14.0, 4.0), (9.0, 11.0)]
        # world positions: astropy's WCS is the truth
        w = cube_wcs(data_dir)
        expected = w.world_to_pixel(SkyCoord(201.37 * u.deg, -43.015 * u.deg, frame="fk5"))
        assert points_of(regions[4])[0] == pytest.approx(tuple(float(v) for v in expected), abs=1e-4)
        assert points_of(regions[5])[1] == pytest.approx((2.0, 1.0))  # 3.6" / 1.8" per pixel
        assert regions[5].rotation == pytest.approx(330.0)
        styles = ack.region_styles
        assert (styles[1].name, styles[1].color, styles[1].line_width) == ("first", "red", 1)
        assert styles[2].color == "green"
        # imported regions are ordinary regions: statistics work, the next drawn region gets id 6
        stats = await stats_of(client, 1, [pb.StatsType.NumPixels])
        assert stats.region_id == 1 and stats.statistics[0].value > 50
        assert await new_region(client, RT.POINT, [(3.0, 3.0)]) == 6
        again = await import_file(client, "regions", "set.reg")
        assert sorted(again.regions) == [7, 8, 9, 10, 11]


async def test_two_imports_continue_ids_and_set_regions_count(carta_url: str, cube: np.ndarray) -> None:
    """CASA_REGION_EXPORT: 16 regions, then ids 17-32; SET_REGION x10 then import gives 11-20."""
    lines = [f"circle [[{10 + i}pix, {12 + i}pix], 2pix]\n" for i in range(16)]
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        first = await client.request(pb.ImportRegion(group_id=0, type=CRTF, contents=lines))
        second = await client.request(pb.ImportRegion(group_id=0, type=CRTF, contents=lines))
    assert sorted(first.regions) == list(range(1, 17)) and sorted(second.regions) == list(range(17, 33))
    assert points_of(second.regions[17]) == [(10.0, 12.0), (2.0, 2.0)]


ANNOTATIONS = [  # SET_REGION_ANNOTATION_EXPORT_IMPORT_CASA_PIXEL, scaled to a 64 x 48 image
    (RT.ANNPOINT, [(16.3, 36.5)], 0.0),
    (RT.ANNLINE, [(27.0, 41.8), (21.9, 36.0)], 318.95805304638026),
    (RT.ANNRECTANGLE, [(30.9, 38.7), (3.6, 4.4)], 0.0),
    (RT.ANNELLIPSE, [(38.8, 38.7), (3.37, 1.19)], 0.0),
    (RT.ANNPOLYGON, [(17.55794044665014, 31.16588089330025), (12.595161290322585, 26.401612903225805),
                     (16.962406947890827, 24.61501240694789), (22.52071960297768, 26.401612903225805)], 0.0),
    (RT.ANNPOLYLINE, [(26.5, 25.8), (29.9, 32.0), (32.4, 24.6)], 0.0),
    (RT.ANNVECTOR, [(34.0, 33.3), (41.6, 27.4)], 52.177245850855),
    (RT.ANNTEXT, [(26.0939208984375, 14.68945007324219), (40.028278943386033, 10.719604796038084)], 45.0),
    (RT.ANNCOMPASS, [(15.771339950372214, 13.250248138957818), (10.0, 10.0)], 0.0),
    (RT.ANNRULER, [(36.2, 21.9), (48.5, 28.5)], 0.0),
]


def annotation_styles() -> dict[int, pb.RegionStyle]:
    plain = {"name": "", "color": "#FFBA01", "line_width": 2, "dash_list": []}
    styles = {i: pb.RegionStyle(**plain, annotation_style=pb.AnnotationStyle()) for i in range(1, 8)}
    styles[8] = pb.RegionStyle(name="", color="#FFBA01", line_width=1, annotation_style=pb.AnnotationStyle(
        font="Helvetica", font_size=20, font_style="Normal", text_label0="Double click to edit text", text_position=0))
    styles[9] = pb.RegionStyle(**plain, annotation_style=pb.AnnotationStyle(
        coordinate_system="PIXEL", font="Helvetica", font_size=20, font_style="Normal", is_east_arrow=True,
        is_north_arrow=True, text_label0="N", text_label1="E"))
    styles[10] = pb.RegionStyle(**plain, annotation_style=pb.AnnotationStyle(
        font_size=13, font_style="Normal", font="Helvetica", coordinate_system="PIXEL"))
    return styles


@pytest.mark.parametrize("file_type, coord_type", [(CRTF, WORLD), (CRTF, PIXEL), (DS9, WORLD), (DS9, PIXEL)])
async def test_annotation_export_import_round_trip(carta_url: str, cube: np.ndarray, data_dir: Path,
                                                   file_type: int, coord_type: int) -> None:
    name = "annotations.crtf" if file_type == CRTF else "annotations.reg"
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        for index, (region_type, points, rotation) in enumerate(ANNOTATIONS, start=1):
            assert await new_region(client, region_type, points, rotation) == index
        exported = await client.request(pb.ExportRegion(
            type=file_type, coord_type=coord_type, file_id=0, region_styles=annotation_styles(),
            directory=str(data_dir), file=name))
        assert (exported.success, list(exported.contents), exported.message) == (True, [], "")
        ack = await import_file(client, str(data_dir), name, file_type)
    assert ack.success, ack.message
    assert sorted(ack.regions) == list(range(11, 21))
    for region_id, (region_type, points, rotation) in enumerate(ANNOTATIONS, start=11):
        got = ack.regions[region_id]
        assert got.region_type == region_type
        assert np.allclose(points_of(got), points, atol=5e-4), (region_type, points_of(got))
        if region_type not in (RT.ANNLINE, RT.ANNVECTOR):
            assert got.rotation == pytest.approx(rotation, abs=1e-4)
        style = ack.region_styles[region_id]
        assert (style.color, style.line_width) == ("#FFBA01", 1 if region_type == RT.ANNTEXT else 2)
        assert list(style.dash_list) == ([0] if file_type == CRTF else [])
    text = ack.region_styles[18].annotation_style
    assert (text.text_label0, text.font, text.font_size) == ("Double click to edit text", "Helvetica", 20)
    compass = ack.region_styles[19].annotation_style
    assert (compass.text_label0, compass.text_label1, compass.is_north_arrow, compass.is_east_arrow) == (
        "N", "E", True, True)
    if file_type == CRTF and coord_type == WORLD:  # casa's printer defaults, as the reference's round trip
        point = ack.region_styles[11].annotation_style
        assert (point.point_width, point.font_style, point.font, point.font_size) == (1, "bold", "Helvetica", 10)
    assert oct(stat.S_IMODE(os.stat(data_dir / name).st_mode)) == oct(0o666 & ~current_umask())


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


async def test_import_errors_keep_good_lines_and_come_first(carta_url: str, cube: np.ndarray,
                                                            data_dir: Path) -> None:
    (data_dir / "regions" / "mixed.crtf").write_text(
        "#CRTFv0\ncircle [[10pix, 10pix], 2deg]\nbox [[1pix, 1pix], [20pix, 20deg]]\nannulus [[1pix, 1pix], [1pix, 2pix]]\n")
    (data_dir / "regions" / "allbad.crtf").write_text("#CRTFv0\nbox [[1pix, 1pix], [20pix, 20deg]]\n")
    (data_dir / "regions" / "bad.reg").write_text("image\ncircle(10,10)\npolygon(1,2,3)\n")
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        partial = await import_file(client, "regions", "mixed.crtf", CRTF)
        envelopes = client.buffered
        assert partial.success and sorted(partial.regions) == [1]
        assert partial.message == ("Line 3: box import failed: Mixed world and pixel coordinates not supported.\n"
                                   "Line 4: annulus not supported.\n")
        error = (await client.expect(pb.ErrorData)).message
        assert (error.severity, list(error.tags), error.message) == (pb.ErrorSeverity.WARNING, ["import"],
                                                                      partial.message)
        del envelopes
        refused = await import_file(client, "regions", "allbad.crtf", CRTF)  # CASA_REGION_IMPORT_EXCEPTION
        assert not refused.success and "Mixed world and pixel coordinates not supported" in refused.message
        assert (await client.expect(pb.ErrorData)).message.severity == pb.ErrorSeverity.ERROR
        ds9 = await import_file(client, "regions", "bad.reg")  # DS9_REGION_IMPORT_EXCEPTION
        assert not ds9.success and "Invalid DS9 region syntax:" in ds9.message
        assert "Line 2: circle syntax error." in ds9.message and "Line 3: polygon syntax error." in ds9.message
        assert not ds9.regions


@pytest.mark.parametrize("request_fields, fragment", [
    ({"directory": "regions", "file": "missing.reg"}, "Import region failed: File missing.reg does not exist."),
    ({"directory": "nowhere", "file": "set.reg"}, "Import region failed: Directory nowhere does not exist."),
    ({"directory": "..", "file": "outside.reg"}, "Import region failed: Forbidden path."),
    ({"directory": "regions", "file": "binary.reg"}, "binary.reg is not a text file."),
    ({"directory": "", "file": "regions"}, "is a directory"),
    ({}, "Import region failed: cannot import by filename or contents."),
    ({"contents": ["# nothing here\n"]}, "Import error: zero regions set."),
    ({"contents": ["circle(1e300,1,1)\n"]}, "Conversion of region parameters to image pixel coordinates failed."),
    ({"group_id": 7, "contents": ["circle(1,1,1)\n"]}, "File id 7 not found"),
    ({"type": pb.FileType.FITS, "contents": ["circle(1,1,1)\n"]}, "Region importer failed"),
])
async def test_bad_imports_get_clear_answers(carta_url: str, cube: np.ndarray, data_dir: Path,
                                             request_fields: dict[str, object], fragment: str) -> None:
    (data_dir.parent / "outside.reg").write_text("circle(1,1,1)\n")
    (data_dir / "regions" / "binary.reg").write_bytes(b"\x00\x01\x02circle(1,1,1)\n")
    fields: dict[str, object] = {"group_id": 0, "type": DS9, **request_fields}
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        ack = await client.request(pb.ImportRegion(**fields))
        assert not ack.success and fragment in ack.message, ack.message
        error = (await client.expect(pb.ErrorData)).message
        assert error.message == ack.message and list(error.tags) == ["import"]
        # the session keeps serving
        good = await client.request(pb.ImportRegion(group_id=0, type=DS9, contents=["circle(5,5,2)\n"]))
        assert good.success and sorted(good.regions) == [1]


async def test_export_contents_and_refusals(carta_url: str, cube: np.ndarray, data_dir: Path) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await new_region(client, RT.RECTANGLE, [(20.0, 20.0), (6.0, 4.0)], 30.0)
        await new_region(client, RT.ELLIPSE, [(30.0, 20.0), (5.0, 5.0)])
        styles = {1: pb.RegionStyle(color="#2EE6D6", line_width=2), 2: pb.RegionStyle(color="red", line_width=1),
                  9: pb.RegionStyle()}
        ack = await client.request(pb.ExportRegion(type=DS9, coord_type=PIXEL, file_id=0, region_styles=styles))
        assert ack.success and ack.message == "Region 9 not found for export.\n"
        assert list(ack.contents)[1:] == [
            "image\n",
            "box(21.000000, 21.000000, 6.000000, 4.000000, 30) # color=#2EE6D6 width=2\n",
            "circle(31.000000, 21.000000, 5.000000) # color=red width=1\n"]
        crtf = await client.request(pb.ExportRegion(type=CRTF, coord_type=WORLD, file_id=0, region_styles=styles))
        assert crtf.contents[0] == "#CRTFv0 CASA Region Text Format version 0\n"
        assert crtf.contents[1].startswith("rotbox [[13:25:") and "coord=J2000" in crtf.contents[1]
        for fields, fragment in [
            ({"type": pb.FileType.FITS}, "Export region failed: file type FITS is not a region format."),
            ({"region_styles": {}}, "Export failed: no regions requested."),
            ({"region_styles": {9: pb.RegionStyle()}}, "Export region failed: no regions to export."),
            ({"file_id": 3}, "File id 3 not found"),
            ({"directory": "..", "file": "x.reg"}, "Export region failed: Forbidden path."),
            ({"directory": "nowhere", "file": "x.reg"}, "Export region failed: directory nowhere does not exist."),
            ({"directory": "", "file": "regions"}, "Export region failed: cannot overwrite file."),
        ]:
            request = {"type": DS9, "coord_type": PIXEL, "file_id": 0, "region_styles": styles, **fields}
            refused = await client.request(pb.ExportRegion(**request))
            assert not refused.success and fragment in refused.message, (fields, refused.message)
            assert (await client.expect(pb.ErrorData)).message.message == refused.message
    assert not (data_dir.parent / "x.reg").exists()


async def test_export_overwrites_an_existing_file_atomically(carta_url: str, cube: np.ndarray,
                                                             data_dir: Path) -> None:
    """The frontend's export dialog asks before overwriting, so the backend replaces the file."""
    target = data_dir / "regions" / "out.crtf"
    target.write_text("old contents\n")
    inode = target.stat().st_ino
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await new_region(client, RT.POLYGON, [(5.0, 5.0), (15.0, 5.0), (10.0, 12.0)])
        previous = os.umask(0o027)  # the server runs in this process: its new files follow this umask
        try:
            ack = await client.request(pb.ExportRegion(
                type=CRTF, coord_type=PIXEL, file_id=0, directory="regions", file="out.crtf",
                region_styles={1: pb.RegionStyle(color="red")}))
        finally:
            os.umask(previous)
    assert ack.success and not ack.contents
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    text = target.read_text()
    assert text.splitlines()[1].startswith("poly [[5.000000pix, 5.000000pix], [15.000000pix, 5.000000pix]")
    assert target.stat().st_ino != inode  # replaced by rename, never rewritten in place
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")] == []
    import regions as regions_lib

    (polygon,) = regions_lib.Regions.read(str(target), format="crtf")
    assert list(polygon.vertices.x) == [5.0, 15.0, 10.0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
async def test_export_into_a_read_only_folder_is_refused(carta_url: str, cube: np.ndarray, data_dir: Path) -> None:
    folder = data_dir / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        async with open_client(carta_url) as client:
            await open_image(client, "cube.fits")
            await new_region(client, RT.POINT, [(5.0, 5.0)])
            ack = await client.request(pb.ExportRegion(type=DS9, coord_type=PIXEL, file_id=0, directory="locked",
                                                       file="x.reg", region_styles={1: pb.RegionStyle()}))
        assert not ack.success and ack.message == "Export region failed: cannot create file."
    finally:
        folder.chmod(0o755)


async def test_read_only_mode_refuses_file_exports(start_server, cube: np.ndarray, data_dir: Path) -> None:
    handle = await start_server(read_only=True)
    async with open_client(server_url(handle)) as client:
        await open_image(client, "cube.fits")
        await new_region(client, RT.POINT, [(5.0, 5.0)])
        ack = await client.request(pb.ExportRegion(type=DS9, coord_type=PIXEL, file_id=0, directory="regions",
                                                   file="ro.reg", region_styles={1: pb.RegionStyle()}))
        assert (ack.success, ack.message) == (False, "Exporting region is not allowed in read-only mode")
        error = (await client.expect(pb.ErrorData)).message
        assert (error.message, list(error.tags)) == (ack.message, ["Export region"])
        # nothing is written on the server by a contents export, so it stays allowed
        contents = await client.request(pb.ExportRegion(type=DS9, coord_type=PIXEL, file_id=0,
                                                        region_styles={1: pb.RegionStyle()}))
        assert contents.success and contents.contents[2].startswith("point(6.000000, 6.000000)")
    assert not (data_dir / "regions" / "ro.reg").exists()


async def test_world_export_needs_a_sky(carta_url: str, data_dir: Path) -> None:
    write_fits(data_dir / "plain.fits", make_cube((16, 16), seed=1), None)
    async with open_client(carta_url) as client:
        await open_image(client, "plain.fits")
        await new_region(client, RT.POINT, [(5.0, 5.0)])
        ack = await client.request(pb.ExportRegion(type=CRTF, coord_type=WORLD, file_id=0,
                                                   region_styles={1: pb.RegionStyle()}))
        assert ack.message == "Cannot export regions in world coordinates for linear coordinate system."
        world = await client.request(pb.ImportRegion(group_id=0, type=DS9, contents=["fk5\n", "circle(1,1,1\")\n"]))
        assert not world.success and "Conversion of region parameters to image pixel coordinates failed." in world.message


async def test_resume_keeps_imported_regions(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        first = await client.register()
        assert (await client.request(pb.OpenFile(file="cube.fits", file_id=0))).success
        ack = await import_file(client, "regions", "set.reg")
        infos = dict(ack.regions)
    async with open_client(carta_url) as client:
        await client.register(first.session_id)
        image = pb.ImageProperties(directory="", file="cube.fits", hdu="", file_id=0, regions=infos)
        resumed = await client.request(pb.ResumeSession(images=[image]))
        assert resumed.success, resumed.message
        stats = await stats_of(client, 2, [pb.StatsType.NumPixels])
        assert stats.region_id == 2 and stats.statistics[0].value == pytest.approx(60.0, abs=12)
        assert await new_region(client, RT.POINT, [(3.0, 3.0)]) == 6


async def test_export_of_a_region_drawn_on_another_grid(carta_url: str, cube: np.ndarray, data_dir: Path) -> None:
    """A region drawn on file 0 exported for file 1 (other pixel grid): positions through the sky."""
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"))
    other = [(k, {"CRPIX1": 20.0, "CRPIX2": 10.0, "CDELT1": -0.001, "CDELT2": 0.001}.get(k, v), c)
             for k, v, c in header]
    write_fits(data_dir / "other.fits", make_cube((2, 40, 50), seed=4), other)
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        assert (await client.request(pb.OpenFile(directory="", file="other.fits", file_id=1))).success
        await new_region(client, RT.RECTANGLE, [(20.0, 22.0), (6.0, 4.0)], 0.0)
        ack = await client.request(pb.ExportRegion(type=DS9, coord_type=PIXEL, file_id=1,
                                                   region_styles={1: pb.RegionStyle(color="red")}))
    assert ack.success, ack.message
    line = ack.contents[2]
    values = [float(v) for v in line[line.index("(") + 1:line.index(")")].split(",")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = WCS(fits.getheader(data_dir / "cube.fits")).celestial
        target = WCS(fits.getheader(data_dir / "other.fits")).celestial
    expected = target.world_to_pixel(source.pixel_to_world(20.0, 22.0))
    assert values[0] - 1 == pytest.approx(float(expected[0]), abs=1e-4)
    assert values[1] - 1 == pytest.approx(float(expected[1]), abs=1e-4)
    assert values[2:4] == pytest.approx([3.0, 2.0])  # sizes scaled by the pixel size ratio


DS9_TEST_REGIONS = """# Region file format: DS9 version 4.1
global color=#2EE6D6 dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1 highlite=1 dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1
image
box(321,401,40,100,0)
box(321,401,100,40,0)
box(321,401,200,40,45)
polygon(321,401,321,601,401,401)
circle(321,401,200)
ellipse(321,401,100,20,135)
line(321,401,321,301) # line=0 0
# vector(321,401,70.7107,45) vector=1
# text(321,401) text={Region}
point(321,301) # point=circle
"""

CRTF_TEST_REGIONS = """#CRTFv0 CASA Region Text Format version 0
global color=2ee6d6
centerbox [[320pix, 400pix], [40pix, 100pix]] coord=J2000
centerbox [[320pix, 400pix], [100pix, 40pix]]
rotbox [[320pix, 400pix], [200pix, 40pix], 45deg]
poly [[320pix, 400pix], [320pix, 600pix], [400pix, 400pix]]
circle [[320pix, 400pix], 200pix]
ellipse [[320pix, 400pix], [100pix, 20pix], 45deg]
line [[320pix, 400pix], [320pix, 300pix]]
vector [[320pix, 400pix], [369.99951171875pix, 449.99951171875pix]]
text [[320pix, 400pix], "Region"]
symbol [[320pix, 300pix], .]
"""


@pytest.mark.parametrize("file_type", [DS9, CRTF])
async def test_import_export_import(carta_url: str, data_dir: Path, file_type: int) -> None:
    """DS9_REGION_IMPORT_EXPORT / CASA_REGION_IMPORT_EXPORT: 10 regions imported (1-10), exported
    in world and pixel coordinates, each file imported again (11-20, 21-30), same geometry."""
    write_fits(data_dir / "big.fits", make_cube((800, 640), seed=2), wcs_header(("RA---SIN", "DEC--SIN")))
    ext = ".reg" if file_type == DS9 else ".crtf"
    (data_dir / f"testRegions_pix{ext}").write_text(DS9_TEST_REGIONS if file_type == DS9 else CRTF_TEST_REGIONS)
    expected = {
        1: (RT.RECTANGLE, [(320, 400), (40, 100)], 0), 2: (RT.RECTANGLE, [(320, 400), (100, 40)], 0),
        3: (RT.RECTANGLE, [(320, 400), (200, 40)], 45), 4: (RT.POLYGON, [(320, 400), (320, 600), (400, 400)], 0),
        5: (RT.ELLIPSE, [(320, 400), (200, 200)], 0), 6: (RT.ELLIPSE, [(320, 400), (100, 20)], 45),
        7: (RT.LINE, [(320, 400), (320, 300)], 0), 8: (RT.ANNVECTOR, [(320, 400), (369.99951171875, 449.99951171875)], 0),
        9: (RT.ANNTEXT, [(320, 400), (0, 0)], 0), 10: (RT.POINT, [(320, 300)], 0),
    }
    async with open_client(carta_url) as client:
        await open_image(client, "big.fits")
        first = await import_file(client, "", f"testRegions_pix{ext}", file_type)
        assert first.success and first.message == "" and sorted(first.regions) == list(range(1, 11))
        for region_id, (region_type, points, rotation) in expected.items():
            got = first.regions[region_id]
            assert got.region_type == region_type
            assert np.allclose(points_of(got), points, atol=1e-3), (region_id, points_of(got))
            assert got.rotation == pytest.approx(rotation)
            style = first.region_styles[region_id]
            dashes = [] if file_type == DS9 else [0]  # CRTF's default linestyle "-" is dash_list [0]
            assert (style.color, list(style.dash_list), style.line_width, style.name) == ("#2EE6D6", dashes, 1, "")
        styles = {i: pb.RegionStyle(color="#2EE6D6", line_width=1, annotation_style=pb.AnnotationStyle())
                  for i in range(1, 11)}
        again = []
        for coord_type, name in ((WORLD, f"export_to_world{ext}"), (PIXEL, f"export_to_pix{ext}")):
            exported = await client.request(pb.ExportRegion(type=file_type, coord_type=coord_type, file_id=0,
                                                            region_styles=styles, directory="", file=name))
            assert exported.success and list(exported.contents) == []
            again.append(await import_file(client, "", name, file_type))
    for ack, ids in zip(again, (range(11, 21), range(21, 31))):
        assert ack.success and sorted(ack.regions) == list(ids), ack.message
        for region_id, (region_type, points, rotation) in zip(ids, expected.values()):
            got = ack.regions[region_id]
            assert got.region_type == region_type
            assert np.allclose(points_of(got), points, atol=1e-3), (region_id, points_of(got))


async def test_contents_import_with_windows_line_ends(carta_url: str, cube: np.ndarray) -> None:
    """The drag-and-drop path: strings joined without separators, CRLF line ends, a BOM."""
    contents = ["\ufeff# Region file format: DS9 version 4.1\r\n", "image\r\n", "circle(11,12,3)\r\n",
                "box(21,22,4,2,0) # text={b}\r\n"]
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        ack = await client.request(pb.ImportRegion(group_id=0, type=DS9, contents=contents))
    assert ack.success and ack.message == ""
    assert [points_of(ack.regions[i]) for i in (1, 2)] == [[(10.0, 11.0), (3.0, 3.0)], [(20.0, 21.0), (4.0, 2.0)]]
    assert ack.region_styles[2].name == "b"


async def test_world_and_pixel_files_of_the_same_regions_agree(carta_url: str, cube: np.ndarray,
                                                               data_dir: Path) -> None:
    """CASA_REGION_IMPORT_INTERNAL: a pixel CRTF file and its world twin (written here with astropy,
    sexagesimal as casaviewer writes) import to the same control points, ids 1-8 then 9-16."""
    w = cube_wcs(data_dir)
    scale = 0.0005 * 3600  # arcsec per pixel
    shapes = [("symbol", [(-10.8, 40.1)], [], ", ."), ("centerbox", [(20.5, 18.9)], [(7.5, 7.5)], ""),
              ("rotbox", [(30.0, 25.1)], [(17.3, 4.4)], ", 45deg"), ("circle", [(40.3, 35.1)], [(5.05,)], ""),
              ("ellipse", [(44.3, 26.2)], [(2.98, 6.99)], ", 45deg"),
              ("poly", [(57.0, 27.0), (51.6, 11.8), (62.9, 19.1)], [], ""),
              ("line", [(5.0, 5.0), (25.0, 40.0)], [], ""), ("symbol", [(17.5, 39.1)], [], ", .")]

    def pix_line(name: str, points: list[tuple[float, float]], sizes: list[tuple[float, ...]], tail: str) -> str:
        pos = ", ".join(f"[{x}pix, {y}pix]" for x, y in points)
        size = "".join(", " + (f"[{s[0]}pix, {s[1]}pix]" if len(s) == 2 else f"{s[0]}pix") for s in sizes)
        return f"{name} [{pos}{size}{tail}]\n"

    def world_line(name: str, points: list[tuple[float, float]], sizes: list[tuple[float, ...]], tail: str) -> str:
        sky = w.pixel_to_world([p[0] for p in points], [p[1] for p in points])
        pos = ", ".join(f"[{c.ra.to_string(unit=u.hourangle, sep=':', precision=6)}, "
                        f"{c.dec.to_string(sep='.', precision=5, alwayssign=True)}]" for c in sky)
        size = "".join(", " + (f"[{s[0] * scale}arcsec, {s[1] * scale}arcsec]" if len(s) == 2
                               else f"{s[0] * scale}arcsec") for s in sizes)
        return f"{name} [{pos}{size}{tail}] coord=J2000, corr=[I]\n"

    (data_dir / "regions" / "set1_pix.crtf").write_text(
        "#CRTFv0\n" + "".join(pix_line(*shape) for shape in shapes))
    (data_dir / "regions" / "set1_world.crtf").write_text(
        "#CRTFv0 CASA Region Text Format version 0\n" + "".join(world_line(*shape) for shape in shapes))
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        world = await import_file(client, "regions", "set1_world.crtf", CRTF)
        pixel = await import_file(client, "regions", "set1_pix.crtf", CRTF)
    assert sorted(world.regions) == list(range(1, 9)) and sorted(pixel.regions) == list(range(9, 17))
    for region_id, (name, points, sizes, tail) in enumerate(shapes, start=1):
        a, b = world.regions[region_id], pixel.regions[region_id + 8]
        assert a.region_type == b.region_type
        assert np.allclose(points_of(a), points_of(b), atol=1e-3), (name, points_of(a), points_of(b))
        assert points_of(b)[0] == pytest.approx(points[0])
        assert a.rotation == b.rotation == (45.0 if "45deg" in tail else 0.0)


async def test_unwritable_folder_and_failed_write_as_seen_by_the_server(
    carta_url: str, cube: np.ndarray, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root may write anywhere, so the refusals are driven by what the server is told: a folder
    without write access, and a write that fails (disk full); no file or temp file is left."""
    import errno

    from carta_trio.actors import region_import_export as handlers

    locked = str(data_dir / "regions")
    real_access = os.access
    monkeypatch.setattr(handlers.os, "access",
                        lambda path, mode: False if str(path) == locked and mode & os.W_OK else real_access(path, mode))

    def full_disk(path: object, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await new_region(client, RT.POINT, [(5.0, 5.0)])
        request = {"type": DS9, "coord_type": PIXEL, "file_id": 0, "region_styles": {1: pb.RegionStyle()}}
        refused = await client.request(pb.ExportRegion(directory="regions", file="x.reg", **request))
        assert (refused.success, refused.message) == (False, "Export region failed: cannot create file.")
        monkeypatch.setattr(handlers, "write_text_atomic", full_disk)
        failed = await client.request(pb.ExportRegion(directory="", file="y.reg", **request))
        assert not failed.success
        assert failed.message == "Export region failed: cannot create file (No space left on device)."
        still = await client.request(pb.ExportRegion(**request))  # the session keeps serving
        assert still.success
    assert not (data_dir / "regions" / "x.reg").exists() and not (data_dir / "y.reg").exists()
