"""Message order pinned to the reference (issue 13, points 5 and 7).

Point 5: a request sent right after SET_IMAGE_CHANNELS observes the new channel
(the reference applies messages in arrival order), while a burst of channel changes
still coalesces to the newest. Point 7: the order of a channel change (BEHAVIOUR.md
§4.4: contours, render histogram, then the region streams; the tile batch after the
histogram), tile precision rounded as ``lround``.
"""

from __future__ import annotations

from pathlib import Path

import trio

import pytest

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.region_client import open_image, spatial

E = pb.EventType
RT = pb.RegionType
ZFP = pb.CompressionType.ZFP


@pytest.fixture
def cube(data_dir: Path) -> None:
    # Big enough that loading a plane takes a few milliseconds.
    write_fits(data_dir / "cube.fits", make_cube((6, 600, 500), seed=7), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))


def tiles(quality: float = 11) -> pb.AddRequiredTiles:
    return pb.AddRequiredTiles(file_id=0, tiles=[0], compression_type=ZFP, compression_quality=quality)


async def settle(client: CartaClient, seconds: float = 0.6) -> list:
    """Every message that arrives within ``seconds``, in order."""
    got = []
    with trio.move_on_after(seconds):
        while True:
            got.append(await client.receive(timeout=None))
    return got


async def test_point5_cursor_after_channel_change_sees_the_new_channel(carta_url: str, cube: None) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(spatial(0, ("x", 0, 0, 0), ("y", 0, 0, 0)))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=10, y=10)))
        await settle(client)
        for channel, x in ((3, 20), (1, 30), (5, 40)):
            await client.send(pb.SetImageChannels(file_id=0, channel=channel, stokes=0, required_tiles=tiles()))
            await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=x, y=x)))
            messages = await settle(client)
            profiles = [e.message for e in messages if e.event_type == E.SPATIAL_PROFILE_DATA]
            # every answer is for the new channel; the last one is the new position
            assert [p.channel for p in profiles] == [channel] * len(profiles), profiles
            assert (profiles[-1].x, profiles[-1].y) == (x, x)
            histograms = [e.message.channel for e in messages if e.event_type == E.REGION_HISTOGRAM_DATA]
            assert histograms == [channel]


async def test_point5_requirements_after_channel_change_see_the_new_channel(carta_url: str, cube: None) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(pb.SetImageChannels(file_id=0, channel=4, stokes=0))
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-1, histograms=[
            pb.HistogramConfig(coordinate="z", channel=-1, fixed_num_bins=True, num_bins=7)]))
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=-1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[pb.StatsType.Mean])]))
        messages = await settle(client)
    order = [(E.Name(e.event_type), e.message.channel) for e in messages
             if e.event_type in (E.REGION_HISTOGRAM_DATA, E.REGION_STATS_DATA)]
    # the render histogram first; the configured histogram and the stats are jobs of their own
    assert order[0] == ("REGION_HISTOGRAM_DATA", 4)
    assert sorted(order[1:]) == [("REGION_HISTOGRAM_DATA", 4), ("REGION_STATS_DATA", 4)]


async def test_point5_tiles_after_channel_change_are_for_the_new_channel(carta_url: str, cube: None) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(pb.SetImageChannels(file_id=0, channel=2, stokes=0))
        await client.send(tiles())
        messages = await settle(client)
    seen = [(E.Name(e.event_type), e.message.channel) for e in messages]
    assert seen == [("REGION_HISTOGRAM_DATA", 2), ("RASTER_TILE_SYNC", 2), ("RASTER_TILE_DATA", 2),
                    ("RASTER_TILE_SYNC", 2)]


async def test_point5_channel_burst_still_coalesces(carta_url: str, cube: None) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        for channel in (1, 2, 3, 4, 5):
            await client.send(pb.SetImageChannels(file_id=0, channel=channel, stokes=0, required_tiles=tiles()))
        messages = await settle(client, 1.0)
    histograms = [e.message.channel for e in messages if e.event_type == E.REGION_HISTOGRAM_DATA]
    assert histograms[-1] == 5 and len(histograms) < 5


async def test_point7_channel_change_order(carta_url: str, cube: None) -> None:
    """Contours, then the render histogram, then the region streams and cursor profile;
    the tile batch starts after the histogram (BEHAVIOUR.md §4.4)."""
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(pb.SetContourParameters(
            file_id=0, reference_file_id=0, levels=[0.5], smoothing_mode=pb.SmoothingMode.NoSmoothing,
            smoothing_factor=1, decimation_factor=4, compression_level=8, contour_chunk_size=100000,
            image_bounds=pb.ImageBounds(x_min=0, x_max=500, y_min=0, y_max=600)))
        ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
            region_type=RT.RECTANGLE, control_points=[pb.Point(x=100, y=100), pb.Point(x=40, y=30)])))
        assert ack.success
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=ack.region_id, histograms=[
            pb.HistogramConfig(coordinate="z", channel=-1, num_bins=-1)]))
        await client.send(spatial(0, ("x", 0, 0, 0)))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=50, y=50)))
        await settle(client)
        await client.send(pb.SetImageChannels(file_id=0, channel=3, stokes=0, required_tiles=tiles()))
        messages = await settle(client, 1.0)
    kinds = []
    for e in messages:
        m = e.message
        if e.event_type == E.CONTOUR_IMAGE_DATA:
            kinds.append("contour")
        elif e.event_type == E.REGION_HISTOGRAM_DATA:
            kinds.append("image histogram" if m.region_id == -1 else "region histogram")
        elif e.event_type == E.SPATIAL_PROFILE_DATA:
            kinds.append("cursor profile")
        elif e.event_type == E.RASTER_TILE_SYNC:
            kinds.append("end sync" if m.end_sync else "start sync")
        elif e.event_type == E.RASTER_TILE_DATA:
            kinds.append("tile")
        assert getattr(m, "channel", 3) == 3
    contours = [i for i, k in enumerate(kinds) if k == "contour"]
    image = kinds.index("image histogram")
    assert contours and max(contours) < image, kinds
    assert image < kinds.index("region histogram") and image < kinds.index("cursor profile"), kinds
    assert image < kinds.index("start sync") < kinds.index("tile") < kinds.index("end sync"), kinds
    assert sorted(kinds) == sorted(["contour"] * len(contours) + ["image histogram", "region histogram",
                                                                   "cursor profile", "start sync", "tile", "end sync"])


@pytest.mark.parametrize("quality, precision", [(10.5, 11), (10.49, 10), (11.5, 12), (12.0, 12)])
async def test_point7_tile_precision_is_lround(carta_url: str, cube: None, quality: float, precision: int) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(tiles(quality))
        tile = (await client.expect(pb.RasterTileData)).message
    assert tile.compression_quality == precision
