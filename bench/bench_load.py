"""Fairness and memory under load: one light session next to many heavy ones.

Run: ``python3 -m bench.bench_load [--sessions 50] [--size 4096] [--rounds 4] [--cube-mb 1024]``

The server runs as its own process on 127.0.0.1 (stopped by pid at the end); its
RSS is sampled from /proc every 0.1 s. Each round:

(a) idle: a light session's cursor latency (SET_CURSOR with x/y profiles until its
    SPATIAL_PROFILE_DATA, one at a time, 50 ms apart) with nothing else running;
(b) tiles: SESSIONS sessions (in a separate client process, so the light client
    does not share their GIL) each open the SIZE x SIZE image and request all its
    full-resolution tiles over and over, with a new compression quality each time
    so every pass is encoded again; the light cursor is measured meanwhile; total
    tiles/s across the sessions;
(c) moment: one session computes moment 0 of a CUBE_MB cube while the light
    cursor is measured;
(d) idle RSS: every session closed, 6 s later (after the server's memory release).

Prints cursor p50/p99 per phase, tiles/s, RSS peak per round and idle RSS after
each round. Goals (issue 11): cursor p99 < 250 ms under (b); idle RSS after round 4
within 10% of round 1's; RSS peak within the cache budget + 20%. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from bench.bench_tile_stream import write_fits
from bench.serving import TOKEN
from carta_trio.codecs import tile_geometry
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client

ZFP = pb.CompressionType.ZFP


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssMonitor:
    """Samples a process's RSS; ``peak`` since the last :meth:`reset`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0

    def reset(self) -> None:
        self.peak = rss_mib(self.pid)

    async def run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mib(self.pid))
            await trio.sleep(0.1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(latencies: list[float]) -> str:
    if not latencies:
        return "no samples"
    return (f"p50 {percentile(latencies, 0.5) * 1e3:.0f} ms, p99 {percentile(latencies, 0.99) * 1e3:.0f} ms, "
            f"max {max(latencies) * 1e3:.0f} ms over {len(latencies)}")


# ------------------------------------------------------------------ the light session

async def open_image(client: CartaClient, name: str, file_id: int = 0) -> None:
    ack = await client.request(pb.OpenFile(file=name, file_id=file_id, hdu=""), timeout=120)
    assert ack.success, ack.message


#: PING -> PONG round trips of the light session, per phase: the event loop's own
#: latency (the connection answers without any worker thread), next to the cursor's.
PINGS: list[float] = []


async def cursor_latencies(client: CartaClient, size: int, until: trio.Event, limit: float) -> list[float]:
    """SET_CURSOR one at a time until ``until`` is set (or ``limit`` seconds pass); a
    PING between cursor moves (into :data:`PINGS`)."""
    latencies: list[float] = []
    rng = random.Random(1)
    with trio.move_on_after(limit):
        while not until.is_set():
            x, y = rng.randrange(size), rng.randrange(size)
            start = time.perf_counter()
            await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=x, y=y)))
            while True:
                message = (await client.expect(pb.SpatialProfileData, timeout=120)).message
                if (message.x, message.y) == (x, y):
                    break
            latencies.append(time.perf_counter() - start)
            await trio.sleep(0.025)
            start = time.perf_counter()
            await client.ping(timeout=120)
            PINGS.append(time.perf_counter() - start)
            await trio.sleep(0.025)
    return latencies


async def light_session(url: str, size: int, until: trio.Event, limit: float,
                        ready: trio.Event | None = None) -> list[float]:
    async with open_client(url) as client:
        await client.register()
        await open_image(client, "big.fits")
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=0, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="x"),
            pb.SetSpatialRequirements.SpatialConfig(coordinate="y")]))
        if ready is not None:
            ready.set()
        return await cursor_latencies(client, size, until, limit)


async def moment_session(url: str, depth: int, ready: trio.Event, done: trio.Event, seconds: float) -> list[float]:
    """Moment 0 of the whole cube, again and again for ``seconds`` once ``ready``; the
    seconds each took. Sets ``done`` at the end."""
    durations: list[float] = []
    try:
        async with open_client(url) as client:
            await client.register()
            await open_image(client, "cube.fits")
            await ready.wait()
            stop_at = time.monotonic() + seconds
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                await client.send(pb.MomentRequest(file_id=0, moments=[0], axis=pb.MomentAxis.SPECTRAL, region_id=-1,
                                                   spectral_range=pb.IntBounds(min=0, max=depth - 1)))
                response = (await client.expect(pb.MomentResponse, timeout=seconds * 5)).message
                if not response.success:
                    print(f"    moment failed: {response.message}")
                    break
                durations.append(time.perf_counter() - start)
                for ack in response.open_file_acks:  # the generated image opened as a new file
                    await client.send(pb.CloseFile(file_id=ack.file_id))
    finally:
        done.set()
    return durations


# ------------------------------------------------------------- the streaming sessions

async def stream_session(url: str, size: int, stop_at: float, counts: list[int], index: int) -> None:
    top = tile_geometry.total_layers(size, size)
    n = (size + 255) // 256
    codes = [tile_geometry.encode_tile_code(x, y, top) for y in range(n) for x in range(n)]
    async with open_client(url) as client:
        await client.register()
        await open_image(client, "big.fits")
        quality = 10 + index % 8
        while time.monotonic() < stop_at:
            quality = 10 + (quality - 9) % 10  # a new quality each pass: every tile encoded again
            await client.send(pb.AddRequiredTiles(file_id=0, tiles=codes, compression_type=ZFP,
                                                  compression_quality=quality))
            while True:
                envelope = await client.receive(timeout=300)
                if envelope.event_type == pb.EventType.RASTER_TILE_DATA:
                    counts[index] += 1
                elif envelope.event_type == pb.EventType.RASTER_TILE_SYNC and envelope.message.end_sync:
                    break


async def streamers(url: str, sessions: int, size: int, seconds: float) -> None:
    """Client-process entry: SESSIONS streaming sessions for SECONDS; prints tile counts."""
    counts = [0] * sessions
    stop_at = time.monotonic() + seconds
    start = time.monotonic()
    with trio.move_on_after(seconds + 120):
        async with trio.open_nursery() as nursery:
            for index in range(sessions):
                nursery.start_soon(stream_session, url, size, stop_at, counts, index)
    print(f"TILES {sum(counts)} {time.monotonic() - start:.3f}", flush=True)


# ----------------------------------------------------------------------- the driver

async def start_server(top: Path, extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, CARTA_AUTH_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "carta_trio", "--no_browser", "--no_frontend", "--host", "127.0.0.1", "--port", "0",
         "--top_level_folder", str(top), "--no_log", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
    )
    assert proc.stdout is not None
    while True:
        line = await trio.to_thread.run_sync(proc.stdout.readline)
        if not line:
            raise RuntimeError("server exited before listening")
        match = re.search(r"Listening on port (\d+)", line)
        if match:
            break
    await trio.sleep(1.0)
    return proc, f"ws://127.0.0.1:{match.group(1)}/?token={TOKEN}"


def stop_server(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


async def tiles_phase(url: str, args: argparse.Namespace) -> tuple[list[float], float]:
    """The light cursor while SESSIONS sessions stream tiles; returns latencies and tiles/s."""
    client = await trio.lowlevel.open_process(
        [sys.executable, "-m", "bench.bench_load", "--streamers", url, "--sessions", str(args.sessions),
         "--size", str(args.size), "--seconds", str(args.seconds)],
        stdout=subprocess.PIPE,
    )
    done = trio.Event()
    latencies: list[float] = []
    output = b""
    async with trio.open_nursery() as nursery:

        async def measure() -> None:
            await trio.sleep(min(5.0, args.seconds / 3))  # sessions open and start streaming
            latencies.extend(await light_session(url, args.size, done, args.seconds))

        nursery.start_soon(measure)
        assert client.stdout is not None
        async for chunk in client.stdout:
            output += chunk
        await client.wait()
        done.set()
    match = re.search(rb"TILES (\d+) ([\d.]+)", output)
    rate = int(match.group(1)) / float(match.group(2)) if match else float("nan")
    return latencies, rate


async def moment_phase(url: str, args: argparse.Namespace) -> tuple[list[float], list[float]]:
    """The light cursor while one session computes moment 0 of the cube over and over."""
    ready, done = trio.Event(), trio.Event()
    latencies: list[float] = []
    durations: list[float] = []
    async with trio.open_nursery() as nursery:

        async def moment() -> None:
            durations.extend(await moment_session(url, args.depth, ready, done, args.seconds))

        async def measure() -> None:
            latencies.extend(await light_session(url, args.size, done, args.seconds * 5, ready))

        nursery.start_soon(moment)
        nursery.start_soon(measure)
    return latencies, durations


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as top:
        folder = Path(top)
        write_fits(folder / "big.fits", (args.size, args.size))
        side = 1024
        depth = max(1, args.cube_mb * 2**20 // (side * side * 4))
        write_fits(folder / "cube.fits", (depth, side, side), seed=1)
        args.depth = depth
        proc, url = await start_server(folder, args.server_args)
        print(f"server pid {proc.pid}; {args.sessions} sessions x {args.seconds:.0f} s on {args.size}^2; "
              f"cube {side}x{side}x{depth}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        monitor = RssMonitor(proc.pid)
        idle: list[float] = []
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(monitor.run)
                for round_ in range(1, args.rounds + 1):
                    monitor.reset()
                    quiet = trio.Event()
                    PINGS.clear()
                    base = await light_session(url, args.size, quiet, 3)
                    line = f"round {round_}: idle cursor {summary(base)}; ping {summary(PINGS)}\n"
                    PINGS.clear()
                    tiles, rate = await tiles_phase(url, args)
                    line += (f"  tiles x{args.sessions}: cursor {summary(tiles)}; ping {summary(PINGS)}; "
                             f"{rate:.0f} tiles/s total")
                    if not args.no_moment:
                        PINGS.clear()
                        moment, durations = await moment_phase(url, args)
                        took = statistics.median(durations) if durations else float("nan")
                        line += (f"\n  moment 0 x{len(durations)} (median {took:.1f} s each): cursor {summary(moment)}; "
                                 f"ping {summary(PINGS)}")
                    await trio.sleep(6)  # the server releases memory 0.5 s and 4.5 s after sessions end
                    idle.append(rss_mib(proc.pid))
                    print(f"{line}\n  RSS peak {monitor.peak:.0f} MiB, idle after {idle[-1]:.0f} MiB "
                          f"(load average {os.getloadavg()[0]:.1f})", flush=True)
                nursery.cancel_scope.cancel()
        finally:
            stop_server(proc)
        if len(idle) > 1:
            print(f"idle RSS after the last round / after the first: {idle[-1] / idle[0]:.2f} (goal <= 1.10)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the tile phase")
    parser.add_argument("--cube-mb", type=int, default=1024)
    parser.add_argument("--no-moment", action="store_true")
    parser.add_argument("--streamers", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("server_args", nargs="*", help="extra server options (after --)")
    args = parser.parse_args()
    if args.streamers:
        trio.run(streamers, args.streamers, args.sessions, args.size, args.seconds)
    else:
        trio.run(main, args)
