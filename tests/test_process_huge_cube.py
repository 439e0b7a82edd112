"""A 64 GiB cube (a sparse file) in a server process: opening it, its tiles, channel
changes with their histograms, cursor and region spectral profiles and region
statistics keep the server's peak resident size under 1 GiB (issue 18). Nothing reads
the whole cube; every answer is checked against the few pixels the test wrote."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from carta_trio.codecs import tile_geometry
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests import analytics_expect as ex
from tests.region_client import final_spectral, new_region, spectral
from tests.server_process import server_process

WIDTH = HEIGHT = 4096
DEPTH = 1024  # 4096 * 4096 * 1024 * 4 bytes = 64 GiB
ST = pb.StatsType


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def write_sparse_cube(path: Path) -> dict[tuple[int, int, int], float]:
    """A 64 GiB float32 FITS cube of zeros (holes) with a handful of written values."""
    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = -32
    header["NAXIS"] = 3
    header["NAXIS1"], header["NAXIS2"], header["NAXIS3"] = WIDTH, HEIGHT, DEPTH
    header["CTYPE1"], header["CTYPE2"], header["CTYPE3"] = "RA---SIN", "DEC--SIN", "FREQ"
    for axis, (crval, cdelt) in {1: (180.0, -1e-4), 2: (-30.0, 1e-4), 3: (1.4e9, 1e5)}.items():
        header[f"CRPIX{axis}"], header[f"CRVAL{axis}"], header[f"CDELT{axis}"] = 1.0, crval, cdelt
    header["BUNIT"] = "Jy/beam"
    text = header.tostring(padding=True).encode("ascii")
    data_bytes = WIDTH * HEIGHT * DEPTH * 4
    values = {(z, 100 + z % 7, 200): float(z + 1) for z in range(0, DEPTH, 3)}  # one spectrum at (200, 1xx)
    values.update({(500, y, x): 2.5 for y in range(1000, 1010) for x in range(2000, 2010)})
    with open(path, "wb") as f:
        f.write(text)
        for (z, y, x), value in values.items():
            f.seek(len(text) + ((z * HEIGHT + y) * WIDTH + x) * 4)
            f.write(np.array([value], dtype=">f4").tobytes())
        f.truncate(len(text) + -(-data_bytes // 2880) * 2880)
    return values


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
async def test_a_64_gib_cube_stays_under_1_gib(tmp_path: Path) -> None:
    values = write_sparse_cube(tmp_path / "huge.fits")
    assert os.path.getsize(tmp_path / "huge.fits") >= 64 * 2**30
    try:
        await _exercise(tmp_path, values)
    finally:
        (tmp_path / "huge.fits").unlink(missing_ok=True)


async def _exercise(top: Path, values: dict[tuple[int, int, int], float]) -> None:
    with server_process(top, "--no_cache", home=top) as server:
        async with open_client(server.url) as client:
            await client.register()
            ack = await client.request(pb.OpenFile(file="huge.fits", file_id=0, hdu=""), timeout=60)
            assert ack.success, ack.message
            assert ack.file_info_extended.depth == DEPTH
            await client.expect(pb.RegionHistogramData, timeout=60)
            # The whole image at the coarsest layer, and a few full-resolution tiles.
            top_layer = tile_geometry.total_layers(WIDTH, HEIGHT)
            codes = [tile_geometry.encode_tile_code(0, 0, 0)] + [
                tile_geometry.encode_tile_code(x, y, top_layer) for x in (7, 8) for y in (3, 4)]
            await client.send(pb.AddRequiredTiles(file_id=0, tiles=codes, compression_type=pb.CompressionType.ZFP,
                                                  compression_quality=11))
            tiles = 0
            while True:
                envelope = await client.receive(timeout=120)
                if isinstance(envelope.message, pb.RasterTileData):
                    tiles += len(envelope.message.tiles)
                if envelope.event_type == pb.EventType.RASTER_TILE_SYNC and envelope.message.end_sync:
                    break
            assert tiles == len(codes)
            # A channel change: the new plane's histogram counts the written patch.
            await client.send(pb.SetImageChannels(file_id=0, channel=500, stokes=0))
            histogram = (await client.expect(pb.RegionHistogramData, timeout=120)).message
            assert histogram.channel == 500
            assert histogram.histograms.num_bins > 0
            # Cursor spectrum through every channel at the written pixel column.
            await client.send(spectral(0, ("z", [ST.Sum])))
            await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=200.0, y=101.0)))
            message = await final_spectral(client, timeout=120)
            got = np.frombuffer(message.profiles[0].raw_values_fp32, dtype="<f4")
            want = np.zeros(DEPTH, dtype=np.float32)
            for (z, y, x), value in values.items():
                if (y, x) == (101, 200):
                    want[z] = value
            np.testing.assert_array_equal(got, want)
            # A 64x64 region's sum spectrum over all 1024 channels.
            rid = await new_region(client, pb.RegionType.RECTANGLE, [(2005.0, 1005.0), (64.0, 64.0)])
            await client.send(spectral(rid, ("z", [ST.Sum])))
            message = await final_spectral(client, timeout=300)
            sums = ex.fp64(message.profiles[0])
            assert sums[500] == pytest.approx(2.5 * 100) and sums[499] == 0 and sums[501] == 0
        peak = peak_rss_mib(server.proc.pid)
        print("server peak RSS MiB", peak)
        assert server.alive(), server.output()
        assert peak < 1024, peak
