"""Several outbound WebSocket messages in one socket write.

Starlette's ``send_bytes`` hands every message through ASGI to hypercorn, which
frames it with wsproto and writes it to the socket on its own: several layers of
Python and one system call per message on the event loop, and a burst of tiles is
hundreds of messages. When the connection's ASGI ``send`` is hypercorn's WebSocket
stream (checked once, at accept), :func:`batch_writer` frames a list of messages
with that stream's own wsproto connection and writes them in one stream send; the
bytes on the wire are exactly what one send per message would have produced.
Anything else (another server, a changed hypercorn) gets None and the caller keeps
sending one message at a time.

Binary messages are framed here, not by wsproto: wsproto copies each payload four
times on its way into a frame (bytearray, header + payload, bytearray again, the
connection's ``data +=``), ~12 ms of the event loop's time per 256 tiles of 60 kB;
a server frame is a 2-10 byte header in front of the unmasked payload (RFC 6455
§5.2), so the batch is one join of headers and payloads. That is only done while
wsproto's own state says a frame is just that: the connection is OPEN, no extension
is negotiated (the server turns permessage-deflate off) and no fragmented message is
in progress; otherwise the batch goes through wsproto as before. Text messages
(``PONG``) always do. The bytes are those wsproto would have written.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import trio
from starlette.websockets import WebSocket
from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, TextMessage

BatchWriter = Callable[[Sequence[bytes | str]], Awaitable[None]]

#: A burst of queued frames is written at once up to this many bytes ...
WRITE_BYTES = 1 << 20
#: ... or this many messages.
WRITE_MESSAGES = 64
#: Past those limits, messages this small still join the write they follow, up to
#: WRITE_TAIL of them: a RASTER_TILE_SYNC must reach the frontend with the tile it
#: closes (see :meth:`Session.send_frames`), not one write later.
SMALL_MESSAGE = 256
WRITE_TAIL = 16


async def write_in_batches(outbound: trio.MemoryReceiveChannel[bytes | str], write_batch: BatchWriter) -> None:
    """Drain ``outbound`` until it closes: everything queued when the writer wakes
    (within the limits above) goes out in one ``write_batch`` call."""
    async with outbound:
        async for data in outbound:
            batch, size, more = [data], len(data), True
            while more:
                try:
                    data = outbound.receive_nowait()
                except trio.WouldBlock:
                    break
                except trio.EndOfChannel:
                    more = False
                    break
                batch.append(data)
                size += len(data)
                if size >= WRITE_BYTES or len(batch) >= WRITE_MESSAGES:
                    break
            for _ in range(WRITE_TAIL if more else 0):
                # past the limits only small messages queued right behind still join
                try:
                    data = outbound.receive_nowait()
                except (trio.WouldBlock, trio.EndOfChannel):
                    break  # an end of channel is seen again by the outer loop
                batch.append(data)
                if len(data) > SMALL_MESSAGE:
                    break
            await write_batch(batch)
            if not more:
                return


def _hypercorn_stream(websocket: WebSocket) -> Any | None:
    send = getattr(websocket, "_send", None)
    stream = getattr(send, "__self__", None)
    if type(stream).__module__ != "hypercorn.protocol.ws_stream" or type(stream).__name__ != "WSStream":
        return None
    if not all(hasattr(stream, name) for name in ("connection", "send", "stream_id", "closed", "state")):
        return None
    return stream


_FIN_BINARY = 0x82
_LENGTH_16 = struct.Struct("!BBH")
_LENGTH_64 = struct.Struct("!BBQ")


def binary_frame_header(size: int) -> bytes:
    """The header of an unmasked, final binary frame of ``size`` payload bytes."""
    if size <= 125:
        return bytes((_FIN_BINARY, size))
    if size <= 0xFFFF:
        return _LENGTH_16.pack(_FIN_BINARY, 126, size)
    return _LENGTH_64.pack(_FIN_BINARY, 127, size)


def frames_plainly(connection: Any) -> bool:
    """True when wsproto would frame a binary message as a bare header + payload:
    connection open, no extension, no fragmented message under way."""
    proto = getattr(connection, "_proto", None)
    return (
        getattr(connection, "state", None) == ConnectionState.OPEN
        and proto is not None
        and not getattr(proto, "extensions", True)
        and getattr(proto, "_outbound_opcode", True) is None
        and not getattr(proto, "client", True)
    )


def frame_messages(connection: Any, messages: Sequence[bytes | str]) -> bytes:
    """The bytes of ``messages`` as WebSocket frames, as ``connection`` (wsproto) would
    write them one by one."""
    if not frames_plainly(connection):
        return b"".join(
            connection.send(TextMessage(data=m) if isinstance(m, str) else BytesMessage(data=m)) for m in messages
        )
    parts: list[bytes] = []
    for m in messages:
        if isinstance(m, str):
            parts.append(connection.send(TextMessage(data=m)))
        else:
            parts.append(binary_frame_header(len(m)))
            parts.append(m)
    return b"".join(parts)


def batch_writer(websocket: WebSocket) -> BatchWriter | None:
    """A coroutine function writing several messages at once, or None if the
    connection is not served by hypercorn's WebSocket stream. Call after accept."""
    stream = _hypercorn_stream(websocket)
    if stream is None:
        return None
    from hypercorn.protocol.events import Data
    from hypercorn.protocol.ws_stream import ASGIWebsocketState

    async def write(messages: Sequence[bytes | str]) -> None:
        if stream.closed:
            return  # the peer is gone; hypercorn drops sends then too
        if stream.state != ASGIWebsocketState.CONNECTED:
            raise RuntimeError("WebSocket is not connected")
        data = frame_messages(stream.connection, messages)
        await stream.send(Data(stream_id=stream.stream_id, data=data))

    return write
