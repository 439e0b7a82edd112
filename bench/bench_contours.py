"""Contour latency and bytes, as ratios to contourpy alone on the same data.

Run: ``python3 bench/bench_contours.py [--size 4096] [--levels 10] [--factor 4] [--rounds 3]``

The plane is astronomy-like (Gaussian sources on noise, a blanked primary-beam
edge). The job is the real one: ``actors.contours.compute_contours`` on a stand-in
frame whose session frames every CONTOUR_IMAGE_DATA it is given and counts the
bytes (defaults of the 4.1.0 frontend: Gaussian smoothing, decimation 4, zstd 8,
chunks of 100000 vertices). Measured in the same run:

1. latency of the whole job (smoothing, tracing, chunking, encoding, framing),
   cold (worker processes still to start) and warm, against contourpy alone tracing
   the same levels of the already smoothed grid in one thread (one generator, given
   1-D coordinates: its fastest use), the floor for a single-core tracer;
2. bytes on the wire against the raw float32 vertices and int32 start indices that
   contourpy returned (the uncompressed message payload);
3. the longest stall of the event loop while the job runs (a trio heartbeat task):
   contourpy holds the GIL, so this shows whether the worker processes keep the
   loop free.

Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import contourpy
import numpy as np
import trio

from carta_trio.actors import workers
from carta_trio.analysis.contours import make_contour_settings, prepare_for_tracing, smooth_plane
from carta_trio.messages import framing, registry


def make_plane(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    plane = rng.normal(0, 1e-3, size=(size, size)).astype(np.float32)
    yy, xx = np.ogrid[0:size, 0:size]
    for _ in range(60):
        cx, cy, s = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(4, size / 40)
        x0, x1 = int(max(0, cx - 5 * s)), int(min(size, cx + 5 * s))
        y0, y1 = int(max(0, cy - 5 * s)), int(min(size, cy + 5 * s))
        if x1 <= x0 or y1 <= y0:
            continue
        blob = np.exp(-((xx[:, x0:x1] - cx) ** 2 + (yy[y0:y1] - cy) ** 2) / (2 * s * s))
        plane[y0:y1, x0:x1] += np.float32(rng.uniform(0.01, 1)) * blob.astype(np.float32)
    plane[np.hypot(xx - size / 2, yy - size / 2) > 0.55 * size] = np.nan
    return plane


def contour_actor() -> Any:
    """The actor module, imported on use: worker processes re-import this script as
    ``__mp_main__`` and need none of the server stack."""
    from carta_trio.actors import contours

    return contours


class CountingSession:
    """What compute_contours needs of a session: run_sync, send_stream, send_error."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.errors: list[str] = []

    async def run_sync(self, fn: Any, *args: Any) -> Any:
        return await workers.run_sync(fn, *args)

    async def send_stream(self, message: Any) -> None:
        self.messages += 1
        self.bytes += len(framing.pack_frame(registry.event_type_of(message), 0, message))

    async def send_error(self, text: str, *args: Any, **kwargs: Any) -> None:
        self.errors.append(text)


class StandInFrame:
    def __init__(self, plane: np.ndarray, settings: Any) -> None:
        self.session = CountingSession()
        self.plane = plane
        self.file_id = 0
        self.channel = 0
        self.stokes = 0
        self.state: dict[str, Any] = {}
        contour_actor().contour_state(self).settings = settings  # type: ignore[arg-type]


async def run_job(plane: np.ndarray, settings: Any) -> tuple[float, CountingSession, float]:
    frame = StandInFrame(plane, settings)
    longest = 0.0
    done = trio.Event()

    async def heartbeat() -> None:
        nonlocal longest
        last = trio.current_time()
        while not done.is_set():
            await trio.sleep(0.005)
            now = trio.current_time()
            longest = max(longest, now - last - 0.005)
            last = now

    async with trio.open_nursery() as nursery:
        nursery.start_soon(heartbeat)
        start = time.perf_counter()
        await contour_actor().compute_contours(frame)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        done.set()
    if frame.session.errors:
        raise RuntimeError(frame.session.errors)
    return elapsed, frame.session, longest


def contourpy_alone(z: np.ndarray, levels: tuple[float, ...]) -> tuple[float, int]:
    start = time.perf_counter()
    raw = 0
    x = np.arange(z.shape[1], dtype=np.float64)
    y = np.arange(z.shape[0], dtype=np.float64)
    gen = contourpy.contour_generator(x, y, z, name="serial", line_type=contourpy.LineType.ChunkCombinedOffset)
    for level in levels:
        points, offsets = gen.lines(level)
        if points and points[0] is not None:
            raw += 8 * len(points[0]) + 4 * (len(offsets[0]) - 1)
    return time.perf_counter() - start, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--levels", type=int, default=10)
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    plane = make_plane(args.size)
    finite = plane[np.isfinite(plane)]
    levels = tuple(float(v) for v in np.geomspace(5e-3, 0.8 * float(finite.max()), args.levels))
    settings = make_contour_settings(levels, 2, args.factor, 4, 8, 100_000)
    print(f"plane {args.size}x{args.size}, {args.levels} levels, Gaussian factor {args.factor}, "
          f"{os.cpu_count()} cores")

    smoothed = smooth_plane(plane, 2, args.factor)
    z = prepare_for_tracing(smoothed.data)
    alone, raw_bytes = contourpy_alone(z, levels)
    raw_settings = make_contour_settings(levels, 2, args.factor, 4, 0, 100_000)

    async def jobs() -> list[tuple[float, CountingSession, float]]:
        # One trio run: worker processes are cached per run, as in the server.
        runs = [await run_job(plane, settings) for _ in range(1 + args.rounds)]
        return runs + [await run_job(plane, raw_settings)]

    results = trio.run(jobs)
    cold, _, cold_stall = results[0]
    warm_runs = results[1:-1]
    warm = min(r[0] for r in warm_runs)
    warm_median = statistics.median(r[0] for r in warm_runs)
    stall = max(r[2] for r in warm_runs)
    session, raw_session = warm_runs[0][1], results[-1][1]
    alone_again, _ = contourpy_alone(z, levels)
    floor = min(alone, alone_again)

    print(f"contourpy alone (1 thread, smoothed grid): {floor:.3f} s")
    print(f"job cold (workers starting):  {cold:.3f} s  ratio {cold / floor:.2f}  longest loop stall {cold_stall * 1e3:.0f} ms")
    print(f"job warm (best of {args.rounds}):        {warm:.3f} s  ratio {warm / floor:.2f}  "
          f"(median {warm_median:.3f} s, ratio {warm_median / floor:.2f})  longest loop stall {stall * 1e3:.0f} ms")
    print(f"messages: {session.messages}, bytes sent {session.bytes / 1e6:.2f} MB "
          f"(uncompressed mode {raw_session.bytes / 1e6:.2f} MB), raw float32 vertices {raw_bytes / 1e6:.2f} MB")
    print(f"bytes ratio (compressed / raw vertices): {session.bytes / raw_bytes:.3f}; "
          f"uncompressed mode / raw: {raw_session.bytes / raw_bytes:.3f}")


if __name__ == "__main__":
    main()
