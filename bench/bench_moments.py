"""Benchmark moment maps: throughput against one numpy reduction, STOP latency, and how
responsive cursor and tiles stay while a moment job runs.

1. Throughput (no server): moment 0 (integrated) and moment 1 (weighted coordinate)
   over a [depth, size, size] float32 FITS cube, band by band exactly as the job cuts
   it, versus ``numpy.add.reduce(band, axis=0)`` over the same bands read through the
   same reader — "one numpy reduction over the same data". Printed as MB/s of source
   data and ratio = baseline time / our time (goal >= 0.5), for one thread and for the
   job's worker count. A kernel-only line repeats it on bands already in memory.
2. Through the server: MOMENT_REQUEST [0, 1] on the same file, request to response.
3. Cancellation: STOP_MOMENT_CALC after the first MOMENT_PROGRESS of a slow request
   (median, median coordinate); prints STOP → response and STOP → last progress.
4. Latency of SET_CURSOR (→ SPATIAL_PROFILE_DATA) and ADD_REQUIRED_TILES (→ end sync)
   idle versus while a moment job runs (median and max of N requests).

Timings are best-of-N with the candidates interleaved. Usage:
``python3 -m bench.bench_moments [--depth 200 --size 512] [--full]`` (from the repository root) (``--full`` is the
1024 x 1024 x 500 cube, 2 GB).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import trio  # noqa: E402

from bench.serving import running_server  # noqa: E402
from bench.table import row  # noqa: E402
from carta_trio.analysis.moments import Moment, moment_block, moment_coordinates  # noqa: E402
from carta_trio.analysis.spectral_axis import spectral_axis_from_header  # noqa: E402
from carta_trio.io.images import open_image  # noqa: E402
from carta_trio.messages import schema as pb  # noqa: E402
from carta_trio.messages.client import open_client  # noqa: E402

CHUNK_BYTES = 24 << 20  # as actors.moments
HEADER = {"CTYPE1": "RA---SIN", "CRVAL1": 201.365, "CRPIX1": 17.0, "CDELT1": -0.0005, "CUNIT1": "deg",
          "CTYPE2": "DEC--SIN", "CRVAL2": -43.019, "CRPIX2": 13.0, "CDELT2": 0.0005, "CUNIT2": "deg",
          "CTYPE3": "FREQ", "CRVAL3": 230.538e9, "CRPIX3": 1.0, "CDELT3": 1.0e6, "CUNIT3": "Hz",
          "RESTFRQ": 230.538e9, "BUNIT": "Jy/beam", "BMAJ": 0.0025, "BMIN": 0.0015, "BPA": 0.0}


def write_cube(path: Path, depth: int, size: int) -> None:
    """A float32 FITS cube written plane by plane (noise + a ramp, a NaN border)."""
    from astropy.io.fits import Card

    cards = [Card("SIMPLE", True), Card("BITPIX", -32), Card("NAXIS", 3), Card("NAXIS1", size),
             Card("NAXIS2", size), Card("NAXIS3", depth)] + [Card(k, v) for k, v in HEADER.items()]
    text = "".join(c.image for c in cards) + "END".ljust(80)
    rng = np.random.default_rng(2)
    base = rng.standard_normal((size, size), dtype=np.float32)
    base[:, :4] = np.nan
    with open(path, "wb") as fh:
        fh.write(text.encode().ljust(-(-len(text) // 2880) * 2880))
        for z in range(depth):
            fh.write((base + np.float32(0.01 * z)).astype(">f4").tobytes())
        fh.write(b"\0" * (-(depth * size * size * 4) % 2880))


def _best(funcs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    best = {name: float("inf") for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            t0 = time.perf_counter()
            func()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def bench_throughput(path: Path, depth: int, size: int, workers: int, repeats: int) -> float:
    reader = open_image(path)
    rows = max(1, CHUNK_BYTES // (size * depth * 4))
    bands = [(y, min(size, y + rows)) for y in range(0, size, rows)]
    coords = moment_coordinates(spectral_axis_from_header(HEADER, 2, depth), 0, depth)
    mb = depth * size * size * 4 / 1e6
    pool = ThreadPoolExecutor(max_workers=workers)

    def read(y0: int, y1: int) -> np.ndarray:
        return reader.read_cube(0, size, y0, y1, 0, depth, 0)

    def baseline() -> None:
        for y0, y1 in bands:
            np.add.reduce(read(y0, y1), axis=0)

    def ours(moments: list[int], threads: int) -> Callable[[], None]:
        def one(band: tuple[int, int]) -> None:
            moment_block(read(*band), coords, moments)

        if threads == 1:
            return lambda: [one(b) for b in bands]
        return lambda: list(pool.map(one, bands))

    funcs = {"numpy reduce": baseline, "moment 0": ours([Moment.INTEGRATED_OF_THE_SPECTRUM], 1),
             "moment 1": ours([Moment.INTENSITY_WEIGHTED_COORD], 1),
             "moments 0+1": ours([1, 2], 1)}
    if workers > 1:
        funcs[f"moment 0 x{workers}"] = ours([1], workers)
        funcs[f"moment 1 x{workers}"] = ours([2], workers)
        funcs[f"moments 0+1 x{workers}"] = ours([1, 2], workers)
    best = _best(funcs, repeats)
    print(f"\n1. throughput, {depth} x {size} x {size} float32 ({mb:.0f} MB), bands of {rows} rows, read by the reader")
    for name, seconds in best.items():
        print(f"   {name:22s} {mb / seconds:8.0f} MB/s   ratio {best['numpy reduce'] / seconds:5.2f}")
    memory = [np.ascontiguousarray(read(*b)) for b in bands[: max(1, min(len(bands), 256 // max(1, int(mb / len(bands)))))]]
    kb = sum(m.nbytes for m in memory) / 1e6
    kernel = _best({"numpy reduce": lambda: [np.add.reduce(m, axis=0) for m in memory],
                    "moment 0": lambda: [moment_block(m, coords, [1]) for m in memory],
                    "moment 1": lambda: [moment_block(m, coords, [2]) for m in memory]}, repeats)
    print(f"   kernel only, {kb:.0f} MB of bands in memory, one thread:")
    for name, seconds in kernel.items():
        print(f"   {name:22s} {kb / seconds:8.0f} MB/s   ratio {kernel['numpy reduce'] / seconds:5.2f}")
    pool.shutdown()
    reader.close()
    return mb / best["numpy reduce"]


def request(moments: list[int], depth: int, mask: int = 0, pixels: tuple[float, float] = (0, 0)) -> pb.MomentRequest:
    return pb.MomentRequest(file_id=0, moments=moments, axis=pb.MomentAxis.SPECTRAL, region_id=-1,
                            spectral_range=pb.IntBounds(min=0, max=depth - 1), mask=mask,
                            pixel_range=pb.FloatBounds(min=pixels[0], max=pixels[1]))


async def _latencies(client, size: int, count: int) -> tuple[list[float], list[float]]:
    cursor, tiles = [], []
    for i in range(count):
        t0 = time.perf_counter()
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=5 + i, y=7 + i % size)))
        await client.expect(pb.SpatialProfileData, timeout=60)
        cursor.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        code = (1 << 24) | ((i % 2) << 12) | (i // 2 % 2)
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[code], compression_type=pb.CompressionType.ZFP,
                                              compression_quality=11 + i % 5))
        await client.collect_until(lambda e: isinstance(e.message, pb.RasterTileSync) and e.message.end_sync, 60)
        tiles.append(time.perf_counter() - t0)
        await trio.sleep(0.05)
    return cursor, tiles


def _ms(values: list[float]) -> str:
    return f"median {1e3 * statistics.median(values):6.1f} ms, max {1e3 * max(values):6.1f} ms"


C_KMS = 299792.458


async def verify_sample(client, response: pb.MomentResponse, path: Path, depth: int, size: int,
                        count: int = 24) -> None:
    """The moment 0 and 1 images the server made, read back pixel by pixel with SET_CURSOR,
    against numpy over every channel of the same pixels (read from a memory map of the
    file): radio velocity from the header, moment 0 = sum * channel width, moment 1 =
    intensity-weighted mean velocity. A moment that skipped channels would not match."""
    # the images come in request order: [1, 2] = integrated (moment 0), weighted coordinate (moment 1)
    ids = dict(zip(("moment0", "moment1"), (ack.file_id for ack in response.open_file_acks)))
    header_offset = -(-(80 * (6 + len(HEADER) + 1)) // 2880) * 2880
    cube = np.memmap(path, dtype=">f4", mode="r", offset=header_offset, shape=(depth, size, size))
    freq = HEADER["CRVAL3"] + (np.arange(depth) + 1 - HEADER["CRPIX3"]) * HEADER["CDELT3"]
    velocity = C_KMS * (HEADER["RESTFRQ"] - freq) / HEADER["RESTFRQ"]
    width = C_KMS * abs(HEADER["CDELT3"]) / HEADER["RESTFRQ"]
    rng = np.random.default_rng(5)
    pixels = [(int(x), int(y)) for x, y in zip(rng.integers(4, size, count), rng.integers(0, size, count))] + [(1, 1)]
    worst = {"moment0": 0.0, "moment1": 0.0}
    checked = 0
    for x, y in pixels:
        spectrum = np.asarray(cube[:, y, x], dtype=np.float64)
        expected = {"moment0": np.sum(spectrum) * width, "moment1": np.sum(spectrum * velocity) / np.sum(spectrum)}
        for name, value in expected.items():
            await client.send(pb.SetCursor(file_id=ids[name], point=pb.Point(x=x, y=y)))
            got = (await client.expect(pb.SpatialProfileData, timeout=60)).message.value
            if not np.isfinite(value):
                assert not np.isfinite(got), f"{name} at ({x}, {y}): {got}, numpy says {value}"
                continue
            if name == "moment1" and abs(np.sum(spectrum)) < 0.1 * np.sum(np.abs(spectrum)):
                continue  # ill-conditioned ratio: float32 and float64 sums part ways
            scale = max(abs(value), np.sum(np.abs(spectrum)) * width if name == "moment0" else abs(velocity).max())
            error = abs(got - value) / scale
            assert error < 1e-4, f"{name} at ({x}, {y}): server {got}, numpy {value}"
            worst[name] = max(worst[name], error)
            checked += 1
    print(f"   checked against numpy over all {depth} channels at {len(pixels)} pixels ({checked} values): "
          f"worst relative difference moment 0 {worst['moment0']:.1e}, moment 1 {worst['moment1']:.1e}")
    return f"checked at {len(pixels)} pixels over all {depth} channels, worst rel. diff {max(worst.values()):.0e}"


async def bench_server(folder: Path, depth: int, size: int, baseline_mbs: float, count: int, repeats: int) -> None:
    mb = depth * size * size * 4 / 1e6
    async with running_server(folder) as url, open_client(url) as client:
        await client.register()
        await client.request(pb.OpenFile(directory="", file="cube.fits", file_id=0))
        await client.expect(pb.RegionHistogramData)
        print("\n2. through the server, MOMENT_REQUEST to MOMENT_RESPONSE (images opened, histograms sent)")
        for moments in ([1], [2], [1, 2]):
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                await client.send(request(moments, depth))
                seen = await client.collect_until(lambda e: isinstance(e.message, pb.MomentResponse), 600)
                best = min(best, time.perf_counter() - t0)
                assert seen[-1].message.success, seen[-1].message.message
            print(f"   moments {str(moments):8s} {best:6.2f} s {mb / best:8.0f} MB/s   "
                  f"ratio {mb / best / baseline_mbs:5.2f} to the numpy reduction")
        checked = await verify_sample(client, seen[-1].message, folder / "cube.fits", depth, size)
        numpy_s = mb / baseline_mbs
        row(f"moments 0+1, {size}²×{depth} ({mb / 1e3:.1f} GB), best of {repeats}", f"{best * 1e3:,.0f} ms ({checked})",
            f"one numpy reduction {numpy_s * 1e3:,.0f} ms", best / numpy_s, "", "90,663 ms")

        await client.send(request([4, 5], depth, mask=1, pixels=(-100, 100)))
        await client.expect(pb.MomentProgress, timeout=120)
        stop = time.perf_counter()
        await client.send(pb.StopMomentCalc(file_id=0))
        seen = await client.collect_until(lambda e: isinstance(e.message, pb.MomentResponse), 60)
        done = time.perf_counter()
        late = sum(isinstance(e.message, pb.MomentProgress) for e in seen)
        print(f"\n3. STOP_MOMENT_CALC -> response {1e3 * (done - stop):.0f} ms; progress messages after STOP: "
              f"{late} (cancel={seen[-1].message.cancel})")

        idle = await _latencies(client, size, count)
        await client.send(request([4, 5, 8], depth, mask=1, pixels=(-100, 100)))
        await client.expect(pb.MomentProgress, timeout=120)
        busy = await _latencies(client, size, count)
        await client.send(pb.StopMomentCalc(file_id=0))
        await client.collect_until(lambda e: isinstance(e.message, pb.MomentResponse), 60)
        print("\n4. latency, idle vs while a moment job (median, median coordinate, abs mean dev) runs")
        print(f"   SET_CURSOR         idle {_ms(idle[0])} | busy {_ms(busy[0])}")
        print(f"   ADD_REQUIRED_TILES idle {_ms(idle[1])} | busy {_ms(busy[1])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=200)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--full", action="store_true", help="1024 x 1024 x 500 (2 GB)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-count", type=int, default=20)
    parser.add_argument("--server-workers", type=int, default=0, help="moment chunks at once (0: the server default)")
    args = parser.parse_args()
    if args.server_workers > 0:
        from carta_trio.actors import moments

        moments.moment_workers = lambda session: args.server_workers  # type: ignore[assignment]
    depth, size = (500, 1024) if args.full else (args.depth, args.size)
    with tempfile.TemporaryDirectory(prefix="bench-moments-") as tmp:
        folder = Path(tmp)
        write_cube(folder / "cube.fits", depth, size)
        baseline = bench_throughput(folder / "cube.fits", depth, size, args.workers, args.repeats)
        trio.run(bench_server, folder, depth, size, baseline, args.latency_count, args.repeats)


if __name__ == "__main__":
    main()
