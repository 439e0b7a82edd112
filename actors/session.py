"""The Session actor: one per viewer, outliving its connections.

A session owns everything a viewer opened (frames, regions, jobs) and is the
supervisor of those children. It lives in the server's nursery (the session
manager's), not in a connection handler. A connection reaches it through a
:class:`~carta_trio.actors.session_link.Link`: the connection's inbox of binary frames
and its outbound channel. The session's life is a sequence of links (``async for link
in links``): it serves one link's inbox until that connection goes, then *parks*
(:mod:`session_keep`: all work stops, frames close, their images are kept) and waits
for the next link -- the same viewer reconnecting within the grace period -- or for the
manager to end it.

Outbound frames go into the attached link's bounded channel, which the connection
drains, so a client that stops reading slows this session's producers and nobody else.
While no link is attached, whatever is sent is dropped.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from carta_trio import limits
from carta_trio.actors import dispatch, session_keep, workers
from carta_trio.actors.jobs import Jobs
from carta_trio.actors.session_state import SessionState
from carta_trio.io.reader_guard import ReaderClosed
from carta_trio.messages import framing, registry
from carta_trio.messages import schema as pb
from carta_trio.settings import Settings

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session_link import Link
    from carta_trio.actors.session_manager import SessionManager

log = logging.getLogger(__name__)
T = TypeVar("T")


class ErrorBudget:
    """ERROR_DATA allowance of one message (limits.MAX_ERRORS_PER_MESSAGE): the rest
    are counted and noted in log lines at DEBUG instead of flooding the client."""

    def __init__(self) -> None:
        self.sent = 0
        self.suppressed = 0


#: The budget of the message being handled. Tasks started meanwhile (its jobs)
#: inherit it and share it; long-lived actors started by a handler (a Frame) call
#: :func:`own_error_budget` so their later work is not charged to that message.
_ERROR_BUDGET: contextvars.ContextVar[ErrorBudget | None] = contextvars.ContextVar("carta_error_budget", default=None)


@contextlib.contextmanager
def one_error_per_message() -> Iterator[ErrorBudget]:
    """Within the block (and tasks it starts), at most limits.MAX_ERRORS_PER_MESSAGE
    ERROR_DATA go out."""
    current = _ERROR_BUDGET.get()
    if current is not None:  # already inside a message's budget: share it
        yield current
        return
    budget = ErrorBudget()
    token = _ERROR_BUDGET.set(budget)
    try:
        yield budget
    finally:
        _ERROR_BUDGET.reset(token)


def own_error_budget() -> None:
    """Detach the calling task from the budget of the message that started it."""
    _ERROR_BUDGET.set(None)

#: Text frames carried on the outbound channel next to binary ones.
PONG = "PONG"
#: Concurrent handlers (``concurrent=True``) running at once per session. When all are
#: busy the inbox loop waits for one to finish before reading the next message, so a
#: burst (3,000 FILE_INFO) is held by the bounded inbox, not turned into tasks.
MAX_CONCURRENT_HANDLERS = 16


#: Every live session of the process (SAVE_FILE refuses to overwrite images open anywhere).
_LIVE: weakref.WeakSet[Session] = weakref.WeakSet()


def live_sessions() -> list[Session]:
    """The sessions alive in this process."""
    return list(_LIVE)


def one_error_per_call(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a coroutine function (a job sending one message per config) so that
    each call sends at most limits.MAX_ERRORS_PER_MESSAGE ERROR_DATA."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        with one_error_per_message():
            return await fn(*args, **kwargs)

    return wrapper


class Session:
    """State and supervisor of one viewer connection.

    Handlers (``actors/*_handlers.py``) receive the session and use
    :meth:`reply`, :meth:`send_stream`, :meth:`send_error`, :meth:`run_sync` and
    :attr:`nursery`. Nothing else touches its state.
    """

    def __init__(
        self,
        session_id: int,
        settings: Settings,
        address: str,
        manager: SessionManager | None = None,
    ) -> None:
        self.id = session_id
        self.settings = settings
        self.address = address
        #: The registry this session is known in (REGISTER_VIEWER may rename it there).
        self.manager = manager
        #: The attached connection's outbound channel; None while detached.
        self._outbound: trio.MemorySendChannel[bytes | str] | None = None
        self.frames: dict[int, Frame] = {}
        self.registered = False
        self.nursery: trio.Nursery | None = None
        #: The concurrent handlers of the attached link (cancelled with it).
        self._handlers: trio.Nursery | None = None
        #: ICD version in the header of the message being handled inline.
        self.request_icd_version = framing.ICD_VERSION
        #: What the handler modules keep on the session, typed (session_state.py).
        self.state = SessionState()
        self._sync_id = 0
        #: Awaited before each incoming message is handled, while set: OPEN_FILE holds
        #: the messages behind it until its render histogram is out (frame_handlers).
        self.gate: Callable[[Any], Awaitable[None]] | None = None
        self._handler_slots = trio.CapacityLimiter(MAX_CONCURRENT_HANDLERS)
        #: Jobs of the session itself, not of one image (catalog filters); a frame's
        #: jobs live in ``frame.jobs``.
        self.jobs = Jobs(self, self.spawn)
        _LIVE.add(self)

    def next_sync_id(self) -> int:
        """A new id for a tile request's RASTER_TILE_SYNC pair (WIRE.md §2.9)."""
        self._sync_id += 1
        return self._sync_id

    # ----------------------------------------------------------------- lifecycle

    @property
    def attached(self) -> bool:
        """True while a connection is attached (False while parked for a reconnect)."""
        return self._outbound is not None

    def claim_id(self, wanted: int) -> int:
        """REGISTER_VIEWER with a session id: take ``wanted`` as this session's id unless
        another session holds it (two sessions never share an id); the id now."""
        if self.manager is None:
            self.id = wanted
            return wanted
        return self.manager.rename(self, wanted)

    async def run(
        self,
        links: trio.MemoryReceiveChannel[Link],
        *,
        task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve each link in turn, parking in between, until ``links`` closes or the
        returned scope is cancelled.

        On exit every child (frames, jobs) is cancelled, every frame closed and every
        kept image released.
        """
        # Work started by this task and every task it spawns is scheduled as ours.
        workers.current_owner.set(self)
        with trio.CancelScope() as scope:
            try:
                async with trio.open_nursery() as nursery:
                    self.nursery = nursery
                    task_status.started(scope)
                    async with links:
                        async for link in links:
                            await self._serve(link)
                            try:
                                await session_keep.park(self)
                            except Exception:  # noqa: BLE001 - a session that cannot park ends
                                log.exception("Session %d: parking failed; ending the session", self.id)
                                break
                    nursery.cancel_scope.cancel()
            finally:
                self.nursery = None
                await self._close_all_frames()
                session_keep.release(self)

    async def _serve(self, link: Link) -> None:
        """Handle ``link``'s messages until its connection goes (or is taken over)."""
        self._outbound = link.outbound
        self.registered = False
        try:
            with link.scope:
                async with trio.open_nursery() as handlers:
                    self._handlers = handlers
                    async with link.inbox:
                        async for data in link.inbox:
                            await self._dispatch(data)
                    handlers.cancel_scope.cancel()
        finally:
            self._handlers = None
            self._outbound = None
            link.outbound.close()

    async def _close_all_frames(self) -> None:
        """Disconnect: every frame closes (its actor already stopped with the nursery)."""
        frames, self.frames = self.frames, {}
        for frame in frames.values():
            await frame.aclose()

    # ------------------------------------------------------------------ sending

    async def send_frame(self, data: bytes | str) -> None:
        """Queue one encoded frame; waits while the outbound queue is full.

        Silently drops the frame while no connection is attached (or once it has
        gone): nobody can receive it, and the next connection must not.
        """
        outbound = self._outbound
        if outbound is None:
            return
        try:
            await outbound.send(data)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    async def send_frames(self, frames: Sequence[bytes | str]) -> None:
        """Queue encoded frames back to back, without a scheduling point between them
        while the outbound queue has room, so the writer sends them in one socket write.

        The frontend completes a synchronised tile set only if the RASTER_TILE_SYNC
        that ends it is handled before its last tile has been decompressed (its
        TileService checks on each decompressed tile); a tile and its end sync that
        reach it in two writes can miss that moment under load, and the image, or an
        animation waiting for ANIMATION_FLOW_CONTROL, then never moves on.
        """
        outbound = self._outbound
        if outbound is None:
            await trio.lowlevel.checkpoint()
            return
        try:
            for data in frames:
                try:
                    outbound.send_nowait(data)
                except trio.WouldBlock:
                    await outbound.send(data)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass
        await trio.lowlevel.checkpoint()

    async def reply(self, request_id: int, message: Any) -> None:
        """Send a response or ack, echoing the request's id (WIRE.md §1.3)."""
        await self.send_frame(framing.pack_frame(registry.event_type_of(message), request_id, message))

    async def send_stream(self, message: Any) -> None:
        """Send a data-stream message (request id 0)."""
        await self.send_frame(framing.pack_frame(registry.event_type_of(message), 0, message))

    async def send_error(
        self,
        text: str,
        severity: pb.ErrorSeverity = pb.ErrorSeverity.ERROR,
        tags: list[str] | tuple[str, ...] = (),
    ) -> None:
        """ERROR_DATA for the frontend's log panel (BEHAVIOUR.md §3.8); at most
        limits.MAX_ERRORS_PER_MESSAGE per message inside :func:`one_error_per_message`."""
        budget = _ERROR_BUDGET.get()
        if budget is not None:
            if budget.sent >= limits.MAX_ERRORS_PER_MESSAGE:
                budget.suppressed += 1
                log.debug("error not sent (one per message): %s", text)
                return
            budget.sent += 1
        await self.send_stream(pb.ErrorData(message=text, severity=severity, tags=list(tags)))

    async def run_sync(self, fn: Callable[..., T], *args: object) -> T:
        """Run blocking work in a worker thread with this session's fair share of the
        cores (:mod:`~carta_trio.actors.workers`); cancellable."""
        return await workers.run_sync(fn, *args, owner=self)

    def spawn(self, name: str, fn: Callable[..., Any], *args: object) -> None:
        """Start a supervised child task (an animation, a catalog's open, a session job)
        in the attached link's nursery: like the handlers it ends with the connection, so
        nothing it sends reaches the next one (frames live in ``session.nursery``). A
        failure is logged and reported as ERROR_DATA naming ``name``."""
        if self._handlers is None:
            log.debug("Session %d: %s not started (no connection attached)", self.id, name)
            return
        self._handlers.start_soon(self._supervise, name, fn, args, None, 0, name=name)

    # ------------------------------------------------------------------ inbound

    async def _dispatch(self, data: bytes) -> None:
        """Decode one binary frame and run (or start) its handler."""
        try:
            envelope = registry.decode_frame(data)
        except (registry.UnknownEventType, registry.DecodeError) as exc:
            if self.gate is not None:
                await self.gate(None)
            if isinstance(exc, registry.UnknownEventType):
                log.warning("Bad event type %s!", exc.event_type)
                await self.send_error(f"Bad event type {exc.event_type}", pb.ErrorSeverity.WARNING, ["protocol"])
            else:
                log.warning("Bad message: %s", exc)
                await self.send_error(f"Bad message: {exc}", pb.ErrorSeverity.WARNING, ["protocol"])
            return
        if self.gate is not None:
            await self.gate(envelope)
        handler = dispatch.lookup(envelope.event_type)
        name = pb.EventType.Name(envelope.event_type)
        if handler is None:
            log.warning("Bad event type %d! Bad %s message!", envelope.event_type, name)
            await self.send_error(f"Event type {name} is not handled", pb.ErrorSeverity.WARNING, ["protocol"])
            return
        self.request_icd_version = envelope.icd_version
        if not self.registered and envelope.event_type != pb.EventType.REGISTER_VIEWER:
            # The reference serves such messages; we do too, and say so once.
            self.registered = True
            await self.send_error(
                f"{name} received before REGISTER_VIEWER; it is served, but a client should register first",
                pb.ErrorSeverity.DEBUG, ["protocol"],
            )
        if self.settings.log_protocol_messages:
            log.debug("[protocol] <== %s", name)
        if envelope.event_type in dispatch.AFTER_CHANNEL_CHANGE:
            file_id = getattr(envelope.message, "file_id", None)
            frame = self.frames.get(file_id) if isinstance(file_id, int) else None
            if frame is not None:
                await frame.channels_settled()
        if handler.concurrent:
            assert self._handlers is not None
            # Backpressure: wait here for a free slot (the inbox stays bounded meanwhile).
            token = object()
            try:
                self._handler_slots.acquire_on_behalf_of_nowait(token)
            except trio.WouldBlock:
                await self._handler_slots.acquire_on_behalf_of(token)
            self._handlers.start_soon(
                self._run_concurrent, token, name, handler, envelope.request_id, envelope.message, name=name,
            )
        else:
            await self._supervise(
                name, handler.fn, (self, envelope.request_id, envelope.message), handler, envelope.request_id
            )

    async def _run_concurrent(
        self, token: object, name: str, handler: dispatch.Handler, request_id: int, message: Any
    ) -> None:
        try:
            await self._supervise(name, handler.fn, (self, request_id, message), handler, request_id)
        finally:
            self._handler_slots.release_on_behalf_of(token)

    async def _supervise(
        self,
        name: str,
        fn: Callable[..., Any],
        args: tuple[object, ...],
        handler: dispatch.Handler | None,
        request_id: int,
    ) -> None:
        """Run a handler or child; turn its failure into a message, never a crash."""
        try:
            if handler is not None:
                with one_error_per_message():
                    await fn(*args)
            else:
                await fn(*args)
        except Exception as exc:  # noqa: BLE001 - the supervisor boundary
            if isinstance(_leaf(exc), ReaderClosed):
                # an expected race: CLOSE_FILE (or a RESUME_SESSION parking the image)
                # arrived while this request was reading it
                log.info("Session %d: %s: the image was closed while it was in use", self.id, name)
                text = f"{name} failed: the image was closed while it was in use"
            else:
                log.exception("Session %d: %s failed", self.id, name)
                text = f"{name} failed: {describe_error(exc)}"
            response = handler.response if handler else None
            if response is not None and "success" in response.DESCRIPTOR.fields_by_name:
                ack = response(success=False)
                if "message" in response.DESCRIPTOR.fields_by_name:
                    ack.message = text
                await self.reply(request_id, ack)
            else:
                await self.send_error(text, pb.ErrorSeverity.ERROR, [name.lower()])


def _leaf(exc: BaseException) -> BaseException:
    """``exc`` with single-exception groups unwrapped."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def describe_error(exc: BaseException) -> str:
    """A one-line reason, unwrapping single-exception groups."""
    leaf = _leaf(exc)
    return str(leaf) or type(leaf).__name__
