"""End to end: the released CARTA frontend 4.1.0 in headless Chromium against our server.

The server subprocess, the browser and the plan of steps live in ``tests/e2e_session.py``
(one run per pytest process, shared with ``test_e2e_analysis.py``). Each test below asserts
on one step's result, so a report says which stage broke: boot, connect, file browser,
header tabs, the first image drawn, and no unexpected errors over the whole run.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e_session import e2e_results  # noqa: F401  (the shared fixture, for pytest to find)
from tests.e2e_session import IMAGE_FOLDER, IMAGE_HEIGHT, IMAGE_NAME, IMAGE_WIDTH, PEAK, step

pytestmark = pytest.mark.e2e

#: ERROR_DATA the reference backend sends too for what the plan does, as (severity, tags, message):
#: * opening the cube closes gradient.fits (file 0), after which the frontend still clears the
#:   cursor's spatial requirements for file 0; carta_backend 4.1.0 (Session::OnSetSpatialRequirements)
#:   answers with this DEBUG message;
#: * closing the spectral profiler, or making the 2D moment image active while it is open, makes
#:   the frontend send SET_SPECTRAL_REQUIREMENTS for a 2D image; the reference
#:   (Session::OnSetSpectralRequirements) answers with this WARNING.
EXPECTED_ERROR_DATA = {
    (0, ("spatial",), "File id 0 not found"),
    (2, ("spectral",), "Spectral profile not valid for 2D image."),
}


def test_page_boots(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "boot")
    assert data["http_status"] == 200
    assert data["title"] == "CARTA"
    assert data["rendered"], "frontend never logged 'Configuration complete. Rendering frontend'"


def test_register_viewer_is_acknowledged(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "connect")
    sent, ack = data["register_viewer"], data["register_viewer_ack"]
    assert sent["icd"] == 28 and ack["icd"] == 28
    assert ack["req"] == sent["req"] == 1
    assert ack["success"] is True, ack
    assert ack["session_id"] == data["sessionId"] != 0
    assert data["websocket_url"].startswith("ws://127.0.0.1:")


def test_frontend_shows_connected(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "connect")
    assert data["connectionStatus"] == 2  # ACTIVE
    assert "online" in data["iconClass"].split()
    assert data["connectionDropped"] is False
    # Printed only when the first attempt succeeds (FRONTEND.md): no retries were needed.
    assert data["console_connected"]


def test_file_browser_lists_the_folder(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "list_folder")
    assert data["file_list_ack"]["success"] is True, data["file_list_ack"]
    assert IMAGE_NAME in data["files"]
    assert "notes.txt" not in data["files"]  # content filter: not an image
    assert data["folders"] == ["nested"]
    assert IMAGE_FOLDER in data["breadcrumbs"]
    assert data["alerts"] == []


def test_file_header_tabs(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "file_header")
    assert data["file_info_ack"]["success"] is True, data["file_info_ack"]
    assert data["load_enabled"]
    assert any(line.startswith("Name") and IMAGE_NAME in line for line in data["info"]), data["info"]
    assert any(
        line.startswith("Shape") and f"[{IMAGE_WIDTH}, {IMAGE_HEIGHT}]" in line for line in data["info"]
    ), data["info"]
    header = data["header"]
    assert header[0].startswith("SIMPLE") and "T" in header[0], header
    assert any(line.startswith("NAXIS1") and str(IMAGE_WIDTH) in line for line in header), header
    assert any(line.startswith("OBJECT") and "E2E-TEST" in line for line in header), header


def test_image_is_rendered(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "open_image")
    assert data["open_file_ack"]["success"] is True
    frame = data["frame"]
    assert (frame["width"], frame["height"]) == (IMAGE_WIDTH, IMAGE_HEIGHT)
    assert frame["remainingTiles"] == 0
    assert data["raster_tile_data"] >= 1
    assert data["region_histogram_data"] >= 1
    canvas = data["canvas"]
    # The ramp + Gaussian maps to many grey levels: a blank or uniform canvas fails here.
    assert canvas["opaque_fraction"] > 0.2, canvas
    assert canvas["variance"] > 10.0, canvas
    assert canvas["distinct_colours"] > 16, canvas
    # Geometry: the raster keeps the image's aspect ratio, the Gaussian's peak sits where
    # write_test_image put it (FITS y grows upwards, the canvas's downwards) and the ramp
    # rises to the right, so flipped, shifted or misassembled tiles fail here.
    box = canvas["bbox"]
    aspect = (box["x1"] - box["x0"] + 1) / (box["y1"] - box["y0"] + 1)
    assert aspect == pytest.approx(IMAGE_WIDTH / IMAGE_HEIGHT, rel=0.02), canvas
    peak_x, peak_y = PEAK
    assert canvas["peak"]["fx"] == pytest.approx((peak_x + 0.5) / IMAGE_WIDTH, abs=0.03), canvas
    assert canvas["peak"]["fy"] == pytest.approx(1 - (peak_y + 0.5) / IMAGE_HEIGHT, abs=0.03), canvas
    assert canvas["left_tenth_mean"] < canvas["right_tenth_mean"], canvas
    assert data["alerts"] == []


def test_no_console_errors_from_the_backend(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "console")
    assert data["backend_errors"] == []
    assert data["page_errors"] == []
    # The frontend sends spatial and spectral requirements for files it has just closed (every
    # "Load" closes the open images); the reference answers those with the same DEBUG line.
    unexpected = [
        e for e in data["error_data"] if (e["severity"], tuple(e["tags"]), e["message"]) not in EXPECTED_ERROR_DATA
        and not (e["severity"] == 0 and e["tags"] in (["spatial"], ["spectral"])
                 and re.fullmatch(r"File id -?\d+ not found", e["message"]))
    ]
    assert unexpected == []
    assert not [w for w in data["warnings"] if "ICD version" in w]
    assert data["connection_status"] == 2
    # Everything the page asked for was on loopback, apart from what we blocked on purpose.
    assert set(data["blocked_hosts"]) <= {"api.github.com"}, data["blocked_hosts"]
