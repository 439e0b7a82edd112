"""The job runner: registration, replacement, cancellation by kind and file, cadence."""

from __future__ import annotations

import trio
import trio.testing

from carta_trio.actors.jobs import cancel_file_jobs, cancel_jobs, open_job, running_jobs


class FakeSession:
    def __init__(self) -> None:
        self.state: dict = {}
        self.sent: list = []

    async def send_stream(self, message) -> None:
        self.sent.append(message)

    async def run_sync(self, fn, *args):
        return await trio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)


async def test_stop_by_kind_and_file_and_replacement() -> None:
    session = FakeSession()
    finished: list[str] = []

    async def job(kind: str, key: int, file_id: int) -> None:
        async with open_job(session, kind, key, file_id=file_id):
            await trio.sleep_forever()
        finished.append(f"{kind}{key}")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(job, "moment", 1, 0)
        nursery.start_soon(job, "pv", 1, 0)
        nursery.start_soon(job, "pv", 2, 5)
        await trio.testing.wait_all_tasks_blocked()
        assert len(running_jobs(session)) == 3
        assert cancel_jobs(session, "moment", file_id=0) == 1
        await trio.testing.wait_all_tasks_blocked()
        assert finished == ["moment1"]
        nursery.start_soon(job, "pv", 2, 5)  # same key: replaces the running one
        await trio.testing.wait_all_tasks_blocked()
        assert finished == ["moment1", "pv2"] and len(running_jobs(session, "pv")) == 2
        assert cancel_file_jobs(session, 5) == 1
        assert cancel_jobs(session) == 1
    assert running_jobs(session) == []


async def test_progress_cadence(autojump_clock) -> None:
    session = FakeSession()
    async with open_job(session, "moment", 1, interval=0.5) as job:
        for step in range(10):
            await job.report(step / 10, f"p{step}")
            await trio.sleep(0.2)
        await job.report(1.0, "done")
    # first report at once, then every >= 0.5 s (every third 0.2 s step), and the final one
    assert session.sent == ["p0", "p3", "p6", "p9", "done"]


async def test_cancel_interrupts_a_worker_thread_wait() -> None:
    session = FakeSession()
    release = trio.Event()

    def slow() -> int:
        trio.from_thread.run_sync(release.set)
        import time
        time.sleep(0.5)
        return 1

    async with trio.open_nursery() as nursery:
        async def run() -> None:
            async with open_job(session, "fit", 1) as job:
                await job.run_chunk(slow)

        nursery.start_soon(run)
        await release.wait()
        start = trio.current_time()
        cancel_jobs(session, "fit")
    assert trio.current_time() - start < 0.3
