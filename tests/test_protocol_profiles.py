"""Cursor and region profiles through the real server: SET_CURSOR, SPATIAL_PROFILE_DATA,
SPECTRAL_PROFILE_DATA (partial results, new-stats-only updates, cancellation, computed
Stokes, multi-beam flux), checked against numpy on cubes the tests write.

The server runs in the test process, so a few tests shorten the reference's timing
constants (monkeypatch) or slow a read down to make partial messages and cancellation
observable; the numbers are still the server's own.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors import region_data, spectral_streams
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests import analytics_expect as ex
from tests.image_factory import append_beams_table, make_cube, wcs_header, write_fits

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


async def open_image(client: CartaClient, name: str) -> None:
    await client.register()
    ack = await client.request(pb.OpenFile(directory="", file=name, file_id=0))
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData)


async def set_region(client: CartaClient, region_type: int, points: list[tuple[float, float]], rotation: float = 0.0,
                     region_id: int = -1) -> int:
    ack = await client.request(pb.SetRegion(file_id=0, region_id=region_id, region_info=pb.RegionInfo(
        region_type=region_type, control_points=[pb.Point(x=x, y=y) for x, y in points], rotation=rotation)))
    assert ack.success, ack.message
    return ack.region_id


def spectral(region_id: int, *configs: tuple[str, list[int]]) -> pb.SetSpectralRequirements:
    return pb.SetSpectralRequirements(file_id=0, region_id=region_id, spectral_profiles=[
        pb.SetSpectralRequirements.SpectralConfig(coordinate=c, stats_types=s) for c, s in configs])


def spatial(region_id: int, *configs: tuple[str, int, int, int]) -> pb.SetSpatialRequirements:
    return pb.SetSpatialRequirements(file_id=0, region_id=region_id, spatial_profiles=[
        pb.SetSpatialRequirements.SpatialConfig(coordinate=c, start=s, end=e, mip=m) for c, s, e, m in configs])


async def final_spectral(client: CartaClient, timeout: float = 20) -> pb.SpectralProfileData:
    while True:
        message = (await client.expect(pb.SpectralProfileData, timeout=timeout)).message
        if message.progress >= 1.0:
            return message


async def quiet(client: CartaClient, seconds: float = 0.5) -> list[object]:
    """Everything that arrives within ``seconds``."""
    got = []
    with trio.move_on_after(seconds):
        while True:
            got.append((await client.receive(timeout=None)).message)
    return got


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


# ------------------------------------------------------------------ cursor, spatial


async def test_cursor_value_without_requirements(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=10.4, y=5.5)))
        message = (await client.expect(pb.SpatialProfileData)).message
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=-0.4, y=28.4)))
        corner = (await client.expect(pb.SpatialProfileData)).message
    assert (message.file_id, message.region_id, message.x, message.y, message.channel, message.stokes) == (0, 0, 10, 6, 0, 0)
    assert message.value == cube[0, 6, 10] and len(message.profiles) == 0
    assert (corner.x, corner.y, corner.value) == (0, 28, cube[0, 28, 0])


async def test_cursor_outside_unchanged_or_nan_sends_no_profile(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(spectral(0, ("z", [ST.Sum])))
        for x, y in [(-0.6, 3.0), (39.6, 3.0), (3.0, 29.5)]:
            await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=x, y=y)))
        outside = await quiet(client)
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=3.0, y=4.0)))
        await client.expect(pb.SpatialProfileData)
        await final_spectral(client)
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=3.0, y=4.0)))
        unchanged = await quiet(client)
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=math.nan, y=4.0)))
        error = (await client.expect(pb.ErrorData)).message
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=5.0, y=4.0)))
        after = (await client.expect(pb.SpatialProfileData)).message
    assert outside == [] and unchanged == []
    assert "Invalid cursor position" in error.message and list(error.tags) == ["cursor"]
    assert (after.x, after.y) == (5, 4)


async def test_cursor_spatial_profiles_with_ranges(carta_url: str, cube: np.ndarray) -> None:
    plane = cube[0]
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(spatial(0, ("x", 0, 0, 0), ("y", 5, 20, 1)))
        nothing = await quiet(client, 0.3)  # no cursor yet
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=12.2, y=7.7)))
        message = (await client.expect(pb.SpatialProfileData)).message
        # requirements carried by SET_CURSOR replace the stored ones
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=13.0, y=8.0), spatial_requirements=spatial(0, ("y", 0, 0, 0))))
        second = (await client.expect(pb.SpatialProfileData)).message
        # a requirement update with the cursor in place is answered at once
        await client.send(spatial(0, ("x", 30, 38, 0)))
        third = (await client.expect(pb.SpatialProfileData)).message
    assert nothing == []
    assert (message.x, message.y, message.value) == (12, 8, plane[8, 12])
    x, y = message.profiles
    assert (x.coordinate, x.start, x.end, x.mip) == ("x", 0, 40, 0)
    assert np.array_equal(ex.fp32(x), plane[8, :], equal_nan=True)
    assert (y.coordinate, y.start, y.end, y.mip) == ("y", 5, 20, 1)
    assert np.array_equal(ex.fp32(y), plane[5:20, 12], equal_nan=True)
    assert [p.coordinate for p in second.profiles] == ["y"]
    assert np.array_equal(ex.fp32(second.profiles[0]), plane[:, 13], equal_nan=True)
    assert (third.profiles[0].start, third.profiles[0].end) == (30, 38)
    assert np.array_equal(ex.fp32(third.profiles[0]), plane[8, 30:38], equal_nan=True)


async def test_spatial_profiles_grouped_by_stokes(carta_url: str, stokes_cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "iquv.fits")
        await client.send(spatial(0, ("x", 0, 0, 0), ("Qy", 0, 0, 0), ("Plineary", 0, 0, 0)))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=6.0, y=5.0)))
        messages = [(await client.expect(pb.SpatialProfileData)).message for _ in range(3)]
    by_stokes = {m.stokes: m for m in messages}
    assert sorted(by_stokes) == [0, 1, 14]
    assert by_stokes[0].value == stokes_cube[0, 0, 5, 6]
    assert np.isnan(by_stokes[1].value)  # the NaN planted in Q
    assert np.array_equal(ex.fp32(by_stokes[1].profiles[0]), stokes_cube[1, 0, :, 6], equal_nan=True)
    plinear = ex.computed_pixels("Plinear", *stokes_cube[:, 0, :, 6])
    got = ex.fp32(by_stokes[14].profiles[0])
    assert by_stokes[14].profiles[0].coordinate == "Plineary"
    assert np.array_equal(np.isnan(got), np.isnan(plinear))
    np.testing.assert_allclose(got[~np.isnan(got)], plinear[~np.isnan(plinear)], rtol=1e-6)


async def test_point_region_spatial_profile(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        rid = await set_region(client, RT.POINT, [(7.5, 3.49)])
        await client.send(spatial(rid, ("x", 0, 0, 0)))
        message = (await client.expect(pb.SpatialProfileData)).message
        await set_region(client, RT.POINT, [(9.2, 4.0)], region_id=rid)
        moved = (await client.expect(pb.SpatialProfileData)).message
        await client.send(pb.SetImageChannels(file_id=0, channel=2, stokes=0))
        channel = (await client.expect(pb.SpatialProfileData)).message
    assert (message.region_id, message.x, message.y, message.value) == (rid, 8, 3, cube[0, 3, 8])
    assert np.array_equal(ex.fp32(message.profiles[0]), cube[0, 3, :], equal_nan=True)
    assert (moved.x, moved.y, moved.value) == (9, 4, cube[0, 4, 9])
    assert (channel.channel, channel.value) == (2, cube[2, 4, 9])


# ------------------------------------------------------------------ cursor, spectral


async def test_cursor_spectral_profile(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(spectral(0, ("z", [ST.Mean, ST.Sum])))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=22.0, y=14.0)))
        message = await final_spectral(client)
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=0.0, y=0.0)))
        corner = await final_spectral(client)
    assert (message.file_id, message.region_id, message.stokes) == (0, 0, 0)
    (profile,) = message.profiles
    assert (profile.coordinate, profile.stats_type, profile.raw_values_fp64) == ("z", ST.Mean, b"")
    assert np.array_equal(ex.fp32(profile), cube[:, 14, 22], equal_nan=True)
    assert np.isnan(ex.fp32(corner.profiles[0])).all()


async def test_cursor_spectral_fixed_and_computed_stokes(carta_url: str, stokes_cube: np.ndarray) -> None:
    coordinates = ["z", "Qz", "Vz", "Ptotalz", "PFlinearz", "Panglez"]
    async with open_client(carta_url) as client:
        await open_image(client, "iquv.fits")
        await client.send(spectral(0, *[(c, [ST.Sum]) for c in coordinates]))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=6.0, y=5.0)))
        messages = [await final_spectral(client) for _ in coordinates]
    got = {m.profiles[0].coordinate: ex.fp32(m.profiles[0]) for m in messages}
    assert {m.stokes for m in messages} == {0}  # the current Stokes, whatever the coordinate
    i, q, u, v = stokes_cube[:, :, 5, 6]
    assert np.array_equal(got["z"], i) and np.array_equal(got["Qz"], q, equal_nan=True) and np.array_equal(got["Vz"], v)
    for name in ("Ptotal", "PFlinear", "Pangle"):
        want = ex.computed_pixels(name, i, q, u, v)
        assert np.array_equal(np.isnan(got[name + "z"]), np.isnan(want))
        np.testing.assert_allclose(got[name + "z"][~np.isnan(want)], want[~np.isnan(want)], rtol=2e-6, atol=1e-5)


async def test_cursor_spectral_partial_messages(carta_url: str, cube: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    original = region_data.read_spectrum

    def slow(*args: object) -> np.ndarray:
        time.sleep(0.03)
        return original(*args)

    monkeypatch.setattr(region_data, "read_spectrum", slow)
    monkeypatch.setattr(spectral_streams, "CURSOR_PARTIAL_S", 0.0)
    monkeypatch.setattr(spectral_streams.spectral_profiles, "INIT_DELTA_Z", 4)
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(spectral(0, ("z", [ST.Sum])))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=22.0, y=14.0)))
        messages = []
        while not messages or messages[-1].progress < 1.0:
            messages.append((await client.expect(pb.SpectralProfileData)).message)
    assert len(messages) >= 2
    progress = [m.progress for m in messages]
    assert progress == sorted(progress) and progress[-1] == 1.0
    first = ex.fp32(messages[0].profiles[0])
    done = round(messages[0].progress * SHAPE[0])
    assert np.array_equal(first[:done], cube[:done, 14, 22], equal_nan=True) and np.isnan(first[done:]).all()


async def test_cursor_burst_serves_the_newest_and_cancels_stale_work(carta_url: str, cube: np.ndarray,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    original = region_data.read_spectrum

    def slow(*args: object) -> np.ndarray:
        time.sleep(0.05)
        return original(*args)

    monkeypatch.setattr(region_data, "read_spectrum", slow)
    positions = [(float(x), float(x % 7)) for x in range(1, 31)]
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(spectral(0, ("z", [ST.Sum])))
        for x, y in positions:
            await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=x, y=y)))
        received = []
        with trio.move_on_after(3.0):
            while True:
                received.append((await client.receive(timeout=None)).message)
    spatial_messages = [m for m in received if isinstance(m, pb.SpatialProfileData)]
    finals = [m for m in received if isinstance(m, pb.SpectralProfileData) and m.progress >= 1.0]
    last_x, last_y = positions[-1]
    assert (spatial_messages[-1].x, spatial_messages[-1].y) == (last_x, last_y)
    assert 1 <= len(finals) < len(positions)  # stale profiles were cancelled
    assert np.array_equal(ex.fp32(finals[-1].profiles[0]), cube[:, int(last_y), int(last_x)], equal_nan=True)


# ------------------------------------------------------------------ regions, spectral


async def test_region_spectral_profile_matches_numpy(carta_url: str, cube: np.ndarray) -> None:
    stats = [ST.Mean, *TEN, ST.NanCount]
    mask = ex.rectangle_mask(SHAPE[1:], 12.3, 11.4, 8.2, 6.2, 25.0)
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        rid = await set_region(client, RT.RECTANGLE, [(12.3, 11.4), (8.2, 6.2)], 25.0)
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
        point = await set_region(client, RT.POINT, [(22.2, 13.6)])
        outside = await set_region(client, RT.ELLIPSE, [(100.0, 100.0), (3.0, 4.0)])
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
        rid = await set_region(client, RT.RECTANGLE, [(12.3, 11.4), (8.2, 6.2)])
        await client.send(spectral(rid, ("z", [ST.Mean])))
        first = await final_spectral(client)
        await client.send(spectral(rid, ("z", [ST.Mean, ST.Max])))
        added = await final_spectral(client)
        await client.send(spectral(rid, ("z", [ST.Mean, ST.Max])))
        same = await quiet(client)
        await set_region(client, RT.RECTANGLE, [(22.3, 15.4), (8.2, 6.2)], region_id=rid)
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
        rid = await set_region(client, RT.RECTANGLE, [(12.3, 11.4), (8.2, 6.2)])
        await client.send(spectral(rid, ("z", [ST.Mean])))
        partials = [(await client.expect(pb.SpectralProfileData)).message for _ in range(2)]
        await set_region(client, RT.RECTANGLE, [(30.3, 20.4), (6.2, 6.2)], region_id=rid)
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
        rid = await set_region(client, RT.RECTANGLE, [(8.3, 6.4), (7.2, 5.0)])
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
        rid = await set_region(client, RT.RECTANGLE, [(8.3, 6.4), (7.2, 5.0)])
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
        rid = await set_region(client, RT.RECTANGLE, [(7.0, 7.0), (4.6, 4.6)])
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
        rid = await set_region(client, RT.RECTANGLE, [(12.3, 11.4), (8.2, 6.2)])
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
        rid = await set_region(client, RT.RECTANGLE, [(8.3, 6.4), (7.2, 5.0)])
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
