"""REGION_STATS_DATA and REGION_HISTOGRAM_DATA of the image and of regions through the
real server: every statistic of rectangles (rotated), ellipses (rotated), polygons and
regions partly outside, degenerate regions, FluxDensity by unit and beam, infinities,
histograms with automatic/fixed bins and fixed bounds. Every number is checked against
an independent numpy computation in :mod:`tests.analytics_expect`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests import analytics_expect as ex
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.region_client import open_image, set_region, stats_of

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
        await open_image(client, "cube.fits")
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
        await open_image(client, "cube.fits")
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
        await open_image(client, "cube.fits")
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
        await open_image(client, "flat.fits")
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
        await open_image(client, "inf.fits")
        image = await stats_of(client, -1, [ST.NumPixels, ST.Sum, ST.Min, ST.Sigma])
    values = [s.value for s in image.statistics]
    assert values[0] == 254 and values[1] == math.inf and values[2] == 0.0 and math.isnan(values[3])


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
        await open_image(client, "cube.fits")
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
        await open_image(client, "cube.fits")
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-1, histograms=configs))
        fixed = (await client.expect(pb.RegionHistogramData)).message
        current = (await client.expect(pb.RegionHistogramData)).message
        with pytest.raises(trio.TooSlowError):
            await client.expect(pb.RegionHistogramData, timeout=0.5)
    assert (fixed.region_id, fixed.channel, fixed.config.num_bins) == (-1, 3, 20)
    ex.assert_histogram(fixed.histograms, ex.histogram(cube[3], 20))
    assert (current.channel, current.config.num_bins) == (0, -1)
    ex.assert_histogram(current.histograms, ex.histogram(cube[0], int(math.sqrt(48 * 64))))


async def test_odd_bin_counts_and_huge_or_far_regions(carta_url: str, cube: np.ndarray) -> None:
    plane = cube[0]
    auto = int(math.sqrt(48 * 64))
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-1, histograms=[
            pb.HistogramConfig(coordinate="z", channel=-1, num_bins=0),
            pb.HistogramConfig(coordinate="z", channel=-1, num_bins=-3),
            pb.HistogramConfig(coordinate="z", channel=-1, num_bins=2_000_000_000)]))
        error = (await client.expect(pb.ErrorData)).message
        zero = (await client.expect(pb.RegionHistogramData)).message
        minus = (await client.expect(pb.RegionHistogramData)).message
        huge = await set_region(client, RT.RECTANGLE, [(10.0, 10.0), (1e9, 1e9)], rotation=10.0)
        everything = await stats_of(client, huge.region_id, [ST.NumPixels, ST.Sum])
        far = await set_region(client, RT.ELLIPSE, [(1e20, -1e20), (3.0, 1e18)])
        nothing = await stats_of(client, far.region_id, [ST.NumPixels, ST.Sum])
    assert "2000000000 bins" in error.message
    for message in (zero, minus):
        ex.assert_histogram(message.histograms, ex.histogram(plane, auto))
    assert (zero.config.num_bins, minus.config.num_bins) == (0, -3)
    ex.assert_stats(everything, ex.stats(plane), [ST.NumPixels, ST.Sum])
    assert nothing.statistics[0].value == 0 and math.isnan(nothing.statistics[1].value)
