"""End to end, issue 14: the released frontend imports a DS9 file through its region dialog
(File > Import Regions, "Load region") and shows the regions in its region list and on the
image; then exports them through File > Export Regions and the file shows up in its file
browser. Positions are checked against astropy's WCS of the cube header, the exported file
against astropy-regions."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from carta_trio.messages import schema as pb
from tests.e2e_session import e2e_results  # noqa: F401  (the shared fixture, for pytest to find)
from tests.e2e_session import CUBE_NAME, IMAGE_FOLDER, REGION_EXPORT_FILE, REGION_FILE, step
from tests.e2e_wire import decode_wire, select

pytestmark = pytest.mark.e2e

E = pb.EventType
NAMES = ["e2e-circle", "e2e-box", "e2e-polygon", "e2e-point"]


def cube_wcs(data: Path) -> WCS:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WCS(fits.getheader(data / IMAGE_FOLDER / CUBE_NAME)).celestial


def test_import_through_the_region_dialog(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "import_regions")
    messages = decode_wire(data["wire"])
    sent = [m.message for m in select(messages, E.IMPORT_REGION, "sent")]
    assert [(m.directory, m.file, m.type) for m in sent] == [(IMAGE_FOLDER, REGION_FILE, pb.FileType.DS9_REG)]
    assert select(messages, E.REGION_FILE_INFO_RESPONSE, "recv"), "the dialog read the file first"
    (ack,) = [m.message for m in select(messages, E.IMPORT_REGION_ACK, "recv")]
    assert ack.success and ack.message == ""
    first_id = max([r["regionId"] for r in data["before"]["regions"]], default=0) + 1
    assert sorted(ack.regions) == list(range(first_id, first_id + 4))
    # the frontend made them its own regions, with the ack's ids, names and colours
    after = {r["regionId"]: r for r in data["after"]["regions"]}
    imported = [after[i] for i in sorted(ack.regions)]
    assert [r["name"] for r in imported] == NAMES
    assert [r["regionType"] for r in imported] == [pb.RegionType.ELLIPSE, pb.RegionType.RECTANGLE,
                                                   pb.RegionType.POLYGON, pb.RegionType.POINT]
    assert imported[0]["color"] == "red" and imported[3]["color"] == "#2EE6D6"
    w = cube_wcs(e2e_results["_data"])
    centre = w.world_to_pixel(SkyCoord(275.0875 * u.deg, -16.2027777778 * u.deg, frame="fk5"))
    circle = imported[0]["controlPoints"]
    assert (circle[0]["x"], circle[0]["y"]) == pytest.approx(tuple(float(v) for v in centre), abs=1e-3)
    assert (circle[1]["x"], circle[1]["y"]) == pytest.approx((10.0, 10.0), abs=1e-3)  # 10" at 1"/pixel
    assert imported[1]["rotation"] == pytest.approx(30.0)
    assert [(p["x"], p["y"]) for p in imported[2]["controlPoints"]] == [(19, 19), (39, 19), (29, 34)]
    # in the region list widget, and drawn on the region layer over the image
    for name in NAMES:
        assert name in data["region_list_text"], data["region_list_text"]
    assert data["pixels_after"]["opaque"] > data["pixels_before"]["opaque"], (data["pixels_before"],
                                                                            data["pixels_after"])
    assert data["alerts"] == []


def test_export_through_the_export_dialog(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "export_regions")
    messages = decode_wire(data["wire"])
    (request,) = [m.message for m in select(messages, E.EXPORT_REGION, "sent")]
    assert (request.type, request.coord_type, request.directory, request.file) == (
        pb.FileType.DS9_REG, pb.CoordinateType.WORLD, IMAGE_FOLDER, REGION_EXPORT_FILE)
    (ack,) = [m.message for m in select(messages, E.EXPORT_REGION_ACK, "recv")]
    assert ack.success and list(ack.contents) == []
    assert REGION_EXPORT_FILE in data["listed"]  # found again in the frontend's region browser
    path = e2e_results["_data"] / IMAGE_FOLDER / REGION_EXPORT_FILE
    import regions as regions_lib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shapes = regions_lib.Regions.read(str(path), format="ds9")
    names = {s.meta.get("text") for s in shapes}
    assert set(NAMES) <= names, names
    circle = next(s for s in shapes if s.meta.get("text") == "e2e-circle")
    assert circle.center.ra.deg == pytest.approx(275.0875, abs=1e-6)
    assert circle.center.dec.deg == pytest.approx(-16.2027777778, abs=1e-6)
    assert circle.radius.to_value(u.arcsec) == pytest.approx(10.0, abs=1e-3)
