"""Opening images and streaming raster tiles through the real server (issue: tiles)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import trio
import zfpy

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import block_mean, make_cube, wcs_header, write_casa, write_fits, write_hdf5_idia

ZFP = pb.CompressionType.ZFP
NONE = pb.CompressionType.NONE
TILE = 256


# ---------------------------------------------------------------- independent helpers


def layers(width: int, height: int) -> int:
    tiles = max(math.ceil(width / TILE), math.ceil(height / TILE))
    return math.ceil(math.log2(tiles)) if tiles > 1 else 0


def all_tile_codes(width: int, height: int) -> list[tuple[int, int, int]]:
    out = []
    top = layers(width, height)
    for layer in range(top + 1):
        span = TILE * 2 ** (top - layer)
        for y in range(math.ceil(height / span)):
            for x in range(math.ceil(width / span)):
                out.append((x, y, layer))
    return out


def code(x: int, y: int, layer: int) -> int:
    return (layer << 24) | (y << 12) | x


def expected_tile(plane: np.ndarray, x: int, y: int, layer: int) -> np.ndarray:
    height, width = plane.shape
    mip = 2 ** (layers(width, height) - layer)
    span = TILE * mip
    block = plane[y * span : min(height, (y + 1) * span), x * span : min(width, (x + 1) * span)]
    return block_mean(block, mip) if mip > 1 else block.astype(np.float32)


def decode(tile: pb.TileData, compression: int, quality: float) -> np.ndarray:
    if compression == NONE:
        return np.frombuffer(tile.image_data, "<f4").reshape(tile.height, tile.width)
    values = zfpy._decompress(
        tile.image_data, zfpy.dtype_to_ztype(np.dtype("float32")), [tile.height, tile.width],
        precision=int(math.floor(quality)),
    ).copy()
    runs = np.frombuffer(tile.nan_encodings, "<i4")
    assert runs.sum() == tile.width * tile.height
    flat = values.reshape(-1)
    position = 0
    for index, run in enumerate(runs):
        if index % 2:
            flat[position : position + run] = np.nan
        position += run
    return values


def expected_histogram(plane: np.ndarray) -> tuple[int, float, float, np.ndarray, float, float]:
    height, width = plane.shape
    n = int(max(math.sqrt(width * height), 2))
    finite = plane[np.isfinite(plane)].astype(np.float64)
    lo, hi = np.float32(finite.min()), np.float32(finite.max())
    width_f = np.float32((float(hi) - float(lo)) / n)
    index = np.floor((finite.astype(np.float32) - lo) / width_f).astype(np.int64)
    counts = np.bincount(np.clip(index, 0, n - 1), minlength=n)
    std = math.sqrt((np.sum(finite**2) - finite.sum() ** 2 / finite.size) / (finite.size - 1))
    return n, float(width_f), float(np.float32(float(lo) + float(width_f) / 2)), counts, finite.mean(), std


async def open_image(client: CartaClient, name: str, file_id: int = 0, hdu: str = "") -> pb.OpenFileAck:
    ack = await client.request(pb.OpenFile(directory="", file=name, hdu=hdu, file_id=file_id))
    assert ack.success, ack.message
    return ack


async def collect_tiles(
    client: CartaClient, file_id: int, others: list | None = None
) -> tuple[pb.RasterTileSync, list[pb.RasterTileData], pb.RasterTileSync]:
    """One tile batch: start sync, its tiles, end sync; other messages go to ``others``."""
    start = (await client.expect(pb.RasterTileSync, timeout=20)).message
    assert not start.end_sync and start.file_id == file_id
    tiles: list[pb.RasterTileData] = []
    while True:
        envelope = await client.receive(timeout=20)
        if envelope.event_type == pb.EventType.RASTER_TILE_DATA:
            assert envelope.message.sync_id == start.sync_id
            tiles.append(envelope.message)
        elif envelope.event_type == pb.EventType.RASTER_TILE_SYNC:
            end = envelope.message
            assert end.end_sync and end.sync_id == start.sync_id
            return start, tiles, end
        elif others is not None:
            others.append(envelope)


def check_tiles(plane: np.ndarray, tiles: list[pb.RasterTileData], compression: int, tolerance: float) -> None:
    for message in tiles:
        assert len(message.tiles) == 1
        tile = message.tiles[0]
        want = expected_tile(plane, tile.x, tile.y, tile.layer)
        assert (tile.height, tile.width) == want.shape
        got = decode(tile, compression, message.compression_quality)
        assert np.array_equal(np.isnan(got), np.isnan(want)), (tile.x, tile.y, tile.layer)
        finite = np.isfinite(want)
        if finite.any():
            scale = max(1.0, float(np.abs(want[finite]).max()))
            assert np.max(np.abs(got[finite] - want[finite])) <= tolerance * scale, (tile.x, tile.y, tile.layer)


# ---------------------------------------------------------------------------- tests


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    data = make_cube((3, 300, 600), seed=4)
    data[1, 100:140, 200:330] = np.nan  # a NaN patch crossing tile and block edges
    write_fits(data_dir / "cube.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    return data


async def test_open_file_ack_and_initial_histogram(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        ack = await open_image(client, "cube.fits", file_id=3)
        histogram = (await client.expect(pb.RegionHistogramData)).message
    assert ack.file_id == 3
    assert (ack.file_info.name, ack.file_info.type, list(ack.file_info.HDU_list)) == ("cube.fits", pb.FileType.FITS, ["0"])
    assert len(ack.beam_table) == 1
    beam = ack.beam_table[0]
    assert (beam.channel, beam.stokes) == (-1, -1)
    assert beam.major_axis == pytest.approx(9.0) and beam.minor_axis == pytest.approx(5.4) and beam.pa == -20
    assert ack.file_info_extended.width == 600 and ack.file_info_extended.height == 300
    assert (histogram.file_id, histogram.region_id, histogram.channel, histogram.stokes) == (3, -1, 0, 0)
    assert histogram.progress == 1.0
    assert (histogram.config.num_bins, histogram.config.fixed_num_bins, histogram.config.fixed_bounds) == (-1, False, False)
    n, bin_width, first_center, counts, mean, std = expected_histogram(cube[0])
    got = histogram.histograms
    assert got.num_bins == n
    assert got.bin_width == pytest.approx(bin_width, rel=1e-6)
    assert got.first_bin_center == pytest.approx(first_center, rel=1e-6)
    assert list(got.bins) == counts.tolist()
    assert got.mean == pytest.approx(mean, rel=1e-9)
    assert got.std_dev == pytest.approx(std, rel=1e-9)


@pytest.mark.parametrize("compression, tolerance", [(NONE, 1e-6), (ZFP, 2e-3)])
async def test_every_tile_of_every_layer(carta_url: str, cube: np.ndarray, compression: int, tolerance: float) -> None:
    coords = all_tile_codes(600, 300)
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "cube.fits")
        await client.send(
            pb.AddRequiredTiles(file_id=0, tiles=[code(*c) for c in coords], compression_type=compression, compression_quality=16)
        )
        start, tiles, end = await collect_tiles(client, 0)
    assert start.tile_count == end.tile_count == len(coords)
    assert sorted((t.tiles[0].x, t.tiles[0].y, t.tiles[0].layer) for t in tiles) == sorted(coords)
    assert {(t.channel, t.stokes, t.compression_type, t.animation_id) for t in tiles} == {(0, 0, compression, 0)}
    check_tiles(cube[0], tiles, compression, tolerance)
    if compression == ZFP:
        assert all(len(t.tiles[0].image_data) % 8 == 0 for t in tiles)


async def test_sync_ids_increase_and_tiles_keep_request_order(carta_url: str, cube: np.ndarray) -> None:
    codes = [code(2, 1, 2), code(0, 0, 2), code(1, 0, 2)]
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "cube.fits")
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=codes, compression_type=ZFP, compression_quality=11))
        first = await collect_tiles(client, 0)
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=codes[:1], compression_type=ZFP, compression_quality=11))
        second = await collect_tiles(client, 0)
    assert second[0].sync_id == first[0].sync_id + 1
    assert [code(t.tiles[0].x, t.tiles[0].y, t.tiles[0].layer) for t in first[1]] == codes
    assert first[1][0].compression_quality == 11


async def test_channel_change_sends_histogram_then_tiles(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "cube.fits")
        await client.expect(pb.RegionHistogramData)
        tiles = pb.AddRequiredTiles(file_id=0, tiles=[code(0, 0, 0)], compression_type=ZFP, compression_quality=11)
        await client.send(pb.SetImageChannels(file_id=0, channel=1, stokes=0, required_tiles=tiles))
        histogram = (await client.expect(pb.RegionHistogramData)).message
        order = [e.event_type for e in client.buffered]
        start, received, _ = await collect_tiles(client, 0)
    assert histogram.channel == 1
    assert list(histogram.histograms.bins) == expected_histogram(cube[1])[3].tolist()
    assert (start.channel, received[0].channel) == (1, 1)
    check_tiles(cube[1], received, ZFP, 2e-2)
    assert pb.EventType.REGION_HISTOGRAM_DATA not in order


async def test_burst_of_channel_changes_serves_the_latest(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "cube.fits")
        await client.expect(pb.RegionHistogramData)
        for channel in (1, 2, 1, 2):
            tiles = pb.AddRequiredTiles(file_id=0, tiles=[code(0, 0, 0)], compression_type=ZFP, compression_quality=11)
            await client.send(pb.SetImageChannels(file_id=0, channel=channel, stokes=0, required_tiles=tiles))
        await trio.sleep(1.0)
        messages = client.buffered
    histograms = [e.message.channel for e in messages if e.event_type == pb.EventType.REGION_HISTOGRAM_DATA]
    syncs = [e.message for e in messages if e.event_type == pb.EventType.RASTER_TILE_SYNC]
    assert histograms[-1] == 2 and len(histograms) < 4  # superseded changes were dropped
    starts = {s.sync_id for s in syncs if not s.end_sync}
    assert starts == {s.sync_id for s in syncs if s.end_sync}
    served = [e.message for e in messages if e.event_type == pb.EventType.RASTER_TILE_DATA]
    assert served and served[-1].channel == 2
    # a batch made stale by a newer channel sends no tiles for the old channel after it
    assert all(t.channel == 2 for t in served[served.index(next(t for t in served if t.channel == 2)):])


@pytest.mark.parametrize(
    "shape, ctypes",
    [
        ((100, 130), ("RA---SIN", "DEC--SIN")),  # smaller than a tile, 2D
        ((2, 3, 257, 513), ("RA---SIN", "DEC--SIN", "FREQ", "STOKES")),  # 4D, odd edges
    ],
)
async def test_shapes(carta_url: str, data_dir: Path, shape: tuple[int, ...], ctypes: tuple[str, ...]) -> None:
    data = make_cube(shape, seed=9)
    write_fits(data_dir / "img.fits", data, wcs_header(ctypes))
    plane = data.reshape(-1, shape[-2], shape[-1])[0]
    coords = all_tile_codes(shape[-1], shape[-2])
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "img.fits")
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[code(*c) for c in coords], compression_type=ZFP, compression_quality=14))
        _, tiles, _ = await collect_tiles(client, 0)
        if len(shape) == 4:
            await client.send(pb.SetImageChannels(file_id=0, channel=2, stokes=1, required_tiles=pb.AddRequiredTiles(
                file_id=0, tiles=[code(0, 0, 0)], compression_type=NONE)))
            _, later, _ = await collect_tiles(client, 0)
            check_tiles(data[1, 2], later, NONE, 1e-6)
    check_tiles(plane, tiles, ZFP, 5e-3)


async def test_hdf5_with_mipmaps_and_casa(carta_url: str, data_dir: Path) -> None:
    data = make_cube((2, 300, 520), seed=2)
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"))
    write_hdf5_idia(data_dir / "cube.hdf5", data, header, mipmaps=True)
    write_casa(data_dir / "cube.image", data, header)
    coords = all_tile_codes(520, 300)
    for name, flags in (("cube.hdf5", None), ("cube.image", 0)):
        async with open_client(carta_url) as client:
            await client.register()
            ack = await open_image(client, name)
            if flags is not None:
                assert ack.file_feature_flags == flags
            await client.send(pb.AddRequiredTiles(file_id=0, tiles=[code(*c) for c in coords], compression_type=NONE))
            _, tiles, _ = await collect_tiles(client, 0)
        check_tiles(data[0], tiles, NONE, 1e-6)


async def test_bad_tile_requests_are_reported_and_frame_keeps_serving(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "cube.fits")
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[code(5, 5, 2), 9 << 24], compression_type=ZFP, compression_quality=11))
        # one ERROR_DATA for all invalid codes (issue 11 D14), and no batch that could never complete
        error = (await client.expect(pb.ErrorData)).message
        assert error.message.startswith("2 invalid tile code(s) ignored") and error.severity == pb.ErrorSeverity.WARNING
        assert await client.ping() == "PONG"
        assert not [e for e in client.buffered if e.event_type in (pb.EventType.RASTER_TILE_SYNC, pb.EventType.ERROR_DATA)]
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[code(0, 0, 0)], compression_type=pb.CompressionType.SZ))
        assert "SZ" in (await client.expect(pb.ErrorData)).message.message
        await client.send(pb.SetImageChannels(file_id=0, channel=7, stokes=0))
        assert (await client.expect(pb.ErrorData)).message.message == "Channel 7 or Stokes 0 is invalid in image"
        await client.send(pb.SetImageChannels(file_id=42, channel=0, stokes=0))
        missing = (await client.expect(pb.ErrorData)).message
        assert (missing.message, missing.severity) == ("File id 42 not found", pb.ErrorSeverity.DEBUG)
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[code(0, 0, 0)], compression_type=ZFP, compression_quality=11))
        _, tiles, _ = await collect_tiles(client, 0)
        assert len(tiles) == 1


async def test_open_failures_and_close(carta_url: str, cube: np.ndarray, data_dir: Path) -> None:
    (data_dir / "junk.fits").write_bytes(b"SIMPLE  = not really a fits file" * 10)
    async with open_client(carta_url) as client:
        await client.register()
        missing = await client.request(pb.OpenFile(file="nope.fits", file_id=3))
        assert (missing.success, missing.file_id) == (False, 3) and missing.message
        junk = await client.request(pb.OpenFile(file="junk.fits", file_id=4))
        assert not junk.success and junk.message
        outside = await client.request(pb.OpenFile(directory="..", file="cube.fits", file_id=5))
        assert not outside.success
        await open_image(client, "cube.fits", file_id=1)
        await open_image(client, "cube.fits", file_id=2)  # same file twice: independent frames
        await client.send(pb.CloseFile(file_id=1))
        await client.send(pb.AddRequiredTiles(file_id=1, tiles=[code(0, 0, 0)], compression_type=ZFP, compression_quality=11))
        await client.send(pb.AddRequiredTiles(file_id=2, tiles=[code(0, 0, 0)], compression_type=ZFP, compression_quality=11))
        start, tiles, _ = await collect_tiles(client, 2)
        assert len(tiles) == 1
        await client.send(pb.CloseFile(file_id=-1))
        assert await client.ping() == "PONG"
        syncs = [e for e in client.buffered if e.event_type == pb.EventType.RASTER_TILE_SYNC and e.message.file_id == 1]
        assert syncs == []


async def test_computed_stokes_plane(carta_url: str, data_dir: Path) -> None:
    data = make_cube((4, 2, 40, 60), seed=6)  # Stokes I, Q, U, V
    write_fits(data_dir / "iquv.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))
    plinear = np.hypot(data[1, 1].astype(np.float64), data[2, 1].astype(np.float64)).astype(np.float32)
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "iquv.fits")
        await client.expect(pb.RegionHistogramData)
        tiles = pb.AddRequiredTiles(file_id=0, tiles=[code(0, 0, 0)], compression_type=NONE)
        await client.send(pb.SetImageChannels(file_id=0, channel=1, stokes=pb.PolarizationType.Plinear, required_tiles=tiles))
        histogram = (await client.expect(pb.RegionHistogramData)).message
        assert (histogram.channel, histogram.stokes) == (1, pb.PolarizationType.Plinear)
        _, received, _ = await collect_tiles(client, 0)
    check_tiles(plinear, received, NONE, 1e-5)
