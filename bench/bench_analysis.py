"""Benchmark the analysis kernels against plain numpy over the same bytes, in one run.

1. Region spectral profile: per-channel statistics (count, sum, sumsq, sigma, min,
   max, extrema, ...) of a 200x200 region (a full rectangle and an inscribed ellipse)
   of a [nz, 1024, 1024] float32 cube, versus ``cube[:, y0:y1, x0:x1].mean()`` over
   the same bounding box. Prints speed ratio = numpy-mean time / kernel time
   (goal >= 0.5).
2. Cube histogram (region -2): our two passes (per-plane BasicStats, then bin counts)
   versus two passes of plain numpy (per-plane nanmin/nanmax, then
   ``numpy.histogram`` with the cube bounds), in MB/s (goal: ratio >= 1.5).

Timings are best-of-N with the candidates interleaved, so a busy machine affects both
sides alike. Usage: ``python bench/bench_analysis.py [--depth 1000] [--hist-depth 200]``.
"""

from __future__ import annotations

import os

# Single-threaded BLAS: both sides of every comparison run on one core (the 2-worker
# line uses explicit threads). Multi-threaded OpenBLAS on the kernel's small products
# mostly adds contention.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys
import time
from collections.abc import Callable

import numpy as np  # noqa: E402

from carta_trio.analysis.histograms import CubeHistogram, auto_bin_count, basic_stats_planes
from carta_trio.analysis.spectral_profiles import region_spectral_profiles
from carta_trio.analysis.statistics import StatsType


def _best(funcs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    best = {name: float("inf") for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            t0 = time.perf_counter()
            func()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def _make_cube(depth: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    plane = rng.standard_normal((size, size), dtype=np.float32)
    cube = np.empty((depth, size, size), dtype=np.float32)
    for z in range(depth):
        np.add(plane, np.float32(0.001 * z), out=cube[z])
    cube[:, :, :8] = np.nan  # a NaN border, as primary-beam-masked cubes have
    return cube


def bench_spectral(cube: np.ndarray, repeats: int) -> None:
    y0, x0, n = 300, 400, 200
    sub = cube[:, y0 : y0 + n, x0 : x0 + n]
    yy, xx = np.mgrid[0:n, 0:n]
    ellipse = ((xx - (n - 1) / 2) / (n / 2)) ** 2 + ((yy - (n - 1) / 2) / (n / 2)) ** 2 <= 1
    mb = sub.size * 4 / 1e6
    edge = cube[:, 300 : 300 + n, 0:n]  # overlaps the NaN border: every channel takes the NaN path
    mean_only = [StatsType.Mean]
    cases = {
        "numpy mean": lambda: sub.mean(),
        "rectangle, 10 stats": lambda: region_spectral_profiles(sub, None),
        "ellipse, 10 stats": lambda: region_spectral_profiles(sub, ellipse),
        "ellipse, Mean only": lambda: region_spectral_profiles(sub, ellipse, mean_only),
        "ellipse with NaNs, 10 stats": lambda: region_spectral_profiles(edge, ellipse),
        "ellipse, 10 stats, 2 workers": lambda: region_spectral_profiles(sub, ellipse, workers=2),
    }
    times = _best(cases, repeats)
    base = times["numpy mean"]
    print(f"region spectral profile, {cube.shape[0]} channels x {n}x{n} box ({mb:.0f} MB), wall clock")
    print(f"  numpy mean over the box       : {base * 1e3:8.1f} ms  {mb / base:8.0f} MB/s")
    for name, t in times.items():
        if name != "numpy mean":
            print(f"  {name:<30}: {t * 1e3:8.1f} ms  {mb / t:8.0f} MB/s  speed ratio {base / t:5.2f} (goal >= 0.5)")


def _numpy_cube_histogram(cube: np.ndarray, nbins: int) -> np.ndarray:
    lo = min(float(np.nanmin(plane)) for plane in cube)
    hi = max(float(np.nanmax(plane)) for plane in cube)
    counts = np.zeros(nbins, dtype=np.int64)
    for plane in cube:
        counts += np.histogram(plane, bins=nbins, range=(lo, hi))[0]
    return counts


def _our_cube_histogram(cube: np.ndarray, nbins: int) -> np.ndarray:
    hist = CubeHistogram(nbins)
    for z0 in range(0, cube.shape[0], 8):
        hist.add_stats(basic_stats_planes(cube[z0 : z0 + 8]))
    hist.freeze_bounds()
    for plane in cube:
        hist.add_counts(plane)
    return hist.counts


def bench_cube_histogram(cube: np.ndarray, repeats: int) -> None:
    nbins = auto_bin_count(cube.shape[2], cube.shape[1])
    mb = cube.size * 4 / 1e6
    ours = _our_cube_histogram(cube, nbins)
    theirs = _numpy_cube_histogram(cube, nbins)
    same = int(np.abs(ours - theirs).sum())
    times = _best(
        {"numpy": lambda: _numpy_cube_histogram(cube, nbins), "ours": lambda: _our_cube_histogram(cube, nbins)}, repeats
    )
    print(f"cube histogram, {cube.shape} ({mb:.0f} MB), {nbins} bins, two passes each")
    print(f"  numpy nanmin/nanmax + np.histogram : {mb / times['numpy']:8.0f} MB/s")
    print(f"  BasicStats + bincount kernel       : {mb / times['ours']:8.0f} MB/s"
          f"  ratio {times['numpy'] / times['ours']:5.2f} (goal >= 1.5)")
    print(f"  (counts differing from numpy's edge rule: {same} of {int(theirs.sum())})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", type=int, default=1000, help="channels of the spectral-profile cube")
    parser.add_argument("--size", type=int, default=1024, help="plane width and height")
    parser.add_argument("--hist-depth", type=int, default=200, help="channels of the cube-histogram cube")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    cube = _make_cube(args.depth, args.size)
    bench_spectral(cube, args.repeats)
    bench_cube_histogram(cube[: args.hist_depth], args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
