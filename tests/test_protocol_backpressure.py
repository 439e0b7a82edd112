"""Backpressure: a burst of concurrent requests is held by the bounded inbox, not turned
into thousands of tasks (3,000 FILE_INFO grew the server from 16 to 2,816 tasks; this
burst of 1,000 slowed-down ones reached ~570 extra tasks without the bound)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio

from carta_trio.actors import session as session_module
from carta_trio.io import file_info
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.image_factory import write_fits


def count_tasks() -> int:
    """Every task of this trio run (the server runs in the test's run)."""
    count = 0
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        count += 1
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return count


async def test_file_info_burst_creates_a_bounded_number_of_tasks(
    carta_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fits(data_dir / "a.fits", np.ones((8, 8), dtype=np.float32))
    real = file_info.file_info

    def slow_file_info(*args: Any) -> Any:
        time.sleep(0.002)  # a file on a slow disk: requests arrive faster than answers
        return real(*args)

    monkeypatch.setattr(file_info, "file_info", slow_file_info)
    burst = 1000
    peak = 0
    async with open_client(carta_url) as client:
        await client.register()
        baseline = count_tasks()

        async def sample() -> None:
            nonlocal peak
            while True:
                peak = max(peak, count_tasks())
                await trio.sleep(0)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sample)
            for _ in range(burst):
                await client.send(pb.FileInfoRequest(directory="", file="a.fits", hdu=""))
            answered = 0
            with trio.fail_after(120):
                while answered < burst:
                    envelope = await client.receive(timeout=60)
                    if isinstance(envelope.message, pb.FileInfoResponse):
                        assert envelope.message.success
                        answered += 1
            nursery.cancel_scope.cancel()
    # At most the handler bound above the idle count (plus the sampler and a few waiters).
    assert session_module.MAX_CONCURRENT_HANDLERS <= 32
    assert peak - baseline <= 40, (baseline, peak)  # unbounded: hundreds
