"""The Frame actor's lifetime: its nursery owns its work; aclose() cancels it, waits for
reader calls in flight, then closes the reader. Plus the reader-level race that used to
kill the whole server with SIGSEGV (run in a subprocess so a crash fails the test).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio

from carta_trio.actors.frame import Frame
from carta_trio.actors.session_state import SessionState
from carta_trio.io.generated_image import GeneratedImage
from carta_trio.io.reader_guard import GuardedReader, ReaderClosed

REPO = Path(__file__).resolve().parents[1]


class FakeSession:
    """What a frame uses of its session, with messages kept in a list."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.frames: dict[int, Frame] = {}
        self.state = SessionState()
        self._sync = 0

    async def send_stream(self, message: Any) -> None:
        self.sent.append(message)

    async def send_frame(self, data: Any) -> None:
        self.sent.append(data)

    async def send_frames(self, frames: Any) -> None:
        self.sent.extend(frames)

    async def reply(self, request_id: int, message: Any) -> None:
        self.sent.append(message)

    async def send_error(self, text: str, *args: Any) -> None:
        self.sent.append(text)

    def next_sync_id(self) -> int:
        self._sync += 1
        return self._sync

    async def run_sync(self, fn: Any, *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)


class SlowReader(GeneratedImage):
    """An in-memory cube whose plane reads take a while and notice a close under them."""

    def __init__(self, delay: float) -> None:
        super().__init__("slow", np.ones((4, 16, 16), dtype=np.float32), [])
        self.delay = delay
        self.closed_at: float | None = None
        self.violations = 0
        self.reads = 0

    def read_plane(self, channel: int, stokes: int) -> np.ndarray:
        self.reads += 1
        if self.closed_at is not None:
            self.violations += 1
        time.sleep(self.delay)
        if self.closed_at is not None:
            self.violations += 1
        return super().read_plane(channel, stokes)

    def close(self) -> None:
        self.closed_at = time.monotonic()


async def start_frame(nursery: trio.Nursery, reader: Any) -> Frame:
    frame = Frame(FakeSession(), 0, reader, "slow")  # type: ignore[arg-type]
    await nursery.start(frame.run)
    return frame


async def test_aclose_cancels_the_frames_jobs_and_waits_for_reads_in_flight() -> None:
    reader = SlowReader(0.0)
    async with trio.open_nursery() as nursery:
        frame = await start_frame(nursery, reader)
        reader.delay = 0.3
        stopped: list[str] = []

        async def read_forever(tag: str) -> None:
            try:
                while True:
                    await frame.session.run_sync(frame.reader.read_plane, 1, 0)
            finally:
                stopped.append(tag)

        frame.jobs.start("spectral", 1, "a", read_forever, "a")
        frame.jobs.start("stats", 2, "b", read_forever, "b")
        frame.spawn("stream", read_forever, "c")
        await trio.sleep(0.1)  # every task is now inside a (0.3 s) read
        assert frame.reader is not reader and isinstance(frame.reader, GuardedReader)
        await frame.aclose()
    # Everything in the frame's nursery stopped, the abandoned reads finished first,
    # and only then was the reader closed.
    assert sorted(stopped) == ["a", "b", "c"]
    assert reader.closed_at is not None and reader.violations == 0
    assert frame.jobs.running() == []
    with pytest.raises(ReaderClosed):
        frame.reader.read_plane(0, 0)
    assert frame.jobs.start("stats", 1, "late", read_forever, "late").cancelled


async def test_aclose_from_inside_the_frame_only_cancels() -> None:
    async with trio.open_nursery() as nursery:
        frame = await start_frame(nursery, SlowReader(0.0))

        async def close_myself() -> None:
            await frame.aclose()
            await trio.sleep_forever()

        frame.jobs.start("pv", None, "pv", close_myself)
        with trio.fail_after(5):
            await frame._stopped.wait()
    assert frame.closing


def test_guard_closes_after_the_last_call_in_flight() -> None:
    reader = SlowReader(0.2)
    guard = GuardedReader(reader)
    threads = [threading.Thread(target=guard.read_plane, args=(0, 0)) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    assert guard.in_flight == 3
    guard.close()  # returns at once; the last read out closes the reader
    assert not guard.closed and reader.closed_at is None
    assert guard.wait_idle(5)
    for t in threads:
        t.join()
    assert reader.closed_at is not None and reader.violations == 0
    with pytest.raises(ReaderClosed):
        guard.read_plane(0, 0)


RACE = textwrap.dedent(
    """
    import sys, threading, time
    import numpy as np
    sys.path.insert(0, {repo!r})
    from tests.image_factory import write_fits
    from carta_trio.io.fits_reader import FitsReader
    from carta_trio.io.reader_guard import GuardedReader
    path, guarded = sys.argv[1], sys.argv[2] == "guarded"
    data = (np.random.default_rng(0).random((8, 512, 512)) * 1000).astype(np.int32)
    write_fits(path, data, bitpix=32, compress="RICE")
    for trial in range(150):
        reader = FitsReader(path)
        target = GuardedReader(reader) if guarded else reader
        stop = False
        def read():
            i = 0
            while not stop:
                try:
                    target.read_plane(i % 8, 0)
                except Exception:
                    pass
                i += 1
        threads = [threading.Thread(target=read) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.002 + 0.008 * (trial % 7) / 7)
        target.close()
        time.sleep(0.005)
        stop = True
        for t in threads:
            t.join()
    print("survived")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["plain", "guarded"])
def test_closing_a_tile_compressed_fits_reader_during_reads_never_crashes(tmp_path: Path, mode: str) -> None:
    """Closing while threads read (150 trials): cfitsio was freed under a read (SIGSEGV)."""
    script = tmp_path / "race.py"
    script.write_text(RACE.format(repo=str(REPO)))
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "rice.fits"), mode],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"reader race ended with {done.returncode}: {done.stderr[-2000:]}"
    assert "survived" in done.stdout


# --------------------------------------------------------------- deterministic actor tests


async def test_a_burst_of_channel_changes_is_served_once_newest_wins(autojump_clock: Any) -> None:
    """Coalescing inbox: of three SET_IMAGE_CHANNELS posted at once only the newest is
    applied (one plane load, one render histogram, for channel 3)."""
    from carta_trio.messages import schema as pb

    reader = SlowReader(0.0)
    async with trio.open_nursery() as nursery:
        frame = await start_frame(nursery, reader)
        reads_before = reader.reads
        frame.session.sent.clear()
        for channel in (1, 2, 3):
            frame.post_channels(pb.SetImageChannels(file_id=0, channel=channel, stokes=0))
        await frame.channels_settled()
        histograms = [m for m in frame.session.sent if isinstance(m, pb.RegionHistogramData)]
        assert frame.channel == 3 and reader.reads == reads_before + 1
        assert [h.channel for h in histograms] == [3]
        assert not [m for m in frame.session.sent if isinstance(m, str)], frame.session.sent  # no errors
        await frame.aclose()


async def test_posting_a_channel_change_cancels_the_overlays_of_the_old_channel(autojump_clock: Any) -> None:
    from carta_trio.actors.channel_change import FOLLOW_CHANNEL_JOBS
    from carta_trio.messages import schema as pb

    async with trio.open_nursery() as nursery:
        frame = await start_frame(nursery, SlowReader(0.0))
        jobs = [frame.jobs.start(kind, None, kind, trio.sleep_forever) for kind in FOLLOW_CHANNEL_JOBS]
        other = frame.jobs.start("spectral", 1, "spectral", trio.sleep_forever)
        await trio.sleep(1)
        frame.post_channels(pb.SetImageChannels(file_id=0, channel=2, stokes=0))
        assert all(job.cancelled for job in jobs) and not other.cancelled  # at once, not after the switch
        await frame.aclose()
    assert other.cancelled


async def test_animation_paces_frames_and_waits_for_flow_control(mock_clock: Any) -> None:
    """Animation actor, virtual time: frames 1/rate apart, the start frame (already
    current) sends nothing, and once the shown frame is past the flow-control window (rate 3:
    one channel) the next waits for ANIMATION_FLOW_CONTROL. The clock jumps only after 250 ms of real
    idleness, so plane reads in worker threads finish before virtual time moves on (50 ms
    was too short on a slow CI machine: frame 2 came after the 1.5 s of virtual time)."""
    mock_clock.autojump_threshold = 0.25
    from carta_trio.actors.animation import Animation
    from carta_trio.messages import schema as pb

    shown: list[tuple[int, float]] = []
    async with trio.open_nursery() as nursery:
        frame = await start_frame(nursery, SlowReader(0.0))
        session = frame.session
        session.frames[0] = frame
        sent = session.send_stream

        async def record(message: Any) -> None:
            if isinstance(message, pb.RegionHistogramData):
                shown.append((message.channel, trio.current_time()))
            await sent(message)

        session.send_stream = record  # type: ignore[method-assign]
        af = pb.AnimationFrame
        animation = Animation(session, 1, pb.StartAnimation(  # type: ignore[arg-type]
            file_id=0, first_frame=af(channel=0, stokes=0), start_frame=af(channel=0, stokes=0),
            last_frame=af(channel=3, stokes=0), delta_frame=af(channel=1, stokes=0), frame_rate=3))
        nursery.start_soon(animation.run)
        await trio.sleep(1.5)
        assert [c for c, _ in shown] == [1, 2]  # then 2 ahead of the acknowledged 0: it waits
        animation.acknowledge(af(channel=2, stokes=0))
        await trio.sleep(1)
        assert [c for c, _ in shown] == [1, 2, 3]
        times = [t for _, t in shown]
        assert times[1] - times[0] >= 1 / 3 - 1e-9
        await frame.aclose()
