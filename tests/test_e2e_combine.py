"""End to end: images built from other images, from the released frontend's file browser.

An expression typed into the browser's image-arithmetic box is opened (OPEN_FILE with
``lel_expr``) and drawn; four single-Stokes files selected together are loaded "as hypercube"
(CONCAT_STOKES_FILES) and the animator shows its Stokes slider. Wire messages are decoded with
the real schema; the drawn pixels are checked against the data the fixture wrote.
"""

from __future__ import annotations

from typing import Any

import pytest
from carta_trio.messages import schema as pb

from tests.e2e_session import (
    EXPRESSION,
    IMAGE_FOLDER,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    POL_HEIGHT,
    POL_STOKES,
    POL_WIDTH,
    e2e_results,  # noqa: F401  (the shared fixture, for pytest to find)
    step,
)
from tests.e2e_wire import decode_wire, select, sequence

pytestmark = pytest.mark.e2e

E = pb.EventType


def test_expression_typed_in_the_file_browser_is_drawn(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "open_expression")
    messages = decode_wire(data["wire"])
    (sent,) = [m.message for m in select(messages, E.OPEN_FILE, "sent")]
    assert sent.lel_expr and sent.file == EXPRESSION and sent.directory.strip("/") == IMAGE_FOLDER, sent
    (ack,) = [m.message for m in select(messages, E.OPEN_FILE_ACK, "recv")]
    assert ack.success, ack.message
    assert (ack.file_info.name, ack.file_info.type) == (EXPRESSION, pb.FileType.CASA)
    assert (ack.file_info_extended.width, ack.file_info_extended.height) == (IMAGE_WIDTH, IMAGE_HEIGHT)
    # the reference's order: image histogram, ack, image histogram again
    order = [m.type for m in messages if m.type in (E.OPEN_FILE_ACK, E.REGION_HISTOGRAM_DATA)]
    assert order[:3] == [E.REGION_HISTOGRAM_DATA, E.OPEN_FILE_ACK, E.REGION_HISTOGRAM_DATA], sequence(messages)
    frame = data["frame"]
    assert frame["fileName"] == EXPRESSION and frame["remainingTiles"] == 0
    canvas = data["canvas"]
    assert canvas["opaque_fraction"] > 0.2 and canvas["variance"] > 10.0, canvas
    # 3 - gradient: the ramp now falls to the right (the plain image's rises)
    assert canvas["left_tenth_mean"] > canvas["right_tenth_mean"], canvas
    assert data["alerts"] == []


def test_stokes_files_loaded_as_hypercube_show_the_stokes_slider(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "concat_stokes")
    messages = decode_wire(data["wire"])
    (sent,) = [m.message for m in select(messages, E.CONCAT_STOKES_FILES, "sent")]
    assert sorted(f.file for f in sent.stokes_files) == sorted(f"pol.{s}.fits" for s in POL_STOKES)
    # the frontend guessed each type from the file name
    assert {f.file: pb.PolarizationType.Name(f.polarization_type) for f in sent.stokes_files} == {
        f"pol.{s}.fits": s for s in POL_STOKES}
    (ack,) = [m.message for m in select(messages, E.CONCAT_STOKES_FILES_ACK, "recv")]
    assert ack.success and ack.open_file_ack.success, (ack.message, ack.open_file_ack.message)
    opened = ack.open_file_ack
    assert opened.file_info.name == "pol.hypercube_IQUV.fits"
    assert (opened.file_info_extended.width, opened.file_info_extended.height) == (POL_WIDTH, POL_HEIGHT)
    assert opened.file_info_extended.stokes == 4
    first_histogram = next(i for i, m in enumerate(messages) if m.type == E.REGION_HISTOGRAM_DATA)
    ack_index = next(i for i, m in enumerate(messages) if m.type == E.CONCAT_STOKES_FILES_ACK)
    assert first_histogram < ack_index, sequence(messages)
    frame = data["frame"]
    assert (frame["fileName"], frame["stokes"]) == ("pol.hypercube_IQUV.fits", 4), frame
    assert data["stokes_slider"], data.get("stokes_slider_text")
    assert "Polarization" in data["stokes_slider_text"]
    # Stokes I is drawn: its Gaussian sits at x = 20, y = 32
    canvas = data["canvas"]
    assert canvas["peak"]["fx"] == pytest.approx(20.5 / POL_WIDTH, abs=0.04), canvas
    assert canvas["peak"]["fy"] == pytest.approx(1 - 32.5 / POL_HEIGHT, abs=0.04), canvas
    assert data["alerts"] == []
