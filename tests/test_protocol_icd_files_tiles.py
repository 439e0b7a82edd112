"""Replays of the CARTA protocol suite's file, tile and histogram-config tests (ICD-RxJS, dev).

ACCESS_WEBSOCKET, CLOSE_FILE_ANIMATION, CLOSE_FILE_ERROR, CLOSE_FILE_SINGLE,
CLOSE_FILE_SPECTRAL_PROFILE, CLOSE_FILE_TILE, FILEINFO_EXCEPTIONS,
GET_FILELIST_ROOTPATH_CONCURRENT, TILE_DATA_REQUEST, CHECK_RASTER_TILE_DATA,
SET_HISTOGRAMCONFIG and SET_HISTOGRAMCONFIG_QUEUE send exactly these messages (ids,
tile codes, configs) and check the message kinds, order, counts, ids, flags and error
texts checked here. The QA images are replaced by synthetic ones of the same name and
(where the checks depend on it) the same shape, under ``set_QA`` as in the suite, which
finds that folder through ``$BASE``. Pixel values the suite checks (tile bytes,
histogram means) belong to the QA images and are not checked; values that follow from
the request alone (bin widths of fixed bounds, tile sizes) are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import wcs_header, write_fits, write_hdf5_idia, write_miriad
from tests.test_protocol_icd_animator import Hot, animation, smooth_cube, tiles

E = pb.EventType
ZFP = pb.CompressionType.ZFP
NONE = pb.CompressionType.NONE
TILES = {E.RASTER_TILE_DATA, E.RASTER_TILE_SYNC}
PLAYBACK_TILES = [33558529, 33558528, 33562625, 33554433, 33562624, 33558530, 33554432, 33562626, 33554434,
                  33566721, 33566720, 33566722]


@pytest.fixture
def qa(data_dir: Path) -> Path:
    folder = data_dir / "set_QA"
    folder.mkdir()
    return folder


async def qa_path(client: CartaClient) -> str:
    """The suite's first step: ``$BASE`` listed, ``set_QA`` appended to its directory."""
    listing = await client.request(pb.FileListRequest(directory="$BASE"))
    assert listing.success
    return listing.directory + "/set_QA"


async def alive(client: CartaClient, directory: str) -> None:
    """The suite's "backend is still alive" check."""
    listing = await client.request(pb.FileListRequest(directory=directory), timeout=30)
    assert listing.success and "set_QA" in listing.directory


async def open_image(hot: Hot, directory: str, name: str, file_id: int = 0, hdu: str = "0") -> pb.OpenFileAck:
    ack = await hot.request(pb.OpenFile(directory=directory, file=name, hdu=hdu, file_id=file_id,
                                        render_mode=pb.RenderMode.RASTER))
    assert ack.success, ack.message
    assert ack.file_info.name == name
    await hot.stream({E.REGION_HISTOGRAM_DATA}, 1)
    return ack


async def first_view(hot: Hot, file_id: int, codes: list[int], point: tuple[int, int] = (1, 1)) -> None:
    """Step 2 of most of these tests: tiles, cursor, spatial requirements."""
    client = hot.client
    await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=codes, compression_type=ZFP, compression_quality=11))
    batch = await hot.stream(TILES, len(codes) + 2)
    assert len(batch) == len(codes) + 2 and batch[-1].end_sync
    await client.send(pb.SetCursor(file_id=file_id, point=pb.Point(x=point[0], y=point[1])))
    await hot.stream({E.SPATIAL_PROFILE_DATA}, 1)
    await client.send(pb.SetSpatialRequirements(file_id=file_id, region_id=0, spatial_profiles=[
        pb.SetSpatialRequirements.SpatialConfig(coordinate="x"),
        pb.SetSpatialRequirements.SpatialConfig(coordinate="y")]))
    await hot.stream({E.SPATIAL_PROFILE_DATA}, 1)


async def quiet_for(hot: Hot, seconds: float) -> list:
    """Everything that arrives within ``seconds`` (the suite's message counter)."""
    arrived = []
    with trio.move_on_after(seconds):
        while True:
            arrived.append(await hot.client.receive(timeout=None))
    return arrived


async def settle(hot: Hot, seconds: float = 0.5) -> None:
    """Let what is in flight arrive; the suite never reads it."""
    hot.log.extend(await quiet_for(hot, seconds))
    hot.cursor = len(hot.log)


@pytest.fixture
def m17(qa: Path) -> None:
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"))
    write_fits(qa / "M17_SWex.fits", smooth_cube(25, 800, 640, seed=17), header)


async def test_access_websocket(carta_url: str) -> None:
    """ACCESS_WEBSOCKET: the socket opens and closes cleanly."""
    async with open_client(carta_url) as client:
        assert not client.closed
        await client.aclose()
        assert client.closed


async def test_close_file_error_closed_file(carta_url: str, qa: Path) -> None:
    """CLOSE_FILE_ERROR case 1: a cursor on a closed file gets ``File id 1 not found``
    tagged ``cursor``; the other file still answers."""
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"))
    cube = smooth_cube(4, 80, 64, seed=5)
    write_fits(qa / "M17_SWex.fits", cube, header)
    write_hdf5_idia(qa / "M17_SWex.hdf5", cube, header)
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register()
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(hot, directory, "M17_SWex.fits", 0)
        await open_image(hot, directory, "M17_SWex.hdf5", 1)
        await client.send(pb.CloseFile(file_id=1))
        await client.send(pb.SetCursor(file_id=1, point=pb.Point(x=1, y=1)))
        (error,) = await hot.stream({E.ERROR_DATA}, 1)
        assert list(error.tags) == ["cursor"] and error.message == "File id 1 not found"
        await alive(client, directory)
        await first_view(hot, 0, [0])


async def test_close_file_error_reopen(carta_url: str, qa: Path) -> None:
    """CLOSE_FILE_ERROR case 2: open, close and open file 0 again; all of it works."""
    write_fits(qa / "M17_SWex.fits", smooth_cube(4, 80, 64, seed=5), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register()
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(hot, directory, "M17_SWex.fits", 0)
        await first_view(hot, 0, [0])
        await client.send(pb.CloseFile(file_id=0))
        await open_image(hot, directory, "M17_SWex.fits", 0)
        await first_view(hot, 0, [0])
        await alive(client, directory)


async def test_close_file_single(carta_url: str, qa: Path) -> None:
    """CLOSE_FILE_SINGLE: after CLOSE_FILE nothing more arrives (1 s), the server answers."""
    write_fits(qa / "M17_SWex.fits", smooth_cube(4, 80, 64, seed=5), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register()
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(hot, directory, "M17_SWex.fits", 0, hdu="")
        await first_view(hot, 0, [0])
        await client.send(pb.CloseFile(file_id=0))
        assert await quiet_for(hot, 1.0) == []
        await alive(client, directory)


async def test_close_file_tile(carta_url: str, m17: None) -> None:
    """CLOSE_FILE_TILE: CLOSE_FILE while a channel's 12 tiles stream; the server answers."""
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register()
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(hot, directory, "M17_SWex.fits", 0, hdu="")
        await first_view(hot, 0, [0])
        await client.send(pb.SetImageChannels(file_id=0, channel=10, stokes=0,
                                              required_tiles=tiles(PLAYBACK_TILES, quality=11)))
        first_two = await hot.stream(TILES, 2)
        assert first_two[0].channel == 10
        await client.send(pb.CloseFile(file_id=0))
        await alive(client, directory)
        await settle(hot)
        assert await quiet_for(hot, 0.5) == []


async def test_close_file_animation(carta_url: str, m17: None) -> None:
    """CLOSE_FILE_ANIMATION: CLOSE_FILE in the middle of a looping animation (no
    STOP_ANIMATION); the server answers and the animation stops."""
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register(client_feature_flags=5)
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(hot, directory, "M17_SWex.fits", 0)
        await first_view(hot, 0, PLAYBACK_TILES, point=(320, 400))
        ack = await hot.request(animation(1, 0, 24, 1, codes=PLAYBACK_TILES, rate=5, looping=True))
        assert ack.success
        await client.send(tiles(PLAYBACK_TILES, quality=9))
        for i in range(2):
            histogram = hot.subscribe({E.REGION_HISTOGRAM_DATA})
            batch = await hot.stream(TILES, len(PLAYBACK_TILES) + 2)
            assert batch[0].channel == i + 1
            assert (await hot.resolve(histogram))[0].channel == i + 1
            await hot.flow(0, batch[0].channel, animation_id=1)
        await client.send(pb.CloseFile(file_id=0))
        await alive(client, directory)
        await settle(hot)
        assert await quiet_for(hot, 0.5) == []


async def test_fileinfo_exceptions(carta_url: str, qa: Path) -> None:
    """FILEINFO_EXCEPTIONS: the two failures' messages, word for word."""
    data = np.arange(16, dtype=np.float32)
    write_miriad(qa / "broken_header.miriad", data)
    async with open_client(carta_url) as client:
        await client.register()
        directory = await qa_path(client)
        for name, text in (("no_such_file.image", "File no_such_file.image does not exist."),
                           ("broken_header.miriad", "Image must be 2D, 3D or 4D.")):
            response = await client.request(pb.FileInfoRequest(directory=directory, file=name, hdu="0"))
            assert not response.success
            assert response.message == text


async def test_get_filelist_rootpath_concurrent(carta_url: str, qa: Path, data_dir: Path) -> None:
    """GET_FILELIST_ROOTPATH_CONCURRENT: ten sessions list ``$BASE``; all the same."""
    write_fits(data_dir / "a.fits", np.zeros((8, 8), np.float32), wcs_header(("RA---SIN", "DEC--SIN")))
    (data_dir / "b.txt").write_text("x")
    (data_dir / "sub").mkdir()
    responses: list = [None] * 10

    async def one(i: int) -> None:
        async with open_client(carta_url) as client:
            await client.register(client_feature_flags=5)
            responses[i] = await client.request(pb.FileListRequest(directory="$BASE",
                                                                   filter_mode=pb.FileListFilterMode.Content))

    async with trio.open_nursery() as nursery:
        for i in range(10):
            nursery.start_soon(one, i)
    assert all(r.success for r in responses)
    assert [f.name for f in responses[0].files] == ["a.fits"]
    assert sorted(d.name for d in responses[0].subdirectories) == ["set_QA", "sub"]
    for r in responses[1:]:
        assert list(r.files) == list(responses[0].files)
        assert list(r.subdirectories) == list(responses[0].subdirectories)
