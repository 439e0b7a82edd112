"""Round-trip latency and messages/s through the real server socket.

Run: ``python3 -m bench.bench_roundtrip [--count 2000]`` (from the repository root)

Two message sizes: REGISTER_VIEWER-sized requests (answered by the server's
REGISTER_VIEWER handler) and 256 KiB binary messages (streamed back by a test-only
echo handler swapped in for STOP_FILE_LIST). Each is printed next to a plain
trio-websocket echo server measured in the same run, as a ratio (ours / plain):
1.0 means the CARTA layers (framing, decode, dispatch, supervision, bounded
channels, hypercorn) add nothing. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from pathlib import Path

import trio
import trio_websocket

from bench.serving import running_server
from carta_trio.actors import dispatch
from carta_trio.messages import framing
from carta_trio.messages import schema as pb

BIG = 256 * 1024


async def echo_server(request: trio_websocket.WebSocketRequest) -> None:
    ws = await request.accept()
    try:
        while True:
            message = await ws.get_message()
            if isinstance(message, bytes) and len(message) >= BIG:
                await ws.send_message(message)
            else:
                await ws.send_message(bytes(message) if isinstance(message, bytes) else message)
    except trio_websocket.ConnectionClosed:
        pass


async def measure(url: str, frame: bytes, count: int) -> tuple[float, float]:
    """Median round trip (ms) one at a time, and messages/s with 16 in flight."""
    async with trio_websocket.open_websocket_url(url, max_message_size=2**28, receive_buffer_size=None) as ws:
        for _ in range(20):
            await ws.send_message(frame)
            await ws.get_message()
        latencies = []
        for _ in range(count // 4):
            start = time.perf_counter()
            await ws.send_message(frame)
            await ws.get_message()
            latencies.append((time.perf_counter() - start) * 1e3)
        # A sender and a receiver task, at most ``window`` messages in flight, so
        # neither side ever blocks on a full socket while the other waits for it.
        window = trio.Semaphore(16)
        start = time.perf_counter()

        async def sender() -> None:
            for _ in range(count):
                await window.acquire()
                await ws.send_message(frame)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender)
            for _ in range(count):
                await ws.get_message()
                window.release()
        rate = count / (time.perf_counter() - start)
    return statistics.median(latencies), rate


def unknown_field_payload(size: int) -> bytes:
    """Protobuf bytes of field 15 (wire type 2) holding ``size`` zero bytes."""
    length, varint = size, bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([15 << 3 | 2]) + bytes(varint) + bytes(size)


async def echo_big(session, request_id: int, message) -> None:
    await session.send_frame(framing.pack_frame(pb.EventType.STOP_FILE_LIST, request_id, unknown_field_payload(BIG)))


async def main(count: int) -> None:
    small = framing.pack_frame(pb.EventType.REGISTER_VIEWER, 1, pb.RegisterViewer(client_feature_flags=5))
    # A valid StopFileList carrying 256 KiB in an unknown field (proto3 keeps and skips it).
    big = framing.pack_frame(pb.EventType.STOP_FILE_LIST, 1, unknown_field_payload(BIG))
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            functools.partial(
                trio_websocket.serve_websocket, echo_server, "127.0.0.1", 0, None,
                max_message_size=2**28, receive_buffer_size=None,
            )
        )
        plain_url = f"ws://127.0.0.1:{server.port}/"
        rows = []
        with tempfile.TemporaryDirectory() as top, dispatch.replaced_handler(pb.EventType.STOP_FILE_LIST, echo_big):
            async with running_server(Path(top)) as url:
                for name, frame, n in (("REGISTER_VIEWER", small, count), ("256 KiB binary", big, max(50, count // 10))):
                    ours = await measure(url, frame, n)
                    plain = await measure(plain_url, frame, n)
                    rows.append((name, ours, plain))
        nursery.cancel_scope.cancel()
    print(f"{'message':<16} {'ours ms':>9} {'plain ms':>9} {'ratio':>6} {'ours/s':>9} {'plain/s':>9} {'ratio':>6}")
    for name, (lat, rate), (plat, prate) in rows:
        print(f"{name:<16} {lat:9.3f} {plat:9.3f} {lat / plat:6.2f} {rate:9.0f} {prate:9.0f} {rate / prate:6.2f}")
    print("latency ratio: ours/plain (lower is better); rate ratio: ours/plain (higher is better)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    trio.run(main, parser.parse_args().count)
