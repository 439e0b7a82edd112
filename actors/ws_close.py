"""Tell a closed WebSocket from a dropped one.

The reconnect grace period (:mod:`~carta_trio.actors.session_manager`) keeps a session
only when its connection *dropped*: the network went away (a laptop's Wi-Fi), so the
frontend may come back with the session's id. A connection the client *closed* (a tab
closed or reloaded: the browser sends a close frame, 1000 or 1001) never comes back, and
its session ends at once, as in the reference.

hypercorn reports ``websocket.disconnect`` with code 1006 (abnormal closure) in both cases:
when the client's close frame arrives it answers it and closes the stream, but its own
ASGI state is still "connected" at that point. :func:`report_clean_closes` corrects that one
decision: a stream that ends after the WebSocket close handshake completed is reported with
1000, so 1006 means "no close frame": the peer vanished.
"""

from __future__ import annotations

import functools
from typing import Any

#: The code a disconnect carries when no close frame arrived (RFC 6455 §7.4.1).
ABNORMAL_CLOSURE = 1006


def report_clean_closes() -> None:
    """Patch hypercorn's WebSocket stream (idempotent; see the module docstring)."""
    from hypercorn.protocol import ws_stream
    from hypercorn.protocol.events import StreamClosed
    from wsproto.connection import ConnectionState

    original = ws_stream.WSStream.handle
    if getattr(original, "carta_clean_close", False):
        return

    @functools.wraps(original)
    async def handle(self: Any, event: Any) -> None:
        if (
            isinstance(event, StreamClosed)
            and self.state == ws_stream.ASGIWebsocketState.CONNECTED
            and getattr(getattr(self, "connection", None), "state", None) == ConnectionState.CLOSED
        ):
            # the close handshake completed: hypercorn then reports NORMAL_CLOSURE
            self.state = ws_stream.ASGIWebsocketState.CLOSED
        await original(self, event)

    setattr(handle, "carta_clean_close", True)  # a marker on our wrapper, read back with getattr
    ws_stream.WSStream.handle = handle  # type: ignore[method-assign]  # patching hypercorn on purpose


def dropped(code: int | None) -> bool:
    """True when a disconnect with ``code`` means the peer vanished (no close frame)."""
    return code is None or code == ABNORMAL_CLOSURE
