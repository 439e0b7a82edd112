"""Joined Stokes files and image expressions against their plain equivalents.

Run: ``python3 -m bench.bench_combine [--size 1024] [--depth 32] [--rounds 8] [--dir PATH]``

1. Tiles and the cursor spectral profile of a frame joined by CONCAT_STOKES_FILES from four
   single-Stokes FITS cubes, against the same requests on one FITS file holding the same
   ``[4, depth, size, size]`` data, through one server process (separate from this client).
   Tiles: SET_IMAGE_CHANNELS to a new (channel, Stokes) with every full-resolution tile (ZFP),
   timed to the end RASTER_TILE_SYNC. Cursor: SET_CURSOR to a new pixel, timed to the final
   SPECTRAL_PROFILE_DATA (Stokes of the current plane). Each joined measurement is paired with
   the plain one taken right after it; ratios are medians of the pairs. Goal: <= 1.2x.
2. One plane of the expression ``"a.fits" + "b.fits"`` read through the expression reader
   (the numpy evaluator of the element-wise subset, what a frame's plane load does; casacore's
   LEL on the same plane is printed for context) against numpy adding the two planes from
   memory maps of the files (byte-swapped to float32). Goal: <= 2x. The same plane is also
   timed through the socket (tiles of the expression frame vs tiles of a plain file holding
   the sum), for context.

Files are written once into ``--dir`` (default: a folder in the system temp directory, kept
for the next run) and read warm from the page cache by both sides. Prints numbers and
ratios; asserts only that the answers are right.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import trio
from astropy.io.fits import Card

from bench.serving import server_process
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client

BLOCK = 2880
TILE = 256
NAMES = ("I", "Q", "U", "V")


def _cards(size: int, depth: int, stokes: int | None) -> list[tuple[str, object]]:
    naxis = 3 if stokes is None else 4
    cards: list[tuple[str, object]] = [("SIMPLE", True), ("BITPIX", -32), ("NAXIS", naxis), ("NAXIS1", size),
                                       ("NAXIS2", size), ("NAXIS3", depth)]
    if stokes is not None:
        cards.append(("NAXIS4", stokes))
    cards += [("CTYPE1", "RA---SIN"), ("CRVAL1", 10.0), ("CRPIX1", size / 2), ("CDELT1", -1e-4), ("CUNIT1", "deg"),
              ("CTYPE2", "DEC--SIN"), ("CRVAL2", -30.0), ("CRPIX2", size / 2), ("CDELT2", 1e-4), ("CUNIT2", "deg"),
              ("CTYPE3", "FREQ"), ("CRVAL3", 1.4e9), ("CRPIX3", 1.0), ("CDELT3", 1e6), ("CUNIT3", "Hz"),
              ("SPECSYS", "LSRK")]
    if stokes is not None:
        cards += [("CTYPE4", "STOKES"), ("CRVAL4", 1.0), ("CRPIX4", 1.0), ("CDELT4", 1.0), ("CUNIT4", "")]
    return cards + [("BUNIT", "Jy/beam"), ("BMAJ", 5e-4), ("BMIN", 4e-4), ("BPA", 0.0)]


def _plane(size: int, stokes: int, channel: int) -> np.ndarray:
    rng = np.random.default_rng(1000 * stokes + channel)
    plane = rng.normal(size=(size, size)).astype(np.float32) + np.float32(stokes + 0.01 * channel)
    plane[:3, :5] = np.nan
    return plane


def write_fits(path: Path, size: int, depth: int, stokes_planes: list[int], with_axis: bool,
               combine: bool = False) -> None:
    """A float32 FITS file of ``stokes_planes`` (indices into :data:`NAMES`) x depth planes;
    ``combine`` writes the sum of the listed Stokes instead (for the expression check)."""
    total = size * size * depth * (1 if combine else len(stokes_planes)) * 4
    if path.exists() and path.stat().st_size >= total:
        return
    header = "".join(Card(k, v).image for k, v in _cards(size, depth, len(stokes_planes) if with_axis else None))
    header = (header + "END".ljust(80)).ljust(-(-(len(header) + 80) // BLOCK) * BLOCK)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as f:
        f.write(header.encode("ascii"))
        if combine:
            for z in range(depth):
                f.write(sum(_plane(size, s, z) for s in stokes_planes).astype(">f4").tobytes())
        else:
            for s in stokes_planes:
                for z in range(depth):
                    f.write(_plane(size, s, z).astype(">f4").tobytes())
        f.write(b"\0" * (-total % BLOCK))
    tmp.rename(path)


def data_map(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    count = int(np.prod(shape)) * 4
    offset = path.stat().st_size - count - (-count % BLOCK)
    return np.memmap(path, dtype=">f4", mode="r", offset=offset, shape=shape)


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass


def full_tiles(size: int) -> list[int]:
    n = math.ceil(size / TILE)
    layer = math.ceil(math.log2(n)) if n > 1 else 0
    return [(layer << 24) | (y << 12) | x for y in range(n) for x in range(n)]


async def drain(client: CartaClient) -> None:
    while client.buffered:
        await client.receive()


async def tiles_time(client: CartaClient, file_id: int, channel: int, stokes: int, codes: list[int]) -> float:
    start = time.perf_counter()
    await client.send(pb.SetImageChannels(file_id=file_id, channel=channel, stokes=stokes, required_tiles=pb.AddRequiredTiles(
        file_id=file_id, tiles=codes, compression_type=pb.CompressionType.ZFP, compression_quality=11)))
    count = 0
    while True:
        envelope = await client.receive(timeout=120)
        if envelope.event_type == pb.EventType.RASTER_TILE_DATA and envelope.message.file_id == file_id:
            count += 1
        if (envelope.event_type == pb.EventType.RASTER_TILE_SYNC and envelope.message.end_sync
                and envelope.message.file_id == file_id):
            break
    elapsed = time.perf_counter() - start
    assert count == len(codes), (count, len(codes))
    await drain(client)
    return elapsed


async def cursor_time(client: CartaClient, file_id: int, x: int, y: int) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    await client.send(pb.SetCursor(file_id=file_id, point=pb.Point(x=x, y=y)))
    while True:
        message = (await client.expect(pb.SpectralProfileData, timeout=120)).message
        if message.file_id == file_id and message.progress >= 1.0:
            break
    elapsed = time.perf_counter() - start
    await drain(client)
    return elapsed, np.frombuffer(message.profiles[0].raw_values_fp32, "<f4")


def ratio_line(label: str, ours: list[float], theirs: list[float], goal: str) -> None:
    pairs = [o / t for o, t in zip(ours, theirs)]
    print(f"{label}: joined median {statistics.median(ours) * 1e3:.1f} ms, plain median "
          f"{statistics.median(theirs) * 1e3:.1f} ms; ratio median of pairs {statistics.median(pairs):.2f}x, "
          f"of bests {min(ours) / min(theirs):.2f}x ({goal})")


async def bench_concat(url: str, folder: Path, size: int, depth: int, rounds: int) -> None:
    single = data_map(folder / "iquv.fits", (4, depth, size, size))
    codes = full_tiles(size)
    rng = np.random.default_rng(3)
    async with open_client(url) as client:
        await client.register()
        ack = await client.request(pb.ConcatStokesFiles(file_id=0, stokes_files=[
            pb.StokesFile(directory="", file=f"cube.{n}.fits", hdu="", polarization_type=i + 1)
            for i, n in enumerate(NAMES)]), timeout=120)
        assert ack.success and ack.open_file_ack.success, ack.message
        opened = await client.request(pb.OpenFile(directory="", file="iquv.fits", file_id=1), timeout=120)
        assert opened.success, opened.message
        await drain(client)
        ours_tiles, plain_tiles, ours_cursor, plain_cursor = [], [], [], []
        for r in range(rounds):
            channel, stokes = (r * 7 + 1) % depth, r % 4
            ours_tiles.append(await tiles_time(client, 0, channel, stokes, codes))
            plain_tiles.append(await tiles_time(client, 1, channel, stokes, codes))
        for file_id in (0, 1):
            await client.send(pb.SetSpectralRequirements(file_id=file_id, region_id=0, spectral_profiles=[
                pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[pb.StatsType.Sum])]))
        await drain(client)
        for _ in range(rounds * 3):
            x, y = int(rng.integers(5, size)), int(rng.integers(5, size))
            elapsed, joined = await cursor_time(client, 0, x, y)
            ours_cursor.append(elapsed)
            elapsed, plain = await cursor_time(client, 1, x, y)
            plain_cursor.append(elapsed)
            assert np.array_equal(joined, plain, equal_nan=True)
            assert np.array_equal(plain, np.asarray(single[stokes, :, y, x], dtype=np.float32), equal_nan=True)
    ratio_line(f"tiles, {len(codes)} full-resolution ZFP tiles of a {size}x{size} plane", ours_tiles, plain_tiles,
               "goal <= 1.2x")
    ratio_line(f"cursor spectral profile, {depth} channels", ours_cursor, plain_cursor, "goal <= 1.2x")


def bench_expression_reader(folder: Path, size: int, depth: int, rounds: int) -> None:
    from carta_trio.io.image_expression import open_expression  # the numpy path for this expression

    reader = open_expression(folder, "", '"cube.I.fits" + "cube.Q.fits"')
    a_path, b_path = folder / "cube.I.fits", folder / "cube.Q.fits"
    ours, theirs = [], []
    try:
        reader.read_plane(depth - 1, 0)  # warm-up: first-call set-up is not what is measured
        for r in range(rounds):
            channel = (r * 5 + 2) % depth
            start = time.perf_counter()
            plane = reader.read_plane(channel, 0)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            a, b = data_map(a_path, (depth, size, size)), data_map(b_path, (depth, size, size))
            want = np.asarray(a[channel], dtype=np.float32) + np.asarray(b[channel], dtype=np.float32)
            theirs.append(time.perf_counter() - start)
            assert np.array_equal(plane, want, equal_nan=True)
    finally:
        reader.close()
    from carta_trio.io.image_expression import ExpressionReader, resolve_expression

    casacore = ExpressionReader(resolve_expression(folder, "", '"cube.I.fits" + "cube.Q.fits"'))
    lel = []
    try:
        for r in range(rounds):
            start = time.perf_counter()
            casacore.read_plane((r * 5 + 2) % depth, 0)
            lel.append(time.perf_counter() - start)
    finally:
        casacore.close()
    pairs = [o / t for o, t in zip(ours, theirs)]
    print(f"  (the same plane through casacore's LEL, used outside the element-wise subset: median "
          f"{statistics.median(lel) * 1e3:.1f} ms)")
    print(f'plane of "cube.I.fits" + "cube.Q.fits" ({size}x{size}): expression reader median '
          f"{statistics.median(ours) * 1e3:.1f} ms, numpy memmap add median {statistics.median(theirs) * 1e3:.1f} ms; "
          f"ratio median of pairs {statistics.median(pairs):.2f}x, of bests {min(ours) / min(theirs):.2f}x (goal <= 2x)")


async def bench_expression_socket(url: str, size: int, depth: int, rounds: int) -> None:
    codes = full_tiles(size)
    async with open_client(url) as client:
        await client.register()
        ack = await client.request(pb.OpenFile(directory="", file='"cube.I.fits" + "cube.Q.fits"', file_id=0,
                                               lel_expr=True), timeout=120)
        assert ack.success, ack.message
        opened = await client.request(pb.OpenFile(directory="", file="sum_iq.fits", file_id=1), timeout=120)
        assert opened.success, opened.message
        await drain(client)
        ours, theirs = [], []
        for r in range(rounds):
            channel = (r * 5 + 2) % depth
            ours.append(await tiles_time(client, 0, channel, 0, codes))
            theirs.append(await tiles_time(client, 1, channel, 0, codes))
    pairs = [o / t for o, t in zip(ours, theirs)]
    print(f"  through the socket ({len(codes)} ZFP tiles per plane): expression median "
          f"{statistics.median(ours) * 1e3:.1f} ms, plain file of the sum median {statistics.median(theirs) * 1e3:.1f} ms;"
          f" ratio median of pairs {statistics.median(pairs):.2f}x (context, no goal)")


async def main(args: argparse.Namespace) -> None:
    folder = Path(args.dir or Path(tempfile.gettempdir()) / f"carta_trio_bench_combine_{args.size}_{args.depth}")
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for i, name in enumerate(NAMES):
        write_fits(folder / f"cube.{name}.fits", args.size, args.depth, [i], with_axis=False)
    write_fits(folder / "iquv.fits", args.size, args.depth, [0, 1, 2, 3], with_axis=True)
    write_fits(folder / "sum_iq.fits", args.size, args.depth, [0, 1], with_axis=False, combine=True)
    print(f"files ready in {time.perf_counter() - t0:.1f} s ({folder})")
    for path in folder.glob("*.fits"):
        warm(path)
    bench_expression_reader(folder, args.size, args.depth, args.rounds)
    async with server_process(folder) as url:
        await bench_concat(url, folder, args.size, args.depth, args.rounds)
        await bench_expression_socket(url, args.size, args.depth, args.rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--depth", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--dir", default=None)
    trio.run(main, parser.parse_args())
