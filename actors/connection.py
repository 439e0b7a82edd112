"""One WebSocket connection, bridged to a Session actor through a Link.

The connection owns the socket and both channels of its
:class:`~carta_trio.actors.session_link.Link`: it reads frames into the link's inbox, and a writer task drains the link's bounded
outbound channel into the socket. Its first binary frame attaches it to a session
(:meth:`SessionManager.attach`: a new one, or the one a REGISTER_VIEWER resumes). Text
``PING`` is answered with ``PONG`` through the same outbound channel, so replies keep
their order (before any session exists too). When the socket goes, the manager is told
how (:meth:`SessionManager.detach`: closed, or dropped without a close frame).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import trio
from starlette.websockets import WebSocket, WebSocketDisconnect

from carta_trio import limits
from carta_trio.actors.session import PONG
from carta_trio.actors.session_link import Link
from carta_trio.actors.session_manager import INBOX_SIZE
from carta_trio.actors.ws_batch import batch_writer, write_in_batches
from carta_trio.actors.ws_close import dropped

if TYPE_CHECKING:
    from carta_trio.actors.session_manager import SessionManager

log = logging.getLogger(__name__)

#: Binary frames shorter than the header are ignored, as the reference does.
HEADER_SIZE = 8
#: Close code of a connection whose session a newer connection took over.
TAKEN_OVER = 4000


def client_address(websocket: WebSocket) -> str:
    """``x-forwarded-for`` if a proxy set it, else the peer's address."""
    forwarded = websocket.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded
    return websocket.client.host if websocket.client else "unknown"


async def serve_connection(websocket: WebSocket, manager: SessionManager) -> None:
    """Accept the socket and run it until either side closes it."""
    await websocket.accept()
    manager.connected()
    inbox_send, inbox_recv = trio.open_memory_channel[bytes](INBOX_SIZE)
    out_send, out_recv = trio.open_memory_channel[bytes | str](manager.settings.outbound_queue)
    link = Link(client_address(websocket), inbox_recv, out_send)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_write, websocket, out_recv, link, nursery.cancel_scope)
            nursery.start_soon(_register_watchdog, websocket, link, nursery.cancel_scope)
            await _read(websocket, link, inbox_send, manager)
            nursery.cancel_scope.cancel()
    finally:
        manager.detach(link)
        inbox_recv.close()
        out_send.close()
    if link.evicted:
        with contextlib.suppress(Exception):
            await websocket.close(code=TAKEN_OVER, reason="Session resumed by another connection")


async def _register_watchdog(websocket: WebSocket, link: Link, scope: trio.CancelScope) -> None:
    """Close a connection that sent no message within limits.REGISTER_TIMEOUT (1008)."""
    await trio.sleep(limits.REGISTER_TIMEOUT)
    if link.session is not None:
        return
    log.info("Connection [%s] sent nothing within %g s: closing", link.address, limits.REGISTER_TIMEOUT)
    link.closed_here = True
    with contextlib.suppress(Exception):
        await websocket.close(code=1008, reason="No REGISTER_VIEWER received")
    scope.cancel()


async def _read(
    websocket: WebSocket, link: Link, inbox: trio.MemorySendChannel[bytes], manager: SessionManager
) -> None:
    idle_timeout = manager.settings.idle_timeout
    async with inbox:
        while True:
            try:
                event = await websocket.receive()
            except WebSocketDisconnect as exc:
                link.dropped = dropped(exc.code)
                return
            except RuntimeError:  # receiving after the disconnect was reported
                return
            if event["type"] == "websocket.disconnect":
                link.dropped = dropped(event.get("code"))
                return
            data = event.get("bytes")
            if data is not None:
                if len(data) >= HEADER_SIZE:
                    link.last_message_time = trio.current_time()
                    if link.session is None:
                        await manager.attach(link, data)
                    try:
                        await inbox.send(data)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        return  # the session let go of this link (taken over, or ended)
                continue
            if event.get("text") == "PING":
                idle = trio.current_time() - link.last_message_time
                if idle_timeout is not None and idle_timeout > 0 and idle >= idle_timeout:
                    session_id = link.session.id if link.session is not None else 0
                    log.info("Client %d has been idle for %d seconds. Disconnecting..", session_id, idle)
                    link.closed_here = True
                    await websocket.close()
                    return
                try:
                    await link.outbound.send(PONG)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return


async def _write(
    websocket: WebSocket, outbound: trio.MemoryReceiveChannel[bytes | str], link: Link, scope: trio.CancelScope
) -> None:
    """Drain the outbound channel into the socket: whatever is queued when the writer
    wakes goes out in one write (see :mod:`ws_batch`), else one message per send. Ends
    when the session closes the channel; a failed send means the peer vanished."""
    write_batch = batch_writer(websocket)
    try:
        if write_batch is not None:
            await write_in_batches(outbound, write_batch)
            return
        async with outbound:
            async for data in outbound:
                if isinstance(data, str):
                    await websocket.send_text(data)
                else:
                    await websocket.send_bytes(data)
    except Exception:  # noqa: BLE001 - any send failure means the peer is gone
        log.debug("writer stopped: connection gone", exc_info=True)
        link.dropped = True
    finally:
        scope.cancel()
