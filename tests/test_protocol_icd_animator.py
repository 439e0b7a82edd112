"""Replays of the CARTA protocol suite's animator tests (ICD-RxJS, branch dev).

ANIMATOR_PLAYBACK, ANIMATOR_CONTOUR, ANIMATOR_CONTOUR_MATCH, ANIMATOR_SWAPPED_IMAGES,
ANIMATOR_DATA_STREAM and ANIMATOR_NAVIGATION send exactly these messages (ids, frames, rates, tile codes, flow control) and check
exactly these things. The suite's QA images are replaced by synthetic ones of the same
shape (M17_SWex: 640x800x25; HH211_IQU: 1049x1049, 5 channels, I/Q/U; here with the
usual FITS axis order) and the contour bounds by the synthetic image's size.

The suite reads its streams "hot": ``Stream(T, n)`` collects the next ``n`` messages
of a type arriving after the call (RASTER_TILE_DATA with RASTER_TILE_SYNC), and a
``take(1)`` subscription the next one arriving after it subscribed; :class:`Hot`
reproduces that over the message log in arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import wcs_header, write_fits

E = pb.EventType
ZFP = pb.CompressionType.ZFP
TILES = {E.RASTER_TILE_DATA, E.RASTER_TILE_SYNC}

PLAYBACK_TILES = [33558529, 33558528, 33562625, 33554433, 33562624, 33558530, 33554432, 33562626, 33554434,
                  33566721, 33566720, 33566722]
VIEW_TILES = [33554432, 33558528, 33562624, 33566720, 33554433, 33558529, 33562625, 33566721, 33554434, 33558530,
              33562626, 33566722]


@dataclass
class Sub:
    """A ``take(n)`` subscription: the first ``n`` matches at or after ``start``."""

    types: set[int]
    start: int
    n: int = 1


class Hot:
    """The suite's hot streams over one client's arrival-ordered log."""

    def __init__(self, client: CartaClient) -> None:
        self.client = client
        self.log: list = []
        self.cursor = 0

    async def _at(self, index: int):  # type: ignore[no-untyped-def]
        while len(self.log) <= index:
            self.log.append(await self.client.receive(timeout=30))
        return self.log[index]

    async def stream(self, types: set[int], n: int) -> list:
        """``await Stream(T, n)``: the next ``n`` matches after everything consumed so far."""
        out, i = [], self.cursor
        while len(out) < n:
            envelope = await self._at(i)
            if envelope.event_type in types:
                out.append(envelope.message)
            i += 1
        self.cursor = i
        return out

    def subscribe(self, types: set[int], n: int = 1) -> Sub:
        return Sub(types, self.cursor, n)

    async def resolve(self, sub: Sub) -> list:
        out, i = [], sub.start
        while len(out) < sub.n:
            envelope = await self._at(i)
            if envelope.event_type in sub.types:
                out.append(envelope.message)
            i += 1
        return out

    async def request(self, message):  # type: ignore[no-untyped-def]
        """A request and its reply (messages meanwhile stay in the log)."""
        reply_type = {E.START_ANIMATION: E.START_ANIMATION_ACK, E.OPEN_FILE: E.OPEN_FILE_ACK}[
            pb.EventType.Value(_event_name(message))]
        request_id = await self.client.send(message)
        i = len(self.log)
        while True:
            envelope = await self._at(i)
            if envelope.event_type == reply_type and envelope.request_id == request_id:
                return envelope.message
            i += 1

    async def flow(self, file_id: int, channel: int, stokes: int = 0, animation_id: int = 0) -> None:
        await self.client.send(pb.AnimationFlowControl(
            file_id=file_id, animation_id=animation_id,
            received_frame=pb.AnimationFrame(channel=channel, stokes=stokes)))


def _event_name(message) -> str:  # type: ignore[no-untyped-def]
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(message).__name__).upper()


def frame(channel: int, stokes: int = 0) -> pb.AnimationFrame:
    return pb.AnimationFrame(channel=channel, stokes=stokes)


def tiles(codes: list[int], quality: float = 9, file_id: int = 0) -> pb.AddRequiredTiles:
    return pb.AddRequiredTiles(file_id=file_id, tiles=codes, compression_type=ZFP, compression_quality=quality)


def animation(start: int, first: int, last: int, delta: int, *, codes: list[int], rate: int = 0, looping: bool = False,
              reverse: bool = False, stokes=(0, 0, 0, 0), **extra) -> pb.StartAnimation:  # type: ignore[no-untyped-def]
    return pb.StartAnimation(
        file_id=0, start_frame=frame(start, stokes[0]), first_frame=frame(first, stokes[1]),
        last_frame=frame(last, stokes[2]), delta_frame=frame(delta, stokes[3]), frame_rate=rate, looping=looping,
        reverse=reverse, required_tiles=tiles(codes), **extra)


def smooth_cube(depth: int, height: int, width: int, seed: int) -> np.ndarray:
    """Gaussian blobs drifting with the channel, values about -1..1 (few contours)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cube = np.empty((depth, height, width), dtype=np.float32)
    centres = rng.uniform(0.2, 0.8, (3, 2))
    for z in range(depth):
        plane = np.zeros((height, width), dtype=np.float32)
        for k, (cy, cx) in enumerate(centres):
            plane += (-1) ** k * np.exp(-(((x - cx * width - z) / (width / 8)) ** 2 + ((y - cy * height) / (height / 8)) ** 2))
        cube[z] = plane
    return cube


@pytest.fixture
def m17(data_dir: Path) -> None:
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"))
    write_fits(data_dir / "M17_SWex.fits", smooth_cube(25, 800, 640, seed=17), header)


async def opened(hot: Hot, name: str, file_id: int = 0) -> None:
    await hot.client.register()
    ack = await hot.request(pb.OpenFile(directory="", file=name, file_id=file_id))
    assert ack.success, ack.message
    await hot.stream({E.REGION_HISTOGRAM_DATA}, 1)


async def test_animator_playback(carta_url: str, m17: None) -> None:
    """ANIMATOR_PLAYBACK steps 1-7 with its numArray2..numArray7."""
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await opened(hot, "M17_SWex.fits")
        await client.send(tiles(PLAYBACK_TILES))
        await hot.stream(TILES, 14)

        # Step 2: forwards from 1 at 5 fps, looping; stop at 10
        ack = await hot.request(animation(1, 0, 24, 1, codes=VIEW_TILES, rate=5, looping=True))
        assert ack.success
        await client.send(tiles(VIEW_TILES))
        sequence, histograms = [], []
        for i in range(9):
            histograms.append(hot.subscribe({E.REGION_HISTOGRAM_DATA}))
            batch = await hot.stream(TILES, 14)
            sequence.append(batch[0].channel)
            await hot.flow(0, i + 1)
        for _ in range(2):
            await hot.stream(TILES, 14)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(10)))
        await client.send(pb.SetImageChannels(file_id=0, channel=10, stokes=0, required_tiles=tiles(PLAYBACK_TILES)))
        last = await hot.stream(TILES, 14)
        sequence.append(last[1].channel)
        assert sequence == list(range(1, 11))
        for i, sub in enumerate(histograms):
            assert (await hot.resolve(sub))[0].channel == i + 1

        # Step 3: backwards from 19 to 9, looping; the flow acks count 1, 2, 3 (never waits)
        await hot.request(animation(19, 9, 19, -1, codes=VIEW_TILES, rate=5, looping=True))
        await client.send(tiles(VIEW_TILES))
        sequence = []
        for i in range(13):
            batch = await hot.stream(TILES, 14)
            sequence.append(batch[0].channel)
            await hot.flow(0, i + 1)
        for _ in range(2):
            await hot.stream(TILES, 14)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(18)))
        await client.send(pb.SetImageChannels(file_id=0, channel=18, stokes=0,
                                              required_tiles=tiles(VIEW_TILES, quality=11)))
        await hot.stream(TILES, 14)
        assert sequence == [19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 19, 18]
        await _drain(hot)

        # Step 4: forwards from 9 to 19, looping
        await hot.request(animation(9, 9, 19, 1, codes=VIEW_TILES, rate=5, looping=True))
        await client.send(tiles(VIEW_TILES))
        sequence = []
        for _ in range(13):
            batch = await hot.stream(TILES, 14)
            sequence.append(batch[0].channel)
            await hot.flow(0, batch[0].channel)
        for _ in range(2):
            await hot.stream(TILES, 14)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(10)))
        await client.send(pb.SetImageChannels(file_id=0, channel=10, stokes=0,
                                              required_tiles=tiles(PLAYBACK_TILES, quality=11)))
        await hot.stream(TILES, 14)
        assert sequence == [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 9, 10]
        await _drain(hot)

        # Step 5: round trip 1..24..0..24 with no frame rate (0): paced by flow control only
        await hot.request(animation(1, 0, 24, 1, codes=VIEW_TILES, looping=True, reverse=True))
        await client.send(tiles(VIEW_TILES))
        sequence = []
        for _ in range(3 * 24):
            batch = await hot.stream(TILES, 14)
            sequence.append(batch[0].channel)
            await hot.flow(0, batch[0].channel)
        await hot.stream(TILES, 14)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(23)))
        await client.send(pb.SetImageChannels(file_id=0, channel=23, stokes=0,
                                              required_tiles=tiles(PLAYBACK_TILES, quality=11)))
        last = await hot.stream(TILES, 14)
        sequence.append(last[1].channel)
        assert sequence == [*range(1, 25), *range(23, -1, -1), *range(1, 25), 23]

        # Step 6: backwards by bouncing (method 1) and by a negative delta (method 2)
        for message in (animation(20, 10, 20, 1, codes=VIEW_TILES, rate=5, looping=True, reverse=True),
                        animation(20, 10, 20, -1, codes=VIEW_TILES, rate=5, looping=True)):
            await _drain(hot)
            await hot.request(message)
            await client.send(tiles(VIEW_TILES))
            sequence = []
            for _ in range(10):
                batch = await hot.stream(TILES, 14)
                sequence.append(batch[0].channel)
                await hot.flow(0, batch[0].channel)
            for _ in range(2):
                await hot.stream(TILES, 14)
            await client.send(pb.StopAnimation(file_id=0, end_frame=frame(10)))
            await client.send(pb.SetImageChannels(file_id=0, channel=10, stokes=0, required_tiles=tiles(PLAYBACK_TILES)))
            last = await hot.stream(TILES, 14)
            sequence.append(last[1].channel)
            assert sequence == list(range(20, 9, -1))

        # Step 7: blink between 3 and 10
        await _drain(hot)
        await hot.request(animation(3, 3, 10, 7, codes=VIEW_TILES, rate=5, looping=True))
        await client.send(tiles(VIEW_TILES))
        sequence = []
        for _ in range(11):
            batch = await hot.stream(TILES, 14)
            sequence.append(batch[0].channel)
            await hot.flow(0, batch[0].channel)
        await hot.stream(TILES, 14)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(10)))
        await client.send(pb.SetImageChannels(file_id=0, channel=10, stokes=0, required_tiles=tiles(PLAYBACK_TILES)))
        last = await hot.stream(TILES, 14)
        sequence.append(last[1].channel)
        assert sequence == [3, 10] * 6


async def _drain(hot: Hot) -> None:
    """The suite sleeps between steps; what arrives meanwhile is never read."""
    import trio

    await trio.sleep(0.5)
    while hot.client.buffered:
        hot.log.append(await hot.client.receive(timeout=1))
    hot.cursor = len(hot.log)


def contour_settings(file_id: int, reference: int, width: int, height: int) -> pb.SetContourParameters:
    return pb.SetContourParameters(
        file_id=file_id, reference_file_id=reference,
        image_bounds=pb.ImageBounds(x_min=0, x_max=width, y_min=0, y_max=height), levels=[-0.01, 0.01],
        smoothing_mode=pb.SmoothingMode.GaussianBlur, smoothing_factor=4, decimation_factor=4, compression_level=8,
        contour_chunk_size=100000)


@pytest.fixture
def m17_small(data_dir: Path) -> None:
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"))
    write_fits(data_dir / "M17_SWex.fits", smooth_cube(25, 200, 160, seed=17), header)
    write_fits(data_dir / "M17_SWex.image.fits", smooth_cube(25, 200, 160, seed=18), header)


@pytest.mark.parametrize("case", ["forwards", "backwards"])
async def test_animator_contour(carta_url: str, m17_small: None, case: str) -> None:
    """ANIMATOR_CONTOUR cases 1 and 2: every frame's histogram and two contour messages."""
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await opened(hot, "M17_SWex.fits")
        await client.send(tiles([0], quality=11))
        await hot.stream(TILES, 3)
        await client.send(contour_settings(0, 0, 160, 200))
        await hot.stream({E.CONTOUR_IMAGE_DATA}, 2)
        start_channel = 0 if case == "forwards" else 20
        await client.send(pb.SetImageChannels(file_id=0, channel=start_channel, stokes=0,
                                              required_tiles=tiles([0], quality=11)))
        await hot.stream(TILES, 3)
        if case == "forwards":
            message = animation(1, 0, 24, 1, codes=[0], rate=5)
            frames = list(range(0, 10))
        else:
            message = animation(20, 0, 24, -1, codes=[0], rate=5)
            frames = list(range(20, 9, -1))
        ack = await hot.request(message)
        assert ack.success
        tile_channels, histograms, contours = [], [], []
        for _ in frames:
            await client.send(tiles([0], quality=11))
            histograms.append(hot.subscribe({E.REGION_HISTOGRAM_DATA}))
            contours.append(hot.subscribe({E.CONTOUR_IMAGE_DATA}, 2))
            batch = await hot.stream(TILES, 3)
            tile_channels.append(batch[0].channel)
            await hot.flow(0, batch[0].channel, animation_id=1)
        for _ in range(2):
            await hot.stream(TILES, 3)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(10)))
        await client.send(pb.SetImageChannels(file_id=0, channel=start_channel, stokes=0,
                                              required_tiles=tiles([0], quality=11)))
        await hot.stream(TILES, 3)
        if case == "forwards":
            expected = [index + 1 for index in range(len(frames))]  # from the start frame 1 on
        else:
            expected = [20 - index - 1 for index in range(len(frames))]  # 20 is current: 19 first
        assert tile_channels == expected
        assert [(await hot.resolve(sub))[0].channel for sub in histograms] == expected
        for sub, channel in zip(contours, expected):
            assert [c.channel for c in await hot.resolve(sub)] == [channel, channel]


async def test_animator_contour_match(carta_url: str, m17_small: None) -> None:
    """ANIMATOR_CONTOUR_MATCH: two matched images, contours of both every frame."""
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await opened(hot, "M17_SWex.fits", 0)
        ack = await hot.request(pb.OpenFile(directory="", file="M17_SWex.image.fits", file_id=1))
        assert ack.success
        await hot.stream({E.REGION_HISTOGRAM_DATA}, 1)
        await client.send(tiles([0], quality=11))
        await hot.stream(TILES, 3)
        await client.send(contour_settings(0, 1, 160, 200))
        await hot.stream({E.CONTOUR_IMAGE_DATA}, 2)
        await client.send(contour_settings(1, 1, 160, 200))
        await hot.stream({E.CONTOUR_IMAGE_DATA}, 2)
        matched = {1: pb.MatchedFrameList(frame_numbers=list(range(25)))}
        first_index = len(hot.log)
        ack = await hot.request(animation(1, 0, 24, 1, codes=[0], rate=5, matched_frames=matched))
        assert ack.success
        sequence = []
        for _ in range(10):
            await client.send(tiles([0], quality=11))
            batch = await hot.stream(TILES, 3)
            sequence.append(batch[0].channel)
            await hot.flow(0, batch[0].channel)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(10)))
        await _drain(hot)
    # The suite collects these with overlapping take(4) subscriptions (file 1's contours
    # of a frame come after file 0's end sync, here as in the reference's per-file loop);
    # its intent, checked on each message once: both files' contours for every frame.
    contour_data = [e.message for e in hot.log[first_index:] if e.event_type == E.CONTOUR_IMAGE_DATA]
    assert sequence == list(range(1, 11))
    for channel in range(1, 11):
        this = [c for c in contour_data if c.progress == 1 and c.channel == channel]
        assert len(this) == 4 and sorted(c.file_id for c in this) == [0, 0, 1, 1]
    assert all(c.reference_file_id == 1 for c in contour_data)


@pytest.fixture
def hh211(data_dir: Path) -> None:
    rng = np.random.default_rng(211)
    data = rng.normal(0, 1, (3, 5, 1049, 1049)).astype(np.float32)
    data[0] += 5  # Stokes I above Q and U, so the computed polarizations are finite
    write_fits(data_dir / "HH211_IQU.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))


async def test_animator_swapped_images(carta_url: str, hh211: None) -> None:
    """ANIMATOR_SWAPPED_IMAGES: channel then Stokes animation (with computed Stokes
    14/16/17); each frame's render histogram matches its tiles."""
    layer2 = [50339842, 50339841, 50335746, 50335745, 50343938, 50339843, 50343937, 50335747, 50339840, 50331650,
              50335744, 50331649, 50343939, 50343936, 50331651, 50331648, 50348034, 50339844, 50348033, 50335748,
              50348035, 50343940, 50348032, 50331652, 50348036]
    stokes_indices = [0, 1, 2, 14, 16, 17]
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await opened(hot, "HH211_IQU.fits")
        await client.send(tiles(layer2, quality=11))
        batch = await hot.stream(TILES, len(layer2) + 2)
        assert batch[-1].end_sync
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=0, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="Ix", mip=1),
            pb.SetSpatialRequirements.SpatialConfig(coordinate="Iy", mip=1)]))
        # Step 3: channels 0..4, looping (0 is current: nothing for it)
        ack = await hot.request(animation(0, 0, 4, 1, codes=layer2, rate=5, looping=True,
                                          stokes_indices=stokes_indices))
        assert ack.success and ack.animation_id == 1
        await client.send(tiles(layer2))
        sequence, subs = [], []
        for _ in range(6):
            subs.append(hot.subscribe({E.REGION_HISTOGRAM_DATA}))
            batch = await hot.stream(TILES, len(layer2) + 2)
            assert batch[0].animation_id == 1
            sequence.append(batch[0].channel)
            await hot.flow(0, batch[0].channel)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(2)))
        await client.send(pb.SetImageChannels(file_id=0, channel=2, stokes=0, required_tiles=tiles(layer2)))
        subs.append(hot.subscribe({E.REGION_HISTOGRAM_DATA}))
        last = await hot.stream(TILES, len(layer2) + 2)
        sequence.append(last[1].channel)
        assert sequence == [1, 2, 3, 4, 0, 1, 2]
        for sub, channel in zip(subs, sequence):
            assert (await hot.resolve(sub))[0].channel == channel
        await _drain(hot)
        # Step 4: Stokes 0..5 through the index list, looping
        ack = await hot.request(animation(0, 0, 0, 0, codes=layer2, rate=5, looping=True, stokes=(0, 0, 5, 1),
                                          stokes_indices=stokes_indices))
        assert ack.success and ack.animation_id == 2
        await client.send(tiles(layer2))
        stokes_sequence, subs = [], []
        for _ in range(9):
            subs.append(hot.subscribe({E.REGION_HISTOGRAM_DATA}))
            batch = await hot.stream(TILES, len(layer2) + 2)
            assert batch[0].animation_id == 2
            stokes_sequence.append(batch[0].stokes)
            await hot.flow(0, 0, stokes=batch[0].stokes)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(0, 14)))
        await client.send(pb.SetImageChannels(file_id=0, channel=0, stokes=14, required_tiles=tiles(layer2)))
        subs.append(hot.subscribe({E.REGION_HISTOGRAM_DATA}))
        last = await hot.stream(TILES, len(layer2) + 2)
        stokes_sequence.append(last[1].stokes)
    assert stokes_sequence[:9] == [0, 1, 2, 14, 16, 17, 0, 1, 2]
    for sub, stokes in zip(subs, stokes_sequence):
        assert (await hot.resolve(sub))[0].stokes == stokes


async def test_animator_data_stream(carta_url: str, m17_small: None) -> None:
    """ANIMATOR_DATA_STREAM: after a channel change the image histogram, image stats and
    the cursor's spatial profile all arrive for the new channel."""
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await opened(hot, "M17_SWex.fits")
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=79, y=94)))
        await hot.stream({E.SPATIAL_PROFILE_DATA}, 1)
        await client.send(pb.SetImageChannels(file_id=0, channel=0, stokes=0, required_tiles=tiles([0], quality=11)))
        await hot.stream(TILES, 3)
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=0, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="x"),
            pb.SetSpatialRequirements.SpatialConfig(coordinate="y")]))
        await hot.stream({E.SPATIAL_PROFILE_DATA}, 1)
        stats_types = [pb.StatsType.NumPixels, pb.StatsType.Sum, pb.StatsType.FluxDensity, pb.StatsType.Mean,
                       pb.StatsType.RMS, pb.StatsType.Sigma, pb.StatsType.SumSq, pb.StatsType.Min, pb.StatsType.Max,
                       pb.StatsType.Extrema]
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=-1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=stats_types)]))
        await hot.stream({E.REGION_STATS_DATA}, 1)
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-1, histograms=[
            pb.HistogramConfig(channel=-1, num_bins=-1)]))
        await hot.stream({E.REGION_HISTOGRAM_DATA}, 1)
        await client.send(pb.SetImageChannels(file_id=0, channel=12, stokes=0, required_tiles=tiles([0], quality=11)))
        histogram = hot.subscribe({E.REGION_HISTOGRAM_DATA})
        stats = hot.subscribe({E.REGION_STATS_DATA})
        spatial = hot.subscribe({E.SPATIAL_PROFILE_DATA})
        last = await hot.stream(TILES, 3)
        assert last[1].channel == 12
        (h,) = await hot.resolve(histogram)
        (s,) = await hot.resolve(stats)
        (p,) = await hot.resolve(spatial)
    assert h.region_id == -1 and h.channel == 12
    assert s.region_id == -1 and s.channel == 12
    assert (p.channel, p.x, p.y) == (12, 79, 94)


async def test_animator_navigation(carta_url: str, data_dir: Path, m17_small: None) -> None:
    """ANIMATOR_NAVIGATION: channel and Stokes changes on two images; invalid ones and an
    unknown file get one ERROR_DATA and nothing else."""
    rng = np.random.default_rng(3)
    write_fits(data_dir / "HH211_IQU.fits", (rng.normal(0, 1, (3, 5, 64, 64)) + 2).astype(np.float32),
               wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))
    async with open_client(carta_url) as client:
        hot = Hot(client)
        await client.register()
        await client.send(pb.CloseFile(file_id=-1))
        for file_id, name in ((0, "HH211_IQU.fits"), (1, "M17_SWex.fits")):
            ack = await hot.request(pb.OpenFile(directory="", file=name, file_id=file_id))
            assert ack.success
            await hot.stream({E.REGION_HISTOGRAM_DATA}, 1)
            await client.send(pb.SetImageChannels(file_id=file_id, channel=0, stokes=0,
                                                  required_tiles=tiles([0], 11, file_id)))
            await hot.stream(TILES, 3)
        changes = [(0, 2, 1, (2, 1)), (1, 12, 0, (12, 0)), (0, 100, 3, None), (1, 100, 1, None), (2, 0, 0, None),
                   (0, 0, 0, (0, 0))]
        for file_id, channel, stokes, expected in changes:
            await client.send(pb.SetImageChannels(file_id=file_id, channel=channel, stokes=stokes,
                                                  required_tiles=tiles([0], 11, file_id)))
            if expected is None:
                await hot.stream({E.ERROR_DATA}, 1)
                continue
            histogram = hot.subscribe({E.REGION_HISTOGRAM_DATA})
            batch = await hot.stream(TILES, 3)
            (h,) = await hot.resolve(histogram)
            assert (h.region_id, h.stokes, h.progress, h.channel) == (-1, expected[1], 1.0, expected[0])
            assert len(batch) == 3 and (batch[1].file_id, batch[1].channel, batch[1].stokes) == (file_id, *expected)
