"""The server's registry of live sessions and the lifetime rules around them.

Sessions run in the manager's nursery (the server's), so a session's actors never
depend on the connection handler's task. The manager also carries the process
lifetime rules of the reference: ``--initial_timeout`` (nobody connected in time)
and ``--exit_timeout`` (the last session left).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator

import trio

from carta_trio.actors import memory
from carta_trio.actors.session import Session
from carta_trio.settings import Settings

log = logging.getLogger(__name__)

#: Inbound frames buffered per session before the connection reader waits.
INBOX_SIZE = 32


class SessionManager:
    """Starts, tracks and stops sessions; decides when an idle process should exit."""

    def __init__(self, settings: Settings, nursery: trio.Nursery, shutdown: trio.Event) -> None:
        self.settings = settings
        self._nursery = nursery
        self._shutdown = shutdown
        self.sessions: dict[int, Session] = {}
        self._ever_connected = False
        self._exit_scope: trio.CancelScope | None = None

    def _new_session_id(self) -> int:
        # The reference's id: wall-clock microseconds truncated to 32 bits.
        session_id = int(time.time() * 1_000_000) & 0xFFFFFFFF
        while session_id in self.sessions or session_id == 0:
            session_id = (session_id + 1) & 0xFFFFFFFF
        return session_id

    @contextlib.asynccontextmanager
    async def open_session(
        self, address: str
    ) -> AsyncIterator[tuple[Session, trio.MemorySendChannel[bytes], trio.MemoryReceiveChannel[bytes | str]]]:
        """Start a session actor for one connection; cancel and forget it on exit."""
        inbox_send, inbox_recv = trio.open_memory_channel[bytes](INBOX_SIZE)
        out_send, out_recv = trio.open_memory_channel[bytes | str](self.settings.outbound_queue)
        key = self._new_session_id()
        session = Session(key, self.settings, address, out_send)
        scope: trio.CancelScope = await self._nursery.start(session.run, inbox_recv)
        self.sessions[key] = session
        self._ever_connected = True
        self._cancel_exit_countdown()
        log.info("Session %d [%s] Connected. Num sessions: %d", session.id, address, len(self.sessions))
        try:
            yield session, inbox_send, out_recv
        finally:
            scope.cancel()
            inbox_send.close()
            out_recv.close()
            del self.sessions[key]
            # its frames close as the cancelled session unwinds; then give the memory back
            self._nursery.start_soon(memory.release_soon)
            log.info("Session %d [%s] Deleted. Remaining sessions: %d", session.id, address, len(self.sessions))
            if not self.sessions:
                log.info("No remaining sessions.")
                self._start_exit_countdown()

    async def watch_initial_timeout(self) -> None:
        """Shut down if nobody connects within ``--initial_timeout`` seconds."""
        timeout = self.settings.initial_timeout
        if timeout is None or timeout < 0:
            return
        await trio.sleep(timeout)
        if not self._ever_connected:
            log.info("No sessions timeout.")
            self._shutdown.set()

    def _start_exit_countdown(self) -> None:
        timeout = self.settings.exit_timeout
        if timeout is None or timeout < 0 or self._exit_scope is not None:
            return
        self._nursery.start_soon(self._exit_after, timeout)

    def _cancel_exit_countdown(self) -> None:
        if self._exit_scope is not None:
            self._exit_scope.cancel()
            self._exit_scope = None

    async def _exit_after(self, timeout: float) -> None:
        with trio.CancelScope() as scope:
            self._exit_scope = scope
            await trio.sleep(timeout)
            if not self.sessions:
                log.info("No sessions timeout.")
                self._shutdown.set()
        if self._exit_scope is scope:
            self._exit_scope = None
