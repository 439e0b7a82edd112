"""Which coroutine handles which event type.

Handler modules register with :func:`handles`; the session looks them up by event
type. A handler is ``async def handler(session, request_id, message) -> None``.

``concurrent=False`` handlers run inline in the session's inbox loop, so messages
that change state (OPEN_FILE, SET_REGION, CLOSE_FILE) are applied in arrival order,
as the reference's network-thread handlers are. ``concurrent=True`` handlers run as
supervised child tasks, like the reference's worker tasks, so a slow file listing
never holds up the next message. ``response`` names the ack type to answer with
``success=false`` if the handler fails.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message

from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

#: ``handler(session, request_id, message)``; each handler takes its own message type.
HandlerFn = Callable[["Session", int, Any], Awaitable[None]]

#: Messages whose answer depends on the frame's channel/Stokes. The session holds
#: one of these back while a SET_IMAGE_CHANNELS of its ``file_id`` received before it
#: is still being applied, so it observes the new channel, as the reference's
#: arrival-order handling does; bursts of channel changes still coalesce.
AFTER_CHANNEL_CHANGE: frozenset[int] = frozenset({
    pb.EventType.SET_CURSOR,
    pb.EventType.SET_SPATIAL_REQUIREMENTS,
    pb.EventType.SET_SPECTRAL_REQUIREMENTS,
    pb.EventType.SET_HISTOGRAM_REQUIREMENTS,
    pb.EventType.SET_STATS_REQUIREMENTS,
    pb.EventType.SET_REGION,
    pb.EventType.ADD_REQUIRED_TILES,
    pb.EventType.SET_CONTOUR_PARAMETERS,
    pb.EventType.SET_VECTOR_OVERLAY_PARAMETERS,
    pb.EventType.MOMENT_REQUEST,
    pb.EventType.PV_REQUEST,
    pb.EventType.FITTING_REQUEST,
})


@dataclasses.dataclass(frozen=True)
class Handler:
    event_type: int
    fn: HandlerFn
    concurrent: bool
    response: type[Message] | None

    @property
    def name(self) -> str:
        return getattr(self.fn, "__qualname__", repr(self.fn))


_HANDLERS: dict[int, Handler] = {}


def handles(
    event_type: int, *, concurrent: bool = False, response: type[Message] | None = None
) -> Callable[[HandlerFn], HandlerFn]:
    """Register the decorated coroutine as the handler of ``event_type``."""

    def register(fn: HandlerFn) -> HandlerFn:
        if event_type in _HANDLERS:
            raise RuntimeError(f"event type {event_type} already handled by {_HANDLERS[event_type].name}")
        _HANDLERS[event_type] = Handler(int(event_type), fn, concurrent, response)
        return fn

    return register


def lookup(event_type: int) -> Handler | None:
    """The handler registered for ``event_type``, if any."""
    return _HANDLERS.get(event_type)


@contextlib.contextmanager
def replaced_handler(
    event_type: int, fn: HandlerFn, *, concurrent: bool = False, response: type[Message] | None = None
) -> Iterator[None]:
    """Swap in another handler for the duration of a ``with`` block (tests, fault injection)."""
    previous = _HANDLERS.get(event_type)
    _HANDLERS[event_type] = Handler(int(event_type), fn, concurrent, response)
    try:
        yield
    finally:
        if previous is None:
            _HANDLERS.pop(event_type, None)
        else:
            _HANDLERS[event_type] = previous
