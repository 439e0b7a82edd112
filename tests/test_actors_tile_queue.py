"""Tile queue bounds (issue 11 D7): a client that keeps asking for tiles but never
reads its socket cannot grow the server's memory without limit."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import numpy as np
import trio
import wsproto
from wsproto.events import AcceptConnection, BytesMessage, Request

from carta_trio.actors.server import ServerHandle
from carta_trio.actors.tile_queue import TileQueue, TileRequest
from carta_trio.codecs import tile_geometry
from carta_trio.messages import framing, registry
from carta_trio.messages import schema as pb
from tests.conftest import TEST_TOKEN
from tests.image_factory import write_fits

ZFP = pb.CompressionType.ZFP


def request(sync_id: int, codes: list[int], quality: float = 11, channel: int = 0) -> TileRequest:
    return TileRequest(sync_id=sync_id, channel=channel, stokes=0, animation_id=0, compression_type=ZFP,
                       compression_quality=quality, codes=codes)


def test_waiting_requests_of_one_batch_merge_newest_codes_first() -> None:
    queue = TileQueue()
    queue.push(request(1, [1, 2, 3]))
    queue.push(request(2, [3, 4]))
    assert len(queue) == 1
    newest = queue.newest()
    assert newest is not None and newest.sync_id == 2
    assert newest.codes == [3, 4, 1, 2] and newest.tile_count == 4


def test_started_requests_are_never_merged_or_dropped() -> None:
    queue = TileQueue()
    first = request(1, [1, 2, 3])
    queue.push(first)
    first.started = True
    first.take(1)
    for sync_id in range(2, 50):
        queue.push(request(sync_id, [sync_id], quality=sync_id))  # a new batch each time
    assert first in queue._requests and first.tile_count == 3 and first.codes == [2, 3]
    assert len(queue) <= 1 + 8


def test_a_flood_of_requests_stays_bounded() -> None:
    rng = random.Random(3)
    queue = TileQueue()
    tracemalloc.start()
    try:
        for sync_id in range(1, 5_001):
            codes = [rng.randrange(1 << 30) for _ in range(20)]
            queue.push(request(sync_id, codes, quality=rng.choice([11, 12, 13])))
            if sync_id == 1_000:
                after_1000 = tracemalloc.get_traced_memory()[0]
        grown = tracemalloc.get_traced_memory()[0] - after_1000
    finally:
        tracemalloc.stop()
    assert len(queue) <= 8
    assert queue.pending_codes <= 3 * 8192
    assert grown < 2 * 2**20, grown  # 4,000 more requests: no growth beyond the bound


# ------------------------------------------------------------------ through the socket

async def _raw_client(port: int) -> tuple[trio.SocketStream, wsproto.WSConnection]:
    """A WebSocket client that sends but never reads after the handshake."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    await stream.send_all(ws.send(Request(host=f"127.0.0.1:{port}", target=f"/?token={TEST_TOKEN}")))
    while True:
        ws.receive_data(await stream.receive_some(65536))
        if any(isinstance(event, AcceptConnection) for event in ws.events()):
            return stream, ws


async def _send(stream: trio.SocketStream, ws: wsproto.WSConnection, message: object, request_id: int = 0) -> None:
    frame = framing.pack_frame(registry.event_type_of(message), request_id, message)
    await stream.send_all(ws.send(BytesMessage(data=frame)))


async def test_client_that_never_reads_does_not_grow_the_tile_queue(
    carta_server: ServerHandle, data_dir: Path
) -> None:
    size = 1024
    write_fits(data_dir / "noise.fits", np.random.default_rng(0).normal(size=(size, size)).astype(np.float32))
    top = tile_geometry.total_layers(size, size)
    codes = [tile_geometry.encode_tile_code(x, y, top) for y in range(4) for x in range(4)]
    stream, ws = await _raw_client(carta_server.port)
    async with stream:
        await _send(stream, ws, pb.RegisterViewer(session_id=0, client_feature_flags=5), 1)
        await _send(stream, ws, pb.OpenFile(file="noise.fits", file_id=0, hdu=""), 2)
        with trio.fail_after(60):
            while not any(s.frames for s in carta_server.manager.sessions.values()):
                await trio.sleep(0.05)
            for index in range(2000):
                await _send(stream, ws, pb.AddRequiredTiles(file_id=0, tiles=codes, compression_type=ZFP,
                                                            compression_quality=8 + index % 20))
            await trio.sleep(0.5)
        frames = [f for s in carta_server.manager.sessions.values() for f in s.frames.values()]
        assert len(frames) == 1
        # 2000 requests for 20 different encodings: at most eight waiting, plus those
        # already announced, which grow only as fast as the client reads (here: until the
        # socket buffers filled), not 2000
        assert frames[0].pending_tile_requests <= 100, frames[0].pending_tile_requests
