"""Region spectral profiles through the real server: every statistic against numpy,
point and outside regions, new-stats-only updates, partial results with ``progress``,
cancellation by a region change, REMOVE_REGION, a dropped requirement or CLOSE_FILE,
computed Stokes combined per statistic, Stokes changes and multi-beam flux.

The server runs in the test process, so some tests shorten the reference's timing
constants or slow a block down (monkeypatch); the numbers are still the server's own.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors import spectral_streams
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests import analytics_expect as ex
from tests.image_factory import append_beams_table, make_cube, wcs_header, write_fits
from tests.region_client import final_spectral, new_region, open_image, quiet, spectral

RT = pb.RegionType
ST = pb.StatsType
SHAPE = (12, 30, 40)
SHAPE4 = (4, 6, 20, 24)
TEN = [ST.Sum, ST.FluxDensity, ST.Mean, ST.RMS, ST.Sigma, ST.SumSq, ST.Min, ST.Max, ST.Extrema, ST.NumPixels]
PIXEL_ARCSEC = 1.8
FLUX = 1.0 / ex.beam_area_pixels(9.0, 5.4, PIXEL_ARCSEC)


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    data = make_cube(SHAPE, seed=5)
    data[3:5, 10:13, 10:13] = np.nan
    data[7, 14, 22] = np.nan
    write_fits(data_dir / "cube.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    return data


@pytest.fixture
def stokes_cube(data_dir: Path) -> np.ndarray:
    data = make_cube(SHAPE4, seed=8)
    data[1, 0, 5, 6] = np.nan  # a NaN in Q only
    write_fits(data_dir / "iquv.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))
    return data


def region_profiles(block: np.ndarray, mask: np.ndarray, flux: float = math.nan) -> dict[int, np.ndarray]:
    """Per-channel engine-1 statistics of ``block[z][mask]``."""
    per_channel = [ex.stats(plane[mask], flux) for plane in block]
    out = {}
    for st in TEN:
        values = np.array([p[st] for p in per_channel])
        if st == ST.NumPixels:
            values[values == 0] = np.nan  # an empty plane in a profile: NumPixels NaN too
        out[st] = values
    return out


def assert_profile(got: np.ndarray, want: np.ndarray, rel: float = 1e-9) -> None:
    assert got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want))
    finite = ~np.isnan(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=rel, atol=1e-12)


async def test_region_spectral_profile_matches_numpy(carta_url: str, cube: np.ndarray) -> None:
    stats = [ST.Mean, *TEN, ST.NanCount]
    mask = ex.rectangle_mask(SHAPE[1:], 12.3, 11.4, 8.2, 6.2, 25.0)
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        rid = await new_region(client, RT.RECTANGLE, [(12.3, 11.4), (8.2, 6.2)], 25.0)
        await client.send(spectral(rid, ("z", stats)))
        message = await final_spectral(client)
    assert (message.file_id, message.region_id, message.stokes, message.progress) == (0, rid, 0, 1.0)
    assert [p.stats_type for p in message.profiles] == stats
    want = region_profiles(cube, mask, FLUX)
    for profile in message.profiles:
        assert profile.coordinate == "z" and profile.raw_values_fp32 == b""
        values = ex.fp64(profile)
        if profile.stats_type == ST.NanCount:
            assert values.shape == (SHAPE[0],) and np.isnan(values).all()
        else:
            assert_profile(values, want[profile.stats_type])


async def test_point_and_outside_region_profiles(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        point = await new_region(client, RT.POINT, [(22.2, 13.6)])
        outside = await new_region(client, RT.ELLIPSE, [(100.0, 100.0), (3.0, 4.0)])
        await client.send(spectral(point, ("z", [ST.Sum, ST.Sigma, ST.RMS, ST.NumPixels])))
        message = await final_spectral(client)
        await client.send(spectral(outside, ("z", [ST.Mean, ST.NumPixels])))
        empty = await final_spectral(client)
    values = cube[:, 14, 22].astype(np.float64)
    nan = np.isnan(values)
    got = {p.stats_type: ex.fp64(p) for p in message.profiles}
    assert_profile(got[ST.Sum], values)
    assert_profile(got[ST.Sigma], np.where(nan, np.nan, 0.0))
    assert_profile(got[ST.RMS], np.abs(values))
    assert_profile(got[ST.NumPixels], np.where(nan, np.nan, 1.0))
    assert empty.region_id == outside and empty.progress == 1.0
    assert all(np.isnan(ex.fp64(p)).all() and ex.fp64(p).size == SHAPE[0] for p in empty.profiles)


async def test_new_stats_only_and_move_recomputes_all(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        rid = await new_region(client, RT.RECTANGLE, [(12.3, 11.4), (8.2, 6.2)])
        await client.send(spectral(rid, ("z", [ST.Mean])))
        first = await final_spectral(client)
        await client.send(spectral(rid, ("z", [ST.Mean, ST.Max])))
        added = await final_spectral(client)
        await client.send(spectral(rid, ("z", [ST.Mean, ST.Max])))
        same = await quiet(client)
        await new_region(client, RT.RECTANGLE, [(22.3, 15.4), (8.2, 6.2)], region_id=rid)
        moved = await final_spectral(client)
    assert [p.stats_type for p in first.profiles] == [ST.Mean]
    assert [p.stats_type for p in added.profiles] == [ST.Max]
    assert same == []
    assert [p.stats_type for p in moved.profiles] == [ST.Mean, ST.Max]
    mask = ex.rectangle_mask(SHAPE[1:], 22.3, 15.4, 8.2, 6.2)
    want = region_profiles(cube, mask)
    assert_profile(ex.fp64(moved.profiles[0]), want[ST.Mean])
    assert_profile(ex.fp64(moved.profiles[1]), want[ST.Max])


async def test_region_spectral_partial_results_and_cancellation(carta_url: str, cube: np.ndarray,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    original = spectral_streams._chunk_profiles

    def slow(*args: object) -> dict:
        time.sleep(0.02)
        return original(*args)

    monkeypatch.setattr(spectral_streams, "_chunk_profiles", slow)
    monkeypatch.setattr(spectral_streams, "REGION_PARTIAL_S", 0.0)
    monkeypatch.setattr(spectral_streams.spectral_profiles, "INIT_DELTA_Z", 2)
    monkeypatch.setattr(spectral_streams.spectral_profiles, "next_region_delta", lambda delta, ms, n: 2)
    old_mask = ex.rectangle_mask(SHAPE[1:], 12.3, 11.4, 8.2, 6.2)
    new_mask = ex.rectangle_mask(SHAPE[1:], 30.3, 20.4, 6.2, 6.2)
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        rid = await new_region(client, RT.RECTANGLE, [(12.3, 11.4), (8.2, 6.2)])
        await client.send(spectral(rid, ("z", [ST.Mean])))
        partials = [(await client.expect(pb.SpectralProfileData)).message for _ in range(2)]
        await new_region(client, RT.RECTANGLE, [(30.3, 20.4), (6.2, 6.2)], region_id=rid)
        rest = []
        while not rest or rest[-1].progress < 1.0:
            rest.append((await client.expect(pb.SpectralProfileData)).message)
    assert [m.progress for m in partials] == [pytest.approx(2 / 12), pytest.approx(4 / 12)]
    old = region_profiles(cube, old_mask)[ST.Mean]
    values = ex.fp64(partials[1].profiles[0])
    assert_profile(values[:4], old[:4])
    assert np.isnan(values[4:]).all()
    final = rest[-1]
    assert_profile(ex.fp64(final.profiles[0]), region_profiles(cube, new_mask)[ST.Mean])
    assert sum(m.progress >= 1.0 for m in rest) == 1  # the old computation never finished
    fresh = [m for m in rest if m.progress == pytest.approx(2 / 12)]
    assert fresh and np.isfinite(ex.fp64(fresh[-1].profiles[0])[:2]).all()


async def test_computed_stokes_region_profiles_combine_per_statistic(carta_url: str, stokes_cube: np.ndarray) -> None:
    mask = ex.rectangle_mask(SHAPE4[2:], 8.3, 6.4, 7.2, 5.0)
    async with open_client(carta_url) as client:
        await open_image(client, "iquv.fits")
        rid = await new_region(client, RT.RECTANGLE, [(8.3, 6.4), (7.2, 5.0)])
        await client.send(spectral(rid, ("Plinearz", [ST.Mean, ST.NumPixels]), ("PFtotalz", [ST.Sum]), ("Panglez", [ST.Max])))
        messages = {}
        for _ in range(3):
            message = await final_spectral(client)
            messages[message.profiles[0].coordinate] = message
    comps = [region_profiles(stokes_cube[s], mask) for s in range(4)]
    i, q, u, v = comps
    assert messages["Plinearz"].stokes == 14 and messages["PFtotalz"].stokes == 15 and messages["Panglez"].stokes == 17
    mean, count = messages["Plinearz"].profiles
    assert_profile(ex.fp64(mean), np.sqrt(q[ST.Mean] ** 2 + u[ST.Mean] ** 2))
    assert_profile(ex.fp64(count), np.sqrt(q[ST.NumPixels] ** 2 + u[ST.NumPixels] ** 2))
    pf = 100 * np.sqrt(q[ST.Sum] ** 2 + u[ST.Sum] ** 2 + v[ST.Sum] ** 2) / i[ST.Sum]
    assert_profile(ex.fp64(messages["PFtotalz"].profiles[0]), pf)
    angle = np.degrees(np.arctan2(u[ST.Max], q[ST.Max])) / 2
    assert_profile(ex.fp64(messages["Panglez"].profiles[0]), angle)


async def test_stokes_change_resends_current_stokes_profiles_only(carta_url: str, stokes_cube: np.ndarray) -> None:
    mask = ex.rectangle_mask(SHAPE4[2:], 8.3, 6.4, 7.2, 5.0)
    async with open_client(carta_url) as client:
        await open_image(client, "iquv.fits")
        rid = await new_region(client, RT.RECTANGLE, [(8.3, 6.4), (7.2, 5.0)])
        await client.send(spectral(rid, ("z", [ST.Mean]), ("Iz", [ST.Mean])))
        await final_spectral(client)
        await final_spectral(client)
        await client.send(spectral(0, ("z", [ST.Sum]), ("Iz", [ST.Sum])))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=3.0, y=4.0)))
        await client.expect(pb.SpatialProfileData)
        await final_spectral(client)
        await final_spectral(client)
        await client.send(pb.SetImageChannels(file_id=0, channel=0, stokes=2))
        everything = await quiet(client, 1.0)
        received = [m for m in everything if isinstance(m, pb.SpectralProfileData) and m.progress >= 1.0]
    # a Stokes-only change sends no spatial profile (the frontend re-sends requirements)
    assert {type(m).__name__ for m in everything} == {"RegionHistogramData", "SpectralProfileData"}
    assert sorted((m.region_id, m.profiles[0].coordinate, m.stokes) for m in received) == [(0, "z", 2), (rid, "z", 2)]
    region = next(m for m in received if m.region_id == rid)
    assert_profile(ex.fp64(region.profiles[0]), region_profiles(stokes_cube[2], mask)[ST.Mean])
    cursor = next(m for m in received if m.region_id == 0)
    assert np.array_equal(ex.fp32(cursor.profiles[0]), stokes_cube[2, :, 4, 3])


async def test_multibeam_flux_density_profile(carta_url: str, data_dir: Path) -> None:
    data = np.ones((2, 16, 16), dtype=np.float32)
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ"), beam=None, extra=[("CASAMBM", True)])
    write_fits(data_dir / "mb.fits", data, header)
    append_beams_table(data_dir / "mb.fits", [(4.0, 2.0, 0.0), (8.0, 4.0, 0.0)], nchan=2, npol=1)
    async with open_client(carta_url) as client:
        await open_image(client, "mb.fits")
        rid = await new_region(client, RT.RECTANGLE, [(7.0, 7.0), (4.6, 4.6)])
        await client.send(spectral(rid, ("z", [ST.FluxDensity])))
        message = await final_spectral(client)
    want = [25.0 / ex.beam_area_pixels(4, 2, PIXEL_ARCSEC), 25.0 / ex.beam_area_pixels(8, 4, PIXEL_ARCSEC)]
    np.testing.assert_allclose(ex.fp64(message.profiles[0]), want, rtol=1e-6)


async def test_spectral_requirements_on_a_2d_image(carta_url: str, data_dir: Path) -> None:
    write_fits(data_dir / "flat.fits", np.ones((8, 8), dtype=np.float32), wcs_header(("RA---SIN", "DEC--SIN")))
    async with open_client(carta_url) as client:
        await open_image(client, "flat.fits")
        await client.send(spectral(0, ("z", [ST.Sum])))
        warning = (await client.expect(pb.ErrorData)).message
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=3.0, y=3.0)))
        value = (await client.expect(pb.SpatialProfileData)).message
    assert (warning.message, warning.severity, list(warning.tags)) == (
        "Spectral profile not valid for 2D image.", pb.ErrorSeverity.WARNING, ["spectral"])
    assert value.value == 1.0


@pytest.mark.parametrize("how", ["remove region", "drop requirement", "close file"])
async def test_region_spectral_job_is_cancelled(carta_url: str, cube: np.ndarray, monkeypatch: pytest.MonkeyPatch,
                                                how: str) -> None:
    original = spectral_streams._chunk_profiles

    def slow(*args: object) -> dict:
        time.sleep(0.05)
        return original(*args)

    monkeypatch.setattr(spectral_streams, "_chunk_profiles", slow)
    monkeypatch.setattr(spectral_streams.spectral_profiles, "INIT_DELTA_Z", 1)
    monkeypatch.setattr(spectral_streams.spectral_profiles, "next_region_delta", lambda delta, ms, n: 1)
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        rid = await new_region(client, RT.RECTANGLE, [(12.3, 11.4), (8.2, 6.2)])
        await client.send(spectral(rid, ("z", [ST.Mean])))
        await trio.sleep(0.2)
        if how == "remove region":
            await client.send(pb.RemoveRegion(region_id=rid))
        elif how == "drop requirement":
            await client.send(spectral(rid))
        else:
            await client.send(pb.CloseFile(file_id=0))
        received = await quiet(client, 1.2)  # 12 channels x 50 ms would have finished by now
        assert await client.ping() == "PONG"
    assert not [m for m in received if isinstance(m, pb.SpectralProfileData) and m.progress >= 1.0]


async def test_statistics_and_histograms_of_computed_stokes_use_computed_pixels(carta_url: str, stokes_cube: np.ndarray) -> None:
    mask = ex.rectangle_mask(SHAPE4[2:], 8.3, 6.4, 7.2, 5.0)
    async with open_client(carta_url) as client:
        await open_image(client, "iquv.fits")
        rid = await new_region(client, RT.RECTANGLE, [(8.3, 6.4), (7.2, 5.0)])
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=rid, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="Plinearz", stats_types=[ST.NumPixels, ST.Mean, ST.Max])]))
        stats = (await client.expect(pb.RegionStatsData)).message
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-1, histograms=[
            pb.HistogramConfig(coordinate="Panglez", channel=-1, num_bins=12)]))
        histogram = (await client.expect(pb.RegionHistogramData)).message
    plinear = ex.computed_pixels("Plinear", *stokes_cube[:, 0])
    assert stats.stokes == 14
    ex.assert_stats(stats, ex.stats(plinear[mask]), [ST.NumPixels, ST.Mean, ST.Max], rel=2e-6)
    pangle = ex.computed_pixels("Pangle", *stokes_cube[:, 0]).astype(np.float32)
    assert (histogram.stokes, histogram.channel) == (17, 0)
    want = ex.histogram(pangle, 12)
    assert histogram.histograms.num_bins == 12
    assert sum(histogram.histograms.bins) == sum(want["bins"])
    np.testing.assert_allclose(np.array(histogram.histograms.bins), want["bins"], atol=2)  # float32 atan2 at bin edges
    assert histogram.histograms.mean == pytest.approx(want["mean"], rel=1e-5)
