"""Memory comes back after sessions close (issue 11 D19): a server process serves
identical rounds of sessions (eight sessions open 2048^2 images and stream every
tile of every layer, then close). Five seconds after each round its resident size is
back near where it was after a warm-up session (each round peaks a few hundred MiB
above it; without the release it stayed 170-250 MiB above), and the last round's idle
size is within 10% of the first's (plus allocator noise).

The server runs in its own process (RSS of this pytest process would measure the
test, not the server); stopped by its pid at the end.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.codecs import tile_geometry
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.image_factory import write_fits

TOKEN = "memory-test-token"
ZFP = pb.CompressionType.ZFP


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def settled_rss(pid: int, after: float = 5.0, window: float = 3.0) -> float:
    """The least RSS seen from ``after`` to ``after + window`` seconds from now: memory the
    server still gives back then (threads abandoned by cancellation finishing their last
    call on a busy machine) is not counted as kept; a leak stays in every sample."""
    await trio.sleep(after)
    least = rss_mib(pid)
    for _ in range(int(window / 0.5)):
        await trio.sleep(0.5)
        least = min(least, rss_mib(pid))
    return least


async def one_session(url: str, name: str, size: int, quality: int) -> None:
    top = tile_geometry.total_layers(size, size)
    n = size // 256
    codes = [tile_geometry.encode_tile_code(x, y, layer) for layer in range(top + 1)
             for y in range(n >> (top - layer)) for x in range(n >> (top - layer))]
    async with open_client(url) as client:
        await client.register()
        ack = await client.request(pb.OpenFile(file=name, file_id=0, hdu=""), timeout=60)
        assert ack.success, ack.message
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=codes, compression_type=ZFP,
                                              compression_quality=quality))
        while True:
            envelope = await client.receive(timeout=120)
            if envelope.event_type == pb.EventType.RASTER_TILE_SYNC and envelope.message.end_sync:
                break


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
async def test_idle_rss_returns_after_rounds_of_sessions(tmp_path: Path) -> None:
    size = 2048
    for index in range(4):
        data = np.random.default_rng(index).normal(size=(size, size)).astype(np.float32)
        write_fits(tmp_path / f"img{index}.fits", data)
    write_fits(tmp_path / "small.fits", np.ones((256, 256), dtype=np.float32))
    env = dict(os.environ, CARTA_AUTH_TOKEN=TOKEN, HOME=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "carta_trio", "--no_browser", "--no_frontend", "--host", "127.0.0.1", "--port", "0",
         "--top_level_folder", str(tmp_path), "--no_log"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
    )
    try:
        assert proc.stdout is not None
        port = None
        with trio.fail_after(60):
            while port is None:
                line = await trio.to_thread.run_sync(proc.stdout.readline)
                assert line, "server exited"
                match = re.search(r"Listening on port (\d+)", line)
                port = int(match.group(1)) if match else None
        url = f"ws://127.0.0.1:{port}/?token={TOKEN}"
        with trio.fail_after(60):  # warm-up: every lazily imported module is in
            await one_session(url, "small.fits", 256, 11)
        baseline = await settled_rss(proc.pid)
        idle: list[float] = []
        for round_ in range(4):
            with trio.fail_after(240):
                async with trio.open_nursery() as nursery:
                    for index in range(8):
                        nursery.start_soon(one_session, url, f"img{index % 4}.fits", size, 9 + round_ + index)
            idle.append(await settled_rss(proc.pid))
        print("idle RSS MiB after warm-up and per round", baseline, idle)
        # main: 170-200 MiB above the warm baseline; now 30-65 (a busy machine: more)
        assert max(idle) <= baseline + 96, (baseline, idle)
        # the goal (last round within 10% of the first), with 16 MiB for the
        # allocator's round-to-round noise (it plateaus: 8 rounds stay within 140-156 MiB)
        assert idle[-1] <= 1.10 * idle[0] + 16, idle
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            await trio.to_thread.run_sync(proc.wait, 20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
