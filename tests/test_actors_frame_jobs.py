"""Per-frame job slots and channel-listener ordering (actors/frame_jobs.py)."""

from __future__ import annotations

from types import SimpleNamespace

import trio
import trio.testing

from carta_trio.actors.frame_jobs import JobSlot, attach_channel_listener, watch_channel_posted, watch_frame_close


def _listener(name: str, order: int | None):
    async def listener(frame, channel_changed, stokes_changed) -> None:
        return None

    listener.__name__ = name
    if order is not None:
        listener.channel_order = order  # type: ignore[attr-defined]
    return listener


def test_listeners_ordered_before_unordered_ones() -> None:
    frame = SimpleNamespace(channel_listeners=[])
    other = _listener("regions", None)
    vectors = _listener("vectors", 20)
    contours = _listener("contours", 10)
    attach_channel_listener(frame, other)
    attach_channel_listener(frame, vectors)
    attach_channel_listener(frame, contours)
    attach_channel_listener(frame, vectors)  # once only
    assert [f.__name__ for f in frame.channel_listeners] == ["contours", "vectors", "regions"]


async def test_starting_a_job_cancels_the_one_in_flight() -> None:
    slot = JobSlot()
    log: list[str] = []

    async def job(name: str, task_status=trio.TASK_STATUS_IGNORED) -> None:
        with slot.start():
            task_status.started()
            await trio.sleep_forever()
        log.append(f"{name} ended")

    async with trio.open_nursery() as nursery:
        await nursery.start(job, "first")
        assert slot.running
        await nursery.start(job, "second")
        await trio.testing.wait_all_tasks_blocked()
        assert log == ["first ended"]
        slot.cancel()
    assert log == ["first ended", "second ended"]
    assert not slot.running


def test_close_and_channel_hooks_register_once() -> None:
    session = SimpleNamespace(state={})
    seen = []
    watch_frame_close(session, "contours", seen.append)
    watch_frame_close(session, "contours", seen.append)
    assert len(session.state["frame_closed_hooks"]) == 1
    frame_without_hooks = SimpleNamespace(state={})
    watch_channel_posted(frame_without_hooks, "contours", seen.append)  # no such API yet: no-op
    frame = SimpleNamespace(state={}, channel_posted_hooks=[])
    watch_channel_posted(frame, "contours", seen.append)
    watch_channel_posted(frame, "contours", seen.append)
    assert frame.channel_posted_hooks == [seen.append]
