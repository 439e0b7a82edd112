"""A small CARTA WebSocket client on trio-websocket, for tests, benchmarks and scripts.

::

    async with open_client("ws://127.0.0.1:3002/") as client:
        ack = await client.register()
        listing = await client.request(pb.FileListRequest(directory=""))
        tile = await client.expect(pb.RasterTileData)

One background task (in the client's own nursery) reads every frame as it arrives:
binary frames are decoded into ``Envelope``s and appended to an ordered buffer, text
frames (``PONG``) go to a separate text queue. The waiting methods take what they need
from the buffer and leave everything else there in arrival order, so no message is lost
while a test waits for another one. The buffer is unbounded: a client that never reads
a flood of tiles grows memory.

Every waiting method takes ``timeout`` in seconds (None: wait forever) and raises
``trio.TooSlowError`` when it passes. If the server closes the connection, waits that
the buffer cannot satisfy raise ``trio_websocket.ConnectionClosed``; if it sends a frame
that does not decode, they raise ``ProtocolViolation`` (a test client should fail loudly).
"""

from __future__ import annotations

import logging
import urllib.parse
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import trio
import trio_websocket
from google.protobuf.message import Message

from carta_trio.messages import registry
from carta_trio.messages import schema as pb
from carta_trio.messages.framing import ICD_VERSION, pack_frame
from carta_trio.messages.registry import DecodeError, Envelope

log = logging.getLogger(__name__)

__all__ = ["CartaClient", "ProtocolViolation", "open_client"]

#: What the 4.1.0 frontend announces in REGISTER_VIEWER: WEB_ASSEMBLY | WEB_GL.
DEFAULT_CLIENT_FEATURE_FLAGS = pb.ClientFeatureFlags.WEB_ASSEMBLY | pb.ClientFeatureFlags.WEB_GL

T = TypeVar("T")


class ProtocolViolation(Exception):
    """The server sent a binary frame this client could not decode."""


class CartaClient:
    """One CARTA connection. Create it with ``open_client``; not safe to share between
    tasks that wait for the same messages (each message is taken once)."""

    def __init__(self, ws: trio_websocket.WebSocketConnection, stream: trio.abc.Stream | None = None) -> None:
        self._ws = ws
        self._stream = stream
        self._buffer: deque[Envelope] = deque()
        self._texts: deque[str] = deque()
        self._arrived = trio.Event()
        self._closed: trio_websocket.ConnectionClosed | None = None
        self._violation: DecodeError | None = None
        self._next_id = 1

    # ------------------------------------------------------------------ sending

    async def send(
        self, message: Message, request_id: int | None = None, *, icd_version: int = ICD_VERSION
    ) -> int:
        """Send ``message`` under its event type; return the request id used.

        Without ``request_id`` the next id of the client's counter (1, 2, 3, ...) is used,
        as the frontend does; an explicit id leaves the counter alone.
        """
        if request_id is None:
            request_id = self._next_id
            self._next_id += 1
        frame = pack_frame(registry.event_type_of(message), request_id, message, icd_version=icd_version)
        await self._ws.send_message(frame)
        return request_id

    async def send_raw(self, data: bytes | str) -> None:
        """Send one WebSocket frame as is: bytes as binary, str as text."""
        await self._ws.send_message(data)

    # ------------------------------------------------------------------ waiting

    async def request(self, message: Message, timeout: float | None = 10) -> Message:
        """Send a request and return its reply: the message of the reply type
        (``registry.response_type``) carrying the same request id. Messages arriving
        meanwhile stay buffered. Raises ValueError for messages that have no reply.
        """
        reply_type = registry.response_type(registry.event_type_of(message))
        if reply_type is None:
            raise ValueError(f"{type(message).__name__} has no reply; use send()")
        request_id = await self.send(message)
        envelope = await self._take(
            lambda e: e.event_type == reply_type and e.request_id == request_id, timeout
        )
        return envelope.message

    async def receive(self, timeout: float | None = 10) -> Envelope:
        """The oldest buffered message, or the next one to arrive."""
        return await self._take(lambda e: True, timeout)

    async def expect(
        self, event_type: int | type[Message], timeout: float | None = 10
    ) -> Envelope:
        """The oldest message of ``event_type`` (an EventType value or a message class);
        other messages are skipped but kept in the buffer."""
        wanted = (
            registry.event_type_of(event_type) if isinstance(event_type, type) else int(event_type)
        )
        return await self._take(lambda e: e.event_type == wanted, timeout)

    async def collect_until(
        self, predicate: Callable[[Envelope], bool], timeout: float | None = 10
    ) -> list[Envelope]:
        """Take messages in arrival order up to and including the first for which
        ``predicate`` is true. On timeout (or close) the taken messages are put back at
        the front of the buffer before the error is raised."""
        taken: list[Envelope] = []
        try:
            with trio.fail_after(timeout) if timeout is not None else trio.CancelScope():
                while True:
                    envelope = await self._take(lambda e: True, None)
                    taken.append(envelope)
                    if predicate(envelope):
                        return taken
        except BaseException:
            self._buffer.extendleft(reversed(taken))
            raise

    async def receive_text(self, timeout: float | None = 10) -> str:
        """The oldest text frame received (the reference only ever sends ``PONG``)."""
        return await self._wait(lambda: self._texts.popleft() if self._texts else None, timeout)

    async def ping(self, timeout: float | None = 10) -> str:
        """Send the frontend's text heartbeat ``PING``; return the text reply (``PONG``)."""
        await self.send_raw("PING")
        return await self.receive_text(timeout)

    async def register(
        self,
        session_id: int = 0,
        *,
        api_key: str = "",
        client_feature_flags: int = DEFAULT_CLIENT_FEATURE_FLAGS,
        timeout: float | None = 10,
    ) -> pb.RegisterViewerAck:
        """REGISTER_VIEWER as the frontend sends it; returns the RegisterViewerAck."""
        message = pb.RegisterViewer(
            session_id=session_id, api_key=api_key, client_feature_flags=client_feature_flags
        )
        ack: pb.RegisterViewerAck = await self.request(message, timeout)
        return ack

    @property
    def buffered(self) -> list[Envelope]:
        """A snapshot of the messages received but not yet taken, oldest first."""
        return list(self._buffer)

    @property
    def closed(self) -> bool:
        """True once the server (or we) closed the connection."""
        return self._closed is not None

    async def aclose(self) -> None:
        """Close the WebSocket (idempotent)."""
        await self._ws.aclose()

    async def drop(self) -> None:
        """Vanish without a close frame, as a laptop losing its network does: the TCP
        stream closes under the WebSocket (the server sees an abnormal closure, 1006)."""
        if self._stream is None:
            raise RuntimeError("this client does not own its stream")
        await self._stream.aclose()

    # ------------------------------------------------------------------ internals

    async def _take(self, match: Callable[[Envelope], bool], timeout: float | None) -> Envelope:
        def pick() -> Envelope | None:
            for index, envelope in enumerate(self._buffer):
                if match(envelope):
                    del self._buffer[index]
                    return envelope
            return None

        return await self._wait(pick, timeout)

    async def _wait(self, pick: Callable[[], T | None], timeout: float | None) -> T:
        """Call ``pick`` until it returns something, sleeping until new frames arrive.
        This is a checkpoint even when ``pick`` succeeds at once."""
        await trio.lowlevel.checkpoint()
        with trio.fail_after(timeout) if timeout is not None else trio.CancelScope():
            while True:
                item = pick()
                if item is not None:
                    return item
                if self._violation is not None:
                    raise ProtocolViolation(str(self._violation)) from self._violation
                if self._closed is not None:
                    raise self._closed
                await self._arrived.wait()

    def _notify(self) -> None:
        self._arrived.set()
        self._arrived = trio.Event()

    async def _read_loop(self) -> None:
        """The background reader: runs until the connection closes or is cancelled."""
        try:
            while True:
                data = await self._ws.get_message()
                if isinstance(data, str):
                    self._texts.append(data)
                else:
                    try:
                        self._buffer.append(registry.decode_frame(data))
                    except DecodeError as exc:
                        log.error("undecodable frame from server: %s", exc)
                        self._violation = exc
                self._notify()
        except trio_websocket.ConnectionClosed as exc:
            self._closed = exc
            self._notify()


def _collapse(group: BaseExceptionGroup) -> BaseException:
    """The single exception inside a nursery's group, so callers see what the body raised."""
    inner: BaseException = group
    while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
        inner = inner.exceptions[0]
    return inner


def _parse_url(url: str) -> tuple[bool, str, int, str]:
    """``(secure, host, port, resource)`` of a ``ws://`` or ``wss://`` URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a WebSocket URL: {url!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return secure, parts.hostname, port, resource


@asynccontextmanager
async def open_client(
    url: str,
    *,
    max_message_size: int = 256 * 2**20,
    connect_timeout: float = 10,
    disconnect_timeout: float = 5,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> AsyncIterator[CartaClient]:
    """Connect to a CARTA backend at ``url`` (``ws://host:port/...``) and yield a
    CartaClient whose reader task runs until the block exits; the socket is closed on
    exit (close handshake bounded by ``disconnect_timeout``, shielded from cancellation).

    ``max_message_size`` defaults to the reference's 256 MiB so large tiles and cube
    histograms fit. Raises ``trio.TooSlowError`` if connecting takes longer than
    ``connect_timeout`` and ``trio_websocket.HandshakeError`` if the server refuses.
    ``extra_headers`` go into the upgrade request (carta-controller sends the token as
    a ``carta-auth-token`` header).
    """
    secure, host, port, resource = _parse_url(url)
    host_header = host if port in (80, 443) else f"{host}:{port}"
    try:
        async with trio.open_nursery() as nursery:
            with trio.fail_after(connect_timeout):
                if secure:
                    stream: trio.SocketStream | trio.SSLStream[trio.SocketStream] = await trio.open_ssl_over_tcp_stream(
                        host, port
                    )
                else:
                    stream = await trio.open_tcp_stream(host, port)
            # We own the TCP stream (rather than open_websocket_url) because trio-websocket
            # 0.12 leaves the client socket open after a server-initiated close, which the
            # test suite reports as an unclosed-socket ResourceWarning.
            try:
                with trio.fail_after(connect_timeout):
                    ws = await trio_websocket.wrap_client_stream(
                        nursery,
                        stream,
                        host_header,
                        resource,
                        extra_headers=extra_headers,
                        max_message_size=max_message_size,
                        # Read whatever has arrived: the library's 4 KiB default makes a
                        # stream of 256x256 tiles cost one wsproto pass per 4 KiB.
                        receive_buffer_size=None,
                    )
                client = CartaClient(ws, stream)
                nursery.start_soon(client._read_loop)
                try:
                    yield client
                finally:
                    with trio.move_on_after(disconnect_timeout, shield=True):
                        await ws.aclose()
            finally:
                # Shielded: closing must not raise Cancelled over the body's exception.
                with trio.CancelScope(shield=True):
                    await stream.aclose()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        single = _collapse(group)
        if single is group:
            raise
        raise single from single.__cause__
