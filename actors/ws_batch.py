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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.websockets import WebSocket
from wsproto.events import BytesMessage, TextMessage

BatchWriter = Callable[[Sequence[bytes | str]], Awaitable[None]]


def _hypercorn_stream(websocket: WebSocket) -> Any | None:
    send = getattr(websocket, "_send", None)
    stream = getattr(send, "__self__", None)
    if type(stream).__module__ != "hypercorn.protocol.ws_stream" or type(stream).__name__ != "WSStream":
        return None
    if not all(hasattr(stream, name) for name in ("connection", "send", "stream_id", "closed", "state")):
        return None
    return stream


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
        connection = stream.connection
        data = b"".join(
            connection.send(TextMessage(data=m) if isinstance(m, str) else BytesMessage(data=m)) for m in messages
        )
        await stream.send(Data(stream_id=stream.stream_id, data=data))

    return write
