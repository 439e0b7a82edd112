"""Event-loop stalls while images are read, per file format and per kind of read.

Run: ``python3 -m bench.bench_loop_stall [--size 3000] [--cube 512x512x500] [--formats rice,hdf5]``

One process serves every viewer, so a read that holds the GIL freezes every session's
tiles and PINGs for as long as it runs (fitsio decompressing a tile-compressed image
holds it for the whole call). For each format (FITS plain, RICE and GZIP tile-compressed
FITS, HDF5 IDIA, CASA, MIRIAD; see ``bench/stall_images.py``) a ``size`` x ``size`` x 2
image and a cube are written; then, in a trio run, the reads a frame does run the way
the actors run them (``workers.run_sync`` in worker threads, the same chunk sizes):

* ``open``: opening and closing the large image (twice);
* ``plane``: whole planes of the large image (``region_data.read_plane``, a channel change);
* ``cursor``: cursor spectral profiles of the cube, in the cursor job's adaptive blocks;
* ``region``: a 100 x 100 region's spectral profile, blocks split over two threads;
* ``cube hist``: the two passes of a cube histogram, 32 MiB chunks, two at a time.

Meanwhile a heartbeat task sleeps 1 ms at a time and records how late it wakes. Printed
per format and read: the longest lateness (the loop stall) and the time the reads took.
Reference rows measure the same heartbeat with no reads, with worker threads that only
sleep, and with worker threads burning CPU without the GIL (``hashlib``): on a shared
machine those are the floor the format rows cannot go below.
Target (DESIGN.md): no stall above ~20 ms. Asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import trio

from bench.serving import load_average
from bench.stall_images import FORMATS, noise
from carta_trio.actors import region_data, workers
from carta_trio.analysis import histograms, spectral_profiles
from carta_trio.io.images import open_image

HEARTBEAT = 0.001
REGION_EDGE = 100
CUBE_CHUNK_BYTES = 32 << 20

Workload = Callable[[Any], Awaitable[None]]


async def _heartbeat(lateness: list[float]) -> None:
    while True:
        start = time.perf_counter()
        await trio.sleep(HEARTBEAT)
        lateness.append(time.perf_counter() - start - HEARTBEAT)


async def _measure(work: Callable[[], Awaitable[None]]) -> tuple[list[float], float]:
    """Heartbeat lateness while ``work`` runs, and how long it took."""
    lateness: list[float] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_heartbeat, lateness)
        await trio.sleep(0.05)
        start = time.perf_counter()
        await work()
        took = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return lateness, took


async def _two_at_a_time(items: list[Any], fn: Callable[[Any], Awaitable[None]]) -> None:
    pending = list(items)

    async def worker() -> None:
        while pending:
            await fn(pending.pop(0))

    async with trio.open_nursery() as nursery:
        for _ in range(2):
            nursery.start_soon(worker)


# ----------------------------------------------------------------------- workloads


async def open_close(path: Path) -> None:
    for _ in range(2):
        await workers.run_sync(lambda: open_image(path, "").close())


def plane_reads(count: int) -> Workload:
    async def work(reader: Any) -> None:
        for i in range(count):
            await workers.run_sync(region_data.read_plane, reader, i % reader.depth, 0)
    return work


async def cursor_profiles(reader: Any) -> None:
    """Spectra at four pixels, in the cursor job's blocks (10 channels, then ~50 ms)."""
    for k in range(4):
        x, y = (reader.width * (k + 1)) // 5, (reader.height * (4 - k)) // 5
        delta, z = spectral_profiles.INIT_DELTA_Z, 0
        while z < reader.depth:
            z1 = min(reader.depth, z + delta)
            start = time.perf_counter()
            await workers.run_sync(region_data.read_spectrum, reader, x, y, 0, z, z1)
            delta = spectral_profiles.next_cursor_delta(delta, z1 - z, (time.perf_counter() - start) * 1e3,
                                                        reader.depth)
            z = z1


def _region_block(reader: Any, x0: int, y0: int, z0: int, z1: int) -> None:
    block = reader.read_cube(x0, x0 + REGION_EDGE, y0, y0 + REGION_EDGE, z0, z1, 0)
    spectral_profiles.region_spectral_profiles(block, None)


async def region_profile(reader: Any) -> None:
    """A 100 x 100 box's profile in adaptive blocks (~50 ms), each split over two threads."""
    x0, y0 = max(0, reader.width // 2 - REGION_EDGE // 2), max(0, reader.height // 2 - REGION_EDGE // 2)
    delta, z = spectral_profiles.INIT_DELTA_Z, 0
    while z < reader.depth:
        z1 = min(reader.depth, z + delta)
        start = time.perf_counter()
        edges = np.linspace(z, z1, 3).astype(int) if z1 - z >= 16 else np.array([z, z1])
        async with trio.open_nursery() as nursery:
            for a, b in zip(edges[:-1], edges[1:]):
                nursery.start_soon(workers.run_sync, _region_block, reader, x0, y0, int(a), int(b))
        delta = spectral_profiles.next_region_delta(z1 - z, (time.perf_counter() - start) * 1e3, reader.depth)
        z = z1


async def cube_histogram(reader: Any) -> None:
    """Statistics pass, then counting pass, over 32 MiB chunks of planes, two at a time."""
    planes = max(1, CUBE_CHUNK_BYTES // (reader.width * reader.height * 4))
    chunks = [(z, min(reader.depth, z + planes)) for z in range(0, reader.depth, planes)]
    stats: list[histograms.BasicStats] = []

    def read(z0: int, z1: int) -> np.ndarray:
        return region_data.read_block(reader, 0, reader.width, 0, reader.height, z0, z1, 0)

    async def first(chunk: tuple[int, int]) -> None:
        stats.extend(await workers.run_sync(lambda: histograms.basic_stats_planes(read(*chunk))))

    await _two_at_a_time(chunks, first)
    joined = stats[0]
    for item in stats[1:]:
        joined = joined.join(item)
    bins = histograms.histogram_bins(joined.min, joined.max, 1000)

    async def second(chunk: tuple[int, int]) -> None:
        await workers.run_sync(lambda: histograms.bin_counts(read(*chunk), bins))

    await _two_at_a_time(chunks, second)


def references(seconds: float) -> dict[str, Callable[[], Awaitable[None]]]:
    """Work that never holds the GIL for long: the machine's own noise floor."""
    buffer = os.urandom(8 << 20)

    async def idle() -> None:
        await trio.sleep(seconds)

    async def sleeping() -> None:
        await _two_at_a_time([0.05] * int(seconds / 0.025), lambda s: workers.run_sync(time.sleep, s))

    async def burning() -> None:
        deadline = time.perf_counter() + seconds

        async def burn() -> None:
            while time.perf_counter() < deadline:
                await workers.run_sync(lambda: hashlib.sha256(buffer).digest())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(burn)
            nursery.start_soon(burn)

    return {"(no reads)": idle, "(sleeping threads)": sleeping, "(GIL-free CPU x2)": burning}


# ----------------------------------------------------------------------- main


def _cell(result: tuple[list[float], float] | None) -> str:
    if result is None:
        return f"{'-':>19}"
    lateness, took = result
    return f"{max(lateness) * 1e3:5.1f} {float(np.percentile(lateness, 99)) * 1e3:4.1f} {took:6.2f}s"


def _run(path: Path, work: Workload) -> tuple[list[float], float]:
    async def main() -> tuple[list[float], float]:
        reader = await workers.run_sync(open_image, path, "")
        try:
            return await _measure(lambda: work(reader))
        finally:
            reader.close()
    return trio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=3000, help="edge of the plane image (size x size x 2)")
    parser.add_argument("--cube", default="512x512x500", help="WxHxD of the cube for profiles and histograms")
    parser.add_argument("--reads", type=int, default=6, help="planes read per format")
    parser.add_argument("--dir", default=None)
    parser.add_argument("--formats", default="", help="comma-separated substrings of format names")
    parser.add_argument("--skip", default="", help="comma-separated reads to skip: open,plane,cursor,region,hist")
    parser.add_argument("--ref-seconds", type=float, default=2.0,
                        help="how long each reference row runs (compare with the reads' wall time)")
    parser.add_argument("--switch-ms", type=float, default=None,
                        help="GIL switch interval in ms (default: the server's, workers.GIL_SWITCH_INTERVAL; CPython's is 5)")
    args = parser.parse_args()
    workers.configure_gil(workers.GIL_SWITCH_INTERVAL if args.switch_ms is None else args.switch_ms / 1000)
    width, height, depth = (int(v) for v in args.cube.lower().split("x"))
    wanted = [w.strip().lower() for w in args.formats.split(",") if w.strip()]
    skip = {w.strip() for w in args.skip.split(",") if w.strip()}
    print(f"plane image {args.size}x{args.size}x2 ({args.reads} planes read); cube {width}x{height}x{depth}; "
          f"{load_average()}; GIL switch interval {sys.getswitchinterval() * 1000:g} ms")
    print("each cell: longest and 99th-percentile event-loop stall (ms), wall time of the reads")
    columns = ("open", "plane", "cursor", "region", "hist")
    print(f"{'format':20} " + " ".join(f"{c:>19}" for c in columns), flush=True)
    for name, work in references(args.ref_seconds).items():
        print(f"{name:20} {_cell(trio.run(_measure, work))}", flush=True)
    plane_data = noise((2, args.size, args.size))
    cube_data = noise((depth, height, width), seed=1)
    loads: dict[str, Workload] = {"cursor": cursor_profiles, "region": region_profile, "hist": cube_histogram}
    for name, (filename, write) in FORMATS.items():
        if wanted and not any(w in name.lower() for w in wanted):
            continue
        with tempfile.TemporaryDirectory(dir=args.dir, prefix="carta-stall-") as tmp:
            folder = Path(tmp)
            cells: dict[str, tuple[list[float], float] | None] = dict.fromkeys(columns)
            if {"open", "plane"} - skip:
                write(folder / f"plane-{filename}", plane_data)
                if "open" not in skip:
                    cells["open"] = trio.run(_measure, lambda: open_close(folder / f"plane-{filename}"))
                if "plane" not in skip:
                    cells["plane"] = _run(folder / f"plane-{filename}", plane_reads(args.reads))
                _remove(folder / f"plane-{filename}")
            if set(loads) - skip:
                write(folder / f"cube-{filename}", cube_data)
                for column, load in loads.items():
                    if column not in skip:
                        cells[column] = _run(folder / f"cube-{filename}", load)
        print(f"{name:20} " + " ".join(_cell(cells[c]) for c in columns), flush=True)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


if __name__ == "__main__":
    main()
