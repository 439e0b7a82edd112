"""The Job abstraction (actors/jobs.py): slots, replacement, STOP, closing, cadence.

Driven deterministically: trio's autojump clock, no sockets, no wall-clock sleeps.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from carta_trio.actors.jobs import Jobs


class FakeSession:
    """What a job uses of a session: sending and worker threads."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send_stream(self, message: Any) -> None:
        self.sent.append(message)

    async def reply(self, request_id: int, message: Any) -> None:
        self.sent.append((request_id, message))

    async def run_sync(self, fn: Any, *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)


def table(nursery: trio.Nursery, session: FakeSession | None = None) -> Jobs:
    return Jobs(session or FakeSession(), lambda name, fn, *args: nursery.start_soon(fn, *args))  # type: ignore[arg-type]


async def test_newer_job_in_a_slot_wins_and_other_slots_run_on(autojump_clock: Any) -> None:
    finished: list[str] = []

    async def work(tag: str, seconds: float) -> None:
        await trio.sleep(seconds)
        finished.append(tag)

    async with trio.open_nursery() as nursery:
        jobs = table(nursery)
        first = jobs.start("stats", 1, "a", work, "a", 10)
        jobs.start("stats", 2, "b", work, "b", 10)
        second = jobs.start("stats", 1, "c", work, "c", 10)  # replaces "a" before it ever ran
        assert first.cancelled and not second.cancelled
        assert jobs.is_running("stats", 1) and jobs.is_running("stats", 2)
    assert sorted(finished) == ["b", "c"]
    assert jobs.running() == []


async def test_queued_jobs_run_in_order_and_cancel_together(autojump_clock: Any) -> None:
    """``queue=True``: each waits for the one before it (every request is answered);
    cancelling the newest cancels the ones it waits for; past MAX_QUEUED the newest wins."""
    from carta_trio.actors.jobs import MAX_QUEUED

    finished: list[tuple[str, float]] = []

    async def work(tag: str, seconds: float) -> None:
        await trio.sleep(seconds)
        finished.append((tag, trio.current_time()))

    async with trio.open_nursery() as nursery:
        jobs = table(nursery)
        start = trio.current_time()
        for tag in "abc":
            jobs.start("histogram", 1, tag, work, tag, 10, queue=True)
    assert [(tag, round(t - start)) for tag, t in finished] == [("a", 10), ("b", 20), ("c", 30)]
    assert jobs.running() == []

    finished.clear()
    async with trio.open_nursery() as nursery:
        jobs = table(nursery)
        jobs.start("histogram", 1, "a", work, "a", 10, queue=True)
        last = jobs.start("histogram", 1, "b", work, "b", 10, queue=True)
        await trio.sleep(5)
        last.cancel()
    assert finished == []

    async with trio.open_nursery() as nursery:
        jobs = table(nursery)
        queued = [jobs.start("histogram", 1, str(i), work, str(i), 10, queue=True) for i in range(MAX_QUEUED + 2)]
        assert all(job.cancelled for job in queued[:-1]) and not queued[-1].cancelled
    assert [tag for tag, _ in finished] == [str(MAX_QUEUED + 1)]


async def test_stop_by_kind_and_key(autojump_clock: Any) -> None:
    finished: list[str] = []

    async def work(tag: str) -> None:
        await trio.sleep(10)
        finished.append(tag)

    async with trio.open_nursery() as nursery:
        jobs = table(nursery)
        jobs.start("moment", None, "m", work, "m")
        jobs.start("spectral", 3, "s3", work, "s3")
        jobs.start("histogram", 3, "h3", work, "h3")
        jobs.start("histogram", 4, "h4", work, "h4")
        await trio.sleep(1)
        assert jobs.cancel("moment") == 1
        assert jobs.cancel("moment") == 0  # already cancelled: not counted again
        assert jobs.cancel(None, 3) == 2  # every job of region 3
    assert finished == ["h4"]


async def test_open_runs_in_the_callers_task_and_exits_quietly(autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        jobs = table(nursery)
        outcome: list[bool] = []

        async def handler() -> None:
            with jobs.open("pv") as job:
                await trio.sleep_forever()
            outcome.append(job.cancelled)  # the handler answers "cancelled" itself

        nursery.start_soon(handler)
        await trio.sleep(1)
        assert [j.kind for j in jobs.running()] == ["pv"]
        jobs.cancel("pv")
    assert outcome == [True] and jobs.running() == []


async def test_closed_table_cancels_everything_and_starts_nothing(autojump_clock: Any) -> None:
    ran: list[str] = []

    async def work(tag: str) -> None:
        ran.append(tag)
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        jobs = table(nursery)
        jobs.start("contours", None, "c", work, "c")
        await trio.sleep(1)
        jobs.close()
        late = jobs.start("vectors", None, "v", work, "v")
        assert late.cancelled
        with jobs.open("fit") as job:
            await trio.sleep(1)
            pytest.fail("a job opened on a closed table must not run")
        assert job.cancelled
    assert ran == ["c"]


async def test_progress_cadence(autojump_clock: Any) -> None:
    session = FakeSession()
    async with trio.open_nursery() as nursery:
        jobs = table(nursery, session)
        with jobs.open("moment", interval=0.5) as job:
            for step in range(10):
                await job.report(step / 10, f"p{step}")
                await trio.sleep(0.2)
            await job.report(1.0, "done")
    # first report at once, then one every >= 0.5 s of the 2 s, and always the final one
    assert session.sent == ["p0", "p3", "p6", "p9", "done"]
