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
from tests.conftest import qa_path
from tests.image_factory import wcs_header, write_fits, write_hdf5_idia, write_miriad
from tests.test_protocol_icd_animator import Hot, animation, smooth_cube, tiles

E = pb.EventType
ZFP = pb.CompressionType.ZFP
NONE = pb.CompressionType.NONE
TILES = {E.RASTER_TILE_DATA, E.RASTER_TILE_SYNC}
PLAYBACK_TILES = [33558529, 33558528, 33562625, 33554433, 33562624, 33558530, 33554432, 33562626, 33554434,
                  33566721, 33566720, 33566722]


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


async def test_access_websocket(start_server) -> None:  # type: ignore[no-untyped-def]
    """ACCESS_WEBSOCKET: the suite's bare ``ws://127.0.0.1:PORT`` (no path, no token, as
    against ``--debug_no_auth``) opens, and closes cleanly."""
    handle = await start_server(auth_token="")
    async with open_client(f"ws://127.0.0.1:{handle.port}") as client:
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


def break_miriad_naxis(path: Path, how: str) -> None:
    """A MIRIAD header whose ``naxis`` item is renamed away or zero (the MIRIAD library
    aborts the process opening either: the reference checks first)."""
    header = (path / "header").read_bytes()
    at = header.index(b"naxis\0")
    if how == "missing":
        header = header[:at] + b"nbxis" + header[at + 5:]
    else:
        header = header[:at + 20] + (0).to_bytes(4, "big") + header[at + 24:]
    (path / "header").write_bytes(header)


@pytest.mark.parametrize("broken", ["1-D", "naxis missing", "naxis 0", "5-D"])
async def test_fileinfo_exceptions(carta_url: str, qa: Path, broken: str) -> None:
    """FILEINFO_EXCEPTIONS: the two failures' messages, word for word; the MIRIAD
    header broken in several ways (the QA file's own damage is not known)."""
    path = qa / "broken_header.miriad"
    if broken == "1-D":
        write_miriad(path, np.arange(16, dtype=np.float32))
    elif broken == "5-D":
        write_miriad(path, np.zeros((2, 2, 2, 4, 4), np.float32))
    else:
        write_miriad(path, np.zeros((4, 4), np.float32))
        break_miriad_naxis(path, broken.split()[1])
    async with open_client(carta_url) as client:
        await client.register()
        directory = await qa_path(client)
        for name, text in (("no_such_file.image", "File no_such_file.image does not exist."),
                           ("broken_header.miriad", "Image must be 2D, 3D or 4D.")):
            response = await client.request(pb.FileInfoRequest(directory=directory, file=name, hdu="0"))
            assert not response.success
            assert response.message == text
        # OPEN_FILE reports the same text (the reference fills the same extended info first)
        ack = await client.request(pb.OpenFile(directory=directory, file="broken_header.miriad", hdu="0", file_id=0))
        assert not ack.success and ack.message == "Image must be 2D, 3D or 4D."


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


@pytest.fixture
def cluster(qa: Path) -> np.ndarray:
    """cluster_04096.fits: 4096 x 4096, one plane."""
    rng = np.random.default_rng(4096)
    data = rng.normal(0, 1, (4096, 4096)).astype(np.float32)
    write_fits(qa / "cluster_04096.fits", data, wcs_header(("RA---SIN", "DEC--SIN")))
    return data


async def test_tile_data_request(carta_url: str, cluster: np.ndarray) -> None:
    """TILE_DATA_REQUEST: four layer-1 tiles uncompressed: sync, four one-tile messages
    (x, y, layer as asked), sync; then the cursor's and the spatial profiles."""
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register()
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(hot, directory, "cluster_04096.fits")
        codes = [16777216, 16781312, 16777217, 16781313]
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=codes, compression_type=NONE, compression_quality=11))
        batch = await hot.stream(TILES, len(codes) + 2)
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
        await hot.stream({E.SPATIAL_PROFILE_DATA}, 1)
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=0, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="x"),
            pb.SetSpatialRequirements.SpatialConfig(coordinate="y")]))
        await hot.stream({E.SPATIAL_PROFILE_DATA}, 1)
    assert not batch[0].end_sync and batch[-1].end_sync
    wanted = {(0, 0, 1), (1, 0, 1), (0, 1, 1), (1, 1, 1)}
    for data in batch[1:-1]:
        assert len(data.tiles) == 1
        tile = data.tiles[0]
        assert (tile.x, tile.y, tile.layer) in wanted
        assert data.compression_type == NONE and len(tile.image_data) == tile.width * tile.height * 4
    assert {(d.tiles[0].x, d.tiles[0].y) for d in batch[1:-1]} == {(0, 0), (1, 0), (0, 1), (1, 1)}


async def test_check_raster_tile_data(carta_url: str, cluster: np.ndarray) -> None:
    """CHECK_RASTER_TILE_DATA: the layer-0 tile uncompressed after SET_IMAGE_CHANNELS of the
    current channel; ZFP tiles asked without a quality at layers 1-4, each 256 x 256.
    Quality 0 is zfp's full precision: the full-resolution tile's stream is checked."""
    from carta_trio.codecs.raster_tiles import zfp_compress

    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register()
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(hot, directory, "cluster_04096.fits")
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[0], compression_type=NONE, compression_quality=11))
        await hot.stream(TILES, 3)
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
        await hot.stream({E.SPATIAL_PROFILE_DATA}, 1)
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=0, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="x"),
            pb.SetSpatialRequirements.SpatialConfig(coordinate="y")]))
        await hot.stream({E.SPATIAL_PROFILE_DATA}, 1)
        await client.send(pb.SetImageChannels(file_id=0, channel=0, required_tiles=pb.AddRequiredTiles(
            file_id=0, tiles=[0], compression_type=NONE)))
        batch = await hot.stream(TILES, 3)
        data = batch[1]
        assert (data.file_id, data.channel, data.stokes, data.compression_type) == (0, 0, 0, NONE)
        assert len(data.tiles) == 1
        tile = data.tiles[0]
        assert (tile.x, tile.y, tile.layer, tile.height, tile.width) == (0, 0, 0, 256, 256)
        assert len(tile.image_data) == 256 * 256 * 4
        for code, (x, y, layer) in ((16781313, (1, 1, 1)), (33566723, (3, 3, 2)), (50360327, (7, 7, 3)),
                                    (67170319, (15, 15, 4))):
            await client.send(pb.AddRequiredTiles(file_id=0, tiles=[code], compression_type=ZFP))
            batch = await hot.stream(TILES, 3)
            data = batch[1]
            assert (data.file_id, data.channel, data.stokes, data.compression_type) == (0, 0, 0, ZFP)
            tile = data.tiles[0]
            assert (tile.x, tile.y, tile.layer, tile.height, tile.width) == (x, y, layer, 256, 256)
    assert tile.image_data == zfp_compress(np.ascontiguousarray(cluster[3840:, 3840:]), 32)


@pytest.fixture
def hh211(qa: Path) -> None:
    rng = np.random.default_rng(211)
    data = rng.normal(0, 0.01, (3, 5, 1049, 1049)).astype(np.float32)
    data[0] += 0.05
    write_fits(qa / "HH211_IQU.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))


def histogram_config(coordinate: str, num_bins: int = -1, bounds: tuple[float, float] = (0, 0),
                     fixed: bool = False) -> pb.SetHistogramRequirements:
    return pb.SetHistogramRequirements(file_id=0, region_id=-1, histograms=[pb.HistogramConfig(
        channel=-1, num_bins=num_bins, bounds=pb.DoubleBounds(min=bounds[0], max=bounds[1]), coordinate=coordinate,
        fixed_bounds=fixed, fixed_num_bins=fixed)])


def assert_automatic(h: pb.RegionHistogramData) -> None:
    """The suite's ``config.bounds toEqual {}`` (present, zero) and ``numBins -1``; 1049 bins."""
    assert h.progress == 1 and h.region_id == -1
    assert h.config.HasField("bounds") and (h.config.bounds.min, h.config.bounds.max) == (0, 0)
    assert h.config.num_bins == -1 and h.histograms.num_bins == 1049 and len(h.histograms.bins) == 1049


async def test_set_histogramconfig(carta_url: str, hh211: None) -> None:
    """SET_HISTOGRAMCONFIG: automatic, then Q with two fixed bins, a channel and Stokes
    change (both histograms, 20 tiles), then Q automatic again."""
    fixed = (-1, 0.1376738934777677)
    width = (fixed[1] - fixed[0]) / 2
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register()
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(hot, directory, "HH211_IQU.fits")
        await client.send(tiles([0], quality=11))
        await hot.stream(TILES, 3)
        await client.send(histogram_config("z"))
        (h,) = await hot.stream({E.REGION_HISTOGRAM_DATA}, 1)
        assert_automatic(h)

        await client.send(histogram_config("Qz", 2, fixed, True))
        (h,) = await hot.stream({E.REGION_HISTOGRAM_DATA}, 1)
        assert (h.progress, h.region_id, h.stokes) == (1, -1, 1)
        assert (h.config.bounds.min, h.config.bounds.max) == fixed
        assert (h.config.fixed_bounds, h.config.fixed_num_bins, h.config.num_bins) == (True, True, 2)
        assert h.histograms.num_bins == 2 and len(h.histograms.bins) == 2
        assert h.histograms.bin_width == pytest.approx(width, abs=1e-6)
        assert h.histograms.first_bin_center == pytest.approx(fixed[0] + width / 2, abs=1e-6)
        assert sum(h.histograms.bins) == 1049 * 1049

        layer3 = [50339842, 50339841, 50335746, 50335745, 50343938, 50339843, 50343937, 50335747, 50339840, 50331650,
                  50335744, 50331649, 50343939, 50343936, 50331651, 50331648, 50348034, 50348033, 50348035, 50348032]
        await client.send(pb.SetImageChannels(file_id=0, channel=3, stokes=1, required_tiles=tiles(layer3, quality=11)))
        histograms = hot.subscribe({E.REGION_HISTOGRAM_DATA}, 2)
        batch = await hot.stream(TILES, 22)
        assert all((t.channel, t.stokes) == (3, 1) for t in batch)
        pair = await hot.resolve(histograms)
        (two,) = [h for h in pair if h.histograms.num_bins == 2]
        (auto,) = [h for h in pair if h.histograms.num_bins == 1049]
        assert (two.channel, two.progress, two.region_id, two.stokes) == (3, 1, -1, 1)
        assert (two.config.bounds.min, two.config.bounds.max, two.config.num_bins) == (*fixed, 2)
        assert two.config.fixed_bounds and two.config.fixed_num_bins and sum(two.histograms.bins) == 1049 * 1049
        assert (auto.channel, auto.stokes) == (3, 1)
        assert_automatic(auto)

        await client.send(histogram_config("Qz"))
        (h,) = await hot.stream({E.REGION_HISTOGRAM_DATA}, 1)
        assert (h.channel, h.stokes) == (3, 1)
        assert_automatic(h)


M51_POLYGON = [(2846, 9898), (2362, 8506), (1756, 8597), (1938, 8112), (818, 7567), (1938, 6932), (939, 6266),
               (1696, 5781), (969, 4570), (2422, 5085), (2210, 3541), (2604, 3934), (2876, 2300), (3542, 3632),
               (4057, 2542), (4057, 3632), (5631, 2996), (4904, 3723), (6569, 4056), (5298, 4267), (6297, 5085),
               (5147, 5145), (7054, 6387), (6025, 6356), (6933, 8112), (5934, 7416), (6691, 9020), (5601, 8203),
               (5752, 9474), (3936, 7961), (5056, 9989), (3966, 8506), (3966, 10413), (3270, 8657), (3361, 10292)]
NUM_BINS = [4779, 4853, 5003, 5078, 5227, 5376, 5526, 5675, 5750, 5899, 5974, 6048]


@pytest.mark.parametrize("gap", [0.2, 0.0])
async def test_set_histogramconfig_queue(carta_url: str, qa: Path, gap: float) -> None:
    """SET_HISTOGRAMCONFIG_QUEUE: twelve histogram requirements of a many-point polygon,
    200 ms apart (the suite's drag), and back to back: twelve REGION_HISTOGRAM_DATA, each
    complete, as the reference computes every request. The QA image is about 7100 x
    10500; here half of that with the polygon halved (region about 6.3 M pixels)."""
    rng = np.random.default_rng(51)
    data = rng.gamma(1.0, 2.0, (5300, 3600)).astype(np.float32)
    write_fits(qa / "h_m51_b_s05_drz_sci.fits", data, wcs_header(("RA---TAN", "DEC--TAN")))
    bounds = (0.01625968888401985, 78.3388689942658)
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register()
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(hot, directory, "h_m51_b_s05_drz_sci.fits")
        before = len(hot.log) + len(client.buffered)
        await client.send(tiles([0], quality=11))
        await hot.stream(TILES, 3)
        assert len(hot.log) - before == 3
        region = pb.RegionInfo(region_type=pb.RegionType.POLYGON, rotation=0.0,
                               control_points=[pb.Point(x=x / 2, y=y / 2) for x, y in M51_POLYGON])
        ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=region))
        assert ack.success and ack.region_id == 1
        for num_bins in NUM_BINS:
            await client.send(pb.SetHistogramRequirements(file_id=0, region_id=1, histograms=[pb.HistogramConfig(
                channel=-1, num_bins=num_bins, bounds=pb.DoubleBounds(min=bounds[0], max=bounds[1]),
                coordinate="z", fixed_bounds=True, fixed_num_bins=True)]))
            await trio.sleep(gap)
        received = await hot.stream({E.REGION_HISTOGRAM_DATA}, len(NUM_BINS))
    for h in received:
        assert (h.progress, h.region_id) == (1, 1)
        assert (h.config.bounds.min, h.config.bounds.max) == bounds
        assert h.config.fixed_bounds and h.config.fixed_num_bins
        assert h.config.num_bins in NUM_BINS and h.histograms.num_bins == h.config.num_bins
    assert [h.config.num_bins for h in received] == NUM_BINS


@pytest.fixture
def s255(qa: Path) -> None:
    """The two S255 cubes: same sky, 480 x 1100, 40 channels (the QA ones are larger)."""
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"))
    for spw, seed in (("spw29", 29), ("spw25", 25)):
        cube = np.random.default_rng(seed).normal(0, 1, (40, 1100, 480)).astype(np.float32)
        write_fits(qa / f"S255_IR_sci.{spw}.cube.I.pbcor.fits", cube, header)


S255 = ("S255_IR_sci.spw29.cube.I.pbcor.fits", "S255_IR_sci.spw25.cube.I.pbcor.fits")
S255_BOX = pb.RegionInfo(region_type=pb.RegionType.RECTANGLE, rotation=0.0,
                         control_points=[pb.Point(x=630.0, y=1060.0), pb.Point(x=600.0, y=890.0)])


def spectral(file_id: int, region_id: int = 1, mean: bool = True) -> pb.SetSpectralRequirements:
    profiles = [pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[pb.StatsType.Mean])]
    return pb.SetSpectralRequirements(file_id=file_id, region_id=region_id, spectral_profiles=profiles if mean else [])


async def past_a_third(hot: Hot, file_id: int | None = None) -> list:
    """The suite's subscription: spectral profiles until one has progress > 0.3."""
    seen = []
    while True:
        (profile,) = await hot.stream({E.SPECTRAL_PROFILE_DATA}, 1)
        seen.append(profile)
        if profile.progress > 0.3 and (file_id is None or profile.file_id == file_id):
            return seen


async def spectral_case_1(client: CartaClient) -> tuple[int, str]:
    """CLOSE_FILE_SPECTRAL_PROFILE case 1; returns the session id and the QA folder."""
    hot = Hot(client)
    registered = await client.register()
    directory = await qa_path(client)
    await client.send(pb.CloseFile(file_id=-1))
    await open_image(hot, directory, S255[0], 0)
    await first_view(hot, 0, [0])
    ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=S255_BOX))
    assert ack.success and ack.region_id == 1
    await client.send(spectral(0))
    profiles = await past_a_third(hot)
    assert all(p.file_id == 0 and p.region_id == 1 for p in profiles)
    await client.send(pb.CloseFile(file_id=0))
    await alive(client, directory)
    await settle(hot)
    assert await quiet_for(hot, 0.5) == []
    return registered.session_id, directory


async def test_close_file_spectral_profile_single(carta_url: str, s255: None) -> None:
    """CLOSE_FILE_SPECTRAL_PROFILE case 1: CLOSE_FILE once the box's mean profile is a
    third done; the server answers, nothing more comes for the file."""
    async with open_client(carta_url) as client:
        await spectral_case_1(client)


@pytest.mark.parametrize("overlap", [False, True])
async def test_close_file_spectral_profile_two_images(carta_url: str, s255: None, overlap: bool) -> None:
    """CLOSE_FILE_SPECTRAL_PROFILE case 2 after case 1: the suite's client registers again
    with case 1's session id (``overlap``: before case 1's socket has gone); the session
    starts afresh (the new region is 1 again). Region 1 (set on file 0) profiled on both
    images; both closed while streaming; then a second CLOSE_FILE 0 and 1 s of silence."""
    async with open_client(carta_url) as first:
        session_id, directory = await spectral_case_1(first)
        if overlap:
            await spectral_case_2(carta_url, session_id, directory)
    if not overlap:
        await spectral_case_2(carta_url, session_id, directory)


async def spectral_case_2(carta_url: str, session_id: int, directory: str) -> None:
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register(session_id=session_id)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(hot, directory, S255[0], 0)
        await first_view(hot, 0, [0])
        await client.send(pb.CloseFile(file_id=1))  # not open: nothing happens
        await open_image(hot, directory, S255[1], 1)
        await first_view(hot, 1, [0])
        ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=S255_BOX))
        assert ack.success and ack.region_id == 1
        await client.send(spectral(0))
        await past_a_third(hot)
        await client.send(spectral(0, mean=False))
        await client.send(spectral(1))
        profiles = await past_a_third(hot, file_id=1)
        assert profiles[-1].region_id == 1
        await client.send(pb.CloseFile(file_id=0))
        await client.send(pb.CloseFile(file_id=1))
        await settle(hot)
        await client.send(pb.CloseFile(file_id=0))
        assert await quiet_for(hot, 1.0) == []
        await alive(client, directory)
    assert not any(e.event_type == E.ERROR_DATA for e in hot.log)
