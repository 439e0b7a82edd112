"""Regions through the real server: SET_REGION ids and acks for every type, invalid
control points, REMOVE_REGION, regions going with their file, what a region change
or a channel change re-sends (exactly), bad requirements and coordinates, and regions
applied to another file. Numbers are checked against :mod:`tests.analytics_expect`.
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
from tests.region_client import expect_error, open_image, set_region, stats_of

RT = pb.RegionType
ST = pb.StatsType
SHAPE = (4, 48, 64)  # channels, height, width


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    data = make_cube(SHAPE, seed=11)
    data[:, 20:23, 30:33] = np.nan  # a NaN patch inside several test regions
    data[2, 10:14, 10:14] = np.nan
    write_fits(data_dir / "cube.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    return data


async def test_region_ids_follow_the_reference(carta_url: str, cube: np.ndarray) -> None:
    rect = [(10.0, 10.0), (4.0, 4.0)]
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
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


async def test_new_region_ids_stay_int32(carta_url: str, cube: np.ndarray, caplog: pytest.LogCaptureFixture) -> None:
    """After a region with id 2**31 - 1 (a resumed session may hold one), a new region gets
    the lowest free positive id instead of 2**31, which no ack can carry (it was a
    traceback, and the region was kept under an id the viewer never learnt)."""
    rect = [(10.0, 10.0), (4.0, 4.0)]
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        top = await set_region(client, RT.RECTANGLE, rect, region_id=2**31 - 1)
        two = await set_region(client, RT.RECTANGLE, rect, region_id=2)
        news = [await set_region(client, RT.RECTANGLE, rect) for _ in range(3)]
    assert top.success and top.region_id == 2**31 - 1 and two.success
    assert [(a.success, a.message, a.region_id) for a in news] == [(True, "", 1), (True, "", 3), (True, "", 4)]
    assert not [r for r in caplog.records if r.exc_info]


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
        await open_image(client, "cube.fits")
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
        await open_image(client, "cube.fits")
        ack = await set_region(client, region_type, points)
        good = await set_region(client, RT.RECTANGLE, [(10.0, 10.0), (2.0, 2.0)])
    assert not ack.success
    assert ack.message.startswith("Region 1 parameters for file 0 failed") and fragment in ack.message, ack.message
    assert (good.success, good.region_id) == (True, 1)  # the failed id was not taken


async def test_set_region_on_unknown_file_and_nan_rotation(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        unknown = await set_region(client, RT.RECTANGLE, [(10.0, 10.0), (2.0, 2.0)], file_id=5)
        rotated = await set_region(client, RT.RECTANGLE, [(10.0, 10.0), (2.0, 2.0)], rotation=math.nan)
    assert (unknown.success, unknown.message) == (False, "Cannot set region, file id 5 not found")
    assert not rotated.success and "rotation" in rotated.message


async def test_invalid_update_keeps_the_previous_region(carta_url: str, cube: np.ndarray) -> None:
    plane = cube[0]
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
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


async def test_moving_a_region_resends_its_analytics(carta_url: str, cube: np.ndarray) -> None:
    plane = cube[0]
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
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
        await open_image(client, "cube.fits")
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


async def test_remove_region_and_unknown_ids(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
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
        await open_image(client, "cube.fits")
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
        await open_image(client, "cube.fits")
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=-1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="Wz", stats_types=[ST.Mean]),
            pb.SetStatsRequirements.StatsConfig(coordinate="bogus", stats_types=[ST.Mean]),
            pb.SetStatsRequirements.StatsConfig(coordinate="Qz", stats_types=[ST.Mean]),
            pb.SetStatsRequirements.StatsConfig(coordinate="Iz", stats_types=[ST.Mean])]))
        # one ERROR_DATA per message (issue 11 D14): the first bad coordinate's
        errors = [(await client.expect(pb.ErrorData)).message.message]
        message = (await client.expect(pb.RegionStatsData)).message
        assert not [e for e in client.buffered if e.event_type == pb.EventType.ERROR_DATA]
    assert "'Wz'" in errors[0]
    ex.assert_stats(message, ex.stats(cube[0]), [ST.Mean])


async def test_requirements_for_closed_or_unknown_files(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
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
        await open_image(client, "cube.fits")
        for file_id, name in ((1, "twin.fits"), (2, "shifted.fits")):
            ack = await client.request(pb.OpenFile(directory="", file=name, file_id=file_id))
            assert ack.success
            await client.expect(pb.RegionHistogramData)
        await set_region(client, RT.RECTANGLE, [(20.3, 21.4), (9.2, 7.0)])
        await client.send(pb.SetStatsRequirements(file_id=1, region_id=1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[ST.NumPixels, ST.Mean])]))
        twin = (await client.expect(pb.RegionStatsData)).message
        await client.send(pb.SetStatsRequirements(file_id=2, region_id=1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[ST.NumPixels, ST.Mean])]))
        moved = (await client.expect(pb.RegionStatsData)).message
    assert twin.file_id == 1
    ex.assert_stats(twin, ex.stats(other[0][ex.rectangle_mask(other.shape[1:], 20.3, 21.4, 9.2, 7.0)]),
                    [ST.NumPixels, ST.Mean])
    # shifted.fits has the same sky 23 pixels further right: the region follows the sky
    assert moved.file_id == 2
    ex.assert_stats(moved, ex.stats(other[0][ex.rectangle_mask(other.shape[1:], 20.3 + 23, 21.4, 9.2, 7.0)]),
                    [ST.NumPixels, ST.Mean])


async def test_preview_region_updates_without_ack_or_streams(carta_url: str, cube: np.ndarray) -> None:
    plane = cube[0]
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await set_region(client, RT.RECTANGLE, [(20.3, 21.4), (9.2, 7.0)])
        await stats_of(client, 1, [ST.NumPixels, ST.Sum])
        info = pb.RegionInfo(region_type=RT.RECTANGLE, control_points=[pb.Point(x=40.3, y=30.4), pb.Point(x=5.0, y=5.0)])
        await client.send(pb.SetRegion(file_id=0, region_id=1, region_info=info, preview_region=True))
        await client.send(pb.SetRegion(file_id=0, region_id=-1, region_info=info, preview_region=True))
        second = await set_region(client, RT.POINT, [(3.0, 3.0)])  # answered after both previews
        await trio.sleep(0.3)
        nothing = [e.event_type for e in client.buffered]
        moved = await stats_of(client, 1, [ST.NumPixels, ST.Sum])
    assert nothing == []  # no ack, no streams, and the -1 preview created nothing
    ex.assert_stats(moved, ex.stats(plane[ex.rectangle_mask(plane.shape, 40.3, 30.4, 5.0, 5.0)]), [ST.NumPixels, ST.Sum])
    assert second.region_id == 2


def sky_valued_image(header: list, shape: tuple[int, int]) -> np.ndarray:
    """A plane whose pixel value is the declination (deg) of the pixel: region means then
    compare the same patch of sky on different grids."""
    import warnings

    from astropy.io import fits
    from astropy.wcs import WCS

    h = fits.Header()
    for key, value, _ in header:
        if key.endswith("3") or key in ("BMAJ", "BMIN", "BPA", "BUNIT", "RESTFRQ", "SPECSYS"):
            continue
        h[key] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(h, naxis=2)
        ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
        _, dec = wcs.all_pix2world(xs, ys, 0)
    return dec.astype(np.float32)


async def test_region_on_a_finer_grid_follows_the_sky(carta_url: str, data_dir: Path) -> None:
    coarse = wcs_header(("RA---SIN", "DEC--SIN"))
    fine = [(k, v * 0.5 if k in ("CDELT1", "CDELT2") else v, c) for k, v, c in coarse]
    fine = [(k, 2 * v - 0.5 if k in ("CRPIX1", "CRPIX2") else v, c) for k, v, c in fine]
    write_fits(data_dir / "coarse.fits", sky_valued_image(coarse, (48, 64)), coarse)
    write_fits(data_dir / "fine.fits", sky_valued_image(fine, (96, 128)), fine)
    async with open_client(carta_url) as client:
        await open_image(client, "coarse.fits")
        ack = await client.request(pb.OpenFile(directory="", file="fine.fits", file_id=1))
        assert ack.success
        await set_region(client, RT.ELLIPSE, [(30.0, 20.0), (8.0, 5.0)], rotation=30.0)
        values = []
        for file_id in (0, 1):
            await client.send(pb.SetStatsRequirements(file_id=file_id, region_id=1, stats_configs=[
                pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[ST.NumPixels, ST.Mean])]))
            stats = (await client.expect(pb.RegionStatsData)).message
            assert stats.file_id == file_id
            values.append({s.stats_type: s.value for s in stats.statistics})
    coarse_stats, fine_stats = values
    # four times the pixels (half the spacing), the same mean declination
    assert fine_stats[ST.NumPixels] == pytest.approx(4 * coarse_stats[ST.NumPixels], rel=0.08)
    assert fine_stats[ST.Mean] == pytest.approx(coarse_stats[ST.Mean], abs=0.05 * 0.0005)
