"""A Link: one WebSocket connection as its Session sees it.

The connection (:mod:`~carta_trio.actors.connection`) creates a link when it accepts the
socket and owns its channels; the session manager attaches it to a session at its first
binary frame; the session serves it until the connection goes (:meth:`Session.run
<carta_trio.actors.session.Session.run>`). A session outlives its links: a viewer that
reconnects gets a new link to the same session.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from carta_trio.actors.session import Session


@dataclasses.dataclass(eq=False)
class Link:
    """One connection as its session sees it. The connection creates the channels and
    owns the socket; the session serves ``inbox`` and sends into ``outbound`` while the
    link is attached, and closes ``outbound`` when it lets go of the link (the
    connection's writer then ends after sending what is queued)."""

    address: str
    inbox: trio.MemoryReceiveChannel[bytes]
    outbound: trio.MemorySendChannel[bytes | str]
    #: Cancelled when the connection goes: the session stops the link's handlers at once.
    scope: trio.CancelScope = dataclasses.field(default_factory=trio.CancelScope)
    #: The session this link attached to (at its first binary message), if any yet.
    session: Session | None = None
    #: The connection ended without a close frame: the peer vanished (ws_close.dropped).
    dropped: bool = False
    #: The server closed the connection itself (idle timeout, register watchdog).
    closed_here: bool = False
    #: A newer connection took the session over (SessionManager.attach).
    evicted: bool = False
    #: trio clock of the last binary message (the idle timeout).
    last_message_time: float = dataclasses.field(default_factory=trio.current_time)

    def end(self) -> None:
        """Stop serving this link (not a checkpoint)."""
        self.scope.cancel()
