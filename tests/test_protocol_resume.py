"""RESUME_SESSION after a reconnect rebuilds files, channels and regions (BEHAVIOUR.md §3.6)."""

from __future__ import annotations

from pathlib import Path

from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.image_factory import make_cube, wcs_header, write_fits


def rectangle(x: float, y: float, w: float, h: float) -> pb.RegionInfo:
    return pb.RegionInfo(
        region_type=pb.RegionType.RECTANGLE,
        control_points=[pb.Point(x=x, y=y), pb.Point(x=w, y=h)],
    )


async def test_resume_restores_files_channels_and_regions(carta_url: str, data_dir: Path) -> None:
    data = make_cube((3, 40, 50), seed=5)
    write_fits(data_dir / "cube.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    async with open_client(carta_url) as client:
        first = await client.register()
        assert (await client.request(pb.OpenFile(file="cube.fits", file_id=0))).success
    async with open_client(carta_url) as client:
        ack = await client.register(first.session_id)
        assert ack.session_type == pb.SessionType.RESUMED
        image = pb.ImageProperties(directory="", file="cube.fits", hdu="", file_id=0, channel=2, stokes=0,
                                   regions={3: rectangle(20, 20, 10, 8)})
        missing = pb.ImageProperties(directory="", file="gone.fits", hdu="", file_id=1)
        resumed = await client.request(pb.ResumeSession(images=[image, missing]))
        assert not resumed.success
        assert resumed.message == "Problem loading files: 1 "
        assert not [e for e in client.buffered if e.event_type == pb.EventType.OPEN_FILE_ACK]
        histograms = [(await client.expect(pb.RegionHistogramData)).message for _ in range(2)]
        assert [(h.file_id, h.channel) for h in histograms] == [(0, 0), (0, 2)]
        await client.send(pb.SetStatsRequirements(
            file_id=0, region_id=3,
            stats_configs=[pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[pb.StatsType.NumPixels])],
        ))
        stats = (await client.expect(pb.RegionStatsData)).message
        assert (stats.region_id, stats.channel) == (3, 2)
        ok = await client.request(pb.ResumeSession(images=[image]))
        assert ok.success and ok.message == ""
    # the restored region is the region SET_REGION makes from the same info
    async with open_client(carta_url) as client:
        await client.register()
        await client.request(pb.OpenFile(file="cube.fits", file_id=0))
        set_ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=rectangle(20, 20, 10, 8)))
        await client.send(pb.SetStatsRequirements(
            file_id=0, region_id=set_ack.region_id,
            stats_configs=[pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[pb.StatsType.NumPixels])],
        ))
        direct = (await client.expect(pb.RegionStatsData)).message
    assert direct.statistics[0].value == stats.statistics[0].value > 0
