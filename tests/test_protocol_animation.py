"""Animation playback through the real server: stepping, flow control, stop, matching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors.animation import Stepper
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import make_cube, wcs_header, write_fits

ZFP = pb.CompressionType.ZFP
TILE00 = 0  # code of tile (0, 0, 0)


def frame(channel: int, stokes: int = 0) -> pb.AnimationFrame:
    return pb.AnimationFrame(channel=channel, stokes=stokes)


def start_message(file_id: int = 0, *, first=(0, 0), start=(0, 0), last=(5, 0), delta=(1, 0),
                  rate: int = 30, looping: bool = False, reverse: bool = False, **extra) -> pb.StartAnimation:
    return pb.StartAnimation(
        file_id=file_id, first_frame=frame(*first), start_frame=frame(*start), last_frame=frame(*last),
        delta_frame=frame(*delta), frame_rate=rate, looping=looping, reverse=reverse,
        required_tiles=pb.AddRequiredTiles(file_id=file_id, tiles=[TILE00], compression_type=ZFP, compression_quality=9),
        **extra,
    )


@pytest.fixture
def cubes(data_dir: Path) -> None:
    write_fits(data_dir / "cube.fits", make_cube((8, 64, 80), seed=1), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    write_fits(data_dir / "other.fits", make_cube((20, 40, 40), seed=2), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    write_fits(data_dir / "stokes.fits", make_cube((4, 3, 32, 32), seed=3),
               wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))


async def opened(client: CartaClient, name: str, file_id: int = 0) -> None:
    await client.register()
    ack = await client.request(pb.OpenFile(file=name, file_id=file_id))
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData)


async def frames_until(client: CartaClient, count: int, file_id: int = 0, ack_flow: bool = True) -> list[pb.RasterTileSync]:
    """End syncs of ``count`` animation frames, acknowledging each like the frontend."""
    ends = []
    while len(ends) < count:
        envelope = await client.expect(pb.RasterTileSync, timeout=10)
        sync = envelope.message
        if sync.end_sync and sync.file_id == file_id:
            ends.append(sync)
            if ack_flow:
                await client.send(pb.AnimationFlowControl(
                    file_id=file_id, received_frame=frame(sync.channel, sync.stokes), animation_id=sync.animation_id))
    return ends


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"last": (5, 0)}, [0, 1, 2, 3, 4, 5]),
        ({"last": (5, 0), "delta": (2, 0)}, [0, 2, 4]),
        ({"last": (3, 0), "looping": True}, [0, 1, 2, 3, 0, 1, 2, 3, 0]),
        ({"last": (3, 0), "reverse": True}, [0, 1, 2, 3, 3, 2, 1, 0, 0, 1]),
        ({"start": (5, 0), "last": (5, 0), "delta": (-1, 0), "looping": True}, [5, 4, 3, 2, 1, 0, 5, 4]),
    ],
)
def test_stepping_modes(kwargs: dict, expected: list[int]) -> None:
    stepper = Stepper.from_message(start_message(**kwargs))
    current: tuple[int, int] | None = (kwargs.get("start", (0, 0))[0], 0)
    seen = []
    while current is not None and len(seen) < len(expected):
        seen.append(current[0])
        current = stepper.next(current)
    assert seen == expected


async def test_play_sends_every_frame_with_histogram_and_tiles(carta_url: str, cubes: None) -> None:
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        ack = await client.request(start_message(last=(7, 0), rate=60))
        assert ack.success and ack.animation_id == 1 and ack.message == "Starting animation"
        ends = await frames_until(client, 7)
        channels = [e.channel for e in ends]
        assert channels == [1, 2, 3, 4, 5, 6, 7]  # frame 0 was current already: nothing sent for it
        assert {e.animation_id for e in ends} == {1}
        messages = client.buffered
    histograms = [e.message.channel for e in messages if e.event_type == pb.EventType.REGION_HISTOGRAM_DATA]
    tiles = [e.message for e in messages if e.event_type == pb.EventType.RASTER_TILE_DATA]
    assert histograms[:7] == [1, 2, 3, 4, 5, 6, 7]
    assert tiles and all(t.animation_id == 1 and t.compression_quality == 9 for t in tiles)


async def test_matched_frames_follow(carta_url: str, cubes: None) -> None:
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits", 0)
        ack = await client.request(pb.OpenFile(file="other.fits", file_id=1))
        assert ack.success
        matched = {1: pb.MatchedFrameList(frame_numbers=[0, 2.4, 4.6, 6, 8, 10, 12, 30])}
        await client.request(start_message(last=(4, 0), rate=60, matched_frames=matched))
        await frames_until(client, 4)
        await trio.sleep(0.2)
        syncs = [e.message for e in client.buffered if e.event_type == pb.EventType.REGION_HISTOGRAM_DATA]
    other = [h.channel for h in syncs if h.file_id == 1]
    assert other[:5] == [0, 2, 5, 6, 8]  # the histogram of opening, then frames 1..4


async def test_flow_control_stalls_and_resumes(carta_url: str, cubes: None) -> None:
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        # window = 6 // 3 = 2 frames ahead of the last acknowledged one
        await client.request(start_message(last=(7, 0), rate=6))
        # frame 0 is current (nothing sent); frame 3 is the first more than 2 ahead: it
        # is sent, then the actor waits
        ends = await frames_until(client, 3, ack_flow=False)
        await trio.sleep(1.0)
        stalled = [e for e in client.buffered if e.event_type == pb.EventType.RASTER_TILE_SYNC and e.message.end_sync]
        assert [e.channel for e in ends] == [1, 2, 3] and stalled == []
        await client.send(pb.AnimationFlowControl(file_id=0, received_frame=frame(2), animation_id=1))
        resumed = await frames_until(client, 2, ack_flow=False)
        assert [e.channel for e in resumed] == [4, 5]
        await trio.sleep(0.6)
        assert not [e for e in client.buffered if e.event_type == pb.EventType.RASTER_TILE_SYNC and e.message.end_sync]


async def test_flow_control_stall_ends_after_a_while(carta_url: str, cubes: None) -> None:
    """The released frontend sometimes never acknowledges a frame (it dropped its tile
    set): the animation then goes on after FLOW_STALL_SECONDS instead of for ever."""
    from carta_trio.actors.animation import FLOW_STALL_SECONDS

    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        await client.request(start_message(last=(7, 0), rate=6))
        ends = await frames_until(client, 3, ack_flow=False)
        stalled_at = trio.current_time()
        assert [e.channel for e in ends] == [1, 2, 3]
        with trio.fail_after(FLOW_STALL_SECONDS + 3):
            resumed = await frames_until(client, 1, ack_flow=False)
        assert [e.channel for e in resumed] == [4]
        assert trio.current_time() - stalled_at >= FLOW_STALL_SECONDS - 0.1


async def test_stop_leaves_no_half_frame_and_settles_on_end_frame(carta_url: str, cubes: None) -> None:
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        await client.request(start_message(last=(7, 0), rate=30, looping=True))
        await frames_until(client, 2)
        await client.send(pb.StopAnimation(file_id=0, end_frame=frame(6)))
        await trio.sleep(0.5)
        messages = client.buffered
        starts = [e.message.sync_id for e in messages if e.event_type == pb.EventType.RASTER_TILE_SYNC and not e.message.end_sync]
        ends = [e.message.sync_id for e in messages if e.event_type == pb.EventType.RASTER_TILE_SYNC and e.message.end_sync]
        assert sorted(starts) == sorted(ends)  # no frame was cut in half
        last_histogram = [e.message for e in messages if e.event_type == pb.EventType.REGION_HISTOGRAM_DATA][-1]
        assert last_histogram.channel == 6
        await trio.sleep(0.3)
        assert not [e for e in client.buffered if e.event_type == pb.EventType.RASTER_TILE_DATA
                    and e.message.animation_id == 1 and e not in messages]


async def test_new_start_replaces_running_animation_and_bad_file(carta_url: str, cubes: None) -> None:
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        await client.request(start_message(last=(7, 0), rate=10, looping=True))
        second = await client.request(start_message(last=(7, 0), rate=10, looping=True))
        assert second.animation_id == 2
        await trio.sleep(0.5)
        ids = [e.message.animation_id for e in client.buffered
               if e.event_type in (pb.EventType.RASTER_TILE_DATA, pb.EventType.RASTER_TILE_SYNC)]
        assert 2 in ids and 1 not in ids[ids.index(2):]
        bad = await client.request(start_message(file_id=9))
        assert not bad.success and bad.message == "Incorrect file ID"


async def test_stokes_animation(carta_url: str, cubes: None) -> None:
    async with open_client(carta_url) as client:
        await opened(client, "stokes.fits")
        await client.request(start_message(first=(1, 0), start=(1, 0), last=(1, 2), delta=(0, 1), rate=30,
                                           stokes_indices=[2, 0, 1]))
        ends = await frames_until(client, 3)
    assert [(e.channel, e.stokes) for e in ends] == [(1, 2), (1, 0), (1, 1)]


async def test_close_file_stops_animation(carta_url: str, cubes: None) -> None:
    async with open_client(carta_url) as client:
        await opened(client, "cube.fits")
        await client.request(start_message(last=(7, 0), rate=20, looping=True))
        await frames_until(client, 1)
        await client.send(pb.CloseFile(file_id=0))
        assert await client.ping() == "PONG"
        await trio.sleep(0.3)
        count = len(client.buffered)
        await trio.sleep(0.3)
        assert len(client.buffered) == count
    _ = np
