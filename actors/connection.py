"""One WebSocket connection, bridged to its Session actor.

The connection reads frames and feeds the session's inbox; a writer task drains
the session's bounded outbound channel into the socket. Text ``PING`` is answered
with ``PONG`` through the same outbound channel so replies keep their order.
When the socket closes, the session is cancelled and forgotten.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import trio
from starlette.websockets import WebSocket, WebSocketDisconnect

from carta_trio import limits
from carta_trio.actors.session import PONG
from carta_trio.actors.ws_batch import batch_writer, write_in_batches

if TYPE_CHECKING:
    from carta_trio.actors.session import Session
    from carta_trio.actors.session_manager import SessionManager

log = logging.getLogger(__name__)

#: Binary frames shorter than the header are ignored, as the reference does.
HEADER_SIZE = 8


def client_address(websocket: WebSocket) -> str:
    """``x-forwarded-for`` if a proxy set it, else the peer's address."""
    forwarded = websocket.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded
    return websocket.client.host if websocket.client else "unknown"


async def serve_connection(websocket: WebSocket, manager: SessionManager) -> None:
    """Accept the socket and run it until either side closes it."""
    await websocket.accept()
    async with manager.open_session(client_address(websocket)) as (session, inbox, outbound):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_write, websocket, outbound, nursery.cancel_scope)
            nursery.start_soon(_register_watchdog, websocket, session, nursery.cancel_scope)
            await _read(websocket, session, inbox)
            nursery.cancel_scope.cancel()


async def _register_watchdog(websocket: WebSocket, session: Session, scope: trio.CancelScope) -> None:
    """Close a connection that sent no message within limits.REGISTER_TIMEOUT (1008)."""
    await trio.sleep(limits.REGISTER_TIMEOUT)
    if session.registered:
        return
    log.info("Session %d [%s] sent nothing within %g s: closing", session.id, session.address,
             limits.REGISTER_TIMEOUT)
    with contextlib.suppress(Exception):
        await websocket.close(code=1008, reason="No REGISTER_VIEWER received")
    scope.cancel()


async def _read(websocket: WebSocket, session: Session, inbox: trio.MemorySendChannel[bytes]) -> None:
    idle_timeout = session.settings.idle_timeout
    async with inbox:
        while True:
            try:
                event = await websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if event["type"] == "websocket.disconnect":
                return
            data = event.get("bytes")
            if data is not None:
                if len(data) >= HEADER_SIZE:
                    session.last_message_time = trio.current_time()
                    await inbox.send(data)
                continue
            if event.get("text") == "PING":
                idle = trio.current_time() - session.last_message_time
                if idle_timeout is not None and idle_timeout > 0 and idle >= idle_timeout:
                    log.info("Client %d has been idle for %d seconds. Disconnecting..", session.id, idle)
                    await websocket.close()
                    return
                await session.send_frame(PONG)


async def _write(websocket: WebSocket, outbound: trio.MemoryReceiveChannel[bytes | str], scope: trio.CancelScope) -> None:
    """Drain the outbound channel into the socket: whatever is queued when the writer
    wakes goes out in one write (see :mod:`ws_batch`), else one message per send."""
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
    finally:
        scope.cancel()
