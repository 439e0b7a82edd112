"""Huge cubes (issue 18): the spectral cache and moments on a dask cluster.

Run: ``python3 -m bench.bench_huge_cubes [--size 1024] [--depth 1000] [--repeats 3] [--dir PATH]
[--no-cluster]``

1. Region spectral profile (200x200 rectangle, Mean, every channel) through a server
   process, before and after the spectral cache is built, each cold and warm: cold with
   the image's pages (and the cache file's) dropped from the page cache before the
   request (``fdatasync`` + ``posix_fadvise(DONTNEED)``, checked with ``mincore``: the
   read of a cube larger than RAM), warm with a second region 8 pixels over. This
   VM's disk is itself cached by its host, so "cold" here is still fast storage: the
   uncached read is mostly CPU (one strided read and byte swap per channel). Limit:
   numpy reading the same box from a cold memory map of the original file. Goal:
   cached <= 0.1x uncached.
2. The cache build itself: seconds and GB/s of cube copied.
3. Moments 0+1 of the whole cube: embedded, and on a dask LocalCluster with 2 worker
   processes (``--dask_scheduler``), run alternately ``--repeats`` times after one warm-up
   each (medians, and the median of the pairwise ratios), against one numpy pass. Goal:
   cluster <= 1.1x embedded on this box (the point is scale-out elsewhere).
4. Peak RSS of each server process.

The default cube is 1024x1024x1000 float32 (4 GB, written once into ``--dir``); this box
cannot hold a cube 3x its RAM on disk, which is why reads are made cold instead.
Prints numbers and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import ctypes
import mmap
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import trio

from bench.bench_profiles import write_cube
from bench.serving import load_average, server_process
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client

ST = pb.StatsType
BOX = 200


def _files(path: Path) -> list[Path]:
    return [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]


def drop_pages(path: Path) -> None:
    """Evict a file's clean pages from the page cache (no root needed; written pages
    are flushed first, since dirty pages cannot be dropped)."""
    for target in _files(path):
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def resident_fraction(path: Path) -> float | None:
    """Share of a file's pages in the page cache (``mincore`` on a fresh read-only map,
    which itself loads nothing); None where it cannot be asked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    page = mmap.PAGESIZE
    resident = total = 0
    for target in _files(path):
        size = target.stat().st_size
        if size == 0:
            continue
        pages = (size + page - 1) // page
        vector = (ctypes.c_ubyte * pages)()
        fd = os.open(target, os.O_RDONLY)
        try:
            base = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if base in (None, ctypes.c_void_p(-1).value):
                return None
            try:
                if libc.mincore(base, size, vector) != 0:
                    return None
            finally:
                libc.munmap(base, size)
        finally:
            os.close(fd)
        resident += int(np.count_nonzero(np.frombuffer(vector, dtype=np.uint8) & 1))
        total += pages
    return resident / total if total else 0.0


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def final_spectral(client: CartaClient, region_id: int, timeout: float = 1200) -> pb.SpectralProfileData:
    while True:
        message = (await client.expect(pb.SpectralProfileData, timeout=timeout)).message
        if message.region_id == region_id and message.progress >= 1.0:
            return message


async def _profile_seconds(client: CartaClient, cx: float, cy: float, drop: list[Path]) -> float:
    """Seconds of one 200x200 Mean profile of a new region centred at ``(cx, cy)``, the
    files ``drop`` evicted from the page cache first (none: as warm as they are)."""
    info = pb.RegionInfo(region_type=pb.RegionType.RECTANGLE, rotation=0.0,
                         control_points=[pb.Point(x=cx, y=cy), pb.Point(x=BOX, y=BOX)])
    set_ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=info))
    for path in drop:
        drop_pages(path)
        left = resident_fraction(path)
        assert left is None or left < 0.01, f"{path.name}: {left:.0%} still in the page cache"
    started = time.perf_counter()
    await client.send(pb.SetSpectralRequirements(file_id=0, region_id=set_ack.region_id, spectral_profiles=[
        pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[ST.Mean])]))
    await final_spectral(client, set_ack.region_id)
    return time.perf_counter() - started


async def region_profiles(url: str, size: int, repeats: int, drop: list[Path]) -> tuple[list[float], list[float]]:
    """Seconds per 200x200 Mean profile, cold (``drop`` evicted) and then warm (a second
    region 8 pixels over, nothing evicted), at a new position each repeat."""
    cold, warm = [], []
    async with open_client(url, connect_timeout=120) as client:
        await client.register()
        ack = await client.request(pb.OpenFile(file="huge.fits", file_id=0, hdu=""), timeout=120)
        assert ack.success, ack.message
        await client.expect(pb.RegionHistogramData, timeout=120)
        for index in range(repeats):
            cx, cy = size // 4 + index * 37, size / 2
            cold.append(await _profile_seconds(client, cx, cy, drop))
            # One tile (8 px) over: its pages are nearly all warm, but it is another box
            # (the cache reader keeps the sums of the last box it served).
            warm.append(await _profile_seconds(client, cx + 8, cy, []))
    return cold, warm


def numpy_box_seconds(path: Path, size: int, depth: int, repeats: int) -> list[float]:
    from bench.bench_profiles import data_map

    times = []
    for index in range(repeats):
        drop_pages(path)
        cx = size // 4 + index * 37
        x0, y0 = int(cx - BOX / 2), int(size / 2 - BOX / 2)
        started = time.perf_counter()
        data = data_map(path, size, depth)
        block = np.asarray(data[:, y0:y0 + BOX, x0:x0 + BOX], dtype=np.float32)
        np.nanmean(block.reshape(depth, -1), axis=1)
        times.append(time.perf_counter() - started)
    return times


async def wait_for_cache(folder: Path, timeout: float = 3600) -> float:
    started = time.perf_counter()
    with trio.fail_after(timeout):
        while not list(folder.glob("*.spectral")):
            await trio.sleep(0.1)
    return time.perf_counter() - started


async def moments_seconds(url: str, depth: int) -> float:
    async with open_client(url, connect_timeout=120) as client:
        await client.register()
        ack = await client.request(pb.OpenFile(file="huge.fits", file_id=0, hdu=""), timeout=120)
        assert ack.success, ack.message
        await client.expect(pb.RegionHistogramData, timeout=120)
        started = time.perf_counter()
        response = await client.request(pb.MomentRequest(
            file_id=0, moments=[0, 1], axis=pb.MomentAxis.SPECTRAL, region_id=-1,
            spectral_range=pb.IntBounds(min=0, max=depth - 1), mask=0), timeout=3600)
        elapsed = time.perf_counter() - started
        assert response.success, response.message
    return elapsed


def numpy_moments_seconds(path: Path, size: int, depth: int) -> float:
    from bench.bench_profiles import data_map

    started = time.perf_counter()
    data = data_map(path, size, depth)
    total = np.zeros((size, size))
    weighted = np.zeros((size, size))
    for z in range(depth):
        plane = np.asarray(data[z], dtype=np.float64)
        total += plane
        weighted += plane * z
    _ = weighted / total
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    folder = Path(args.dir or Path(tempfile.gettempdir()) / "carta-bench-huge")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "huge.fits"
    write_cube(path, args.size, args.depth)
    gb = args.size * args.size * args.depth * 4 / 1e9
    print(f"cube {args.size}x{args.size}x{args.depth} float32 ({gb:.1f} GB); load {load_average()}")

    limit = numpy_box_seconds(path, args.size, args.depth, args.repeats)
    pids: list[int] = []
    async with server_process(folder, "--no_cache", pids=pids) as url:
        uncached, uncached_warm = await region_profiles(url, args.size, args.repeats, [path])
    ms = lambda values: statistics.median(values) * 1e3  # noqa: E731
    print(f"region profile, uncached: cold median {ms(uncached):.0f} ms, warm {ms(uncached_warm):.0f} ms "
          f"(numpy cold memmap box: {ms(limit):.0f} ms)")

    with tempfile.TemporaryDirectory(prefix="carta-bench-cache-") as cache_dir:  # outside the served folder
        cache = Path(cache_dir)
        async with server_process(folder, "--cache_dir", str(cache), "--spectral_cache_threshold", "0",
                                  "--cache_dir_size", str(max(1, 2 * gb)), pids=pids) as url:
            async with open_client(url, connect_timeout=120) as client:
                await client.register()
                started = time.perf_counter()
                await client.request(pb.OpenFile(file="huge.fits", file_id=0, hdu=""), timeout=120)
                await wait_for_cache(cache)
                build = time.perf_counter() - started
            print(f"cache build: {build:.1f} s ({gb / build:.2f} GB/s)", flush=True)
            await trio.sleep(1.0)
            cached, cached_warm = await region_profiles(url, args.size, args.repeats, [path, cache])
            rss = peak_rss_mib(pids[-1])
    print(f"region profile, cached:   cold median {ms(cached):.0f} ms, warm {ms(cached_warm):.0f} ms; "
          f"server peak RSS {rss:.0f} MiB")
    print(f"  cached / uncached: cold {ms(cached) / ms(uncached):.3f}, warm {ms(cached_warm) / ms(uncached_warm):.3f} "
          f"(goal <= 0.1); uncached cold / numpy box = {ms(uncached) / ms(limit):.2f}; load {load_average()}")

    if args.no_cluster:
        return
    limit_moments = numpy_moments_seconds(path, args.size, args.depth)
    # Both servers stay up and run alternately, so a burst of load from elsewhere hits
    # both sides alike; the first run of each pays imports and opening the image (on
    # every cluster worker process) and is not counted.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from distributed import LocalCluster

        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    embedded: list[float] = []
    clustered: list[float] = []
    try:
        async with server_process(folder, "--no_cache", pids=pids) as url_embedded, \
                server_process(folder, "--no_cache", "--dask_scheduler", local.scheduler_address,
                               pids=pids) as url_cluster:
            await moments_seconds(url_embedded, args.depth)
            await moments_seconds(url_cluster, args.depth)
            for _ in range(args.repeats):
                embedded.append(await moments_seconds(url_embedded, args.depth))
                clustered.append(await moments_seconds(url_cluster, args.depth))
    finally:
        local.close()
    pairwise = statistics.median([c / e for e, c in zip(embedded, clustered)])
    print(f"moments 0+1 (median of {args.repeats}): embedded {statistics.median(embedded):.2f} s, "
          f"LocalCluster(2 workers) {statistics.median(clustered):.2f} s, numpy one pass {limit_moments:.2f} s")
    print(f"  cluster / embedded = {statistics.median(clustered) / statistics.median(embedded):.2f} "
          f"(pairwise median {pairwise:.2f}; goal <= 1.1); embedded / numpy = "
          f"{statistics.median(embedded) / limit_moments:.2f}; load {load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--depth", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--no-cluster", action="store_true")
    trio.run(main, parser.parse_args())
