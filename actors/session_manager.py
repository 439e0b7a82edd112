"""The server's registry of sessions, the connections attached to them, and the lifetime
rules around both.

Sessions run in the manager's nursery (the server's), so a session's actors never depend
on a connection handler's task. A connection becomes a :class:`~carta_trio.actors.session_link.Link`
and is attached to a session at its first binary message (:meth:`SessionManager.attach`):

- a REGISTER_VIEWER naming a session this manager holds, sent from that session's client
  address, re-attaches that session (a reconnect); if another connection is still attached
  to it (the server has not noticed that one drop yet) that connection is closed: one
  session never has two connections;
- anything else starts a new session.

When a connection goes (:meth:`SessionManager.detach`) its session ends at once -- unless the
connection *dropped* (no close frame: the network went away) and ``--reconnect_grace`` is
positive. Then the session parks (:mod:`~carta_trio.actors.session_keep`) and is kept that
many seconds for the viewer to come back, at most ``limits.MAX_KEPT_SESSIONS`` of them (the
oldest goes first). Shutdown cancels the nursery: kept sessions end like every other.

The manager also carries the process lifetime rules of the reference: ``--initial_timeout``
(nobody connected in time) and ``--exit_timeout`` (the last session ended; a kept session
still counts, since its viewer may come back).
"""

from __future__ import annotations

import logging
import math
import time

import trio

from carta_trio import limits
from carta_trio.actors import memory
from carta_trio.actors.session import Session
from carta_trio.actors.session_link import Link
from carta_trio.messages import framing, registry
from carta_trio.messages import schema as pb
from carta_trio.settings import Settings

log = logging.getLogger(__name__)

#: Inbound frames buffered per connection before the connection reader waits.
INBOX_SIZE = 32


def claimed_session_id(data: bytes) -> int:
    """The session id a connection's first frame asks to resume: REGISTER_VIEWER with the
    right ICD version and a non-zero id; else 0. Only a REGISTER_VIEWER is decoded here."""
    try:
        event_type, icd_version, _ = framing.unpack_header(data)
        if event_type != pb.EventType.REGISTER_VIEWER or icd_version != framing.ICD_VERSION:
            return 0
        envelope = registry.decode_frame(data)
    except (framing.FrameError, registry.UnknownEventType, registry.DecodeError):
        return 0
    return int(envelope.message.session_id)


class SessionManager:
    """Starts, attaches, keeps and ends sessions; decides when an idle process should exit."""

    def __init__(self, settings: Settings, nursery: trio.Nursery, shutdown: trio.Event) -> None:
        self.settings = settings
        self._nursery = nursery
        self._shutdown = shutdown
        #: Every session by its current id: attached ones and kept ones.
        self.sessions: dict[int, Session] = {}
        #: The link attached to each session now.
        self._attached: dict[Session, Link] = {}
        #: Sessions kept for a reconnect (insertion order: oldest first) -> their timer.
        self._kept: dict[Session, trio.CancelScope] = {}
        self._links: dict[Session, trio.MemorySendChannel[Link]] = {}
        self._scopes: dict[Session, trio.CancelScope] = {}
        self._ever_connected = False
        self._exit_scope: trio.CancelScope | None = None

    @property
    def kept(self) -> list[Session]:
        """The sessions kept for a reconnect, oldest first."""
        return list(self._kept)

    def connected(self) -> None:
        """A WebSocket connection was accepted (for the initial and exit timeouts)."""
        self._ever_connected = True
        self._cancel_exit_countdown()

    # ----------------------------------------------------------------- attaching

    async def attach(self, link: Link, first: bytes) -> Session:
        """Attach ``link`` to the session its first frame ``first`` resumes, or to a new one."""
        session = self._resumable(claimed_session_id(first), link.address)
        if session is None:
            session = await self._start_session(link.address)
        self._attached[session] = link
        link.session = session
        self._links[session].send_nowait(link)
        return session

    def _resumable(self, session_id: int, address: str) -> Session | None:
        """The session ``session_id`` if a connection from ``address`` may take it over."""
        session = self.sessions.get(session_id) if session_id else None
        if session is None:
            return None
        if session.address != address:
            log.warning("Session %d [%s]: a connection from %s asked to resume it; refused (another address)",
                        session.id, session.address, address)
            return None
        current = self._attached.pop(session, None)
        if current is not None:
            log.info("Session %d [%s]: a new connection takes the session over; closing the old one",
                     session.id, address)
            current.evicted = True
            current.end()
        timer = self._kept.pop(session, None)
        if timer is not None:
            timer.cancel()
        log.info("Session %d [%s] Reconnected. Num sessions: %d", session.id, address, len(self.sessions))
        return session

    async def _start_session(self, address: str) -> Session:
        session = Session(self._new_session_id(), self.settings, address, self)
        links_send, links_recv = trio.open_memory_channel[Link](math.inf)
        self._links[session] = links_send
        self.sessions[session.id] = session
        self._scopes[session] = await self._nursery.start(self._run_session, session, links_recv)
        log.info("Session %d [%s] Connected. Num sessions: %d", session.id, address, len(self.sessions))
        return session

    async def _run_session(
        self,
        session: Session,
        links: trio.MemoryReceiveChannel[Link],
        *,
        task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run a session to its end, then forget it and give the memory back. A session
        that fails ends alone (logged); the server and the other sessions go on."""
        try:
            await session.run(links, task_status=task_status)
        except Exception:  # noqa: BLE001 - the supervisor boundary of sessions
            log.exception("Session %d [%s] failed", session.id, session.address)
        finally:
            self._forget(session)

    def _forget(self, session: Session) -> None:
        if self.sessions.get(session.id) is session:
            del self.sessions[session.id]
        self._attached.pop(session, None)
        timer = self._kept.pop(session, None)
        if timer is not None:
            timer.cancel()
        self._scopes.pop(session, None)
        links = self._links.pop(session, None)
        if links is not None:
            links.close()
        # its frames have closed as the session unwound; now give the memory back
        self._nursery.start_soon(memory.release_soon)
        log.info("Session %d [%s] Deleted. Remaining sessions: %d", session.id, session.address, len(self.sessions))
        if not self.sessions:
            log.info("No remaining sessions.")
            self._start_exit_countdown()

    def rename(self, session: Session, wanted: int) -> int:
        """Give ``session`` the id ``wanted`` (REGISTER_VIEWER of a new session with an old
        id, as the reference does) unless another session holds it; returns the id now."""
        if wanted == session.id:
            return wanted
        holder = self.sessions.get(wanted)
        if holder is not None:
            log.warning("Session %d [%s]: id %d is taken by another session; keeping %d",
                        session.id, session.address, wanted, session.id)
            return session.id
        if self.sessions.get(session.id) is session:
            del self.sessions[session.id]
        session.id = wanted
        self.sessions[wanted] = session
        return wanted

    def _new_session_id(self) -> int:
        # The reference's id: wall-clock microseconds truncated to 32 bits.
        session_id = int(time.time() * 1_000_000) & 0xFFFFFFFF
        while session_id in self.sessions or session_id == 0:
            session_id = (session_id + 1) & 0xFFFFFFFF
        return session_id

    # ----------------------------------------------------------------- detaching

    def detach(self, link: Link) -> None:
        """The connection of ``link`` has gone: end its session, or keep it for a reconnect
        when the connection dropped and the grace period is on. Not a checkpoint."""
        link.end()
        session = link.session
        if session is None or self._attached.get(session) is not link:
            return  # never attached, or already taken over by a newer connection
        del self._attached[session]
        grace = self.settings.reconnect_grace
        if link.dropped and not link.closed_here and grace > 0 and session in self._scopes:
            self._keep(session, grace)
        else:
            self.end(session)

    def end(self, session: Session) -> None:
        """End ``session`` now: its frames close, its jobs stop (not a checkpoint)."""
        scope = self._scopes.get(session)
        if scope is not None:
            scope.cancel()

    def _keep(self, session: Session, grace: float) -> None:
        while len(self._kept) >= max(0, limits.MAX_KEPT_SESSIONS):
            oldest = next(iter(self._kept), None)
            if oldest is None:
                self.end(session)
                return
            log.info("Session %d [%s]: no longer kept (%d sessions kept at most)",
                     oldest.id, oldest.address, limits.MAX_KEPT_SESSIONS)
            self._kept.pop(oldest).cancel()
            self.end(oldest)
        timer = trio.CancelScope()
        self._kept[session] = timer
        log.info("Session %d [%s] Disconnected; kept %g s for a reconnect", session.id, session.address, grace)
        self._nursery.start_soon(self._expire, session, timer, grace)

    async def _expire(self, session: Session, timer: trio.CancelScope, grace: float) -> None:
        with timer:
            await trio.sleep(grace)
            if self._kept.get(session) is timer:
                del self._kept[session]
                log.info("Session %d [%s]: nobody reconnected within %g s", session.id, session.address, grace)
                self.end(session)

    # ------------------------------------------------------------ process lifetime

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
