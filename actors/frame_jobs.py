"""Per-frame job slots for the overlays that follow the channel (contours, vectors).

A :class:`JobSlot` holds the cancel scope of the one computation of its kind that
may run for a frame: starting a job cancels the one in flight, so new parameters
or a channel change always win. Jobs run in the task that asked for them (the
parameter handler's task, or the frame's own task inside a channel listener),
which keeps their messages in the reference's order after a channel change:
contours, then vectors, then tiles (BEHAVIOUR.md §4.4).

:func:`attach_channel_listener` inserts a listener into ``frame.channel_listeners``
by its ``channel_order`` attribute, ahead of listeners that have none, and
:func:`watch_frame_close` makes CLOSE_FILE cancel the slots of the closed frame.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from carta_trio.actors.frame import ChannelListener, Frame
    from carta_trio.actors.session import Session


class JobSlot:
    """The running job of one kind on one frame (at most one)."""

    def __init__(self) -> None:
        self.scope: trio.CancelScope | None = None

    def cancel(self) -> None:
        """Cancel the job in flight, if any (not a checkpoint)."""
        if self.scope is not None:
            self.scope.cancel()
            self.scope = None

    @property
    def running(self) -> bool:
        return self.scope is not None

    @contextlib.contextmanager
    def start(self) -> Iterator[trio.CancelScope]:
        """Cancel the job in flight and run the ``with`` body as the new one; the
        body ends early (without an exception) if a later job or :meth:`cancel`
        cancels it."""
        self.cancel()
        with trio.CancelScope() as scope:
            self.scope = scope
            try:
                yield scope
            finally:
                if self.scope is scope:
                    self.scope = None


def attach_channel_listener(frame: Frame, listener: ChannelListener) -> None:
    """Add ``listener`` once, ordered by its ``channel_order`` attribute among the
    ordered listeners, which all run before unordered ones."""
    listeners = frame.channel_listeners
    if listener in listeners:
        return
    order = getattr(listener, "channel_order", None)
    index = len(listeners)
    if order is not None:
        for position, other in enumerate(listeners):
            other_order = getattr(other, "channel_order", None)
            if other_order is None or other_order > order:
                index = position
                break
    listeners.insert(index, listener)


def watch_frame_close(session: Session, key: str, hook: Callable[[Frame], None]) -> None:
    """Register ``hook(frame)`` once per session for CLOSE_FILE (the session's
    ``frame_closed_hooks``); ``key`` names the hook so it is added only once."""
    registered: set[str] = session.state.setdefault("frame_closed_hook_keys", set())
    if key in registered:
        return
    registered.add(key)
    session.state.setdefault("frame_closed_hooks", []).append(hook)


def watch_channel_posted(frame: Frame, key: str, hook: Callable[[Frame], None]) -> None:
    """Call ``hook(frame)`` as soon as a channel change is queued, if the frame
    offers ``channel_posted_hooks`` (so a job for the outgoing channel stops at once
    instead of finishing before the frame turns to the new channel)."""
    hooks: list[Any] | None = getattr(frame, "channel_posted_hooks", None)
    keys: set[str] = frame.state.setdefault("channel_posted_keys", set())
    if hooks is None or key in keys:
        return
    keys.add(key)
    hooks.append(hook)
