"""Profiles and the cube histogram through a real server socket, against numpy baselines.

Run: ``python3 -m bench.bench_profiles [--size 1024] [--depth 1000] [--hist-depth 200]
[--cursors 30] [--regions 5] [--hist-repeats 2] [--dir PATH]``

1. Cursor spectral profile latency: SET_CURSOR -> final SPECTRAL_PROFILE_DATA on a
   ``size x size x depth`` FITS cube (1024x1024x1000 = 4 GB by default), against reading
   the same spectrum from a memory map of the file. Goal: within 5 ms of the memmap read.
2. Region spectral profile: a 200x200 rectangle, Mean, all channels, as MB/s of image
   data covered, against a numpy mean per channel over the same bytes (memmap slice,
   byte-swapped to float32). Goal: ratio >= 0.5.
3. Cube histogram (region -2): MB/s against a two-pass numpy computation (nanmin/nanmax,
   then numpy.histogram per plane) on a ``size x size x hist-depth`` cube. Goal: >= 1.5x.

The cubes are written once into ``--dir`` (default: a folder in the system temp
directory, kept for the next run) and are read warm from the page cache by both sides.
The server maps the file once and then touches new pages for every new position; the
numpy baselines therefore map the file afresh for every measurement, so both sides pay
the same page-mapping cost (a 200x200 box touches one page per row per channel).
Each of our measurements is paired with its baseline measured right after it, and the
ratios are reported per pair (median) and for the best of each side, because other
work on a shared machine moves single timings by large factors.
Prints numbers and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import trio
from astropy.io.fits import Card

from bench.serving import running_server
from bench.table import row
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client

BLOCK = 2880


def write_cube(path: Path, size: int, depth: int) -> None:
    """A float32 FITS cube: a noise plane plus a per-channel offset, a few NaNs."""
    if path.exists() and path.stat().st_size >= size * size * depth * 4:
        return
    cards = [("SIMPLE", True), ("BITPIX", -32), ("NAXIS", 3), ("NAXIS1", size), ("NAXIS2", size), ("NAXIS3", depth),
             ("CTYPE1", "RA---SIN"), ("CRVAL1", 10.0), ("CRPIX1", size / 2), ("CDELT1", -1e-4), ("CUNIT1", "deg"),
             ("CTYPE2", "DEC--SIN"), ("CRVAL2", -30.0), ("CRPIX2", size / 2), ("CDELT2", 1e-4), ("CUNIT2", "deg"),
             ("CTYPE3", "FREQ"), ("CRVAL3", 1.4e9), ("CRPIX3", 1.0), ("CDELT3", 1e6), ("CUNIT3", "Hz"),
             ("BUNIT", "Jy/beam"), ("BMAJ", 5e-4), ("BMIN", 4e-4), ("BPA", 0.0)]
    header = "".join(Card(k, v).image for k, v in cards) + "END".ljust(80)
    header = header.ljust(-(-len(header) // BLOCK) * BLOCK)
    rng = np.random.default_rng(1)
    base = rng.normal(size=(size, size)).astype(np.float32)
    base[:3, :5] = np.nan
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as f:
        f.write(header.encode("ascii"))
        for z in range(depth):
            f.write((base + np.float32(z * 0.01)).astype(">f4").tobytes())
        f.write(b"\0" * (-(size * size * depth * 4) % BLOCK))
    tmp.rename(path)


def warm_page_cache(path: Path) -> None:
    """Read the file once through the page cache (without mapping it)."""
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass


def data_map(path: Path, size: int, depth: int) -> np.ndarray:
    offset = path.stat().st_size - size * size * depth * 4 - (-(size * size * depth * 4) % BLOCK)
    return np.memmap(path, dtype=">f4", mode="r", offset=offset, shape=(depth, size, size))


async def open_file(client: CartaClient, name: str) -> None:
    ack = await client.request(pb.OpenFile(directory="", file=name, file_id=0), timeout=60)
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData, timeout=60)


async def final(client: CartaClient, kind: type, region_id: int, timeout: float = 600) -> object:
    while True:
        message = (await client.expect(kind, timeout=timeout)).message
        if message.region_id == region_id and message.progress >= 1.0:
            return message


async def bench_cursor(url: str, path: Path, size: int, depth: int, count: int) -> None:
    name = path.name
    height = width = size
    rng = np.random.default_rng(7)
    points = [(int(rng.integers(5, width)), int(rng.integers(5, height))) for _ in range(count)]
    ours, theirs = [], []
    async with open_client(url) as client:
        await client.register()
        await open_file(client, name)
        await client.send(pb.SetSpectralRequirements(file_id=0, region_id=0, spectral_profiles=[
            pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[pb.StatsType.Sum])]))
        for x, y in points:
            start = time.perf_counter()
            await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=x, y=y)))
            message = await final(client, pb.SpectralProfileData, 0)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            spectrum = np.asarray(data_map(path, size, depth)[:, y, x], dtype=np.float32)
            theirs.append(time.perf_counter() - start)
            got = np.frombuffer(message.profiles[0].raw_values_fp32, "<f4")
            assert np.array_equal(got, spectrum, equal_nan=True)
            while client.buffered:
                await client.receive()
    o, t = statistics.median(ours) * 1e3, statistics.median(theirs) * 1e3
    row(f"cursor spectral profile, {size}²×{depth}, median of {len(ours)}", f"{o:.1f} ms",
        f"memmap read {t:.1f} ms", o / max(t, 1e-6), "", "55 ms")
    print(f"cursor spectral profile ({depth} channels): socket median {o:.2f} ms (p90 "
          f"{sorted(ours)[int(0.9 * len(ours))] * 1e3:.2f}), memmap read {t:.2f} ms; "
          f"difference {o - t:.2f} ms (goal <= 5), ratio {o / max(t, 1e-6):.1f}x")


async def bench_region(url: str, path: Path, size: int, depth: int, count: int) -> None:
    name = path.name
    height = width = size
    side = 200
    ours, theirs = [], []
    async with open_client(url) as client:
        await client.register()
        await open_file(client, name)
        for i in range(count):
            x0, y0 = 50 + 97 * i % (width - side - 60), 60 + 53 * i % (height - side - 70)
            center = (x0 + side / 2 - 0.5, y0 + side / 2 - 0.5)
            start = time.perf_counter()
            ack = await client.request(pb.SetRegion(file_id=0, region_id=1 if i else -1, region_info=pb.RegionInfo(
                region_type=pb.RegionType.RECTANGLE, control_points=[pb.Point(x=center[0], y=center[1]),
                                                                    pb.Point(x=side, y=side)])))
            if i == 0:
                await client.send(pb.SetSpectralRequirements(file_id=0, region_id=ack.region_id, spectral_profiles=[
                    pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[pb.StatsType.Mean])]))
            message = await final(client, pb.SpectralProfileData, ack.region_id)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            box = data_map(path, size, depth)[:, y0 : y0 + side, x0 : x0 + side]
            want = np.asarray(box, dtype=np.float32).mean(axis=(1, 2), dtype=np.float64)
            theirs.append(time.perf_counter() - start)
            got = np.frombuffer(message.profiles[0].raw_values_fp64, "<f8")
            finite = np.isfinite(want)
            assert np.allclose(got[finite], want[finite], rtol=1e-6)
            while client.buffered:
                await client.receive()
    mb = depth * side * side * 4 / 1e6
    ratios = [t / o for o, t in zip(ours, theirs)]  # each pair measured back to back
    row(f"region spectral profile {side}×{side} mean, {size}²×{depth}, median of {len(ours)}",
        f"{statistics.median(ours) * 1e3:.0f} ms", f"memmap + numpy mean {statistics.median(theirs) * 1e3:.0f} ms",
        statistics.median(ours) / statistics.median(theirs), "", "1,107 ms")
    print(f"region spectral profile (200x200, Mean, {depth} channels, {mb:.0f} MB): socket median "
          f"{mb / statistics.median(ours):.0f} MB/s (best {mb / min(ours):.0f}), numpy mean median "
          f"{mb / statistics.median(theirs):.0f} MB/s (best {mb / min(theirs):.0f}); ratio median of pairs "
          f"{statistics.median(ratios):.2f}, of bests {min(theirs) / min(ours):.2f} (goal >= 0.5)")


def numpy_cube_histogram(cube: np.ndarray, bins: int) -> np.ndarray:
    lo, hi = np.inf, -np.inf
    for plane in cube:
        p = np.asarray(plane, dtype=np.float32)
        lo, hi = min(lo, float(np.nanmin(p))), max(hi, float(np.nanmax(p)))
    counts = np.zeros(bins, dtype=np.int64)
    for plane in cube:
        p = np.asarray(plane, dtype=np.float32)
        counts += np.histogram(p[np.isfinite(p)], bins=bins, range=(lo, hi))[0]
    return counts


async def bench_cube_histogram(url: str, cube: np.ndarray, name: str, repeats: int) -> None:
    depth, height, width = cube.shape
    bins = int(max(np.sqrt(width * height), 2))
    ours, theirs = [], []
    async with open_client(url) as client:
        await client.register()
        for file_id in range(repeats):  # a new file id each time: a new frame without caches
            ack = await client.request(pb.OpenFile(directory="", file=name, file_id=file_id), timeout=60)
            assert ack.success, ack.message
            await client.expect(pb.RegionHistogramData, timeout=60)
            start = time.perf_counter()
            await client.send(pb.SetHistogramRequirements(file_id=file_id, region_id=-2, histograms=[
                pb.HistogramConfig(coordinate="z", channel=-2, num_bins=-1)]))
            message = await final(client, pb.RegionHistogramData, -2)
            ours.append(time.perf_counter() - start)
            await client.send(pb.CloseFile(file_id=file_id))
            start = time.perf_counter()
            counts = numpy_cube_histogram(cube, bins)
            theirs.append(time.perf_counter() - start)
            while client.buffered:
                await client.receive()
    got = np.array(message.histograms.bins)
    mb = cube.size * 4 / 1e6
    # numpy.histogram's float64 edges put a few edge values in neighbouring bins
    agreement = 1 - np.abs(got - counts).sum() / counts.sum()
    speedups = [t / o for o, t in zip(ours, theirs)]
    row(f"cube histogram, {mb / 1e3:.1f} GB cube, best of {len(ours)}", f"{min(ours) * 1e3:,.0f} ms",
        f"two-pass numpy {min(theirs) * 1e3:,.0f} ms", min(ours) / min(theirs), "", "2,695 ms")
    print(f"cube histogram ({width}x{height}x{depth}, {mb:.0f} MB, {bins} bins): socket best {mb / min(ours):.0f} MB/s "
          f"({min(ours):.2f} s), two-pass numpy best {mb / min(theirs):.0f} MB/s ({min(theirs):.2f} s); speed-up "
          f"median of pairs {statistics.median(speedups):.2f}x, of bests {min(theirs) / min(ours):.2f}x (goal >= 1.5); "
          f"counts agree {agreement:.6f}")


async def main(args: argparse.Namespace) -> None:
    folder = Path(args.dir or Path(tempfile.gettempdir()) / "carta_trio_bench_profiles")
    folder.mkdir(parents=True, exist_ok=True)
    big = f"cube_{args.size}x{args.size}x{args.depth}.fits"
    small = f"cube_{args.size}x{args.size}x{args.hist_depth}.fits"
    t0 = time.perf_counter()
    write_cube(folder / big, args.size, args.depth)
    write_cube(folder / small, args.size, args.hist_depth)
    print(f"cubes ready in {time.perf_counter() - t0:.1f} s ({folder})")
    warm_page_cache(folder / big)
    warm_page_cache(folder / small)
    hist_cube = data_map(folder / small, args.size, args.hist_depth)
    async with running_server(folder) as url:
        await bench_cursor(url, folder / big, args.size, args.depth, args.cursors)
        await bench_region(url, folder / big, args.size, args.depth, args.regions)
        await bench_cube_histogram(url, hist_cube, small, args.hist_repeats)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--depth", type=int, default=1000)
    parser.add_argument("--hist-depth", type=int, default=200)
    parser.add_argument("--cursors", type=int, default=30)
    parser.add_argument("--regions", type=int, default=5)
    parser.add_argument("--hist-repeats", type=int, default=2)
    parser.add_argument("--dir", default=None)
    trio.run(main, parser.parse_args())
