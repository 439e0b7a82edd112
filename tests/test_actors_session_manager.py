"""The session manager's lifetime rules, driven through memory channels in virtual time.

No socket: a Link is two memory channels, as a connection makes them, and trio's
autojump clock runs the grace period's 60 s at once. What the socket tests
(test_protocol_reconnect.py) show end to end, shown here deterministically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from carta_trio.actors import server  # noqa: F401  (registers the handlers)
from carta_trio.actors.session_link import Link
from carta_trio.actors.session_manager import SessionManager
from carta_trio.messages import framing, registry
from carta_trio.messages import schema as pb
from carta_trio.settings import Settings


class Viewer:
    """One connection's side of a Link."""

    def __init__(self, address: str = "10.0.0.1") -> None:
        self.inbox, inbox_recv = trio.open_memory_channel[bytes](32)
        out_send, self.outbound = trio.open_memory_channel[bytes | str](64)
        self.link = Link(address, inbox_recv, out_send)

    async def register(self, manager: SessionManager, session_id: int = 0) -> pb.RegisterViewerAck:
        frame = framing.pack_frame(pb.EventType.REGISTER_VIEWER, 1, pb.RegisterViewer(session_id=session_id))
        await manager.attach(self.link, frame)
        await self.inbox.send(frame)
        ack: pb.RegisterViewerAck = registry.decode_frame(await self.outbound.receive()).message  # type: ignore[assignment]
        return ack

    def drop(self, manager: SessionManager) -> None:
        self.link.dropped = True
        manager.detach(self.link)


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(top_level_folder=tmp_path, starting_folder=tmp_path, **overrides)


async def test_a_dropped_session_is_kept_for_the_grace_period_then_ends(tmp_path: Path, autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        manager = SessionManager(settings(tmp_path, reconnect_grace=60.0), nursery, trio.Event())
        viewer = Viewer()
        session_id = (await viewer.register(manager)).session_id
        session = manager.sessions[session_id]
        viewer.drop(manager)
        await trio.sleep(59)
        assert manager.kept == [session] and session.nursery is not None and not session.attached
        await trio.sleep(2)
        assert manager.sessions == {} and manager.kept == [] and session.nursery is None
        nursery.cancel_scope.cancel()


async def test_a_reconnect_within_the_period_stops_the_clock(tmp_path: Path, autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        manager = SessionManager(settings(tmp_path, reconnect_grace=60.0), nursery, trio.Event())
        first = Viewer()
        session_id = (await first.register(manager)).session_id
        session = manager.sessions[session_id]
        first.drop(manager)
        await trio.sleep(30)
        second = Viewer()
        ack = await second.register(manager, session_id)
        assert (ack.session_type, ack.session_id) == (pb.SessionType.RESUMED, session_id)
        assert ack.message == f"Network reconnected with session id {session_id}"
        await trio.sleep(600)
        assert manager.sessions == {session_id: session} and manager.kept == [] and session.attached
        # a closed (not dropped) connection ends the session at once
        manager.detach(second.link)
        await trio.sleep(0.01)
        assert manager.sessions == {} and session.nursery is None
        nursery.cancel_scope.cancel()


async def test_zero_grace_and_foreign_addresses(tmp_path: Path, autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        manager = SessionManager(settings(tmp_path, reconnect_grace=0.0), nursery, trio.Event())
        viewer = Viewer()
        await viewer.register(manager)
        viewer.drop(manager)
        await trio.sleep(0.01)
        assert manager.sessions == {}
        manager.settings = settings(tmp_path, reconnect_grace=60.0)
        owner = Viewer("10.0.0.1")
        session_id = (await owner.register(manager)).session_id
        owner.drop(manager)
        stranger = Viewer("10.9.9.9")
        ack = await stranger.register(manager, session_id)
        assert ack.session_id not in (0, session_id) and len(manager.sessions) == 2
        assert manager.sessions[session_id].address == "10.0.0.1"
        nursery.cancel_scope.cancel()
