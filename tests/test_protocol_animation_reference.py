"""Animation stepping pinned to the reference (issue 13, points 1-4).

Each test checks the full message sequence (type, file id, channel, animation id,
order) that ``Session::ExecuteAnimationFrame(Inner)`` of the C++ backend v4.1.0
produces: frame rate 0 waits not at all, a bounce repeats its end frame silently,
a start frame that is already current sends nothing, and matched frames are sent in
one fixed order (every file's histogram, then each file's contours and tiles).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import make_cube, wcs_header, write_fits

ZFP = pb.CompressionType.ZFP
E = pb.EventType


def frame(channel: int, stokes: int = 0) -> pb.AnimationFrame:
    return pb.AnimationFrame(channel=channel, stokes=stokes)


def start_message(file_id: int = 0, *, first=(0, 0), start=(0, 0), last=(5, 0), delta=(1, 0), rate: int = 30,
                  looping: bool = False, reverse: bool = False, tiles=(0,), **extra) -> pb.StartAnimation:
    return pb.StartAnimation(
        file_id=file_id, first_frame=frame(*first), start_frame=frame(*start), last_frame=frame(*last),
        delta_frame=frame(*delta), frame_rate=rate, looping=looping, reverse=reverse,
        required_tiles=pb.AddRequiredTiles(file_id=file_id, tiles=list(tiles), compression_type=ZFP,
                                           compression_quality=9),
        **extra,
    )


@pytest.fixture
def cubes(data_dir: Path) -> None:
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"))
    write_fits(data_dir / "cube.fits", make_cube((12, 48, 40), seed=1), header)
    write_fits(data_dir / "other.fits", make_cube((20, 32, 32), seed=2), header)


async def opened(client: CartaClient, name: str, file_id: int = 0, register: bool = True) -> None:
    if register:
        await client.register()
    ack = await client.request(pb.OpenFile(file=name, file_id=file_id))
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData)


def summary(envelope) -> tuple:
    """(type, file id, channel[, animation id / end sync]) of one message."""
    m = envelope.message
    name = E.Name(envelope.event_type)
    if envelope.event_type == E.RASTER_TILE_SYNC:
        return (name, m.file_id, m.channel, m.animation_id, "end" if m.end_sync else "start")
    if envelope.event_type == E.RASTER_TILE_DATA:
        return (name, m.file_id, m.channel, m.animation_id)
    if envelope.event_type == E.CONTOUR_IMAGE_DATA:
        return (name, m.file_id, m.channel)
    if envelope.event_type == E.REGION_HISTOGRAM_DATA:
        return (name, m.file_id, m.channel, m.region_id)
    return (name,)


async def play(client: CartaClient, count: int, *, file_id: int = 0, timeout: float = 10) -> list[tuple]:
    """Messages of ``count`` animation frames of ``file_id`` (each ends with its end
    sync), acknowledged with ANIMATION_FLOW_CONTROL as the frontend does."""
    out: list[tuple] = []
    for _ in range(count):
        taken = await client.collect_until(
            lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync and e.message.file_id == file_id,
            timeout=timeout,
        )
        out.extend(summary(e) for e in taken)
        end = taken[-1].message
        await client.send(pb.AnimationFlowControl(file_id=file_id, received_frame=frame(end.channel, end.stokes),
                                                  animation_id=end.animation_id))
    return out


def frame_messages(file_id: int, channel: int, animation_id: int = 1) -> list[tuple]:
    """One plain animation frame with a one-tile view: histogram, then the tile batch."""
    return [
        ("REGION_HISTOGRAM_DATA", file_id, channel, -1),
        ("RASTER_TILE_SYNC", file_id, channel, animation_id, "start"),
        ("RASTER_TILE_DATA", file_id, channel, animation_id),
        ("RASTER_TILE_SYNC", file_id, channel, animation_id, "end"),
    ]


def channels_of_end_syncs(messages: list[tuple]) -> list[int]:
    return [m[2] for m in messages if m[0] == "RASTER_TILE_SYNC" and m[4] == "end"]


async def test_point1_frame_rate_zero_waits_only_for_flow_control(carta_url: str, cubes: None) -> None:
    """frame_rate 0: no pause between frames (main played 1 frame per second)."""
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        ack = await client.request(start_message(start=(1, 0), last=(11, 0), rate=0))
        assert ack.success and ack.animation_id == 1
        began = time.monotonic()
        messages = await play(client, 8)
        elapsed = time.monotonic() - began
    assert messages == [m for c in range(1, 9) for m in frame_messages(0, c)]
    assert elapsed < 3.0, f"8 frames at frame rate 0 took {elapsed:.2f} s"


async def test_point2_bounce_does_not_send_the_end_frame_twice(carta_url: str, cubes: None) -> None:
    """reverse at end: 1 2 3 2 1 0 1 2 3 2 (the repeated end frame sends nothing)."""
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        await client.request(start_message(first=(0, 0), start=(1, 0), last=(3, 0), rate=60, looping=True,
                                           reverse=True))
        messages = await play(client, 10)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(2)))
    expected_channels = [1, 2, 3, 2, 1, 0, 1, 2, 3, 2]
    assert channels_of_end_syncs(messages) == expected_channels
    assert messages == [m for c in expected_channels for m in frame_messages(0, c)]


async def test_point3_current_start_frame_sends_nothing(carta_url: str, cubes: None) -> None:
    """The start frame is the current channel: the first data is for the next frame."""
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        ack = await client.request(start_message(start=(0, 0), last=(4, 0), rate=60))
        assert ack.success
        messages = await play(client, 4)
        await trio.sleep(0.3)
        assert [summary(e) for e in client.buffered] == []
    assert messages == [m for c in (1, 2, 3, 4) for m in frame_messages(0, c)]


async def test_point3_blink_steps_between_two_channels(carta_url: str, cubes: None) -> None:
    """ANIMATOR_PLAYBACK step 7: delta 7 between 3 and 10 blinks 3, 10, 3, 10, ..."""
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        await client.request(start_message(first=(3, 0), start=(3, 0), last=(10, 0), delta=(7, 0), rate=60,
                                           looping=True))
        messages = await play(client, 6)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(3)))
    assert channels_of_end_syncs(messages) == [3, 10, 3, 10, 3, 10]


async def test_point4_matched_frames_in_one_fixed_order(carta_url: str, cubes: None) -> None:
    """Matched frames: both histograms, then file 0's contours and tiles, then file 1's
    contours and tiles; never interleaved."""
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits", 0)
        await opened(client, "other.fits", 1, register=False)
        levels = [0.3, 0.6]
        for file_id in (0, 1):
            await client.send(pb.SetContourParameters(
                file_id=file_id, reference_file_id=0, levels=levels, smoothing_mode=pb.SmoothingMode.NoSmoothing,
                smoothing_factor=1, decimation_factor=4, compression_level=8, contour_chunk_size=100000,
                image_bounds=pb.ImageBounds(x_min=0, x_max=40, y_min=0, y_max=48)))
            for _ in levels:
                await client.expect(pb.ContourImageData)
        matched = {1: pb.MatchedFrameList(frame_numbers=[0, 2, 4, 6, 8, 10])}
        # frame rate 2: window 0, so each frame after the first waits for its acknowledgement
        await client.request(start_message(start=(1, 0), last=(5, 0), rate=2, matched_frames=matched))
        seen_contours = 0

        def file1_contours_done(e) -> bool:
            nonlocal seen_contours
            if e.event_type == E.CONTOUR_IMAGE_DATA and e.message.file_id == 1:
                seen_contours += 1
            return seen_contours == len(levels)

        first = [summary(e) for e in await client.collect_until(file1_contours_done)]
        # file 1 gets an animation view now (stored, not served, as during any animation)
        await client.send(pb.AddRequiredTiles(file_id=1, tiles=[0], compression_type=ZFP, compression_quality=9))
        await client.send(pb.AnimationFlowControl(file_id=0, received_frame=frame(1), animation_id=1))
        messages: list[tuple] = []
        for channel in (2, 3, 4):
            taken = await client.collect_until(
                lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync and e.message.file_id == 1)
            messages += [summary(e) for e in taken]
            await client.send(pb.AnimationFlowControl(file_id=0, received_frame=frame(channel), animation_id=1))
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(4)))

    def contour_block(file_id: int, channel: int) -> list[tuple]:
        return [("CONTOUR_IMAGE_DATA", file_id, channel)] * len(levels)

    assert first == [
        ("REGION_HISTOGRAM_DATA", 0, 1, -1), ("REGION_HISTOGRAM_DATA", 1, 2, -1),
        *contour_block(0, 1), *frame_messages(0, 1)[1:],
        *contour_block(1, 2),
    ]
    expected = []
    for channel in (2, 3, 4):
        expected += [("REGION_HISTOGRAM_DATA", 0, channel, -1), ("REGION_HISTOGRAM_DATA", 1, 2 * channel, -1),
                     *contour_block(0, channel), *frame_messages(0, channel)[1:],
                     *contour_block(1, 2 * channel), *frame_messages(1, 2 * channel)[1:]]
    assert messages == expected


async def test_zero_delta_at_rate_zero_does_not_hold_up_the_session(carta_url: str, cubes: None) -> None:
    """A fuzzed START_ANIMATION (delta 0, frame rate 0) ends at once instead of spinning
    on one frame, and later messages are served."""
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        ack = await client.request(start_message(start=(0, 0), last=(5, 0), delta=(0, 0), rate=0, looping=True))
        assert ack.success
        await client.send(pb.SetImageChannels(file_id=0, channel=3, stokes=0))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=3, y=3)))
        profile = (await client.expect(pb.SpatialProfileData, timeout=5)).message
        assert profile.channel == 3
