"""Replays of the CARTA protocol suite's job tests (ICD-RxJS, branch dev): cancellation,
progress and results of moments, PV, fitting, cube histograms, vector overlays and
matched-region statistics.

Each test sends the suite's messages (ids, file ids, regions, requests) and checks what
the suite checks about the reply: which messages come back, in what order, their ids,
counts, flags and error texts. The QA images are replaced by synthetic images of the
same names, shapes and axis orders; values that depend on the real images are not
checked. Where the suite waits seconds for a job to run long enough to be cancelled,
the job's chunks are slowed down instead.

The suite reads streams "hot" (only messages arriving after it subscribed); these
replays read the message log in arrival order to the same effect.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors import cube_histogram, workers
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import make_cube, wcs_header, write_fits

E = pb.EventType
ZFP = pb.CompressionType.ZFP


@pytest.fixture
async def url(carta_url: str) -> AsyncIterator[str]:
    """The server's URL; afterwards, wait for worker threads of cancelled chunks (see
    test_protocol_moments_pv.settled_workers)."""
    yield carta_url
    with trio.move_on_after(30):
        while workers.cpu_limiter().borrowed_tokens:
            await trio.sleep(0.02)


def slow_down(monkeypatch: pytest.MonkeyPatch, module: object, name: str, seconds: float) -> None:
    original = getattr(module, name)

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


async def open_image(client: CartaClient, name: str, file_id: int = 0) -> pb.OpenFileAck:
    """CLOSE_FILE -1, OPEN_FILE and its first REGION_HISTOGRAM_DATA, as every test starts."""
    await client.send(pb.CloseFile(file_id=-1))
    ack = await client.request(pb.OpenFile(directory="", file=name, hdu="", file_id=file_id,
                                           render_mode=pb.RenderMode.RASTER), timeout=30)
    assert ack.success, ack.message
    assert ack.file_info.name == name
    await client.expect(pb.RegionHistogramData, timeout=30)
    return ack


async def tile_stream(client: CartaClient, file_id: int, tiles: list[int], quality: int = 11) -> list:
    """ADD_REQUIRED_TILES and ``Stream(RasterTileData, n + 2)``: sync, n tiles, end sync."""
    await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=tiles, compression_type=ZFP,
                                          compression_quality=quality))
    got = await client.collect_until(
        lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync, timeout=30)
    kept = [e.message for e in got if e.event_type in (E.RASTER_TILE_DATA, E.RASTER_TILE_SYNC)]
    assert len(kept) == len(tiles) + 2
    return kept


async def messages_for(client: CartaClient, seconds: float) -> list:
    """Everything arriving within ``seconds`` (the suite's 'no more messages' checks)."""
    out = []
    with trio.move_on_after(seconds):
        while True:
            out.append(await client.receive(timeout=None))
    return out


# ------------------------------------------------------------------ PER_CUBE_HISTOGRAM_CANCELLATION

SDC335 = "SDC335.579-0.292.spw0-channel-cutted.line.fits"


@pytest.fixture
def sdc335(data_dir: Path) -> None:
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    write_fits(data_dir / SDC335, make_cube((1, 20, 48, 40), seed=3), header)


async def test_per_cube_histogram_cancellation(url: str, sdc335: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests running, then an empty list: two ErrorData (the reference's two
    tasks each fail with 'Histogram calculation for region -2 failed'), no final
    histogram; a new request then completes with progress 1."""
    slow_down(monkeypatch, cube_histogram, "_chunk_stats", 0.3)
    monkeypatch.setattr(cube_histogram, "CHUNK_BYTES", 48 * 40 * 4)
    monkeypatch.setattr(cube_histogram, "PROGRESS_INTERVAL", 0.5)
    config = pb.HistogramConfig(bounds=pb.DoubleBounds(min=0, max=0), channel=-2, num_bins=-1,
                                fixed_bounds=False, fixed_num_bins=False)
    request = pb.SetHistogramRequirements(file_id=0, region_id=-2, histograms=[config])
    async with open_client(url) as client:
        await client.register()
        await open_image(client, SDC335)
        assert len(await tile_stream(client, 0, [0])) == 3
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
        await client.expect(pb.SpatialProfileData)

        await client.send(request)
        first = (await client.expect(pb.RegionHistogramData, timeout=30)).message
        assert first.progress > 0 and first.region_id == -2
        await client.send(request)
        second = (await client.expect(pb.RegionHistogramData, timeout=30)).message
        assert second.region_id == -2

        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-2, histograms=[]))
        after = await messages_for(client, 2.0)
        errors = [e.message for e in after if e.event_type == E.ERROR_DATA]
        assert len(errors) >= 2
        assert [(x.message, x.severity, list(x.tags)) for x in errors] == [
            ("Histogram calculation for region -2 failed", pb.ErrorSeverity.WARNING, ["histogram"])] * 2
        assert not [e for e in after if e.event_type == E.REGION_HISTOGRAM_DATA and e.message.progress == 1]

        monkeypatch.undo()
        await client.send(request)
        done = await client.collect_until(
            lambda e: e.event_type == E.REGION_HISTOGRAM_DATA and e.message.progress == 1, timeout=30)
        final = done[-1].message
        assert (final.region_id, final.channel) == (-2, -2)
        assert final.histograms.num_bins == int(np.sqrt(48 * 40))
        assert len(final.histograms.bins) == final.histograms.num_bins


# ------------------------------------------------------------------ VECTOR_OVERLAY_*

@pytest.fixture
def m17(data_dir: Path) -> None:
    """M17_SWex.fits: 640x800, 25 channels, no Stokes axis."""
    data = np.random.default_rng(17).normal(1.0, 0.5, (25, 800, 640)).astype(np.float32)
    write_fits(data_dir / "M17_SWex.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))


@pytest.fixture
def hh211(data_dir: Path) -> None:
    """HH211_IQU.fits: 1049x1049, 5 channels, Stokes I, Q, U."""
    rng = np.random.default_rng(211)
    data = rng.normal(0, 1, (3, 5, 1049, 1049)).astype(np.float32)
    data[0] += 5
    write_fits(data_dir / "HH211_IQU.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))


def _assert_last_tile(last: pb.VectorOverlayTileData, width: int, height: int, mip: int) -> None:
    assert last.progress == 1 and last.compression_quality == 8
    for tiles in (last.angle_tiles, last.intensity_tiles):
        tile = tiles[0]
        assert (tile.x, tile.y, tile.layer, tile.mip, tile.width, tile.height) == (1, 1, 1, mip, width, height)
        assert len(tile.image_data) == width * height * 4


async def _vector_stream(client: CartaClient) -> list:
    got = await client.collect_until(
        lambda e: e.event_type == E.VECTOR_OVERLAY_TILE_DATA and e.message.progress == 1, timeout=30)
    return got


async def test_vector_overlay_no_polarization(url: str, m17: None) -> None:
    """Stokes 0 (the current image) for angle and intensity of an image without Stokes:
    the last message is tile (1, 1) of mip 2 (64x144, uncompressed); the clear message
    (sources -1, smoothing 0) is answered by nothing within 500 ms."""
    async with open_client(url) as client:
        await client.register()
        await client.send(pb.CloseFile(file_id=0))
        await open_image(client, "M17_SWex.fits")
        batch = await tile_stream(client, 0, [0])
        assert batch[2].tile_count == 1
        await client.send(pb.SetVectorOverlayParameters(
            compression_quality=8, compression_type=pb.CompressionType.NONE, debiasing=False, file_id=0,
            fractional=False, image_bounds=pb.ImageBounds(x_min=0, x_max=650, y_min=0, y_max=800),
            smoothing_factor=2, stokes_angle=0, stokes_intensity=0, threshold=float("nan")))
        got = await _vector_stream(client)
        assert not [e for e in got if e.event_type == E.ERROR_DATA]
        last = got[-1].message
        _assert_last_tile(last, 64, 144, 2)
        # both from the same image: the suite expects the same bytes at its sample indices
        assert last.angle_tiles[0].image_data == last.intensity_tiles[0].image_data
        await client.send(pb.SetVectorOverlayParameters(file_id=0, stokes_angle=-1, stokes_intensity=-1))
        assert await messages_for(client, 0.5) == []


async def test_vector_overlay_channel_stream(url: str, hh211: None) -> None:
    """Computed PI/PA (Stokes 1), then SET_IMAGE_CHANNELS to channel 1 with 25 tiles: the
    channel's vector overlay is complete before its REGION_HISTOGRAM_DATA (the suite
    subscribes to the histogram only once the overlay has progress 1), then 25 tiles
    and two syncs of channel 1."""
    layer2 = [50339842, 50339841, 50335746, 50335745, 50343938, 50339843, 50343937, 50335747, 50339840, 50331650,
              50335744, 50331649, 50343939, 50343936, 50331651, 50331648, 50348034, 50339844, 50348033, 50335748,
              50348035, 50343940, 50348032, 50331652, 50348036]
    async with open_client(url) as client:
        await client.register()
        await client.send(pb.CloseFile(file_id=0))
        await open_image(client, "HH211_IQU.fits")
        batch = await tile_stream(client, 0, [0])
        assert batch[2].tile_count == 1
        await client.send(pb.SetVectorOverlayParameters(
            compression_quality=8, compression_type=pb.CompressionType.NONE, debiasing=False, file_id=0,
            fractional=True, image_bounds=pb.ImageBounds(x_min=0, x_max=1049, y_min=0, y_max=1049),
            smoothing_factor=4, stokes_angle=1, stokes_intensity=1, threshold=0.01))
        got = await _vector_stream(client)
        last = got[-1].message
        assert (last.stokes_angle, last.stokes_intensity) == (1, 1)
        _assert_last_tile(last, 7, 7, 4)

        await client.send(pb.SetImageChannels(file_id=0, channel=1, stokes=0, required_tiles=pb.AddRequiredTiles(
            file_id=0, tiles=layer2, compression_type=ZFP, compression_quality=11)))
        log = await client.collect_until(
            lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync, timeout=60)
        kinds = [e.event_type for e in log]
        vector_done = next(i for i, e in enumerate(log)
                           if e.event_type == E.VECTOR_OVERLAY_TILE_DATA and e.message.progress == 1)
        histograms = [i for i, k in enumerate(kinds) if k == E.REGION_HISTOGRAM_DATA]
        assert histograms and histograms[0] > vector_done, kinds
        last = log[vector_done].message
        assert (last.channel, last.stokes_angle, last.stokes_intensity) == (1, 1, 1)
        _assert_last_tile(last, 7, 7, 4)
        histogram = log[histograms[0]].message
        assert (histogram.channel, histogram.histograms.num_bins) == (1, 1049)
        tiles = [e.message for e in log if e.event_type == E.RASTER_TILE_DATA]
        syncs = [e.message for e in log if e.event_type == E.RASTER_TILE_SYNC]
        assert len(tiles) == 25 and {t.channel for t in tiles} == {1}
        assert [s.end_sync for s in syncs] == [False, True] and {s.channel for s in syncs} == {1}


# ------------------------------------------------------------------ MOMENTS_GENERATOR_*

HD163296 = "HD163296_CO_2_1.fits"


@pytest.fixture
def hd163296(data_dir: Path) -> None:
    """HD163296_CO_2_1.fits: 432x432, 115 channels (the suite uses 73..114), one Stokes."""
    data = np.random.default_rng(163).normal(0.3, 0.3, (1, 115, 432, 432)).astype(np.float32)
    write_fits(data_dir / HD163296, data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))


def moments(file_id: int, region_id: int, which: list[int], keep: bool = False) -> pb.MomentRequest:
    return pb.MomentRequest(file_id=file_id, region_id=region_id, axis=pb.MomentAxis.SPECTRAL, keep=keep,
                            mask=pb.MomentMask.Include, moments=which,
                            pixel_range=pb.FloatBounds(min=0.1, max=1.0), spectral_range=pb.IntBounds(min=73, max=114))


async def moment_reply(client: CartaClient, message: pb.MomentRequest) -> tuple[pb.MomentResponse, list]:
    """MOMENT_REQUEST; its response and everything that arrived before it."""
    request_id = await client.send(message)
    log = await client.collect_until(
        lambda e: e.event_type == E.MOMENT_RESPONSE and e.request_id == request_id, timeout=120)
    return log[-1].message, log[:-1]


def of(log: list, kind: int) -> list:
    return [e.message for e in log if e.event_type == kind]


async def test_moments_generator_exception(url: str, hd163296: None) -> None:
    """Region -1, moments [1, 0, 2] then [0, 1] (keep false): each answered after one
    REGION_HISTOGRAM_DATA per moment image and (the second) at least one MOMENT_PROGRESS;
    the new images serve tiles and the cursor."""
    async with open_client(url) as client:
        await client.register()
        await open_image(client, HD163296)
        response, before = await moment_reply(client, moments(0, -1, [1, 0, 2]))
        assert response.success and len(response.open_file_acks) == 3
        assert len(of(before, E.REGION_HISTOGRAM_DATA)) == 3

        response, before = await moment_reply(client, moments(0, -1, [0, 1]))
        histograms = of(before, E.REGION_HISTOGRAM_DATA)
        assert len(histograms) == 2 and len(of(before, E.MOMENT_PROGRESS)) > 0
        assert response.success and len(response.open_file_acks) == 2
        assert all(ack.success for ack in response.open_file_acks)
        file_ids = [h.file_id for h in histograms]
        assert file_ids == [ack.file_id for ack in response.open_file_acks]

        await tile_stream(client, file_ids[1], [0])
        await client.send(pb.SetCursor(file_id=file_ids[1], point=pb.Point(x=218, y=218)))
        profile = (await client.expect(pb.SpatialProfileData)).message
        assert profile.file_id == file_ids[1]
        assert await client.ping() == "PONG"


async def test_moments_generator_cancel(url: str, hd163296: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """File id 200, all 13 moments, STOP_MOMENT_CALC after the fifth MOMENT_PROGRESS: no
    more messages within 500 ms after the response (success, cancel, no acks); then
    moment 12 alone gives '<name>.moment.minimum_coord', 432x432, 4 dimensions."""
    from carta_trio.actors import moments as moments_actor

    slow_down(monkeypatch, moments_actor, "compute_chunk", 0.1)
    async with open_client(url) as client:
        await client.register()
        await open_image(client, HD163296, file_id=200)
        request_id = await client.send(moments(200, 0, list(range(13))))
        progress = []
        while len(progress) < 5:
            envelope = await client.receive(timeout=60)
            assert envelope.event_type != E.MOMENT_RESPONSE, "answered before 5 MOMENT_PROGRESS"
            if envelope.event_type == E.MOMENT_PROGRESS:
                progress.append(envelope.message)
        await client.send(pb.StopMomentCalc(file_id=200))
        assert all(p.progress < 1.0 for p in progress)
        reply = (await client.collect_until(
            lambda e: e.event_type == E.MOMENT_RESPONSE and e.request_id == request_id, timeout=30))[-1].message
        assert await messages_for(client, 0.5) == []
        assert (reply.success, reply.cancel, len(reply.open_file_acks)) == (True, True, 0)

        monkeypatch.undo()
        response, _ = await moment_reply(client, moments(200, 0, [12]))
        assert response.success
        ack = response.open_file_acks[0]
        assert ack.file_info.name == "HD163296_CO_2_1.fits.moment.minimum_coord"
        extended = ack.file_info_extended
        assert (extended.height, extended.width, extended.dimensions, extended.depth, extended.stokes) == (
            432, 432, 4, 1, 1)


async def test_moments_generator_save(url: str, hd163296: None, data_dir: Path) -> None:
    """Moments [0, 1] of region 0, then each saved as FITS and as CASA under the suite's
    names: every SAVE_FILE_ACK succeeds and names the moment image's file id."""
    (data_dir / "tmp").mkdir()
    async with open_client(url) as client:
        await client.register()
        await open_image(client, HD163296)
        response, before = await moment_reply(client, moments(0, 0, [0, 1]))
        file_ids = [h.file_id for h in of(before, E.REGION_HISTOGRAM_DATA)]
        assert len(file_ids) == 2 and response.success and len(response.open_file_acks) == 2
        assert all(ack.success for ack in response.open_file_acks)
        for suffix, kind in ((".fits", pb.FileType.FITS), (".image", pb.FileType.CASA)):
            for file_id, name in zip(file_ids, ("average", "integrated")):
                ack = await client.request(pb.SaveFile(
                    file_id=file_id, output_file_directory="tmp",
                    output_file_name=f"HD163296_CO_2_1.fits.moment.{name}{suffix}", output_file_type=kind),
                    timeout=60)
                assert ack.file_id == file_id and ack.success, ack.message


# ------------------------------------------------------------------ PV_GENERATOR_*, PV_PREVIEW_CANCEL
#
# The suite's dev branch expects the PV image as file id 1 (then 2): backend PR #1322
# (February 2024, after v4.1.0) gave generated images the next unused file id. v4.1.0,
# and we, use (file_id + 1) * -1000 - N; these replays take the id from the ack.

def line_region(points: list[tuple[float, float]], rotation: float) -> pb.SetRegion:
    return pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
        region_type=pb.RegionType.LINE, control_points=[pb.Point(x=x, y=y) for x, y in points], rotation=rotation))


async def pv_setup(client: CartaClient, name: str, points: list[tuple[float, float]], rotation: float) -> None:
    """Steps 1-4 of the PV tests: open, cursor, tile 0, spatial requirements, the line (id 1)."""
    await client.register()
    await open_image(client, name)
    await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
    await client.expect(pb.SpatialProfileData)
    await tile_stream(client, 0, [0])
    await client.send(pb.SetSpatialRequirements(file_id=0, region_id=0, spatial_profiles=[
        pb.SetSpatialRequirements.SpatialConfig(coordinate="x", mip=1),
        pb.SetSpatialRequirements.SpatialConfig(coordinate="y", mip=1)]))
    await client.expect(pb.SpatialProfileData)
    ack = await client.request(line_region(points, rotation))
    assert (ack.region_id, ack.success) == (1, True)


async def pv_reply(client: CartaClient, message: pb.PvRequest, timeout: float = 60) -> tuple[pb.PvResponse, list]:
    request_id = await client.send(message)
    log = await client.collect_until(
        lambda e: e.event_type == E.PV_RESPONSE and e.request_id == request_id, timeout=timeout)
    return log[-1].message, log[:-1]


def tile_layout(batch: list) -> list[tuple[int, int, int, int]]:
    """(layer, x, width, height) of the tiles of a ``Stream(RasterTileData, n + 2)``, by x."""
    return sorted((t.tiles[0].layer, t.tiles[0].x, t.tiles[0].width, t.tiles[0].height)
                  for t in batch if isinstance(t, pb.RasterTileData))


async def test_pv_generator_cancel(url: str, hd163296: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """STOP_PV_CALC after the third PV_PROGRESS: the response is a failure containing 'PV
    image generator cancelled' (or a success); the same request again succeeds after
    exactly one REGION_HISTOGRAM_DATA; the PV image (401 x channels) serves the cursor
    and tiles 16777216/16777217 of widths 256 and 145."""
    from carta_trio.actors import pv as pv_actor

    async with open_client(url) as client:
        await pv_setup(client, HD163296, [(79, 77), (362, 360)], 135)
        slow_down(monkeypatch, pv_actor, "read_box_spectra", 0.2)
        monkeypatch.setattr(pv_actor, "box_groups", lambda cut, nchan: [(i, i + 1) for i in range(len(cut))])
        request = pb.PvRequest(file_id=0, region_id=1, width=3)
        request_id = await client.send(request)
        progress = []
        while len(progress) < 3:
            envelope = await client.receive(timeout=60)
            assert envelope.event_type != E.PV_RESPONSE, "answered before 3 PV_PROGRESS"
            if envelope.event_type == E.PV_PROGRESS:
                progress.append(envelope.message)
        await client.send(pb.StopPvCalc(file_id=0))
        log = await client.collect_until(
            lambda e: e.event_type == E.PV_RESPONSE and e.request_id == request_id, timeout=30)
        response = log[-1].message
        assert response.success or "PV image generator cancelled" in response.message
        assert response.cancel and not response.success

        monkeypatch.undo()
        quiet = await messages_for(client, 0.5)
        response, before = await pv_reply(client, request)
        assert response.success
        assert len(of(quiet + before, E.REGION_HISTOGRAM_DATA)) == 1
        pv_id = response.open_file_ack.file_id
        assert of(before, E.REGION_HISTOGRAM_DATA)[0].file_id == pv_id
        assert response.open_file_ack.file_info_extended.width == 401

        # the suite's (175, 125): its image has 250 channels, ours 115
        await client.send(pb.SetCursor(file_id=pv_id, point=pb.Point(x=175, y=100)))
        assert (await client.expect(pb.SpatialProfileData)).message.file_id == pv_id
        batch = await tile_stream(client, pv_id, [16777216, 16777217])
        assert tile_layout(batch) == [(1, 0, 256, 115), (1, 1, 145, 115)]


async def test_pv_generator_nan(url: str, m17: None) -> None:
    """A cut from x = -54 to 206 (partly off the image): the PV image keeps its whole
    length (261 pixels; tiles of widths 256 and 5, height = channels), one histogram
    before the response; the cursor on the PV image answers with its file id: at x = 260
    NaN (the offset axis runs from the second point back, as the reference's: 260 is
    x = -54, off the image), at x = 64 a value."""
    async with open_client(url) as client:
        await pv_setup(client, "M17_SWex.fits", [(-54, 325), (206, 325)], 90)
        response, before = await pv_reply(client, pb.PvRequest(file_id=0, region_id=1, width=3))
        assert response.success and len(of(before, E.REGION_HISTOGRAM_DATA)) == 1
        pv_id = response.open_file_ack.file_id
        assert response.open_file_ack.file_info_extended.width == 261
        batch = await tile_stream(client, pv_id, [16777216, 16777217])
        assert tile_layout(batch) == [(1, 0, 256, 25), (1, 1, 5, 25)]
        await client.send(pb.SetCursor(file_id=pv_id, point=pb.Point(x=260, y=11)))
        off = (await client.expect(pb.SpatialProfileData)).message
        assert off.file_id == pv_id and np.isnan(off.value)
        await client.send(pb.SetCursor(file_id=pv_id, point=pb.Point(x=64, y=8)))
        on = (await client.expect(pb.SpatialProfileData)).message
        assert on.file_id == pv_id and np.isfinite(on.value)


@pytest.fixture
def gaussian_cutted(data_dir: Path) -> None:
    """Gaussian-cutted.fits: 16 channels (the PV height the suite expects)."""
    data = np.random.default_rng(5).normal(0, 1, (16, 300, 900)).astype(np.float32)
    write_fits(data_dir / "Gaussian-cutted.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))


async def test_pv_generator_wide(url: str, gaussian_cutted: None) -> None:
    """Two cuts, two PV requests (keep false): each answered after one histogram of the
    PV image (progress 1, region -1), named 'Gaussian-cutted_pv.fits', 16 high. (The
    widths 182 and 94 come from the real image's all-sky WCS and are not checked.)"""
    async with open_client(url) as client:
        await pv_setup(client, "Gaussian-cutted.fits", [(74, 190), (164, 190)], 90)
        for region_id, points in ((1, None), (2, [(769, 190), (859, 190)])):
            if points is not None:
                ack = await client.request(line_region(points, 90))
                assert (ack.region_id, ack.success) == (region_id, True)
            response, before = await pv_reply(client, pb.PvRequest(file_id=0, region_id=region_id, width=3))
            histogram = of(before, E.REGION_HISTOGRAM_DATA)[0]
            ack = response.open_file_ack
            assert (histogram.file_id, histogram.progress, histogram.region_id) == (ack.file_id, 1, -1)
            assert response.success and ack.file_info.name == "Gaussian-cutted_pv.fits"
            assert ack.file_info_extended.height == 16


@pytest.fixture
def s255(data_dir: Path) -> None:
    """S255_IR_sci.spw25.cube.I.pbcor.fits, smaller than the real one (401 channels)."""
    data = np.random.default_rng(255).normal(0, 1, (401, 96, 96)).astype(np.float32)
    write_fits(data_dir / "S255_IR_sci.spw25.cube.I.pbcor.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))


async def test_pv_preview_cancel(url: str, s255: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PV preview, cancelled (STOP_PV_CALC and STOP_PV_PREVIEW) at its first
    PV_PROGRESS (progress < 1): the response is a failure containing 'PV image preview
    cancelled' (or a success)."""
    from carta_trio.actors import pv_preview

    slow_down(monkeypatch, pv_preview, "_load_groups", 0.2)
    monkeypatch.setattr(pv_preview, "CHUNK_BYTES", 96 * 96 * 4 * 4 * 8)
    async with open_client(url) as client:
        await client.register()
        await open_image(client, "S255_IR_sci.spw25.cube.I.pbcor.fits")
        await tile_stream(client, 0, [0])
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
        await client.expect(pb.SpatialProfileData)
        ack = await client.request(line_region([(260, 287), (1613, 1640)], 135))
        assert (ack.region_id, ack.success) == (1, True)
        request_id = await client.send(pb.PvRequest(
            file_id=0, region_id=1, width=5, keep=False, reverse=False,
            spectral_range=pb.IntBounds(min=0, max=400), preview_settings=pb.PvPreviewSettings(
                animation_compression_quality=9, compression_type=ZFP, image_compression_quality=11,
                preview_id=0, rebin_xy=4, rebin_z=4, region_id=-1)))
        first = (await client.expect(pb.PvProgress, timeout=30)).message
        await client.send(pb.StopPvCalc(file_id=0))
        await client.send(pb.StopPvPreview(preview_id=0))
        assert first.progress < 1
        log = await client.collect_until(
            lambda e: e.event_type == E.PV_RESPONSE and e.request_id == request_id, timeout=30)
        response = log[-1].message
        assert response.success or "PV image preview cancelled" in response.message


# ------------------------------------------------------------------ IMAGE_FITTING_BAD, IMAGE_FITTING_CANCEL

def component(amp: float, x: float, y: float, fx: float, fy: float, pa: float) -> pb.GaussianComponent:
    return pb.GaussianComponent(amp=amp, center=pb.DoublePoint(x=x, y=y), fwhm=pb.DoublePoint(x=fx, y=fy), pa=pa)


def fitting(region_id: int, guesses: list[pb.GaussianComponent], fixed: list[bool]) -> pb.FittingRequest:
    return pb.FittingRequest(file_id=0, region_id=region_id, initial_values=guesses, fixed_params=fixed,
                             create_model_image=False, create_residual_image=False, solver=1, offset=0)


@pytest.fixture
def three_component(data_dir: Path) -> None:
    """ThreeComponent-inclined-2d-gaussian.fits: three inclined Gaussians on 650x650."""
    from tests.test_protocol_fitting import gaussian

    shape = (650, 650)
    data = (gaussian(shape, 324.35, 324.35, 10.0, 29.4, 117.5, 0.53) + gaussian(shape, 480, 150, 4.0, 20, 60, 30)
            + gaussian(shape, 150, 480, 6.0, 40, 25, 120))
    data += np.random.default_rng(3).normal(0, 0.01, shape)
    write_fits(data_dir / "ThreeComponent-inclined-2d-gaussian.fits", data.astype(np.float32),
               wcs_header(("RA---SIN", "DEC--SIN")))


async def test_image_fitting_bad(url: str, three_component: None) -> None:
    """Two components from poor guesses (offset fixed): a success whose log begins
    'Gaussian fitting with 2 component'; one component far outside the image: success,
    or a failure whose message is exactly 'fit did not converge' (the suite compares
    the whole text)."""
    async with open_client(url) as client:
        await client.register()
        await client.send(pb.CloseFile(file_id=0))
        await open_image(client, "ThreeComponent-inclined-2d-gaussian.fits")
        await tile_stream(client, 0, [0])
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
        await client.expect(pb.SpatialProfileData)
        first = await client.request(fitting(-1, [component(1, 164, 280, 100, 5, 270), component(1, 220, 270, 30, 100, 45)],
                                             [False] * 12 + [True]), timeout=120)
        assert first.success, first.message
        assert "Gaussian fitting with 2 component" in first.log
        assert len(first.result_values) == 2 and len(first.result_errors) == 2
        second = await client.request(fitting(-1, [component(10, 1000, 280, 100, 5, 270)], [False] * 6 + [True]),
                                      timeout=120)
        assert second.success or second.message == "fit did not converge", second.message


@pytest.fixture
def m17_gaussian(data_dir: Path) -> None:
    """M17_SWex-channel0-addOneGaussian.fits: 640x800, one Gaussian near (320, 400) on noise."""
    from tests.test_protocol_fitting import gaussian

    shape = (800, 640)
    data = gaussian(shape, 319.5, 399.5, 10.0, 170.6, 41.5, 142.2) + np.random.default_rng(7).normal(0, 0.5, shape)
    write_fits(data_dir / "M17_SWex-channel0-addOneGaussian.fits", data.astype(np.float32),
               wcs_header(("RA---SIN", "DEC--SIN")))


async def test_image_fitting_cancel(url: str, m17_gaussian: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fit in a rectangle, STOP_FITTING at a FITTING_PROGRESS: the response is a success
    or a failure containing 'task cancelled'; the same request again completes (log
    'Gaussian fitting with 1 component'). One FITTING_PROGRESS per solver iteration, as
    the reference; the suite cancels at the tenth, which needs a fit of at least ten
    iterations: the real image's is, this synthetic one converges in 7 (8 progress
    messages), so here the cancel is sent at the fifth."""
    async with open_client(url) as client:
        await client.register()
        await client.send(pb.CloseFile(file_id=0))
        await open_image(client, "M17_SWex-channel0-addOneGaussian.fits")
        await tile_stream(client, 0, [0])
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
        await client.expect(pb.SpatialProfileData)
        ack = await client.request(pb.SetRegion(file_id=0, region_id=1, region_info=pb.RegionInfo(
            region_type=pb.RegionType.RECTANGLE, control_points=[pb.Point(x=324, y=398), pb.Point(x=270, y=270)])))
        assert (ack.region_id, ack.success) == (1, True)
        request = fitting(1, [component(10, 320, 400, 100, 50, 135)], [False] * 6 + [True])

        request_id = await client.send(request)
        count = 0
        while count < 5:
            envelope = await client.receive(timeout=60)
            assert envelope.event_type != E.FITTING_RESPONSE, f"answered after {count} FITTING_PROGRESS"
            count += envelope.event_type == E.FITTING_PROGRESS
        await client.send(pb.StopFitting(file_id=0))
        log = await client.collect_until(
            lambda e: e.event_type == E.FITTING_RESPONSE and e.request_id == request_id, timeout=30)
        response = log[-1].message
        assert response.success or "task cancelled" in response.message

        request_id = await client.send(request)
        log = await client.collect_until(
            lambda e: e.event_type == E.FITTING_RESPONSE and e.request_id == request_id, timeout=120)
        assert len(of(log, E.FITTING_PROGRESS)) >= 5
        response = log[-1].message
        assert response.success, response.message
        assert "Gaussian fitting with 1 component" in response.log


# ------------------------------------------------------------------ MATCH_STATS

STATS_TYPES = [pb.StatsType.NumPixels, pb.StatsType.Sum, pb.StatsType.FluxDensity, pb.StatsType.Mean, pb.StatsType.RMS,
               pb.StatsType.Sigma, pb.StatsType.SumSq, pb.StatsType.Min, pb.StatsType.Max]


@pytest.fixture
def hd163296_pair(data_dir: Path) -> None:
    """HD163296_CO_2_1.fits and the same data as the CASA image HD163296_CO_2_1.image."""
    from tests.image_factory import write_casa

    data = make_cube((1, 4, 432, 432), seed=163)
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    write_fits(data_dir / HD163296, data, header)
    write_casa(data_dir / "HD163296_CO_2_1.image", data, header)


async def test_match_stats(url: str, hd163296_pair: None) -> None:
    """Regions 1-4 (rectangle, rotated rectangle, ellipse, polygon; ids given by the
    client) set on file 100 and asked for on 100 and 101 (the other file's requirement
    cleared first): each request's next REGION_STATS_DATA is for that file and region,
    and the two images' statistics agree."""
    regions = [(pb.RegionType.RECTANGLE, 0, [(250, 200), (300, 300)]),
               (pb.RegionType.RECTANGLE, 25, [(350, 350), (100, 150)]),
               (pb.RegionType.ELLIPSE, 25, [(150, 150), (60, 100)]),
               (pb.RegionType.POLYGON, 0, [(100, 150), (400, 400), (300, 30)])]
    async with open_client(url) as client:
        await client.register()
        await client.send(pb.CloseFile(file_id=-1))
        for file_id, name in ((100, HD163296), (101, "HD163296_CO_2_1.image")):
            ack = await client.request(pb.OpenFile(directory="", file=name, hdu="", file_id=file_id), timeout=30)
            assert ack.success, ack.message
            await client.expect(pb.RegionHistogramData, timeout=30)
        for file_id in (100, 101):
            await client.send(pb.SetCursor(file_id=file_id, point=pb.Point(x=200, y=200)))
            await client.expect(pb.SpatialProfileData)
        for region_id, (kind, rotation, points) in enumerate(regions, start=1):
            ack = await client.request(pb.SetRegion(file_id=100, region_id=region_id, region_info=pb.RegionInfo(
                region_type=kind, rotation=rotation, control_points=[pb.Point(x=x, y=y) for x, y in points])))
            assert (ack.region_id, ack.success) == (region_id, True)

        stats: dict[tuple[int, int], dict[int, float]] = {}
        for file_id, other in ((100, 101), (101, 100)):
            for region_id in range(1, 5):
                await client.send(pb.SetStatsRequirements(file_id=other, region_id=region_id, stats_configs=[]))
                await client.send(pb.SetStatsRequirements(file_id=file_id, region_id=region_id, stats_configs=[
                    pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=STATS_TYPES)]))
                data = (await client.expect(pb.RegionStatsData, timeout=30)).message
                assert (data.file_id, data.region_id) == (file_id, region_id)
                assert len(data.statistics) > 0
                stats[file_id, region_id] = {s.stats_type: s.value for s in data.statistics}
        for region_id in range(1, 5):
            left, right = stats[100, region_id], stats[101, region_id]
            for kind in STATS_TYPES:
                if np.isnan(left[kind]) or np.isnan(right[kind]):
                    assert np.isnan(left[kind]) and np.isnan(right[kind]), (region_id, kind)
                else:
                    assert left[kind] == pytest.approx(right[kind], rel=1e-6, abs=1e-4), (region_id, kind)
