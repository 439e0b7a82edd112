"""Regions through the real server: SET_REGION / REMOVE_REGION, region statistics and
histograms, what a region change or a channel change re-sends, and bad input.

Every number is checked against an independent numpy computation in
:mod:`tests.analytics_expect` on a cube the test writes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests import analytics_expect as ex
from tests.image_factory import make_cube, wcs_header, write_fits

RT = pb.RegionType
ST = pb.StatsType
SHAPE = (4, 48, 64)  # channels, height, width
PIXEL_ARCSEC = 1.8  # CDELT 0.0005 deg
BEAM = (9.0, 5.4)  # arcsec (BMAJ 0.0025, BMIN 0.0015 deg)
FLUX = 1.0 / ex.beam_area_pixels(BEAM[0], BEAM[1], PIXEL_ARCSEC)
ALL_STATS = [*ex.FRONTEND_STATS, ST.NanCount, ST.Blc, ST.Trc, ST.MinPos, ST.MaxPos]


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    data = make_cube(SHAPE, seed=11)
    data[:, 20:23, 30:33] = np.nan  # a NaN patch inside several test regions
    data[2, 10:14, 10:14] = np.nan
    write_fits(data_dir / "cube.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    return data


async def open_cube(client: CartaClient, name: str = "cube.fits", file_id: int = 0) -> None:
    await client.register()
    ack = await client.request(pb.OpenFile(directory="", file=name, file_id=file_id))
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData)


def region_info(region_type: int, points: list[tuple[float, float]], rotation: float = 0.0) -> pb.RegionInfo:
    return pb.RegionInfo(region_type=region_type, control_points=[pb.Point(x=x, y=y) for x, y in points], rotation=rotation)


async def set_region(client: CartaClient, region_type: int, points: list[tuple[float, float]], rotation: float = 0.0,
                     region_id: int = -1, file_id: int = 0) -> pb.SetRegionAck:
    return await client.request(pb.SetRegion(file_id=file_id, region_id=region_id,
                                             region_info=region_info(region_type, points, rotation)))


async def stats_of(client: CartaClient, region_id: int, types: list[int], coordinate: str = "z") -> pb.RegionStatsData:
    await client.send(pb.SetStatsRequirements(file_id=0, region_id=region_id, stats_configs=[
        pb.SetStatsRequirements.StatsConfig(coordinate=coordinate, stats_types=types)]))
    return (await client.expect(pb.RegionStatsData)).message


async def expect_error(client: CartaClient, fragment: str) -> pb.ErrorData:
    error = (await client.expect(pb.ErrorData)).message
    assert fragment in error.message, error.message
    return error


# ------------------------------------------------------------------ SET_REGION


async def test_region_ids_follow_the_reference(carta_url: str, cube: np.ndarray) -> None:
    rect = [(10.0, 10.0), (4.0, 4.0)]
    async with open_client(carta_url) as client:
        await open_cube(client)
        first = await set_region(client, RT.RECTANGLE, rect)
        second = await set_region(client, RT.ELLIPSE, [(20.0, 20.0), (3.0, 2.0)])
        update = await set_region(client, RT.RECTANGLE, [(12.0, 10.0), (4.0, 4.0)], region_id=1)
        chosen = await set_region(client, RT.POINT, [(5.0, 5.0)], region_id=7)
        after = await set_region(client, RT.POINT, [(6.0, 5.0)])
        temp = await set_region(client, RT.RECTANGLE, rect, region_id=-100)
        temp2 = await set_region(client, RT.RECTANGLE, rect, region_id=-100)
    assert [a.region_id for a in (first, second, update, chosen, after)] == [1, 2, 1, 7, 8]
    assert (temp.region_id, temp2.region_id) == (-101, -102)
    assert all(a.success and a.message == "" for a in (first, second, update, chosen, after, temp))


@pytest.mark.parametrize("region_type, points, rotation", [
    (RT.POINT, [(3.0, 4.0)], 0.0),
    (RT.LINE, [(1.0, 1.0), (20.0, 9.0)], 0.0),
    (RT.POLYLINE, [(1.0, 1.0), (20.0, 9.0), (30.0, 2.0)], 0.0),
    (RT.RECTANGLE, [(20.0, 20.0), (6.0, 3.0)], 30.0),
    (RT.ELLIPSE, [(20.0, 20.0), (6.0, 3.0)], 45.0),
    (RT.POLYGON, [(1.0, 1.0), (20.0, 9.0), (5.0, 30.0)], 0.0),
    (RT.ANNPOINT, [(3.0, 4.0)], 0.0),
    (RT.ANNLINE, [(1.0, 1.0), (20.0, 9.0)], 0.0),
    (RT.ANNPOLYLINE, [(1.0, 1.0), (20.0, 9.0), (30.0, 2.0)], 0.0),
    (RT.ANNRECTANGLE, [(20.0, 20.0), (6.0, 3.0)], 10.0),
    (RT.ANNELLIPSE, [(20.0, 20.0), (6.0, 3.0)], 10.0),
    (RT.ANNPOLYGON, [(1.0, 1.0), (20.0, 9.0), (5.0, 30.0)], 0.0),
    (RT.ANNVECTOR, [(1.0, 1.0), (20.0, 9.0)], 0.0),
    (RT.ANNRULER, [(1.0, 1.0), (20.0, 9.0)], 0.0),
    (RT.ANNTEXT, [(10.0, 10.0), (0.0, 0.0)], 0.0),
    (RT.ANNCOMPASS, [(10.0, 10.0), (5.0, 5.0)], 0.0),
])
async def test_every_region_type_is_acknowledged(carta_url: str, cube: np.ndarray, region_type: int,
                                                 points: list[tuple[float, float]], rotation: float) -> None:
    async with open_client(carta_url) as client:
        await open_cube(client)
        ack = await set_region(client, region_type, points, rotation)
        moved = await set_region(client, region_type, [(x + 1, y) if i == 0 else (x, y) for i, (x, y) in enumerate(points)],
                                 rotation, region_id=ack.region_id)
    assert (ack.success, ack.region_id, moved.success, moved.region_id) == (True, 1, True, 1)


@pytest.mark.parametrize("region_type, points, fragment", [
    (RT.RECTANGLE, [(10.0, 10.0), (0.0, 3.0)], "size must be positive"),
    (RT.RECTANGLE, [(10.0, 10.0), (-2.0, 3.0)], "size must be positive"),
    (RT.ELLIPSE, [(10.0, 10.0), (3.0, 0.0)], "size must be positive"),
    (RT.POLYGON, [(1.0, 1.0), (5.0, 5.0)], "at least 3"),
    (RT.POLYLINE, [(1.0, 1.0), (5.0, 5.0)], "at least 3"),
    (RT.POINT, [(math.nan, 1.0)], "finite"),
    (RT.LINE, [(1.0, 1.0), (math.inf, 5.0)], "finite"),
    (RT.LINE, [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)], "exactly 2"),
    (RT.RECTANGLE, [(10.0, 10.0)], "exactly 2"),
    (RT.ANNULUS, [(10.0, 10.0), (3.0, 4.0)], "not supported"),
])
async def test_invalid_control_points_fail_with_a_message(carta_url: str, cube: np.ndarray, region_type: int,
                                                          points: list[tuple[float, float]], fragment: str) -> None:
    async with open_client(carta_url) as client:
        await open_cube(client)
        ack = await set_region(client, region_type, points)
        good = await set_region(client, RT.RECTANGLE, [(10.0, 10.0), (2.0, 2.0)])
    assert not ack.success
    assert ack.message.startswith("Region 1 parameters for file 0 failed") and fragment in ack.message, ack.message
    assert (good.success, good.region_id) == (True, 1)  # the failed id was not taken


async def test_set_region_on_unknown_file_and_nan_rotation(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_cube(client)
        unknown = await set_region(client, RT.RECTANGLE, [(10.0, 10.0), (2.0, 2.0)], file_id=5)
        rotated = await set_region(client, RT.RECTANGLE, [(10.0, 10.0), (2.0, 2.0)], rotation=math.nan)
    assert (unknown.success, unknown.message) == (False, "Cannot set region, file id 5 not found")
    assert not rotated.success and "rotation" in rotated.message


async def test_invalid_update_keeps_the_previous_region(carta_url: str, cube: np.ndarray) -> None:
    plane = cube[0]
    async with open_client(carta_url) as client:
        await open_cube(client)
        await set_region(client, RT.RECTANGLE, [(20.2, 30.3), (5.2, 3.2)])
        before = await stats_of(client, 1, [ST.NumPixels, ST.Sum])
        bad = await set_region(client, RT.RECTANGLE, [(40.0, 30.0), (0.0, 3.0)], region_id=1)
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[ST.NumPixels, ST.Sum])]))
        after = (await client.expect(pb.RegionStatsData)).message
    assert not bad.success
    want = ex.stats(plane[ex.rectangle_mask(plane.shape, 20.2, 30.3, 5.2, 3.2)])
    ex.assert_stats(before, want, [ST.NumPixels, ST.Sum])
    ex.assert_stats(after, want, [ST.NumPixels, ST.Sum])


# ------------------------------------------------------------------ statistics


REGIONS = [
    ("rectangle", RT.RECTANGLE, [(20.3, 21.4), (9.2, 7.0)], 0.0),
    ("rotated rectangle", RT.RECTANGLE, [(31.3, 22.4), (14.2, 6.2)], 33.0),
    ("ellipse", RT.ELLIPSE, [(30.3, 20.6), (8.3, 5.2)], 0.0),
    ("rotated ellipse", RT.ELLIPSE, [(30.3, 20.6), (8.3, 5.2)], 62.0),
    ("polygon", RT.POLYGON, [(5.3, 4.2), (40.6, 9.1), (25.2, 35.7), (12.4, 20.3)], 0.0),
    ("partly outside", RT.RECTANGLE, [(60.3, 44.6), (15.2, 13.0)], 0.0),
]


def expected_mask(region_type: int, points: list[tuple[float, float]], rotation: float, shape: tuple[int, int]) -> np.ndarray:
    if region_type == RT.RECTANGLE:
        (cx, cy), (w, h) = points
        return ex.rectangle_mask(shape, cx, cy, w, h, rotation)
    if region_type == RT.ELLIPSE:
        (cx, cy), (a, b) = points
        return ex.ellipse_mask(shape, cx, cy, a, b, rotation)
    return ex.polygon_mask(shape, points)


@pytest.mark.parametrize("name, region_type, points, rotation", REGIONS, ids=[r[0] for r in REGIONS])
async def test_region_statistics_match_numpy(carta_url: str, cube: np.ndarray, name: str, region_type: int,
                                             points: list[tuple[float, float]], rotation: float) -> None:
    plane = cube[0]
    mask = expected_mask(region_type, points, rotation, plane.shape)
    async with open_client(carta_url) as client:
        await open_cube(client)
        await set_region(client, region_type, points, rotation)
        message = await stats_of(client, 1, ALL_STATS)
    assert (message.file_id, message.region_id, message.channel, message.stokes) == (0, 1, 0, 0)
    want = ex.stats(plane[mask], FLUX)
    x0, x1, _, _ = ex.bounding_box(mask)
    values = plane.astype(np.float64)
    want[ST.Blc], want[ST.Trc] = float(x0), float(x1 - 1)
    masked = np.where(mask & ~np.isnan(plane), values, np.nan)
    want[ST.MinPos] = float(np.unravel_index(np.nanargmin(masked), masked.shape)[1])
    want[ST.MaxPos] = float(np.unravel_index(np.nanargmax(masked), masked.shape)[1])
    if name == "rotated ellipse":  # casacore's box: int(c - R + 1 - eps) .. int(c + R + eps), R = max radius
        want[ST.Blc], want[ST.Trc] = 22.0, 38.0
    ex.assert_stats(message, want, ALL_STATS)


@pytest.mark.parametrize("points, expected_pixels", [
    ([(100.3, 100.2), (5.0, 5.0)], 0),  # entirely outside
    ([(12.3, 12.3), (0.4, 0.4)], 0),  # contains no pixel centre
    ([(31.0, 21.0), (0.5, 0.5)], 0),  # one pixel, NaN
    ([(5.0, 7.0), (1.0, 1.0)], 1),  # a single pixel
])
async def test_degenerate_regions(carta_url: str, cube: np.ndarray, points: list[tuple[float, float]],
                                  expected_pixels: int) -> None:
    plane = cube[0]
    types = [ST.NumPixels, ST.Sum, ST.Mean, ST.Sigma, ST.RMS, ST.Min, ST.Max, ST.NanCount, ST.MinPos]
    async with open_client(carta_url) as client:
        await open_cube(client)
        await set_region(client, RT.RECTANGLE, points)
        message = await stats_of(client, 1, types)
    values = {s.stats_type: s.value for s in message.statistics}
    assert values[ST.NumPixels] == expected_pixels
    assert math.isnan(values[ST.NanCount])
    if expected_pixels == 0:
        assert all(math.isnan(values[t]) for t in types if t != ST.NumPixels)
    else:
        v = float(plane[7, 5])
        assert (values[ST.Sum], values[ST.Mean], values[ST.Min], values[ST.Max]) == pytest.approx((v, v, v, v))
        assert (values[ST.Sigma], values[ST.RMS], values[ST.MinPos]) == (0.0, pytest.approx(abs(v)), 5.0)


async def test_image_statistics_and_channel_follow(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_cube(client)
        first = await stats_of(client, -1, ex.FRONTEND_STATS)
        await client.send(pb.SetImageChannels(file_id=0, channel=2, stokes=0))
        second = (await client.expect(pb.RegionStatsData)).message
    ex.assert_stats(first, ex.stats(cube[0], FLUX), ex.FRONTEND_STATS)
    assert (second.region_id, second.channel) == (-1, 2)
    ex.assert_stats(second, ex.stats(cube[2], FLUX), ex.FRONTEND_STATS)


@pytest.mark.parametrize("bunit, beam, factor", [
    ("Jy/beam", True, FLUX),
    ("mJy/beam", True, FLUX),
    ("K", False, PIXEL_ARCSEC**2),
    ("Jy/pixel", True, math.nan),
    ("Jy/beam", False, math.nan),
])
async def test_flux_density_by_unit_and_beam(carta_url: str, data_dir: Path, bunit: str, beam: bool, factor: float) -> None:
    data = np.ones((16, 16), dtype=np.float32)
    header = wcs_header(("RA---SIN", "DEC--SIN"), bunit=bunit, beam=(0.0025, 0.0015, 0.0) if beam else None)
    write_fits(data_dir / "flat.fits", data, header)
    async with open_client(carta_url) as client:
        await open_cube(client, "flat.fits")
        image = await stats_of(client, -1, [ST.Sum, ST.FluxDensity])
        await set_region(client, RT.RECTANGLE, [(7.0, 7.0), (4.6, 4.6)])
        box = await stats_of(client, 1, [ST.Sum, ST.FluxDensity])
    ex.assert_stats(image, {ST.Sum: 256.0, ST.FluxDensity: 256.0 * factor}, [ST.Sum, ST.FluxDensity], rel=1e-6)
    ex.assert_stats(box, {ST.Sum: 25.0, ST.FluxDensity: 25.0 * factor}, [ST.Sum, ST.FluxDensity], rel=1e-6)


async def test_infinite_pixels_are_counted_by_statistics(carta_url: str, data_dir: Path) -> None:
    data = (np.arange(256, dtype=np.float32)).reshape(16, 16)
    data[5, 5] = data[5, 6] = np.nan
    data[6, 5] = np.inf
    write_fits(data_dir / "inf.fits", data, wcs_header(("RA---SIN", "DEC--SIN")))
    async with open_client(carta_url) as client:
        await open_cube(client, "inf.fits")
        image = await stats_of(client, -1, [ST.NumPixels, ST.Sum, ST.Min, ST.Sigma])
    values = [s.value for s in image.statistics]
    assert values[0] == 254 and values[1] == math.inf and values[2] == 0.0 and math.isnan(values[3])


# ------------------------------------------------------------------ histograms


async def test_region_histograms_auto_fixed_bins_and_bounds(carta_url: str, cube: np.ndarray) -> None:
    plane = cube[0]
    points, rotation = [(30.3, 20.6), (8.3, 5.2)], 20.0
    mask = ex.ellipse_mask(plane.shape, 30.3, 20.6, 8.3, 5.2, rotation)
    # casacore's box of a rotated ellipse uses the larger radius R on both axes:
    # int(c - R + 1 - eps) .. int(c + R + eps), eps = 10^(int(log10(2R)) - 5)
    eps = 10.0 ** (int(math.log10(2 * 8.3)) - 5)
    x0, x1 = int(30.3 - 8.3 + 1 - eps), int(30.3 + 8.3 + eps) + 1
    y0, y1 = int(20.6 - 8.3 + 1 - eps), int(20.6 + 8.3 + eps) + 1
    configs = [
        pb.HistogramConfig(coordinate="z", channel=-1, num_bins=-1),
        pb.HistogramConfig(coordinate="z", channel=-1, fixed_num_bins=True, num_bins=7),
        pb.HistogramConfig(coordinate="z", channel=-1, num_bins=5, fixed_bounds=True, bounds=pb.DoubleBounds(min=-1.5, max=2.25)),
    ]
    async with open_client(carta_url) as client:
        await open_cube(client)
        await set_region(client, RT.ELLIPSE, points, rotation)
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=1, histograms=configs))
        messages = [(await client.expect(pb.RegionHistogramData)).message for _ in configs]
    values = plane[mask]
    auto = int(max(math.sqrt((x1 - x0) * (y1 - y0)), 2))
    wants = [ex.histogram(values, auto), ex.histogram(values, 7), ex.histogram(values, 5, (-1.5, 2.25))]
    for message, config, want in zip(messages, configs, wants):
        assert (message.region_id, message.channel, message.stokes, message.progress) == (1, 0, 0, 1.0)
        assert (message.config.num_bins, message.config.fixed_bounds) == (config.num_bins, config.fixed_bounds)
        ex.assert_histogram(message.histograms, want)


async def test_image_histogram_requirements_with_fixed_channel(carta_url: str, cube: np.ndarray) -> None:
    configs = [pb.HistogramConfig(coordinate="z", channel=3, num_bins=20),
               pb.HistogramConfig(coordinate="z", channel=-1, num_bins=-1),
               pb.HistogramConfig(coordinate="z", channel=-2, num_bins=-1)]
    async with open_client(carta_url) as client:
        await open_cube(client)
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-1, histograms=configs))
        fixed = (await client.expect(pb.RegionHistogramData)).message
        current = (await client.expect(pb.RegionHistogramData)).message
        with pytest.raises(trio.TooSlowError):
            await client.expect(pb.RegionHistogramData, timeout=0.5)
    assert (fixed.region_id, fixed.channel, fixed.config.num_bins) == (-1, 3, 20)
    ex.assert_histogram(fixed.histograms, ex.histogram(cube[3], 20))
    assert (current.channel, current.config.num_bins) == (0, -1)
    ex.assert_histogram(current.histograms, ex.histogram(cube[0], int(math.sqrt(48 * 64))))


# --------------------------------------------------- what changes re-send


async def test_moving_a_region_resends_its_analytics(carta_url: str, cube: np.ndarray) -> None:
    plane = cube[0]
    async with open_client(carta_url) as client:
        await open_cube(client)
        await set_region(client, RT.RECTANGLE, [(20.3, 21.4), (9.2, 7.0)])
        await stats_of(client, 1, [ST.NumPixels, ST.Mean])
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=1, histograms=[
            pb.HistogramConfig(coordinate="z", channel=-1, num_bins=10)]))
        await client.expect(pb.RegionHistogramData)
        ack = await set_region(client, RT.RECTANGLE, [(40.3, 30.4), (5.0, 5.0)], region_id=1)
        histogram = (await client.expect(pb.RegionHistogramData)).message
        stats = (await client.expect(pb.RegionStatsData)).message
        # the same region unchanged on a new requirement set: nothing else arrives
        with pytest.raises(trio.TooSlowError):
            await client.expect(pb.RegionStatsData, timeout=0.5)
    assert ack.success
    values = plane[ex.rectangle_mask(plane.shape, 40.3, 30.4, 5.0, 5.0)]
    ex.assert_stats(stats, ex.stats(values), [ST.NumPixels, ST.Mean])
    ex.assert_histogram(histogram.histograms, ex.histogram(values, 10))


async def test_channel_change_resends_exactly_the_configured_streams(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_cube(client)
        await set_region(client, RT.RECTANGLE, [(20.3, 21.4), (9.2, 7.0)])
        await set_region(client, RT.RECTANGLE, [(40.3, 21.4), (9.2, 7.0)])  # region 2: no requirements
        await stats_of(client, 1, [ST.Mean])
        await stats_of(client, -1, [ST.Sum])
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=1, histograms=[
            pb.HistogramConfig(coordinate="z", channel=-1, num_bins=10)]))
        await client.expect(pb.RegionHistogramData)
        await client.send(pb.SetImageChannels(file_id=0, channel=1, stokes=0))
        received = []
        with trio.move_on_after(1.0):
            while True:
                received.append((await client.receive(timeout=None)).message)
    kinds = sorted((type(m).__name__, m.region_id) for m in received)
    assert kinds == sorted([("RegionHistogramData", -1), ("RegionHistogramData", 1),
                            ("RegionStatsData", -1), ("RegionStatsData", 1)])
    assert all(m.channel == 1 for m in received)
    by_kind = {(type(m).__name__, m.region_id): m for m in received}
    plane = cube[1]
    values = plane[ex.rectangle_mask(plane.shape, 20.3, 21.4, 9.2, 7.0)]
    ex.assert_stats(by_kind[("RegionStatsData", 1)], ex.stats(values), [ST.Mean])
    ex.assert_stats(by_kind[("RegionStatsData", -1)], ex.stats(plane), [ST.Sum])
    ex.assert_histogram(by_kind[("RegionHistogramData", 1)].histograms, ex.histogram(values, 10))


# ------------------------------------------------------- removal and errors


async def test_remove_region_and_unknown_ids(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_cube(client)
        await set_region(client, RT.RECTANGLE, [(20.3, 21.4), (9.2, 7.0)])
        await stats_of(client, 1, [ST.Mean])
        await client.send(pb.RemoveRegion(region_id=1))
        await client.send(pb.SetImageChannels(file_id=0, channel=1, stokes=0))
        await client.expect(pb.RegionHistogramData)
        with pytest.raises(trio.TooSlowError):
            await client.expect(pb.RegionStatsData, timeout=0.5)
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[ST.Mean])]))
        stats_error = await expect_error(client, "Stats requirements not valid for region id 1")
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=9, histograms=[pb.HistogramConfig(num_bins=-1)]))
        histogram_error = await expect_error(client, "Histogram requirements not valid for region id 9")
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=4, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="x")]))
        spatial_error = await expect_error(client, "Spatial requirements failed for region 4")
        await client.send(pb.SetSpectralRequirements(file_id=0, region_id=3, spectral_profiles=[
            pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[ST.Mean])]))
        spectral_error = await expect_error(client, "Spectral requirements not valid for region id 3")
        await client.send(pb.RemoveRegion(region_id=42))
        remove_error = await expect_error(client, "Region 42 not found")
        ack = await set_region(client, RT.RECTANGLE, [(20.3, 21.4), (9.2, 7.0)])
        after = await stats_of(client, ack.region_id, [ST.NumPixels])
    assert stats_error.severity == histogram_error.severity == spatial_error.severity == pb.ErrorSeverity.ERROR
    assert (stats_error.tags, histogram_error.tags, spatial_error.tags, spectral_error.tags) == (
        ["stats"], ["histogram"], ["spatial"], ["spectral"])
    assert remove_error.severity == pb.ErrorSeverity.DEBUG
    assert ack.region_id == 1 and after.statistics[0].value > 0


async def test_requirements_for_unsupported_region_types(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_cube(client)
        await set_region(client, RT.LINE, [(1.0, 1.0), (20.0, 9.0)])
        await set_region(client, RT.ANNRECTANGLE, [(20.0, 20.0), (6.0, 3.0)])
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[ST.Mean])]))
        await expect_error(client, "Stats requirements not valid for region id 1")
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=2, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[ST.Mean])]))
        await expect_error(client, "Stats requirements not valid for region id 2")
        await client.send(pb.SetSpectralRequirements(file_id=0, region_id=1, spectral_profiles=[
            pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[ST.Mean])]))
        await expect_error(client, "Spectral requirements not valid for region id 1")


async def test_bad_coordinates_are_refused_and_other_configs_served(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_cube(client)
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=-1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="Wz", stats_types=[ST.Mean]),
            pb.SetStatsRequirements.StatsConfig(coordinate="bogus", stats_types=[ST.Mean]),
            pb.SetStatsRequirements.StatsConfig(coordinate="Qz", stats_types=[ST.Mean]),
            pb.SetStatsRequirements.StatsConfig(coordinate="Iz", stats_types=[ST.Mean])]))
        errors = [(await client.expect(pb.ErrorData)).message.message for _ in range(3)]
        message = (await client.expect(pb.RegionStatsData)).message
    assert "'Wz'" in errors[0] and "'bogus'" in errors[1] and "Qz" in errors[2]
    ex.assert_stats(message, ex.stats(cube[0]), [ST.Mean])


async def test_requirements_for_closed_or_unknown_files(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_cube(client)
        await set_region(client, RT.RECTANGLE, [(20.3, 21.4), (9.2, 7.0)])
        await client.send(pb.CloseFile(file_id=0))
        for message, tag in [
            (pb.SetStatsRequirements(file_id=0, region_id=1), "stats"),
            (pb.SetHistogramRequirements(file_id=0, region_id=-2, histograms=[pb.HistogramConfig(num_bins=-1)]), "histogram"),
            (pb.SetSpectralRequirements(file_id=0, region_id=0), "spectral"),
            (pb.SetSpatialRequirements(file_id=0, region_id=0), "spatial"),
            (pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)), "cursor"),
        ]:
            await client.send(message)
            error = await expect_error(client, "File id 0 not found")
            assert (error.severity, list(error.tags)) == (pb.ErrorSeverity.DEBUG, [tag])
        # the region went with its file: after reopening, id 1 is free again
        ack = await client.request(pb.OpenFile(directory="", file="cube.fits", file_id=0))
        assert ack.success
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[ST.Mean])]))
        await expect_error(client, "Stats requirements not valid for region id 1")
        region = await set_region(client, RT.RECTANGLE, [(20.3, 21.4), (9.2, 7.0)])
    assert region.region_id == 1


async def test_region_applied_to_another_file(carta_url: str, cube: np.ndarray, data_dir: Path) -> None:
    other = make_cube(SHAPE, seed=12)
    write_fits(data_dir / "twin.fits", other, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    shifted = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"), extra=[("CRPIX1", 40.0)])
    shifted = [c for c in shifted if c[0] != "CRPIX1" or c[1] == 40.0]
    write_fits(data_dir / "shifted.fits", other, shifted)
    async with open_client(carta_url) as client:
        await open_cube(client)
        for file_id, name in ((1, "twin.fits"), (2, "shifted.fits")):
            ack = await client.request(pb.OpenFile(directory="", file=name, file_id=file_id))
            assert ack.success
            await client.expect(pb.RegionHistogramData)
        await set_region(client, RT.RECTANGLE, [(20.3, 21.4), (9.2, 7.0)])
        await client.send(pb.SetStatsRequirements(file_id=1, region_id=1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[ST.NumPixels, ST.Mean])]))
        twin = (await client.expect(pb.RegionStatsData)).message
        await client.send(pb.SetStatsRequirements(file_id=2, region_id=1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[ST.Mean])]))
        error = await expect_error(client, "Statistics calculation for region 1 failed")
    assert twin.file_id == 1
    ex.assert_stats(twin, ex.stats(other[0][ex.rectangle_mask(other.shape[1:], 20.3, 21.4, 9.2, 7.0)]),
                    [ST.NumPixels, ST.Mean])
    assert "pixel grid differs" in error.message
