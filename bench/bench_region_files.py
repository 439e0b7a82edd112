"""Benchmark region files: IMPORT_REGION and EXPORT_REGION of a DS9 file with 10,000
regions, against astropy-regions parsing the same file.

The file is in fk5 world coordinates (circles, ellipses, boxes with labels, polygons,
points), as DS9 writes them, onto a 2000 x 2000 SIN image. Measured, best of N:

* astropy-regions ``Regions.read(path, format="ds9")`` (the baseline: parsing alone,
  no conversion to pixels);
* our reader in-process (read + parse + world -> pixel through the WCS);
* IMPORT_REGION through the real server socket (request to ack with 10,000 regions; the
  server runs as its own process, ``bench/serving.py``, so the client has its own GIL);
* EXPORT_REGION of the 10,000 regions in world coordinates to a DS9 file through the
  socket (region lookup, WCS, formatting, atomic write), and astropy-regions writing
  the regions it parsed (``Regions.write``) for scale.

Ratios = our time / astropy-regions parse time (goal <= 1.0).
Usage: ``python -m bench.bench_region_files [--regions 10000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import trio
from astropy.io import fits

from bench.serving import server_process
from carta_trio.io.region_sky import ImageGeometry
from carta_trio.io.region_file_io import read_region_lines
from carta_trio.io.region_files_ds9 import import_ds9
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client

SIZE = 2000


def make_image(path: Path) -> None:
    header = fits.Header()
    for key, value in (("CTYPE1", "RA---SIN"), ("CRVAL1", 275.1), ("CRPIX1", SIZE / 2), ("CDELT1", -1e-4),
                       ("CUNIT1", "deg"), ("CTYPE2", "DEC--SIN"), ("CRVAL2", -16.2), ("CRPIX2", SIZE / 2),
                       ("CDELT2", 1e-4), ("CUNIT2", "deg"), ("RADESYS", "FK5"), ("EQUINOX", 2000.0)):
        header[key] = value
    fits.writeto(path, np.zeros((SIZE, SIZE), np.float32), header, overwrite=True)


def make_ds9(path: Path, count: int) -> None:
    rng = random.Random(1)
    lines = ["# Region file format: DS9 version 4.1",
             'global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1 highlite=1',
             "fk5"]
    half = SIZE / 2 * 1e-4 * 0.9
    for i in range(count):
        ra, dec, kind = 275.1 + rng.uniform(-half, half), -16.2 + rng.uniform(-half, half), i % 5
        if kind == 0:
            lines.append(f'circle({ra:.7f},{dec:.7f},{rng.uniform(1, 10):.3f}") # color=red')
        elif kind == 1:
            lines.append(f'ellipse({ra:.7f},{dec:.7f},{rng.uniform(1, 10):.3f}",{rng.uniform(1, 10):.3f}",'
                         f'{rng.uniform(0, 180):.2f})')
        elif kind == 2:
            lines.append(f'box({ra:.7f},{dec:.7f},{rng.uniform(1, 10):.3f}",{rng.uniform(1, 10):.3f}",'
                         f'{rng.uniform(0, 180):.2f}) # text={{box {i}}}')
        elif kind == 3:
            lines.append(f"polygon({ra:.7f},{dec:.7f},{ra + 0.001:.7f},{dec:.7f},{ra:.7f},{dec + 0.001:.7f})")
        else:
            lines.append(f"point({ra:.7f},{dec:.7f}) # point=circle")
    path.write_text("\n".join(lines) + "\n")


def best(fn, repeats: int) -> tuple[float, object]:
    result, times = None, []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def astropy_regions_parse(path: Path):
    from regions import Regions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Regions.read(str(path), format="ds9")


def ours_in_process(path: Path):
    from astropy.wcs import WCS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(fits.getheader(path.parent / "image.fits"))
    return import_ds9(read_region_lines(path), ImageGeometry(SIZE, SIZE, wcs))


async def socket_times(top: Path, count: int, repeats: int) -> tuple[float, float, int]:
    import_times, export_times, imported = [], [], 0
    async with server_process(top) as url, open_client(url) as client:
        await client.register()
        assert (await client.request(pb.OpenFile(directory="", file="image.fits", file_id=0))).success
        for _ in range(repeats):
            start = time.perf_counter()
            ack = await client.request(pb.ImportRegion(group_id=0, type=pb.FileType.DS9_REG, directory="",
                                                       file="regions.reg"), timeout=600)
            import_times.append(time.perf_counter() - start)
            assert ack.success and len(ack.regions) == count, ack.message[:200]
            imported = len(ack.regions)
        ids = sorted(ack.regions)
        styles = {i: pb.RegionStyle(color="#2EE6D6", line_width=2) for i in ids}
        for _ in range(repeats):
            start = time.perf_counter()
            done = await client.request(pb.ExportRegion(
                type=pb.FileType.DS9_REG, coord_type=pb.CoordinateType.WORLD, file_id=0, region_styles=styles,
                directory="", file="exported.reg"), timeout=600)
            export_times.append(time.perf_counter() - start)
            assert done.success, done.message[:200]
    return min(import_times), min(export_times), imported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        top = Path(folder)
        make_image(top / "image.fits")
        make_ds9(top / "regions.reg", args.regions)
        parse_time, parsed = best(lambda: astropy_regions_parse(top / "regions.reg"), args.repeats)
        assert len(parsed) == args.regions
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write_time, _ = best(lambda: parsed.write(str(top / "astropy.reg"), format="ds9", overwrite=True),
                                 args.repeats)
        ours_time, result = best(lambda: ours_in_process(top / "regions.reg"), args.repeats)
        assert len(result.regions) == args.regions and not result.errors
        import_time, export_time, imported = trio.run(socket_times, top, args.regions, args.repeats)
        exported = (top / "exported.reg").read_text().count("\n") - 3
    n = args.regions
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"DS9 file with {n} regions (fk5), image {SIZE} x {SIZE}, best of {args.repeats}, load average {load}")
    print(f"  astropy-regions parse             {parse_time * 1e3:9.1f} ms")
    print(f"  astropy-regions write             {write_time * 1e3:9.1f} ms")
    print(f"  ours in-process (read+parse+WCS)  {ours_time * 1e3:9.1f} ms   ratio {ours_time / parse_time:.2f}x")
    print(f"  IMPORT_REGION via socket          {import_time * 1e3:9.1f} ms   ratio {import_time / parse_time:.2f}x"
          f"   ({imported} regions in the ack)")
    print(f"  EXPORT_REGION via socket (world)  {export_time * 1e3:9.1f} ms   ratio {export_time / parse_time:.2f}x"
          f"   ({exported} region lines; vs astropy-regions write {export_time / write_time:.2f}x)")
    print("  ratio = our time / astropy-regions parse time (goal <= 1.0)")


if __name__ == "__main__":
    main()
