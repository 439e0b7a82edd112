"""The e2e driver's own wire decoding (tests/e2e/carta_e2e.js), checked against our encoder.

The e2e test trusts the driver to read the 8-byte header and the scalar fields it waits on
out of the frames Chromium reports; here those decoders get frames packed by
``carta_trio.messages.framing.pack_frame`` and must read back what was packed. (The e2e
assertions themselves decode the logged frames in Python with the real schema.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from carta_trio.messages import schema as pb
from carta_trio.messages.framing import pack_frame

pytestmark = pytest.mark.e2e

E2E_DIR = Path(__file__).resolve().parent / "e2e"

DECODE_SCRIPT = """
const d = require('./carta_e2e.js');
const frames = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = frames.map((hex) => {
  const buf = Buffer.from(hex, 'hex');
  const h = d.decodeHeader(buf);
  return { header: h, reply: d.decodeReply(h.type, buf.subarray(8)) };
});
process.stdout.write(JSON.stringify(out));
"""


def _unavailable(reason: str) -> None:
    """Skip locally, fail in CI (where .ci/run installs node and playwright-core)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason)
    pytest.skip(reason)


def decode_in_node(frames: list[bytes]) -> list[dict]:
    if shutil.which("node") is None:
        _unavailable("node is not on PATH")
    if not (E2E_DIR / "node_modules" / "playwright-core").exists():
        _unavailable("playwright-core not installed in tests/e2e (npm ci)")
    result = subprocess.run(
        ["node", "-e", DECODE_SCRIPT], cwd=E2E_DIR, input=json.dumps([f.hex() for f in frames]),
        capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(result.stdout)


def test_driver_decodes_acks_packed_by_our_framing() -> None:
    frames = [
        pack_frame(
            pb.EventType.REGISTER_VIEWER_ACK, 1,
            pb.RegisterViewerAck(session_id=0xFEDCBA98, success=True, message="héllo", session_type=1),
        ),
        pack_frame(pb.EventType.OPEN_FILE_ACK, 70000, pb.OpenFileAck(success=False, file_id=-1, message="nope")),
        pack_frame(pb.EventType.FILE_LIST_RESPONSE, 2, pb.FileListResponse(
            success=True, directory="sub", parent=".",
            files=[pb.FileInfo(name="a.fits"), pb.FileInfo(name="b.fits")],
            subdirectories=[pb.DirectoryInfo(name="nested")],
        )),
        pack_frame(pb.EventType.ERROR_DATA, 0, pb.ErrorData(
            severity=pb.ErrorSeverity.ERROR, tags=["file", "x"], message="bad"
        )),
        pack_frame(pb.EventType.REGISTER_VIEWER_ACK, 0xFFFFFFFF, pb.RegisterViewerAck()),
    ]
    decoded = decode_in_node(frames)
    assert [d["header"] for d in decoded] == [
        {"type": 18, "icd": 28, "req": 1},
        {"type": 21, "icd": 28, "req": 70000},
        {"type": 19, "icd": 28, "req": 2},
        {"type": 28, "icd": 28, "req": 0},
        {"type": 18, "icd": 28, "req": 0xFFFFFFFF},
    ]
    assert decoded[0]["reply"] == {"session_id": 0xFEDCBA98, "success": True, "message": "héllo", "session_type": 1}
    assert decoded[1]["reply"] == {"success": False, "file_id": -1, "message": "nope"}
    assert decoded[2]["reply"] == {
        "success": True, "message": "", "directory": "sub", "parent": ".", "files": 2, "subdirectories": 1
    }
    assert decoded[3]["reply"] == {"severity": 3, "tags": ["file", "x"], "message": "bad", "data": ""}
    # proto3 defaults when every field is absent.
    assert decoded[4]["reply"] == {"session_id": 0, "success": False, "message": "", "session_type": 0}


def test_driver_decodes_stream_fields_it_waits_on() -> None:
    """sfixed32 ids (negative too), float/double progress, counts and bools of the cube steps' messages."""
    frames = [
        pack_frame(pb.EventType.REGION_HISTOGRAM_DATA, 0, pb.RegionHistogramData(
            file_id=3, region_id=-1, channel=5, stokes=1, progress=0.75,
        )),
        pack_frame(pb.EventType.RASTER_TILE_SYNC, 0, pb.RasterTileSync(
            file_id=1, channel=7, sync_id=12, animation_id=4, tile_count=2, end_sync=True,
        )),
        pack_frame(pb.EventType.CONTOUR_IMAGE_DATA, 0, pb.ContourImageData(
            file_id=2, channel=6, progress=0.1 + 0.2, contour_sets=[pb.ContourSet(level=0.3), pb.ContourSet(level=0.6)],
        )),
        pack_frame(pb.EventType.SPATIAL_PROFILE_DATA, 0, pb.SpatialProfileData(
            file_id=1001, x=75, y=64, channel=3, value=-1.5e-3,
        )),
        pack_frame(pb.EventType.START_ANIMATION_ACK, 9, pb.StartAnimationAck(success=True, animation_id=-2)),
        pack_frame(pb.EventType.MOMENT_RESPONSE, 4, pb.MomentResponse(
            success=True, open_file_acks=[pb.OpenFileAck(file_id=1001)],
        )),
        pack_frame(pb.EventType.SET_IMAGE_CHANNELS, 7, pb.SetImageChannels(file_id=1, channel=3)),
    ]
    decoded = [d["reply"] for d in decode_in_node(frames)]
    assert decoded[0] == {"file_id": 3, "region_id": -1, "channel": 5, "stokes": 1, "progress": 0.75}
    assert decoded[1] == {
        "file_id": 1, "channel": 7, "stokes": 0, "sync_id": 12, "animation_id": 4, "tile_count": 2, "end_sync": True,
    }
    assert decoded[2] == {"file_id": 2, "channel": 6, "stokes": 0, "contour_sets": 2, "progress": 0.1 + 0.2}
    assert decoded[3]["value"] == float(np.float32(-1.5e-3))
    assert {k: decoded[3][k] for k in ("file_id", "region_id", "x", "y", "channel", "profiles")} == {
        "file_id": 1001, "region_id": 0, "x": 75, "y": 64, "channel": 3, "profiles": 0,
    }
    assert decoded[4] == {"success": True, "message": "", "animation_id": -2}
    assert decoded[5] == {"success": True, "message": "", "open_file_acks": 1, "cancel": False}
    assert decoded[6] == {"file_id": 1, "channel": 3, "stokes": 0}
