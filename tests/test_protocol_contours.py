"""Contours and vector overlays through the real server socket (WIRE.md 3 and 7,
BEHAVIOUR.md §4.3-4.4): every CONTOUR_IMAGE_DATA is decoded as the 4.1.0 frontend
decodes it and compared with contourpy run independently on independently smoothed
data; vector tiles are reassembled and compared with an independent numpy
computation; bad requests get ERROR_DATA and the frame keeps serving."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import trio
import trio_parallel

import carta_trio.actors.contours  # noqa: F401  registers the handlers
import carta_trio.actors.vector_overlay  # noqa: F401
from carta_trio.actors import contour_workers
from carta_trio.codecs.contour_encoding import decode_contour_set
from carta_trio.codecs.raster_tiles import decode_tile
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import wcs_header, write_fits
from tests.test_analysis_contours import reference_block_mean, reference_gaussian, reference_polylines
from tests.test_analysis_vector_field import reference_overlay

ET = pb.EventType


# ------------------------------------------------------------------------- data


def smooth_plane_data(shape: tuple[int, int], seed: int, channel: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed + 17 * channel)
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    plane = np.sin(x / (9.0 + channel)) * np.cos(y / 7.0) + 0.2 * rng.normal(size=shape)
    plane[15:22, 30:44] = np.nan
    return plane.astype(np.float32)


@pytest.fixture
def images(data_dir: Path) -> dict[str, np.ndarray]:
    """plane.fits (2-D), cube.fits (3 channels), iquv.fits (4 Stokes x 2 channels), iv.fits (Stokes I, V)."""
    out = {}
    plane = smooth_plane_data((90, 120), 1)
    out["plane.fits"] = write_fits(data_dir / "plane.fits", plane, wcs_header(("RA---SIN", "DEC--SIN")))
    cube = np.stack([smooth_plane_data((70, 80), 2, c) for c in range(3)])
    out["cube.fits"] = write_fits(data_dir / "cube.fits", cube, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    rng = np.random.default_rng(3)
    shape = (2, 300, 280)  # channels, y, x: several vector tiles at mip 1 and 2
    i = rng.uniform(0.5, 3.0, shape)
    q = rng.normal(0, 0.5, shape)
    u = rng.normal(0, 0.5, shape)
    v = rng.normal(0, 0.1, shape)
    iquv = np.stack([i, q, u, v]).astype(np.float32)
    iquv[1, :, 40:44, 50:54] = np.nan
    iquv[0, 1, 7, 9] = np.nan
    out["iquv.fits"] = write_fits(
        data_dir / "iquv.fits", iquv, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    )
    iv = np.stack([i[:1], v[:1]]).astype(np.float32)
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    header = [(k, 3.0 if k == "CDELT4" else val, c) for k, val, c in header]  # I, V
    out["iv.fits"] = write_fits(data_dir / "iv.fits", iv, header)
    return out


async def open_image(client: CartaClient, name: str, file_id: int = 0) -> None:
    ack = await client.request(pb.OpenFile(directory="", file=name, hdu="", file_id=file_id))
    assert ack.success, ack.message
    await client.expect(ET.REGION_HISTOGRAM_DATA)


def contour_request(file_id: int, levels, mode=2, factor=4, decimation=4, compression=8, chunk=100_000):
    return pb.SetContourParameters(
        file_id=file_id,
        reference_file_id=file_id,
        levels=list(levels),
        smoothing_mode=mode,
        smoothing_factor=factor,
        decimation_factor=decimation,
        compression_level=compression,
        contour_chunk_size=chunk,
        image_bounds=pb.ImageBounds(x_min=0, x_max=10, y_min=0, y_max=10),  # ignored
    )


async def collect_contours(client: CartaClient, levels, timeout: float = 30) -> list:
    """CONTOUR_IMAGE_DATA messages until every level has had progress 1.0."""
    pending = set(levels)
    taken = []
    with trio.fail_after(timeout):
        while pending:
            envelope = await client.expect(ET.CONTOUR_IMAGE_DATA, timeout=None)
            assert envelope.request_id == 0
            message = envelope.message
            (contour_set,) = message.contour_sets
            taken.append(message)
            if message.progress >= 1.0:
                pending.discard(contour_set.level)
    return taken


def polylines_of(contour_set) -> list[np.ndarray]:
    vertices, starts = decode_contour_set(
        contour_set.raw_coordinates,
        contour_set.raw_start_indices,
        contour_set.uncompressed_coordinates_size,
        contour_set.decimation_factor,
    )
    bounds = list(starts) + [vertices.size]
    return [vertices[a:b].reshape(-1, 2) for a, b in zip(bounds[:-1], bounds[1:])]


class FrontendContourStores:
    """The 4.1.0 frontend's per-level stores (FrameStore.updateFromContourData,
    ContourStore): append while incomplete and progress > 0, else clear and add;
    an empty chunk changes nothing but the clearing."""

    def __init__(self) -> None:
        self.progress: dict[float, float] = {}
        self.lines: dict[float, list[np.ndarray]] = {}

    def apply(self, message) -> None:
        for contour_set in message.contour_sets:
            level = contour_set.level
            complete = self.progress.get(level, -1.0) >= 1.0
            if complete or message.progress <= 0:
                self.lines[level] = []
            lines = polylines_of(contour_set) if contour_set.raw_coordinates else []
            if lines:
                self.lines.setdefault(level, []).extend(lines)
                self.progress[level] = message.progress


def expected_lines(plane: np.ndarray, level: float, mode: int, factor: int) -> list[np.ndarray]:
    if mode == 2 and factor > 1:
        return reference_polylines(reference_gaussian(plane, factor), level, 1, factor - 1)
    if mode == 1 and factor > 1:
        return reference_polylines(reference_block_mean(plane, factor), level, factor, 0)
    return reference_polylines(plane.astype(np.float64), level, 1, 0)


def assert_same_lines(got: list[np.ndarray], want: list[np.ndarray], tolerance: float) -> None:
    assert len(got) == len(want) > 0
    for a, b in zip(got, want):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=tolerance, rtol=0)


# --------------------------------------------------------------------- contours


@pytest.mark.parametrize(
    "mode, factor, decimation, compression, chunk, processes",
    [
        (2, 4, 4, 8, 60, False),
        (2, 4, 8, 0, 100_000, False),
        (1, 3, 16, 12, 25, False),
        (0, 0, 4, 8, 0, False),
        (2, 5, 4, 8, 60, True),
        (1, 2, 4, 0, 0, True),
    ],
)
async def test_contours_match_contourpy(
    images, carta_url, monkeypatch, mode, factor, decimation, compression, chunk, processes
) -> None:
    """``processes``: the grid-size threshold is lowered so that this small plane
    takes the large-plane path (row-parallel smoothing, worker processes). Chunks of
    a few dozen vertices (below the server's floor) show the chunking on a small plane."""
    from carta_trio import limits

    monkeypatch.setattr(limits, "MIN_CONTOUR_CHUNK_SIZE", 1)
    if processes:
        monkeypatch.setattr(contour_workers, "PROCESS_MIN_CELLS", 1000)
    plane = images["plane.fits"]
    levels = [-0.5, 0.05, 0.6]
    stores = FrontendContourStores()
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "plane.fits", 3)
        await client.send(contour_request(3, levels, mode, factor, decimation, compression, chunk))
        messages = await collect_contours(client, levels)
    if processes:  # the levels were traced by worker processes, which stay cached
        assert trio_parallel.default_context_statistics().idle_workers > 0
    per_level: dict[float, list] = {level: [] for level in levels}
    for message in messages:
        assert (message.file_id, message.reference_file_id, message.channel, message.stokes) == (3, 3, 0, 0)
        assert not message.HasField("image_bounds")
        per_level[message.contour_sets[0].level].append(message)
        stores.apply(message)
    tolerance = 2e-4 if compression < 1 else 0.5 / decimation + 2e-4
    for level, chunks in per_level.items():
        progress = [m.progress for m in chunks]
        assert progress[-1] == 1.0 and all(0 < p < 1 for p in progress[:-1])
        assert progress == sorted(progress)
        for m in chunks:
            contour_set = m.contour_sets[0]
            assert contour_set.decimation_factor == (decimation if compression >= 1 else 0)
            assert len(contour_set.raw_start_indices) // 4 >= 1
            if chunk > 0 and m.progress < 1:
                assert contour_set.uncompressed_coordinates_size > 8 * chunk
        got = [line for m in chunks for line in polylines_of(m.contour_sets[0])]
        assert_same_lines(got, expected_lines(plane, level, mode, factor), tolerance)
        assert_same_lines(stores.lines[level], got, 0)
        assert stores.progress[level] == 1.0
    if chunk == 60:
        assert any(len(chunks) > 2 for chunks in per_level.values())


async def test_contours_follow_channel_changes_before_vectors_and_tiles(images, carta_url) -> None:
    cube = images["cube.fits"]
    levels = [0.0, 0.4]
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "cube.fits", 0)
        await client.send(contour_request(0, levels, 2, 3))
        await collect_contours(client, levels)
        await client.send(pb.SetVectorOverlayParameters(
            file_id=0, smoothing_factor=2, threshold=math.nan, stokes_intensity=0, stokes_angle=-1,
        ))
        await client.expect(ET.VECTOR_OVERLAY_TILE_DATA)
        tiles = pb.AddRequiredTiles(file_id=0, tiles=[0], compression_type=pb.CompressionType.ZFP,
                                    compression_quality=11)
        await client.send(pb.SetImageChannels(file_id=0, channel=2, stokes=0, required_tiles=tiles))
        received = await client.collect_until(
            lambda e: e.event_type == ET.RASTER_TILE_SYNC and e.message.end_sync, timeout=30
        )
    kinds = [e.event_type for e in received]
    contour_positions = [i for i, k in enumerate(kinds) if k == ET.CONTOUR_IMAGE_DATA]
    vector_positions = [i for i, k in enumerate(kinds) if k == ET.VECTOR_OVERLAY_TILE_DATA]
    tile_positions = [i for i, k in enumerate(kinds) if k in (ET.RASTER_TILE_SYNC, ET.RASTER_TILE_DATA)]
    assert contour_positions and vector_positions and tile_positions
    assert max(contour_positions) < min(vector_positions)
    assert max(vector_positions) < min(tile_positions)
    for level in levels:
        chunks = [e.message for e in received
                  if e.event_type == ET.CONTOUR_IMAGE_DATA and e.message.contour_sets[0].level == level]
        assert all(m.channel == 2 for m in chunks) and chunks[-1].progress == 1.0
        got = [line for m in chunks for line in polylines_of(m.contour_sets[0])]
        assert_same_lines(got, expected_lines(cube[2], level, 2, 3), 0.5 / 4 + 2e-4)


async def test_empty_and_repeated_parameters_send_nothing(images, carta_url) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "cube.fits", 0)
        await client.send(contour_request(0, [0.2]))
        await collect_contours(client, [0.2])
        await client.send(contour_request(0, [0.2]))  # unchanged: nothing
        await client.send(contour_request(0, []))  # cleared: nothing, and no more on channel changes
        await client.send(pb.SetImageChannels(
            file_id=0, channel=1, stokes=0,
            required_tiles=pb.AddRequiredTiles(file_id=0, tiles=[0], compression_type=pb.CompressionType.ZFP,
                                               compression_quality=11),
        ))
        received = await client.collect_until(
            lambda e: e.event_type == ET.RASTER_TILE_SYNC and e.message.end_sync, timeout=30
        )
        await trio.sleep(0.2)
        assert ET.CONTOUR_IMAGE_DATA not in [e.event_type for e in received + client.buffered]


@pytest.mark.parametrize(
    "request_fields, text",
    [
        ({"levels": list(np.linspace(0, 1, 300))}, "Too many contour levels: 300"),
        ({"levels": [0.1, math.nan]}, "Invalid contour level nan"),
        ({"levels": [0.1], "smoothing_factor": 60}, "smoothing factor 60 is out of range"),
        ({"levels": [0.1], "smoothing_mode": 9}, "Unknown contour smoothing mode 9"),
    ],
)
async def test_bad_contour_parameters_get_error_and_frame_keeps_serving(images, carta_url, request_fields, text):
    fields = {"file_id": 0, "reference_file_id": 0, "smoothing_mode": 2, "smoothing_factor": 4,
              "decimation_factor": 4, "compression_level": 8, "contour_chunk_size": 1000}
    fields.update(request_fields)
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "plane.fits", 0)
        await client.send(pb.SetContourParameters(**fields))
        error = (await client.expect(pb.ErrorData)).message
        assert text in error.message
        assert error.severity == pb.ErrorSeverity.ERROR and list(error.tags) == ["contours"]
        await client.send(contour_request(0, [0.3]))
        (message,) = await collect_contours(client, [0.3])
        assert message.contour_sets[0].level == 0.3
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[0], compression_type=pb.CompressionType.ZFP,
                                              compression_quality=11))
        await client.expect(ET.RASTER_TILE_DATA)
        assert ET.CONTOUR_IMAGE_DATA not in [e.event_type for e in client.buffered]


async def test_contours_for_unknown_file_are_refused(carta_url) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        await client.send(contour_request(7, [0.1]))
        error = (await client.expect(pb.ErrorData)).message
    assert error.message == "File id 7 not found" and list(error.tags) == ["contours"]


async def test_new_parameters_cancel_and_replace_a_running_computation(data_dir: Path, carta_url) -> None:
    """A computation cut short by new parameters must not leave stale vertices in the
    frontend's stores: the emulated stores end up holding exactly the second one."""
    plane = smooth_plane_data((700, 900), 5)
    write_fits(data_dir / "big.fits", plane, wcs_header(("RA---SIN", "DEC--SIN")))
    levels = [-0.4, 0.0, 0.3, 0.7]
    expected = {level: expected_lines(plane, level, 2, 5) for level in levels}
    tolerance = 0.5 / 4 + 2e-4

    def stores_hold_second(stores: FrontendContourStores) -> bool:
        try:
            for level in levels:
                assert stores.progress.get(level) == 1.0
                assert_same_lines(stores.lines[level], expected[level], tolerance)
        except (AssertionError, KeyError):
            return False
        return True

    stores = FrontendContourStores()
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "big.fits", 0)
        await client.send(contour_request(0, levels, 0, 0, 4, 3, 20))
        stores.apply((await client.expect(ET.CONTOUR_IMAGE_DATA)).message)  # the first job is under way
        await client.send(contour_request(0, levels, 2, 5, 4, 3, 20))
        with trio.fail_after(60):
            while True:
                message = (await client.expect(ET.CONTOUR_IMAGE_DATA, timeout=None)).message
                stores.apply(message)
                if message.progress >= 1.0 and stores_hold_second(stores):
                    break
        await trio.sleep(0.3)
        for envelope in client.buffered:
            if envelope.event_type == ET.CONTOUR_IMAGE_DATA:
                stores.apply(envelope.message)
    assert stores_hold_second(stores)


# ---------------------------------------------------------------------- vectors


def reassemble(messages, side: str, width: int, height: int, mip: int) -> np.ndarray:
    out = np.full((-(-height // mip), -(-width // mip)), -12345.0, dtype=np.float32)
    for message in messages:
        (tile,) = getattr(message, side)
        data = np.frombuffer(tile.image_data, dtype="<f4").reshape(tile.height, tile.width)
        y0, x0 = tile.y * 256, tile.x * 256
        out[y0 : y0 + tile.height, x0 : x0 + tile.width] = data
    return out


async def collect_vectors(client: CartaClient, timeout: float = 30) -> list:
    taken = []
    with trio.fail_after(timeout):
        while True:
            message = (await client.expect(ET.VECTOR_OVERLAY_TILE_DATA, timeout=None)).message
            taken.append(message)
            if message.progress >= 1.0:
                return taken


@pytest.mark.parametrize(
    "mip, options",
    [
        (1, {}),
        (2, {"fractional": True}),
        (2, {"threshold": 1.2, "debiasing": True, "q_error": 0.1, "u_error": 0.2}),
        (4, {"fractional": True, "threshold": 0.9}),
    ],
)
async def test_vector_tiles_match_numpy(images, carta_url, mip, options) -> None:
    data = images["iquv.fits"]  # (stokes, channel, y, x)
    height, width = data.shape[-2:]
    request = pb.SetVectorOverlayParameters(
        file_id=1, smoothing_factor=mip, threshold=options.get("threshold", math.nan),
        fractional=options.get("fractional", False), debiasing=options.get("debiasing", False),
        q_error=options.get("q_error", 0.0), u_error=options.get("u_error", 0.0),
        stokes_intensity=1, stokes_angle=1, compression_type=pb.CompressionType.NONE, compression_quality=8,
    )
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "iquv.fits", 1)
        await client.send(request)
        messages = await collect_vectors(client)
    span = 256 * mip
    grid = [(ty, tx) for ty in range(-(-height // span)) for tx in range(-(-width // span))]
    assert [(m.intensity_tiles[0].y, m.intensity_tiles[0].x) for m in messages] == grid
    assert [m.progress for m in messages] == pytest.approx([(k + 1) / len(grid) for k in range(len(grid))])
    max_tiles = max(-(-width // 256), -(-height // 256))
    for m in messages:
        assert (m.file_id, m.channel, m.stokes_intensity, m.stokes_angle) == (1, 0, 1, 1)
        assert (m.compression_type, m.compression_quality) == (pb.CompressionType.NONE, 8)
        for tile in (m.intensity_tiles[0], m.angle_tiles[0]):
            assert tile.mip == mip and tile.layer == math.ceil(math.log2(max_tiles / mip))
            assert not tile.nan_encodings
    qe, ue = (request.q_error, request.u_error) if request.debiasing else (0.0, 0.0)
    want_pi, want_pa = reference_overlay(
        data[0, 0], data[1, 0], data[2, 0], mip,
        fractional=request.fractional, threshold=request.threshold, qe=qe, ue=ue,
    )
    for side, want in (("intensity_tiles", want_pi), ("angle_tiles", want_pa)):
        got = reassemble(messages, side, width, height, mip)
        assert np.array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=2e-5, atol=2e-4)


async def test_vectors_from_current_image_without_stokes_axis(images, carta_url) -> None:
    """No Stokes axis: intensity and angle are both the current image (the reference's
    rule, whatever the sources), below-threshold values NaN."""
    plane = images["plane.fits"]
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "plane.fits", 0)
        await client.send(pb.SetVectorOverlayParameters(
            file_id=0, smoothing_factor=3, threshold=0.1, stokes_intensity=0, stokes_angle=-1,
        ))
        (message,) = await collect_vectors(client)
    want = reference_block_mean(plane, 3)
    with np.errstate(invalid="ignore"):
        want[want < np.float32(0.1)] = np.nan
    for side in ("intensity_tiles", "angle_tiles"):
        got = reassemble([message], side, plane.shape[1], plane.shape[0], 3)
        assert np.array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-5)


async def test_vector_factor_larger_than_the_image(images, carta_url) -> None:
    plane = images["plane.fits"]
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "plane.fits", 0)
        await client.send(pb.SetVectorOverlayParameters(
            file_id=0, smoothing_factor=10**6, threshold=math.nan, stokes_intensity=0, stokes_angle=0,
        ))
        (message,) = await collect_vectors(client)
    tile = message.intensity_tiles[0]
    assert (tile.x, tile.y, tile.width, tile.height, tile.mip) == (0, 0, 1, 1, 10**6)
    (value,) = np.frombuffer(tile.image_data, dtype="<f4")
    assert value == pytest.approx(np.nanmean(plane.astype(np.float64)), rel=1e-5)


async def test_vectors_follow_channel_and_clear(images, carta_url) -> None:
    data = images["iquv.fits"]
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "iquv.fits", 0)
        await client.send(pb.SetVectorOverlayParameters(
            file_id=0, smoothing_factor=4, threshold=math.nan, stokes_intensity=-1, stokes_angle=1,
        ))
        (first,) = await collect_vectors(client)
        assert first.intensity_tiles[0] == pb.TileData() and first.angle_tiles[0].image_data
        await client.send(pb.SetImageChannels(file_id=0, channel=1, stokes=0))
        (second,) = await collect_vectors(client)
        assert second.channel == 1
        _, want_pa = reference_overlay(data[0, 1], data[1, 1], data[2, 1], 4)
        got = reassemble([second], "angle_tiles", data.shape[-1], data.shape[-2], 4)
        assert np.array_equal(np.isnan(got), np.isnan(want_pa))
        np.testing.assert_allclose(got[~np.isnan(got)], want_pa[~np.isnan(want_pa)], rtol=2e-5, atol=2e-4)
        # Both sources off: one empty message with progress 1; the frontend's own
        # clear (smoothing factor 0) gets nothing.
        await client.send(pb.SetVectorOverlayParameters(file_id=0, smoothing_factor=4, stokes_intensity=-1,
                                                        stokes_angle=-1))
        (cleared,) = await collect_vectors(client)
        assert (cleared.file_id, cleared.progress, len(cleared.intensity_tiles), len(cleared.angle_tiles)) == (
            0, 1.0, 0, 0)
        await client.send(pb.SetVectorOverlayParameters(file_id=0, stokes_intensity=-1, stokes_angle=-1))
        await client.send(pb.SetImageChannels(file_id=0, channel=0, stokes=0))
        await client.expect(ET.REGION_HISTOGRAM_DATA)
        await trio.sleep(0.2)
        assert ET.VECTOR_OVERLAY_TILE_DATA not in [e.event_type for e in client.buffered]


async def test_vector_tiles_with_zfp_when_asked(images, carta_url) -> None:
    """The 4.1.0 frontend always asks for NONE; a ZFP request (scripts) is honoured
    as the reference does: NaN run lengths plus zfp at lround(quality), no retry."""
    data = images["iquv.fits"]
    height, width = data.shape[-2:]
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "iquv.fits", 0)
        await client.send(pb.SetVectorOverlayParameters(
            file_id=0, smoothing_factor=2, threshold=math.nan, stokes_intensity=1, stokes_angle=-1,
            compression_type=pb.CompressionType.ZFP, compression_quality=18,
        ))
        messages = await collect_vectors(client)
    want, _ = reference_overlay(data[0, 0], data[1, 0], data[2, 0], 2)
    got = np.full_like(want, -12345.0)
    for m in messages:
        assert (m.compression_type, m.compression_quality) == (pb.CompressionType.ZFP, 18)
        assert m.angle_tiles[0] == pb.TileData()
        tile = m.intensity_tiles[0]
        decoded = decode_tile(tile.image_data, tile.nan_encodings, tile.width, tile.height,
                              pb.CompressionType.ZFP, 18)
        got[tile.y * 256 : tile.y * 256 + tile.height, tile.x * 256 : tile.x * 256 + tile.width] = decoded
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name", ["plane.fits", "iv.fits"])
async def test_computed_vectors_without_q_u_get_error(images, carta_url, name) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, name, 0)
        await client.send(pb.SetVectorOverlayParameters(
            file_id=0, smoothing_factor=2, threshold=math.nan, stokes_intensity=1, stokes_angle=1,
        ))
        error = (await client.expect(pb.ErrorData)).message
        assert "no Stokes" in error.message and list(error.tags) == ["vector field"]
        assert error.severity == pb.ErrorSeverity.ERROR
        await client.send(pb.SetVectorOverlayParameters(
            file_id=0, smoothing_factor=2, threshold=math.nan, stokes_intensity=0, stokes_angle=0,
        ))
        messages = await collect_vectors(client)
        assert messages[-1].progress == 1.0 and messages[0].intensity_tiles[0].image_data


async def test_a_tiny_chunk_size_is_raised_to_the_limit(data_dir: Path, carta_url) -> None:
    """contour_chunk_size 1 made one message per vertex: 620,014 messages and a 638 MB
    peak for two levels of a 2048² noise plane. It is raised to
    limits.MIN_CONTOUR_CHUNK_SIZE (the frontend offers 25K and up); the lines are the same."""
    from carta_trio import limits

    rng = np.random.default_rng(9)
    plane = rng.normal(0, 1, (200, 200)).astype(np.float32)
    write_fits(data_dir / "noise.fits", plane, wcs_header(("RA---SIN", "DEC--SIN")))
    async with open_client(carta_url) as client:
        await client.register()
        await open_image(client, "noise.fits")
        await client.send(contour_request(0, [0.0], mode=0, factor=1, decimation=1, chunk=1))
        tiny = await collect_contours(client, [0.0])
        await client.send(contour_request(0, [0.5], mode=0, factor=1, decimation=1, chunk=limits.MIN_CONTOUR_CHUNK_SIZE))
        await collect_contours(client, [0.5])
        await client.send(contour_request(0, [0.0], mode=0, factor=1, decimation=1, chunk=limits.MIN_CONTOUR_CHUNK_SIZE))
        floor = await collect_contours(client, [0.0])
    vertices = sum(len(polyline) for m in tiny for polyline in polylines_of(m.contour_sets[0]))
    assert vertices > 3 * limits.MIN_CONTOUR_CHUNK_SIZE  # the level has several chunks' worth
    assert len(tiny) == len(floor) <= vertices // limits.MIN_CONTOUR_CHUNK_SIZE + 2
