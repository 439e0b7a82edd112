"""The first view of a newly opened image (issue 17): its tiles are computed while the
render histogram is, yet the wire order stays the reference's: OPEN_FILE_ACK, the
render histogram, then the tile set (start sync, tiles, end sync) and the answers to
every message sent after OPEN_FILE."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors import frame_pixels, image_histogram
from carta_trio.codecs import tile_geometry
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import write_fits

E = pb.EventType
ZFP = pb.CompressionType.ZFP
SIZE = 1024


@pytest.fixture
def image(data_dir: Path) -> None:
    rng = np.random.default_rng(5)
    write_fits(data_dir / "big.fits", rng.normal(0, 1, (SIZE, SIZE)).astype(np.float32))


def view_tiles(file_id: int = 0, codes: list[int] | None = None) -> pb.AddRequiredTiles:
    """The tiles of the whole image at mip 2 (the frontend's first view of a fitted image)."""
    layer = tile_geometry.total_layers(SIZE, SIZE) - 1
    if codes is None:
        codes = [tile_geometry.encode_tile_code(x, y, layer) for y in range(2) for x in range(2)]
    return pb.AddRequiredTiles(file_id=file_id, tiles=codes, compression_type=ZFP, compression_quality=11)


async def until_end_sync(client: CartaClient, extra: float = 0.3) -> list[pb.EventType]:
    """Every message until the end sync of a tile set, and what arrives ``extra`` s after."""
    got = []
    while not got or not (got[-1].event_type == E.RASTER_TILE_SYNC and got[-1].message.end_sync):
        got.append(await client.receive(timeout=30))
    with trio.move_on_after(extra):
        while True:
            got.append(await client.receive(timeout=None))
    return got


def slow_histogram(monkeypatch: pytest.MonkeyPatch, events: list[str]) -> None:
    """The render histogram takes 0.3 s more, and tile encoding is logged."""
    computed, encode = image_histogram._computed, frame_pixels.encode_tile_frames

    async def slow(*args: object) -> object:
        result = await computed(*args)  # type: ignore[arg-type]
        await trio.sleep(0.3)
        events.append("histogram computed")
        return result

    def logged(*args: object) -> object:
        events.append("tiles encoded")
        return encode(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(image_histogram, "_computed", slow)
    monkeypatch.setattr(frame_pixels, "encode_tile_frames", logged)


async def test_first_tiles_are_encoded_while_the_histogram_is_computed(
    carta_url: str, image: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    slow_histogram(monkeypatch, events)
    async with open_client(carta_url) as client:
        await client.register()
        await client.send(pb.OpenFile(directory="", file="big.fits", file_id=0))
        await client.send(view_tiles())
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=0, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="x")]))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=10, y=10)))
        got = await until_end_sync(client, extra=0.5)
    kinds = [e.event_type for e in got]
    assert kinds[:3] == [E.OPEN_FILE_ACK, E.REGION_HISTOGRAM_DATA, E.RASTER_TILE_SYNC], kinds
    tile_messages = [k for k in kinds if k in (E.RASTER_TILE_SYNC, E.RASTER_TILE_DATA)]
    assert tile_messages == [E.RASTER_TILE_SYNC] + [E.RASTER_TILE_DATA] * 4 + [E.RASTER_TILE_SYNC]
    assert E.SPATIAL_PROFILE_DATA in kinds  # after the histogram, as everything else
    # the tiles were encoded (once, in one group per core) before the (slowed) histogram was ready
    assert events == ["tiles encoded"] * 2 + ["histogram computed"], events


async def test_messages_behind_open_file_wait_for_the_histogram(
    carta_url: str, image: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invalid tile request (it answers with an error) and any other message are
    held until the histogram is out; the second image's OPEN_FILE too."""
    events: list[str] = []
    slow_histogram(monkeypatch, events)
    async with open_client(carta_url) as client:
        await client.register()
        await client.send(pb.OpenFile(directory="", file="big.fits", file_id=0))
        await client.send(view_tiles(codes=[tile_geometry.encode_tile_code(0, 0, 9)]))
        await client.send(pb.OpenFile(directory="", file="big.fits", file_id=1))
        await client.send(view_tiles(file_id=1))
        got = await until_end_sync(client)
    kinds = [(e.event_type, getattr(e.message, "file_id", None)) for e in got]
    assert kinds[:4] == [
        (E.OPEN_FILE_ACK, 0), (E.REGION_HISTOGRAM_DATA, 0), (E.ERROR_DATA, None), (E.OPEN_FILE_ACK, 1),
    ], kinds
    assert kinds[4] == (E.REGION_HISTOGRAM_DATA, 1)
    assert kinds[5] == (E.RASTER_TILE_SYNC, 1)


async def test_closing_the_image_before_its_histogram_releases_the_session(carta_url: str, image: None) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        await client.send(pb.OpenFile(directory="", file="big.fits", file_id=0))
        await client.send(view_tiles())
        await client.send(pb.CloseFile(file_id=0))
        ack = await client.request(pb.OpenFile(directory="", file="big.fits", file_id=0), timeout=30)
        assert ack.success
        await client.expect(pb.RegionHistogramData, timeout=30)


async def test_a_large_first_view_does_not_hold_back_the_histogram(
    carta_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All 64 full-resolution tiles of a 2048² image asked with OPEN_FILE: the render
    histogram (which every later message waits for) is computed after a few tile groups,
    not after all of them. Its passes used to queue behind the whole view in the
    session's share of the cores: under fifty sessions a new viewer's histogram, and with
    it the first cursor, came ten seconds late."""
    size = 2048
    rng = np.random.default_rng(6)
    write_fits(data_dir / "wide.fits", rng.normal(0, 1, (size, size)).astype(np.float32))
    events: list[str] = []
    computed, encode = image_histogram._computed, frame_pixels.encode_tile_frames

    async def logged_histogram(*args: object) -> object:
        result = await computed(*args)  # type: ignore[arg-type]
        events.append("histogram computed")
        return result

    def logged_tiles(*args: object) -> object:
        events.append("tiles encoded")
        time.sleep(0.03)  # a group costs the session 30 ms of its share of the cores
        return encode(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(image_histogram, "_computed", logged_histogram)
    monkeypatch.setattr(frame_pixels, "encode_tile_frames", logged_tiles)
    top = tile_geometry.total_layers(size, size)  # full resolution
    codes = [tile_geometry.encode_tile_code(x, y, top) for y in range(8) for x in range(8)]
    async with open_client(carta_url) as client:
        await client.register()
        await client.send(pb.OpenFile(directory="", file="wide.fits", file_id=0))
        await client.send(view_tiles(codes=codes))
        got = await until_end_sync(client, extra=0)
    kinds = [e.event_type for e in got]
    assert kinds == [E.OPEN_FILE_ACK, E.REGION_HISTOGRAM_DATA, E.RASTER_TILE_SYNC] + [E.RASTER_TILE_DATA] * 64 + [
        E.RASTER_TILE_SYNC], kinds
    # tiles were still being encoded after the histogram (it used to wait for all of them)
    assert events[-1] == "tiles encoded", events
