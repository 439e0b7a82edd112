"""Inline handlers do bounded work (issue 11 D20): SET_REGION refuses more control points
than ``limits.MAX_REGION_VERTICES`` before converting any, and RESUME_SESSION restores at
most ``limits.MAX_RESUME_IMAGES`` images and ``MAX_RESUME_REGIONS`` regions, reporting
the rest as failed with the limit named."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from carta_trio import limits
from carta_trio.actors.server import ServerHandle
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.conftest import server_url
from tests.image_factory import write_fits

RT = pb.RegionType


def polygon(n: int) -> pb.RegionInfo:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return pb.RegionInfo(region_type=RT.POLYGON, control_points=[
        pb.Point(x=float(20 + 10 * np.cos(a)), y=float(20 + 10 * np.sin(a))) for a in angles])


async def test_huge_polygon_is_refused_and_a_neighbour_is_not_held_up(
    carta_server: ServerHandle, data_dir: Path
) -> None:
    write_fits(data_dir / "img.fits", np.ones((40, 40), dtype=np.float32))
    huge = polygon(16)
    huge.control_points.extend(huge.control_points[:1] * (1_000_000 - 16))
    url = server_url(carta_server)
    async with open_client(url) as client, open_client(url) as neighbour:
        for c in (client, neighbour):
            await c.register()
            assert (await c.request(pb.OpenFile(file="img.fits", file_id=0, hdu=""))).success
        ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=huge), timeout=60)
        assert not ack.success
        assert f"exceed the limit of {limits.MAX_REGION_VERTICES}" in ack.message
        fine = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=polygon(limits.MAX_REGION_VERTICES)),
                                    timeout=60)
        assert fine.success, fine.message
        start = time.perf_counter()
        await neighbour.send(pb.SetCursor(file_id=0, point=pb.Point(x=3, y=4)))
        await neighbour.expect(pb.SpatialProfileData, timeout=30)
        assert time.perf_counter() - start < 5


async def test_resume_restores_a_bounded_number_of_images(carta_server: ServerHandle, data_dir: Path) -> None:
    write_fits(data_dir / "img.fits", np.ones((16, 16), dtype=np.float32))
    count = limits.MAX_RESUME_IMAGES + 5
    images = [pb.ImageProperties(directory="", file="img.fits", hdu="", file_id=i) for i in range(count)]
    async with open_client(server_url(carta_server)) as client:
        await client.register()
        ack = await client.request(pb.ResumeSession(images=images), timeout=120)
        assert not ack.success
        over = "".join(f"{i} " for i in range(limits.MAX_RESUME_IMAGES, count))
        assert ack.message == (f"Problem loading files: {over}"
                               f"(at most {limits.MAX_RESUME_IMAGES} images are restored) ")
        sessions = list(carta_server.manager.sessions.values())
        assert len(sessions) == 1 and sorted(sessions[0].frames) == list(range(limits.MAX_RESUME_IMAGES))


async def test_resume_restores_a_bounded_number_of_regions(carta_server: ServerHandle, data_dir: Path) -> None:
    write_fits(data_dir / "img.fits", np.ones((40, 40), dtype=np.float32))
    per_image = limits.MAX_RESUME_REGIONS // 2 + 10
    rect = pb.RegionInfo(region_type=RT.RECTANGLE, control_points=[pb.Point(x=10, y=10), pb.Point(x=4, y=4)])
    images = [pb.ImageProperties(directory="", file="img.fits", hdu="", file_id=f,
                                 regions={1 + f * per_image + i: rect for i in range(per_image)}) for f in range(2)]
    async with open_client(server_url(carta_server)) as client:
        await client.register()
        ack = await client.request(pb.ResumeSession(images=images), timeout=120)
    assert not ack.success
    assert ack.message.startswith("Problem loading regions: ")
    assert ack.message.endswith(f"(at most {limits.MAX_RESUME_REGIONS} regions are restored) ")
    refused = ack.message.removeprefix("Problem loading regions: ").split("(")[0].split()
    assert len(refused) == 2 * per_image - limits.MAX_RESUME_REGIONS


async def test_region_masks_cached_within_a_byte_budget(
    carta_server: ServerHandle, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each region keeps its pixel mask for reuse; over many regions the masks a session
    keeps are bounded by ``limits.MAX_REGION_MASK_BYTES`` (least recently used dropped and
    recomputed when needed), not one image-sized mask per region without end."""
    monkeypatch.setattr(limits, "MAX_REGION_MASK_BYTES", 600_000)
    write_fits(data_dir / "img.fits", np.arange(512 * 512, dtype=np.float32).reshape(512, 512))
    box = pb.RegionInfo(region_type=RT.RECTANGLE, rotation=1.0,
                        control_points=[pb.Point(x=255.5, y=255.5), pb.Point(x=500, y=500)])
    async with open_client(server_url(carta_server)) as client:
        await client.register()
        assert (await client.request(pb.OpenFile(file="img.fits", file_id=0, hdu=""))).success
        sums = []
        for _ in range(12):
            ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=box))
            assert ack.success, ack.message
            await client.send(pb.SetStatsRequirements(file_id=0, region_id=ack.region_id, stats_configs=[
                pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[pb.StatsType.Sum])]))
            stats = (await client.expect(pb.RegionStatsData, timeout=30)).message
            sums.append(stats.statistics[0].value)
        (session,) = carta_server.manager.sessions.values()
        kept = [mask.mask.nbytes for region in session.state.regions.regions.values()
                for mask in region._masks.values() if mask is not None]
        assert sum(kept) <= 600_000 and len(kept) >= 1
        # a mask dropped from the cache is computed again, with the same result
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[pb.StatsType.Sum])]))
        again = (await client.expect(pb.RegionStatsData, timeout=30)).message
        assert again.region_id == 1 and again.statistics[0].value == sums[0] == sums[-1]


async def test_regions_per_session_are_bounded(
    carta_server: ServerHandle, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session holds at most ``limits.MAX_REGIONS`` regions and
    ``limits.MAX_SESSION_REGION_POINTS`` control points over all of them (10,000 polygons
    of 10,000 vertices each would be ~11 GB); beyond, SET_REGION fails naming the limit,
    updates within the bound still work, and RESUME_SESSION reports the rest as failed."""
    monkeypatch.setattr(limits, "MAX_REGIONS", 4)
    monkeypatch.setattr(limits, "MAX_SESSION_REGION_POINTS", 40)
    write_fits(data_dir / "img.fits", np.ones((40, 40), dtype=np.float32))
    rect = pb.RegionInfo(region_type=RT.RECTANGLE, control_points=[pb.Point(x=10, y=10), pb.Point(x=4, y=4)])
    async with open_client(server_url(carta_server)) as client:
        await client.register()
        assert (await client.request(pb.OpenFile(file="img.fits", file_id=0, hdu=""))).success
        acks = [await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=rect)) for _ in range(5)]
        assert [a.success for a in acks] == [True] * 4 + [False]
        assert "at most 4 regions" in acks[4].message
        assert (await client.request(pb.SetRegion(file_id=0, region_id=2, region_info=polygon(30)))).success
        too_many = await client.request(pb.SetRegion(file_id=0, region_id=3, region_info=polygon(34)))
        assert not too_many.success and "control points (at most 40)" in too_many.message
        await client.send(pb.RemoveRegion(region_id=2))
        assert (await client.request(pb.SetRegion(file_id=0, region_id=3, region_info=polygon(34)))).success
        image = pb.ImageProperties(directory="", file="img.fits", hdu="", file_id=0,
                                   regions={i: rect for i in range(1, 7)})
        ack = await client.request(pb.ResumeSession(images=[image]), timeout=60)
        assert not ack.success and ack.message.startswith("Problem loading regions: 5 6 ")
