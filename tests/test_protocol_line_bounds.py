"""Long line cuts are refused before any box is made (issue 11: the OOM kill of the long
fuzz run). A LINE or POLYLINE region may have any finite control points; its spatial
profile and its PV image need one box per pixel along the line, so a line of 10**9
pixels grew the server by ~110 MB/s until the kernel killed it at 23 GB. Beyond
``limits.MAX_LINE_BOXES`` boxes the request gets one ERROR_DATA or a failed PV_RESPONSE
naming the limit, through every path that carries such a line: SET_REGION, a region
restored by RESUME_SESSION, PV images and PV previews.

The server runs in its own process with a capped address space, so on a build without
the bound the test fails (no refusal arrives, or a MemoryError) instead of exhausting
the machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from carta_trio import limits
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.server_process import ServerProcess, server_process

RT = pb.RegionType
#: The server's address space: room for normal work, far below the machine's memory.
MEMORY_CAP = 3_000_000_000
#: A line this long needs 10**9 boxes; the refusal must come long before they exist.
FAR = 1e9
SPATIAL = pb.SetSpatialRequirements.SpatialConfig


def _rss_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    top = tmp_path_factory.mktemp("lines")
    write_fits(top / "cube.fits", make_cube((4, 24, 20), seed=9), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    with server_process(top, memory_limit=MEMORY_CAP) as process:
        yield process


def _line(*points: tuple[float, float]) -> pb.RegionInfo:
    region_type = RT.LINE if len(points) == 2 else RT.POLYLINE
    return pb.RegionInfo(region_type=region_type, control_points=[pb.Point(x=x, y=y) for x, y in points])


async def _session(client: CartaClient, region: pb.RegionInfo, resumed: bool) -> int:
    """Register, open the cube as file 0 with ``region`` on it (drawn, or restored by
    RESUME_SESSION); the region's id."""
    await client.register(timeout=60)
    if resumed:
        image = pb.ImageProperties(directory="", file="cube.fits", hdu="", file_id=0, regions={7: region})
        ack = await client.request(pb.ResumeSession(images=[image]), timeout=60)
        assert ack.success, ack.message
        return 7
    assert (await client.request(pb.OpenFile(directory="", file="cube.fits", hdu="", file_id=0), timeout=60)).success
    ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=region), timeout=30)
    assert ack.success, ack.message
    return int(ack.region_id)


async def _still_serving(client: CartaClient) -> None:
    await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=3, y=4)))
    await client.expect(pb.SpatialProfileData, timeout=30)


@pytest.mark.parametrize(("points", "resumed"), [
    (((0.0, 5.0), (FAR, 5.0)), False),
    (((0.0, 5.0), (10.0, 5.0), (10.0, FAR)), False),
    (((0.0, 5.0), (FAR, 5.0)), True),
], ids=["line", "polyline", "resumed-line"])
def test_line_profile_of_a_huge_line_is_refused(
    server: ServerProcess, points: tuple[tuple[float, float], ...], resumed: bool
) -> None:
    before = _rss_mib(server.proc.pid)

    async def scenario() -> None:
        async with open_client(server.url, connect_timeout=60) as client:
            region_id = await _session(client, _line(*points), resumed)
            await client.send(pb.SetSpatialRequirements(file_id=0, region_id=region_id,
                                                        spatial_profiles=[SPATIAL(coordinate="", width=3)]))
            error = (await client.expect(pb.ErrorData, timeout=30)).message
            assert f"exceed the limit of {limits.MAX_LINE_BOXES}" in error.message, error.message
            assert f"region {region_id}" in error.message
            await _still_serving(client)

    trio.run(scenario)
    assert server.alive(), server.output()[-3000:]
    assert _rss_mib(server.proc.pid) - before < 200
    assert "Traceback" not in server.output(), server.output()[-3000:]


@pytest.mark.parametrize("preview", [False, True], ids=["pv-image", "pv-preview"])
def test_pv_cut_of_a_huge_line_is_refused(server: ServerProcess, preview: bool) -> None:
    before = _rss_mib(server.proc.pid)
    settings = pb.PvPreviewSettings(preview_id=1, region_id=-1, rebin_xy=1, rebin_z=1,
                                    compression_type=pb.CompressionType.ZFP,
                                    image_compression_quality=28, animation_compression_quality=9)

    def request(region_id: int) -> pb.PvRequest:
        message = pb.PvRequest(file_id=0, region_id=region_id, width=3)
        if preview:
            message.preview_settings.CopyFrom(settings)
        return message

    async def scenario() -> None:
        async with open_client(server.url, connect_timeout=60) as client:
            region_id = await _session(client, _line((0.0, 5.0), (FAR, 5.0)), False)
            response = await client.request(request(region_id), timeout=30)
            assert not response.success
            assert f"exceed the limit of {limits.MAX_LINE_BOXES}" in response.message, response.message
            # a line within the bound is cut as before
            fine = await client.request(pb.SetRegion(file_id=0, region_id=region_id,
                                                     region_info=_line((2.0, 5.0), (18.0, 5.0))), timeout=30)
            assert fine.success
            response = await client.request(request(region_id), timeout=60)
            assert response.success, response.message
            await _still_serving(client)

    trio.run(scenario)
    assert server.alive(), server.output()[-3000:]
    assert _rss_mib(server.proc.pid) - before < 200
    assert "Traceback" not in server.output(), server.output()[-3000:]
