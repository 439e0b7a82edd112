"""Event-loop stalls during plane reads, per file format.

Run: ``python3 -m bench.bench_loop_stall [--size 3000] [--reads 6] [--dir /tmp] [--formats rice,hdf5]``

One process serves every viewer, so a read that holds the GIL freezes every session's
tiles and PINGs for as long as it runs (fitsio decompressing a tile-compressed plane
holds it for the whole call). For each format a ``size`` x ``size`` x 2 cube is written
once; then, in a trio run, planes are read the way a frame reads them
(``workers.run_sync(region_data.read_plane, reader, ...)``) while a heartbeat task
sleeps 1 ms at a time and records how late it wakes. Printed per format: the longest
and the 99th-percentile lateness of the heartbeat (the loop stall), next to the same
heartbeat with no reads at all (the machine's own noise), and the plane read time.
Target (DESIGN.md): no stall above ~20 ms. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import fitsio
import numpy as np
import trio

from carta_trio.actors import region_data, workers
from carta_trio.io.images import open_image

HEARTBEAT = 0.001


def _cube(size: int, integer: bool) -> np.ndarray:
    rng = np.random.default_rng(0)
    data = rng.normal(100.0, 10.0, size=(2, size, size))
    return data.astype(np.int32) if integer else data.astype(np.float32)


def _write_fits(path: Path, data: np.ndarray, compress: str | None) -> None:
    header = [{"name": "CTYPE1", "value": "RA---SIN"}, {"name": "CTYPE2", "value": "DEC--SIN"},
              {"name": "CTYPE3", "value": "FREQ"}]
    fitsio.write(str(path), data, header=header, compress=compress, clobber=True)


def _write_hdf5(path: Path, data: np.ndarray) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        group = f.create_group("0")
        group.attrs["SIMPLE"] = np.uint8(1)
        for key, value in (("BITPIX", -32), ("NAXIS", 3), ("NAXIS1", data.shape[2]),
                           ("NAXIS2", data.shape[1]), ("NAXIS3", data.shape[0])):
            group.attrs[key] = np.int64(value)
        group.create_dataset("DATA", data=data.astype(np.float32), chunks=(1, 256, 256))


FORMATS: dict[str, tuple[str, Callable[[Path, int], None]]] = {
    "FITS plain": ("plain.fits", lambda p, n: _write_fits(p, _cube(n, False), None)),
    "FITS RICE": ("rice.fits", lambda p, n: _write_fits(p, _cube(n, True), "RICE")),
    "FITS GZIP tiles": ("gzip.fits", lambda p, n: _write_fits(p, _cube(n, False), "GZIP")),
    "HDF5 (chunked)": ("cube.hdf5", lambda p, n: _write_hdf5(p, _cube(n, False))),
}


async def _heartbeat(lateness: list[float]) -> None:
    while True:
        start = time.perf_counter()
        await trio.sleep(HEARTBEAT)
        lateness.append(time.perf_counter() - start - HEARTBEAT)


async def _measure(path: Path | None, reads: int) -> tuple[list[float], list[float]]:
    """Heartbeat lateness and read times while ``reads`` planes are read (none: idle)."""
    lateness: list[float] = []
    durations: list[float] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_heartbeat, lateness)
        await trio.sleep(0.05)
        if path is None:
            await trio.sleep(0.5)
        else:
            reader = await workers.run_sync(open_image, path, "")
            try:
                for i in range(reads):
                    start = time.perf_counter()
                    await workers.run_sync(region_data.read_plane, reader, i % 2, 0)
                    durations.append(time.perf_counter() - start)
            finally:
                reader.close()
        nursery.cancel_scope.cancel()
    return lateness, durations


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--reads", type=int, default=6)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--formats", default="", help="comma-separated substrings of format names")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        print(f"{args.size} x {args.size} planes, {args.reads} reads each; heartbeat lateness in ms")
        print(f"{'format':18} {'max stall':>10} {'p99 stall':>10} {'read ms':>9}")
        idle, _ = trio.run(_measure, None, 0)
        print(f"{'(no reads)':18} {_ms(max(idle)):>10} {_ms(float(np.percentile(idle, 99))):>10} {'-':>9}")
        wanted = [w.strip().lower() for w in args.formats.split(",") if w.strip()]
        for name, (filename, write) in FORMATS.items():
            if wanted and not any(w in name.lower() for w in wanted):
                continue
            path = folder / filename
            write(path, args.size)
            lateness, durations = trio.run(_measure, path, args.reads)
            print(f"{name:18} {_ms(max(lateness)):>10} {_ms(float(np.percentile(lateness, 99))):>10} "
                  f"{_ms(statistics.median(durations)):>9}", flush=True)


if __name__ == "__main__":
    main()
