"""FITS reader speed: one plane and one full-depth spectrum, as a ratio to reading the
same bytes with a bare ``numpy.memmap`` in the same run (and cfitsio for reference).

Run: ``python3 bench/bench_io_read.py [--nx 1024 --ny 1024 --nz 1000] [--reads 20] [--dir /tmp]``

The default cube (512 x 512 x 128 float32, 128 MiB) runs in well under a minute; the
brief's size is ``--nx 1024 --ny 1024 --nz 1000`` (4 GiB of disk). The file is written
once (plane by plane), then each measurement reads the same random positions through
``carta_trio.io.images.open_image`` and through ``numpy.memmap(...)[...].astype(float32)``
(byte swap + copy, i.e. the least any reader must do). Goal: ratios near 1.
Prints ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import fitsio
import numpy as np
from astropy.io.fits import Card

from carta_trio.io.images import open_image


def write_cube(path: str, nx: int, ny: int, nz: int) -> int:
    """Write a float32 FITS cube plane by plane; return the data offset."""
    cards = [Card("SIMPLE", True), Card("BITPIX", -32), Card("NAXIS", 3), Card("NAXIS1", nx),
             Card("NAXIS2", ny), Card("NAXIS3", nz), Card("CTYPE1", "RA---SIN"), Card("CTYPE2", "DEC--SIN"),
             Card("CTYPE3", "FREQ"), Card("BUNIT", "Jy/beam")]
    header = "".join(c.image for c in cards) + "END".ljust(80)
    header += " " * (-len(header) % 2880)
    rng = np.random.default_rng(0)
    with open(path, "wb") as fh:
        fh.write(header.encode("ascii"))
        for _ in range(nz):
            fh.write(rng.normal(size=(ny, nx)).astype(">f4").tobytes())
        fh.write(b"\0" * (-(nx * ny * nz * 4) % 2880))
    return len(header)


def race(fns, args_list) -> list[float]:
    """Median seconds of each ``fn(*args)`` over the argument list; for each argument the
    contenders run back to back, in an order rotated per argument, so that neither gets
    a systematically warmer cache."""
    times: list[list[float]] = [[] for _ in fns]
    for i, args in enumerate(args_list):
        order = list(range(len(fns)))
        order = order[i % len(fns):] + order[:i % len(fns)]
        for k in order:
            start = time.perf_counter()
            fns[k](*args)
            times[k].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nx", type=int, default=512)
    parser.add_argument("--ny", type=int, default=512)
    parser.add_argument("--nz", type=int, default=128)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--dir", default=None, help="folder for the temporary cube")
    args = parser.parse_args()
    nx, ny, nz = args.nx, args.ny, args.nz

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-io-") as tmp:
        path = os.path.join(tmp, "cube.fits")
        t0 = time.perf_counter()
        offset = write_cube(path, nx, ny, nz)
        print(f"cube {nx}x{ny}x{nz} float32 ({nx * ny * nz * 4 / 2**20:.0f} MiB) written in "
              f"{time.perf_counter() - t0:.1f} s")

        rng = np.random.default_rng(1)
        planes = [(int(z),) for z in rng.integers(0, nz, args.reads)]
        pixels = [(int(x), int(y)) for x, y in zip(rng.integers(0, nx, args.reads), rng.integers(0, ny, args.reads))]

        t0 = time.perf_counter()
        reader = open_image(path)
        open_time = time.perf_counter() - t0
        raw = np.memmap(path, dtype=">f4", mode="r", offset=offset, shape=(nz, ny, nx))
        hdu = fitsio.FITS(path)[0]

        # Warm the page cache through a third path (plain reads), so that both maps start
        # cold in their own page tables and pay the same minor faults.
        with open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass

        plane_reader, plane_memmap, plane_fitsio = race(
            [lambda z: reader.read_plane(z, 0), lambda z: raw[z].astype(np.float32),  # noqa: F821 (raw is deleted after the race)
             lambda z: hdu[z:z + 1, :, :]], planes)
        spec_reader, spec_memmap, spec_fitsio = race(
            [lambda x, y: reader.read_spectrum(x, y, 0), lambda x, y: raw[:, y, x].astype(np.float32),  # noqa: F821
             lambda x, y: hdu[:, y:y + 1, x:x + 1]], pixels)

        print(f"open_image: {open_time * 1e3:.2f} ms")
        print(f"plane    reader {plane_reader * 1e3:8.3f} ms  memmap {plane_memmap * 1e3:8.3f} ms  "
              f"ratio {plane_reader / plane_memmap:5.2f}   (cfitsio {plane_fitsio * 1e3:.3f} ms)")
        print(f"spectrum reader {spec_reader * 1e3:8.3f} ms  memmap {spec_memmap * 1e3:8.3f} ms  "
              f"ratio {spec_reader / spec_memmap:5.2f}   (cfitsio {spec_fitsio * 1e3:.3f} ms)")
        reader.close()
        del raw


if __name__ == "__main__":
    main()
