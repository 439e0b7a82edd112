"""One file under many file ids and sessions shares its reader and caches; every cache is
bounded by the ``--cache_size`` budget (issue 11 D8). The server runs in the test
process, so tracemalloc sees its numpy allocations."""

from __future__ import annotations

import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio

from carta_trio.actors import image_histogram
from carta_trio.actors.frame_pixels import FramePixels
from carta_trio.actors.server import ServerHandle
from carta_trio.codecs import tile_geometry
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.conftest import server_url
from tests.image_factory import wcs_header, write_fits

SIZE = 1024
PLANE_BYTES = SIZE * SIZE * 4


async def test_one_file_under_40_file_ids_and_two_sessions_costs_about_one(
    carta_server: ServerHandle, data_dir: Path
) -> None:
    write_fits(data_dir / "big.fits", np.random.default_rng(1).normal(size=(SIZE, SIZE)).astype(np.float32))
    url = server_url(carta_server)
    async with open_client(url) as first, open_client(url) as second:
        await first.register()
        await second.register()
        ack = await first.request(pb.OpenFile(file="big.fits", file_id=0, hdu=""))
        assert ack.success, ack.message
        tracemalloc.start()
        try:
            for file_id in range(1, 40):
                ack = await first.request(pb.OpenFile(file="big.fits", file_id=file_id, hdu=""))
                assert ack.success, ack.message
            ack = await second.request(pb.OpenFile(file="big.fits", file_id=0, hdu=""))
            assert ack.success, ack.message
            grown = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        # 40 more openings: under a quarter of a plane each (main: a plane each, 166 MB;
        # now about 12 MB, the frames' own state and messages in flight)
        assert grown < 40 * PLANE_BYTES / 4, grown / 2**20
        frames = [f for s in carta_server.manager.sessions.values() for f in s.frames.values()]
        assert len(frames) == 41
        assert len({id(f.reader.shared) for f in frames}) == 1
        assert len({id(f.plane) for f in frames}) == 1


async def test_cube_histograms_stay_within_the_cache_budget(
    start_server: Callable[..., Awaitable[ServerHandle]], data_dir: Path
) -> None:
    handle = await start_server(cache_size=4)  # MiB
    cube = np.random.default_rng(2).normal(size=(4, 32, 32)).astype(np.float32)
    write_fits(data_dir / "cube.fits", cube, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    async with open_client(server_url(handle)) as client:
        await client.register()
        ack = await client.request(pb.OpenFile(file="cube.fits", file_id=0, hdu=""))
        assert ack.success, ack.message
        tracemalloc.start()
        try:
            for index in range(60):  # each result: num_bins int64 counts, 0.8 MB
                config = pb.HistogramConfig(coordinate="z", channel=-2, num_bins=100_000 + index)
                await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-2, histograms=[config]))
                while True:
                    message = (await client.expect(pb.RegionHistogramData, timeout=30)).message
                    if message.region_id == -2 and message.progress >= 1.0:
                        break
            grown = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    # main kept every result: 60 x 0.8 MB = 48 MB; the budget is 4 MiB
    assert grown < 16 * 2**20, grown / 2**20


async def test_render_histogram_of_a_shared_file_is_computed_once(
    carta_server: ServerHandle, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fits(data_dir / "img.fits", np.random.default_rng(3).normal(size=(256, 256)).astype(np.float32))
    calls: list[int] = []
    original = image_histogram._computed

    async def counted(*args: Any) -> Any:
        calls.append(1)
        return await original(*args)

    monkeypatch.setattr(image_histogram, "_computed", counted)
    url = server_url(carta_server)
    histograms = []
    async with open_client(url) as first, open_client(url) as second:
        await first.register()
        await second.register()
        for client, file_id in ((first, 0), (first, 1), (second, 0)):
            ack = await client.request(pb.OpenFile(file="img.fits", file_id=file_id, hdu=""))
            assert ack.success, ack.message
            histograms.append((await client.expect(pb.RegionHistogramData)).message.histograms)
    assert len(calls) == 1
    assert histograms[0] == histograms[1] == histograms[2]


async def test_a_mip_wanted_by_two_frames_at_once_is_computed_once(
    carta_server: ServerHandle, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fits(data_dir / "img.fits", np.random.default_rng(4).normal(size=(1024, 1024)).astype(np.float32))
    calls: list[int] = []
    original = FramePixels._downsample

    async def counted(self: FramePixels, mip: int, channel: int, stokes: int) -> np.ndarray:
        calls.append(mip)
        await trio.sleep(0.2)  # the other frame asks meanwhile
        return await original(self, mip, channel, stokes)

    monkeypatch.setattr(FramePixels, "_downsample", counted)
    code = tile_geometry.encode_tile_code(0, 0, 0)  # the whole image at mip 4
    async with open_client(server_url(carta_server)) as client:
        await client.register()
        for file_id in (0, 1):
            ack = await client.request(pb.OpenFile(file="img.fits", file_id=file_id, hdu=""))
            assert ack.success, ack.message
        for file_id in (0, 1):
            await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=[code], compression_type=pb.CompressionType.ZFP,
                                                  compression_quality=11))
        ends = 0
        while ends < 2:
            message = (await client.expect(pb.RasterTileSync, timeout=30)).message
            ends += message.end_sync
    assert calls == [4]
