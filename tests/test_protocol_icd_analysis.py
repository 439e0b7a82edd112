"""Replays of the CARTA protocol suite's analysis tests (ICD-RxJS, branch dev): region
statistics, moments, image fitting and vector overlays on the FITS, HDF5 and CASA
versions of one image.

Each test sends the suite's messages (ids, file ids, regions, requests) and checks what
the suite checks about the reply that does not depend on the QA pixels: which messages
come back, their ids, counts, flags, names and field presence. The QA images are
replaced by synthetic images of the same names, shapes and axis orders, and the three
formats of one synthetic image must give the same answers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import wcs_header, write_casa, write_fits, write_hdf5_idia
from tests.test_protocol_icd_jobs import messages_for, open_image, tile_stream, url  # noqa: F401  (fixture)

E = pb.EventType
ST = pb.StatsType
ALL_STATS = [ST.NumPixels, ST.Sum, ST.FluxDensity, ST.Mean, ST.RMS, ST.Sigma, ST.SumSq, ST.Min, ST.Max,
             ST.Extrema]


# ------------------------------------------------------------------ REGION_STATISTICS_*

M17 = "M17_SWex"


@pytest.fixture
def m17_formats(data_dir: Path) -> None:
    """M17_SWex.fits/.hdf5/.image: 640x800, 25 channels, the same pixels; the left 8
    columns are NaN (the QA image is blanked at its edges, so regions at x=0 hold no
    finite pixel)."""
    data = np.random.default_rng(17).normal(0.0, 0.005, (25, 800, 640)).astype(np.float32)
    data[:, :, :8] = np.nan
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"))
    write_fits(data_dir / f"{M17}.fits", data, header)
    write_hdf5_idia(data_dir / f"{M17}.hdf5", data, header)
    write_casa(data_dir / f"{M17}.image", data, header)


RECTANGLES = [(pb.RegionType.RECTANGLE, 0.0, [(212, 464), (10, 10)]),
              (pb.RegionType.RECTANGLE, 0.0, [(103, 549), (5, 7)]),
              (pb.RegionType.RECTANGLE, 300.0, [(115, 544), (5, 7)]),
              (pb.RegionType.RECTANGLE, 300.0, [(0, 544), (5, 7)])]
ELLIPSES = [(pb.RegionType.ELLIPSE, 0.0, [(114, 545), (4, 2)]),
            (pb.RegionType.ELLIPSE, 30.0, [(83, 489), (4, 3)]),
            (pb.RegionType.ELLIPSE, 30.0, [(0, 486), (4, 3)])]
POLYGONS = [(pb.RegionType.POLYGON, 0.0, [(155, 552), (134, 498), (185, 509)]),
            (pb.RegionType.POLYGON, 0.0, [(116, 604), (106, 574), (137, 577)]),
            (pb.RegionType.POLYGON, 0.0, [(556, 167), (547, 130), (577, 139)]),
            (pb.RegionType.POLYGON, 0.0, [(65, 688), (69, 36), (602, 77), (562, 735)]),
            (pb.RegionType.POLYGON, 0.0, [(300.2, 300.2), (300.2, 301.0), (300.7, 300.2)]),
            (pb.RegionType.POLYGON, 0.0, [(299.5, 300.5), (299.5, 299.5), (300.5, 299.5), (300.5, 300.5)])]

# NumPixels fixed by the geometry alone (regions clear of the synthetic NaN columns, or
# wholly inside them); the others depend on where the QA image is blank.
GEOMETRIC_COUNTS = {
    "RECTANGLE": {1: 121, 3: 35, 4: 0},
    "ELLIPSE": {1: 24, 3: 0},
    "POLYGON": {5: 0, 6: 1},
}
CASES = {"RECTANGLE": ([f"{M17}.image", f"{M17}.hdf5"], RECTANGLES),
         "ELLIPSE": ([f"{M17}.image", f"{M17}.hdf5"], ELLIPSES),
         "POLYGON": ([f"{M17}.fits", f"{M17}.hdf5"], POLYGONS)}


async def region_stats(client: CartaClient, file_id: int, region_id: int) -> pb.RegionStatsData:
    """SET_STATS_REQUIREMENTS with the suite's ten types; the next REGION_STATS_DATA."""
    await client.send(pb.SetStatsRequirements(file_id=file_id, region_id=region_id, stats_configs=[
        pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=ALL_STATS)]))
    return (await client.expect(pb.RegionStatsData, timeout=30)).message


def as_dict(data: pb.RegionStatsData) -> dict[int, float]:
    """The suite finds every asked type in the list (``find(...).value``): all present."""
    values = {s.stats_type: s.value for s in data.statistics}
    assert sorted(values) == sorted(ALL_STATS)
    return values


async def replay_region_statistics(address: str, files: list[str],
                                   regions: list[tuple[int, float, list[tuple[float, float]]]],
                                   ) -> dict[str, list[dict[int, float]]]:
    """The suite's sequence: per image CLOSE_FILE -1, open as file 0, tile 0, cursor; each
    region set with id -1 (acks 1..n again for the second image), its statistics; after
    the last image the statistics of region -1."""
    out: dict[str, list[dict[int, float]]] = {}
    async with open_client(address) as client:
        await client.register()
        for name in files:
            await open_image(client, name)
            assert len(await tile_stream(client, 0, [0])) == 3
            await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
            await client.expect(pb.SpatialProfileData)
            out[name] = []
            for index, (kind, rotation, points) in enumerate(regions, start=1):
                ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
                    region_type=kind, rotation=rotation, control_points=[pb.Point(x=x, y=y) for x, y in points])))
                assert (ack.success, ack.region_id) == (True, index)
                data = await region_stats(client, 0, index)
                assert data.region_id == index
                out[name].append(as_dict(data))
        data = await region_stats(client, 0, -1)
        assert data.region_id == -1
        out["image"] = [as_dict(data)]
    return out


def assert_same(left: dict[int, float], right: dict[int, float]) -> None:
    for kind in ALL_STATS:
        if np.isnan(left[kind]) or np.isnan(right[kind]):
            assert np.isnan(left[kind]) and np.isnan(right[kind]), kind
        else:
            assert left[kind] == pytest.approx(right[kind], rel=1e-5, abs=1e-9), kind


@pytest.mark.parametrize("shape", ["RECTANGLE", "ELLIPSE", "POLYGON"])
async def test_region_statistics(url: str, m17_formats: None, shape: str) -> None:  # noqa: F811
    """REGION_STATISTICS_<shape>: region ids 1..n on each image, one REGION_STATS_DATA per
    request for that region with all ten types (an empty region: NumPixels 0, the rest
    NaN; one pixel: Sigma 0), the same numbers on every format of the image."""
    files, regions = CASES[shape]
    got = await replay_region_statistics(url, files, regions)
    third = f"{M17}.fits" if f"{M17}.fits" not in files else f"{M17}.image"
    other = await replay_region_statistics(url, [third], regions)
    per_file = [got[files[0]], got[files[1]], other[third]]
    for region_id, count in GEOMETRIC_COUNTS[shape].items():
        stats = per_file[0][region_id - 1]
        assert stats[ST.NumPixels] == count, (region_id, stats)
        if count == 0:
            assert all(np.isnan(stats[k]) for k in ALL_STATS if k != ST.NumPixels)
        if count == 1:
            assert stats[ST.Sigma] == 0
    for stats in per_file[0]:
        if stats[ST.NumPixels] > 0:  # the suite: Extrema is the signed value of largest magnitude
            extreme = stats[ST.Max] if abs(stats[ST.Max]) >= abs(stats[ST.Min]) else stats[ST.Min]
            assert stats[ST.Extrema] == pytest.approx(extreme, rel=1e-6)
    for values in per_file[1:]:
        for left, right in zip(per_file[0], values, strict=True):
            assert_same(left, right)
    assert_same(got["image"][0], other["image"][0])
    assert got["image"][0][ST.NumPixels] == 632 * 800


# ------------------------------------------------------------------ MOMENTS_GENERATOR_*

HD163296 = "HD163296_CO_2_1"
MOMENT_NAMES = ["average", "integrated", "weighted_coord", "weighted_dispersion_coord", "median", "median_coord",
                "standard_deviation", "rms", "abs_mean_dev", "maximum", "maximum_coord", "minimum",
                "minimum_coord"]


@pytest.fixture
def hd163296_formats(data_dir: Path) -> None:
    """HD163296_CO_2_1.fits/.hdf5/.image: 432x432, 115 channels (the suite uses 73..114),
    one Stokes; the same pixels in each format."""
    data = np.random.default_rng(163).normal(0.3, 0.3, (1, 115, 432, 432)).astype(np.float32)
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    write_fits(data_dir / f"{HD163296}.fits", data, header)
    write_hdf5_idia(data_dir / f"{HD163296}.hdf5", data, header)
    write_casa(data_dir / f"{HD163296}.image", data, header)


async def replay_moments(address: str, name: str) -> list[tuple]:
    """MOMENTS_GENERATOR_<format>: file 200, rectangle (218, 218) 200x200 as region 1, its
    spectral profile, then all 13 moments of channels 73..114 within 0.1..1: 13
    REGION_HISTOGRAM_DATA (one per moment image, in ack order) before MOMENT_RESPONSE;
    13 successful acks with file ids > 0 and names ``<file>.moment.<moment>``, 201x201,
    4 dimensions, depth 1, one Stokes; tile 0 of each (ZFP quality 0) is one 201x201
    tile with NaN encodings between two syncs of that file. Returns what the three
    formats must share: (moment, number of computed entries, computed entries but the name)."""
    file_id = 200
    async with open_client(address) as client:
        await client.register(client_feature_flags=5)
        await open_image(client, name, file_id)
        ack = await client.request(pb.SetRegion(file_id=file_id, region_id=-1, region_info=pb.RegionInfo(
            region_type=pb.RegionType.RECTANGLE, rotation=0,
            control_points=[pb.Point(x=218, y=218), pb.Point(x=200, y=200)])))
        assert (ack.success, ack.region_id) == (True, 1)
        await client.send(pb.SetSpectralRequirements(file_id=file_id, region_id=1, spectral_profiles=[
            pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[ST.Sum])]))
        await client.expect(pb.SpectralProfileData, timeout=30)

        request_id = await client.send(pb.MomentRequest(
            file_id=file_id, region_id=1, axis=pb.MomentAxis.SPECTRAL, mask=pb.MomentMask.Include,
            moments=list(range(13)), pixel_range=pb.FloatBounds(min=0.1, max=1.0),
            spectral_range=pb.IntBounds(min=73, max=114)))
        log = await client.collect_until(
            lambda e: e.event_type == E.MOMENT_RESPONSE and e.request_id == request_id, timeout=180)
        response = log[-1].message
        histograms = [e.message for e in log if e.event_type == E.REGION_HISTOGRAM_DATA]
        assert response.success and len(response.open_file_acks) == 13 and len(histograms) == 13
        file_ids = [h.file_id for h in histograms]
        assert file_ids == [a.file_id for a in response.open_file_acks]
        shared = []
        for moment, moment_ack in zip(MOMENT_NAMES, response.open_file_acks, strict=True):
            assert moment_ack.success and moment_ack.file_id > 0
            assert moment_ack.file_info.name == f"{name}.moment.{moment}"
            info = moment_ack.file_info_extended
            assert (info.width, info.height, info.dimensions, info.depth, info.stokes) == (201, 201, 4, 1, 1)
            computed = [(e.name, e.value) for e in info.computed_entries if e.name != "Name"]
            shared.append((moment, len(info.computed_entries), computed))
        for moment_file in file_ids:
            start, data, end = await tile_stream(client, moment_file, [0], quality=0)
            assert end.end_sync and (start.file_id, data.file_id, end.file_id) == (moment_file,) * 3
            tile = data.tiles[0]
            assert (tile.width, tile.height) == (201, 201)
            assert len(tile.image_data) > 0 and len(tile.nan_encodings) > 0
        return shared


async def test_moments_generator_formats(url: str, hd163296_formats: None) -> None:  # noqa: F811
    """MOMENTS_GENERATOR_FITS, _HDF5, _CASA: the same replies on the three formats."""
    results = {fmt: await replay_moments(url, f"{HD163296}.{fmt}") for fmt in ("fits", "hdf5", "image")}
    for fmt in ("hdf5", "image"):
        for left, right in zip(results["fits"], results[fmt], strict=True):
            assert left == right, (fmt, left[0])
    # The suite: 21 computed entries on every format. The reference describes each moment
    # image from its casacore coordinate system, so 'Velocity definition' is there also
    # when the source header has no VELREF (ours had 20 on FITS and HDF5 before).
    assert {n for _, n, _ in results["fits"]} == {21}
    # Header entries are NOT compared: the reference converts every moment image's
    # header with casacore (suite: FITS 85 = CASA 85, HDF5 90); ours copies the FITS/HDF5
    # source's cards but converts CASA ones (see notes/icdd.md).


# ------------------------------------------------------------------ VECTOR_OVERLAY_*

HH211 = "HH211_IQU"
NAN = float("nan")
#: The suite's seven cases: (smoothing, fractional, threshold, debiasing, q/u error,
#: stokes angle, stokes intensity) and its last tile (x, y, layer, mip, width, height).
VECTOR_CASES = [
    ((1, False, NAN, False, 0.0, 1, 1), (4, 4, 3, 1, 25, 25)),
    ((4, False, NAN, False, 0.0, 1, 1), (1, 1, 1, 4, 7, 7)),
    ((4, True, NAN, False, 0.0, 1, 1), (1, 1, 1, 4, 7, 7)),
    ((4, False, 0.01, False, 0.0, 1, 1), (1, 1, 1, 4, 7, 7)),
    ((2, False, 0.01, True, 0.01, 1, 1), (2, 2, 2, 2, 13, 13)),
    ((4, False, NAN, False, 0.0, 1, -1), (1, 1, 1, 4, 7, 7)),
    ((4, False, NAN, False, 0.0, -1, 1), (1, 1, 1, 4, 7, 7)),
]


@pytest.fixture
def hh211_formats(data_dir: Path) -> None:
    """HH211_IQU.fits/.hdf5/.image: 1049x1049, 5 channels, Stokes I, Q, U; same pixels."""
    rng = np.random.default_rng(211)
    data = rng.normal(0, 1, (3, 5, 1049, 1049)).astype(np.float32)
    data[0] += 5
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    write_fits(data_dir / f"{HH211}.fits", data, header)
    write_hdf5_idia(data_dir / f"{HH211}.hdf5", data, header)
    write_casa(data_dir / f"{HH211}.image", data, header)


async def replay_vector_overlay(address: str, name: str, hdu: str) -> list[tuple[bytes, bytes]]:
    """VECTOR_OVERLAY_<format>: tile 0 (tile_count 1), then each case until progress 1,
    then the clear message (nothing within 500 ms). The last message: progress 1, the
    request's Stokes sources, quality 8, the suite's last tile for each computed side
    (4 bytes a pixel, uncompressed) and an empty TileData (``{}`` in the suite) for a side
    not asked for. Returns the last message's (angle, intensity) bytes per case."""
    out = []
    async with open_client(address) as client:
        await client.register(client_feature_flags=5)
        await client.send(pb.CloseFile(file_id=-1))
        await client.send(pb.CloseFile(file_id=0))
        ack = await client.request(pb.OpenFile(directory="", file=name, hdu=hdu, file_id=0,
                                               render_mode=pb.RenderMode.RASTER), timeout=60)
        assert ack.success, ack.message
        await client.expect(pb.RegionHistogramData, timeout=60)
        batch = await tile_stream(client, 0, [0])
        assert batch[2].tile_count == 1
        for (smoothing, fractional, threshold, debias, error, angle, intensity), last_tile in VECTOR_CASES:
            await client.send(pb.SetVectorOverlayParameters(
                compression_quality=8, compression_type=pb.CompressionType.NONE, debiasing=debias, file_id=0,
                fractional=fractional, image_bounds=pb.ImageBounds(x_min=0, x_max=1049, y_min=0, y_max=1049),
                q_error=error, u_error=error, smoothing_factor=smoothing, stokes_angle=angle,
                stokes_intensity=intensity, threshold=threshold))
            got = await client.collect_until(
                lambda e: e.event_type == E.VECTOR_OVERLAY_TILE_DATA and e.message.progress == 1, timeout=60)
            assert not [e for e in got if e.event_type == E.ERROR_DATA]
            last = got[-1].message
            assert (last.progress, last.stokes_angle, last.stokes_intensity, last.compression_quality) == (
                1, angle, intensity, 8)
            assert len(last.angle_tiles) == len(last.intensity_tiles) == 1
            for tile, wanted in ((last.angle_tiles[0], angle), (last.intensity_tiles[0], intensity)):
                if wanted < 0:
                    assert tile == pb.TileData()
                else:
                    x, y, layer, mip, width, height = last_tile
                    assert (tile.x, tile.y, tile.layer, tile.mip, tile.width, tile.height) == last_tile
                    assert len(tile.image_data) == width * height * 4
            out.append((bytes(last.angle_tiles[0].image_data), bytes(last.intensity_tiles[0].image_data)))
            await client.send(pb.SetVectorOverlayParameters(file_id=0, stokes_angle=-1, stokes_intensity=-1))
            assert await messages_for(client, 0.5) == []
    return out


async def test_vector_overlay_formats(url: str, hh211_formats: None) -> None:  # noqa: F811
    """VECTOR_OVERLAY_FITS, _HDF5 (hdu "0"), _CASA: the same answers on the three formats."""
    fits = await replay_vector_overlay(url, f"{HH211}.fits", "")
    assert await replay_vector_overlay(url, f"{HH211}.image", "") == fits
    # HDF5: smoothed planes come from the file's mipmaps (as the reference's HDF5 loader),
    # summed in another order: equal to float32 rounding, NaN in the same places.
    hdf5 = await replay_vector_overlay(url, f"{HH211}.hdf5", "0")
    for left, right in zip(fits, hdf5, strict=True):
        for a, b in zip(left, right, strict=True):
            np.testing.assert_allclose(np.frombuffer(b, np.float32), np.frombuffer(a, np.float32),
                                       rtol=1e-5, atol=1e-4)


# ------------------------------------------------------------------ IMAGE_FITTING_*

FIT_ONE = "M17_SWex-channel0-addOneGaussian"
FIT_FLUX = "M17_SWex-channel0-addOneGaussian-addBackgroundFlux"
FIXED_OFFSET = [False] * 6 + [True]
FOV = pb.RegionInfo(region_type=pb.RegionType.RECTANGLE, rotation=0, control_points=[
    pb.Point(x=319.5, y=399.5), pb.Point(x=216.70644391408112, y=199.99999999999997)])
LAYER2 = [33558529, 33558528, 33562625, 33554433, 33562624, 33558530, 33554432, 33562626, 33554434, 33566721,
          33566720, 33566722]


@pytest.fixture
def fitting_formats(data_dir: Path) -> None:
    """The two fitting images (640x800, one channel, one Stokes) as FITS, HDF5 and CASA:
    one Gaussian near (319.5, 399.5) on noise, and the same plus a flux of 10."""
    from tests.test_protocol_fitting import gaussian

    noise = np.random.default_rng(1717).normal(0, 0.05, (800, 640))
    one = (gaussian((800, 640), 319.5, 399.5, 10.0, 95.0, 55.0, 142.0) + noise).astype(np.float32)
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    for name, plane in ((FIT_ONE, one), (FIT_FLUX, one + np.float32(10))):
        data = plane.reshape(1, 1, 800, 640)
        write_fits(data_dir / f"{name}.fits", data, header)
        write_hdf5_idia(data_dir / f"{name}.hdf5", data, header)
        write_casa(data_dir / f"{name}.image", data, header)


def fit_request(region_id: int, *, fov: pb.RegionInfo | None = None, solver: int = 0, model: bool = False,
                residual: bool = False, fixed: list[bool] = FIXED_OFFSET, offset: float = 0) -> pb.FittingRequest:
    guess = pb.GaussianComponent(amp=10, center=pb.DoublePoint(x=320, y=400), fwhm=pb.DoublePoint(x=100, y=50), pa=135)
    return pb.FittingRequest(file_id=0, region_id=region_id, initial_values=[guess], fixed_params=fixed,
                             fov_info=fov, solver=solver, create_model_image=model, create_residual_image=residual,
                             offset=offset)


async def fit(client: CartaClient, request: pb.FittingRequest, images: int) -> pb.FittingResponse:
    """One FITTING_REQUEST: a FITTING_PROGRESS that rounds to 1 (the suite waits for one,
    then subscribes to the histograms) before the ``images`` REGION_HISTOGRAM_DATA of the
    new model/residual images (file ids of the acks, region -1, progress 1), then the
    successful response with 'Gaussian fitting with 1 component' in its log."""
    request_id = await client.send(request)
    log = await client.collect_until(
        lambda e: e.event_type == E.FITTING_RESPONSE and e.request_id == request_id, timeout=180)
    response = log[-1].message
    assert response.success, response.message
    assert "Gaussian fitting with 1 component" in response.log
    kinds = [(e.event_type, e.message) for e in log[:-1]]
    ready = next(i for i, (k, m) in enumerate(kinds) if k == E.FITTING_PROGRESS and round(m.progress) >= 1)
    histograms = [m for k, m in kinds[ready + 1:] if k == E.REGION_HISTOGRAM_DATA]
    assert not [m for k, m in kinds[:ready] if k == E.REGION_HISTOGRAM_DATA]
    acks = [a for a, asked in ((response.model_image, request.create_model_image),
                               (response.residual_image, request.create_residual_image)) if asked]
    assert len(acks) == len(histograms) == images
    assert all(a.success for a in acks)
    assert sorted(h.file_id for h in histograms) == sorted(a.file_id for a in acks)
    assert all((h.progress, h.region_id) == (1, -1) for h in histograms)
    return response


async def tiles_of(client: CartaClient, requests: list[tuple[int, list[int]]]) -> dict[int, int]:
    """ADD_REQUIRED_TILES for each (file id, tiles) at once; tile messages per file id."""
    for file_id, tiles in requests:
        await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=tiles, compression_type=pb.CompressionType.ZFP,
                                              compression_quality=11))
    ends, counts = 0, {file_id: 0 for file_id, _ in requests}
    while ends < len(requests):
        envelope = await client.receive(timeout=60)
        if envelope.event_type == E.RASTER_TILE_DATA:
            counts[envelope.message.file_id] += 1
        elif envelope.event_type == E.RASTER_TILE_SYNC and envelope.message.end_sync:
            ends += 1
    return counts


def results(response: pb.FittingResponse) -> tuple[float, ...]:
    c = response.result_values[0]
    return (c.center.x, c.center.y, c.amp, c.fwhm.x, c.fwhm.y, c.pa, response.offset_value)


async def replay_fitting(address: str, ext: str) -> list[tuple[float, ...]]:
    """IMAGE_FITTING_<format>, both parts; returns every fit's results."""
    out = []
    async with open_client(address) as client:
        await client.register(client_feature_flags=5)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(client, f"{FIT_ONE}.{ext}")
        await tile_stream(client, 0, [0])
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
        await client.expect(pb.SpatialProfileData)
        out.append(results(await fit(client, fit_request(-1), 0)))                        # case 1
        for solver in (1, 0, 3):                                                          # cases 2-1..2-3
            out.append(results(await fit(client, fit_request(0, fov=FOV, solver=solver), 0)))
        response = await fit(client, fit_request(-1, model=True), 1)                      # case 3
        model = response.model_image.file_id
        assert await tiles_of(client, [(model, LAYER2)]) == {model: 12}
        response = await fit(client, fit_request(-1, model=True, residual=True), 2)       # case 4
        model, residual = response.model_image.file_id, response.residual_image.file_id
        assert await tiles_of(client, [(model, LAYER2[:6]), (residual, [16777216, 16781312, 16777217, 16781313])]
                              ) == {model: 6, residual: 4}
        ack = await client.request(pb.SetRegion(file_id=0, region_id=1, region_info=FOV))  # case 5
        assert (ack.region_id, ack.success) == (1, True)
        response = await fit(client, fit_request(1, solver=1, model=True, residual=True), 2)
        out.append(results(response))
        model, residual = response.model_image.file_id, response.residual_image.file_id
        assert await tiles_of(client, [(model, [0]), (residual, [0])]) == {model: 1, residual: 1}
    async with open_client(address) as client:                                            # case 6
        await client.register(client_feature_flags=5)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(client, f"{FIT_FLUX}.{ext}")
        await tile_stream(client, 0, [0])
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
        await client.expect(pb.SpatialProfileData)
        ack = await client.request(pb.SetRegion(file_id=0, region_id=1, region_info=FOV))
        assert (ack.region_id, ack.success) == (1, True)
        response = await fit(client, fit_request(1, solver=1, model=True, residual=True, fixed=[False] * 7,
                                                 offset=9), 2)
        out.append(results(response))
        assert response.offset_value == pytest.approx(10, abs=0.05)
        model, residual = response.model_image.file_id, response.residual_image.file_id
        assert await tiles_of(client, [(model, [0]), (residual, [0])]) == {model: 1, residual: 1}
    return out


async def test_image_fitting_formats(url: str, fitting_formats: None) -> None:  # noqa: F811
    """IMAGE_FITTING_FITS, _HDF5, _CASA: every step answered as the suite waits for it,
    the same fit on the three formats (the suite's case 2 solvers agree with each other)."""
    fits = await replay_fitting(url, "fits")
    for ext in ("hdf5", "image"):
        other = await replay_fitting(url, ext)
        for left, right in zip(fits, other, strict=True):
            assert left == pytest.approx(right, rel=1e-6, abs=1e-6), ext
    for solver_result in fits[2:4]:
        assert solver_result == pytest.approx(fits[1], rel=1e-4, abs=1e-4)
