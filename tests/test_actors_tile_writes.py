"""A tile set's end RASTER_TILE_SYNC leaves in the same socket write as its last tile.

The released frontend completes a synchronised tile set (a channel change, every
animation frame) only if the end sync has been handled before the last tile finishes
decompressing in its worker; it checks on each decompressed tile and never again. A
tile and its end sync in two writes could miss that under load: CI saw an animation
stop after two frames because the frontend never acknowledged the third. These tests
run a real Frame, the real Session.send_* methods and the real batching writer, and
record which messages share a write.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import trio

from carta_trio.actors import ws_batch
from carta_trio.actors.frame import Frame
from carta_trio.actors.session import Session
from carta_trio.actors.session_state import SessionState
from carta_trio.codecs import tile_geometry
from carta_trio.io.generated_image import GeneratedImage
from carta_trio.messages import registry
from carta_trio.messages import schema as pb


class QueuedSession:
    """A session whose sends go through the real bounded outbound channel."""

    send_frame = Session.send_frame
    send_frames = Session.send_frames
    send_stream = Session.send_stream
    reply = Session.reply

    def __init__(self, outbound: trio.MemorySendChannel[bytes | str]) -> None:
        self._outbound = outbound
        self.frames: dict[int, Frame] = {}
        self.state = SessionState()
        self._sync = 0

    async def send_error(self, text: str, *args: Any) -> None:
        raise AssertionError(text)

    def next_sync_id(self) -> int:
        self._sync += 1
        return self._sync

    async def run_sync(self, fn: Any, *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args)


def tile_codes(width: int, height: int) -> list[int]:
    """Every layer-0 tile of a width x height image (one tile per 256 pixels square)."""
    layer = 0
    while (256 << layer) < max(width, height):
        layer += 1
    codes = []
    for y in range(-(-height // 256)):
        for x in range(-(-width // 256)):
            codes.append(tile_geometry.encode_tile_code(x, y, layer))
    return codes


async def serve_and_record(shape: tuple[int, int, int], drive: Any, buffer: int = 64) -> list[list[Any]]:
    """Run a frame over a cube of ``shape``, call ``drive(frame)``, and return the
    decoded messages of each write the batching writer made."""
    writes: list[list[Any]] = []

    async def write(batch: Any) -> None:
        writes.append([registry.decode_frame(data).message for data in batch])
        await trio.sleep(0)

    send, receive = trio.open_memory_channel[bytes | str](buffer)
    cube = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ws_batch.write_in_batches, receive, write)
        frame = Frame(QueuedSession(send), 0, GeneratedImage("cube", cube, []), "cube")  # type: ignore[arg-type]
        await nursery.start(frame.run)
        await drive(frame)
        await frame.aclose()
        await send.aclose()
    return writes


def assert_end_syncs_ride_with_their_last_tile(writes: list[list[Any]]) -> int:
    ends = 0
    for batch in writes:
        for index, message in enumerate(batch):
            if isinstance(message, pb.RasterTileSync) and message.end_sync and message.tile_count:
                ends += 1
                assert index > 0, f"end sync {message.sync_id} opens a write: its last tile went out alone before it"
                before = batch[index - 1]
                assert isinstance(before, pb.RasterTileData) and before.sync_id == message.sync_id
    return ends


async def wait_for_ends(frame: Frame, count: int) -> None:
    with trio.fail_after(20):
        while frame.session._sync < count or frame.pending_tile_requests:  # type: ignore[attr-defined]
            await trio.sleep(0.01)
        await trio.sleep(0.2)


@pytest.mark.parametrize("shape", [(3, 200, 300), (2, 1100, 1300)], ids=["one tile", "many tiles"])
async def test_channel_change_tiles_end_with_their_sync_in_one_write(shape: tuple[int, int, int]) -> None:
    codes = tile_codes(shape[2], shape[1])

    async def drive(frame: Frame) -> None:
        for channel in range(shape[0]):
            frame.post_channels(pb.SetImageChannels(
                file_id=0, channel=channel, stokes=0,
                required_tiles=pb.AddRequiredTiles(file_id=0, compression_type=pb.CompressionType.ZFP,
                                                   compression_quality=11, tiles=codes)))
            await frame.channels_settled()
            await wait_for_ends(frame, channel + 1)

    writes = await serve_and_record(shape, drive)
    assert assert_end_syncs_ride_with_their_last_tile(writes) == shape[0]


async def test_animation_frames_end_with_their_sync_in_one_write() -> None:
    from carta_trio.actors.animation import Animation

    shape = (6, 200, 300)
    view = pb.AddRequiredTiles(file_id=0, compression_type=pb.CompressionType.ZFP, compression_quality=11,
                               tiles=tile_codes(shape[2], shape[1]))

    async def drive(frame: Frame) -> None:
        session = frame.session
        session.frames[0] = frame
        af = pb.AnimationFrame
        animation = Animation(session, 1, pb.StartAnimation(  # type: ignore[arg-type]
            file_id=0, first_frame=af(channel=0, stokes=0), start_frame=af(channel=0, stokes=0),
            last_frame=af(channel=shape[0] - 1, stokes=0), delta_frame=af(channel=1, stokes=0),
            frame_rate=30, required_tiles=view))
        with trio.fail_after(20):
            await animation.run()

    writes = await serve_and_record(shape, drive)
    assert assert_end_syncs_ride_with_their_last_tile(writes) == shape[0] - 1
