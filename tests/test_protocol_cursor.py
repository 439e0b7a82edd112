"""The cursor through the real server: SET_CURSOR coalescing, SPATIAL_PROFILE_DATA for the
cursor and point regions (ranges, decimation, Stokes groups) and the cursor's
SPECTRAL_PROFILE_DATA (fixed and computed Stokes, partial messages), against numpy.

The server runs in the test process, so some tests slow a read down (monkeypatch) to
make partial messages and the cancellation of stale work observable.
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
from carta_trio.messages.client import open_client
from tests import analytics_expect as ex
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.region_client import final_spectral, new_region, open_image, quiet, spatial, spectral

RT = pb.RegionType
ST = pb.StatsType
SHAPE = (12, 30, 40)
SHAPE4 = (4, 6, 20, 24)


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
        rid = await new_region(client, RT.POINT, [(7.5, 3.49)])
        await client.send(spatial(rid, ("x", 0, 0, 0)))
        message = (await client.expect(pb.SpatialProfileData)).message
        await new_region(client, RT.POINT, [(9.2, 4.0)], region_id=rid)
        moved = (await client.expect(pb.SpatialProfileData)).message
        await client.send(pb.SetImageChannels(file_id=0, channel=2, stokes=0))
        channel = (await client.expect(pb.SpatialProfileData)).message
    assert (message.region_id, message.x, message.y, message.value) == (rid, 8, 3, cube[0, 3, 8])
    assert np.array_equal(ex.fp32(message.profiles[0]), cube[0, 3, :], equal_nan=True)
    assert (moved.x, moved.y, moved.value) == (9, 4, cube[0, 4, 9])
    assert (channel.channel, channel.value) == (2, cube[2, 4, 9])


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


async def test_channel_change_resends_the_cursor_value_and_profiles(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "cube.fits")
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=7.0, y=9.0)))
        await client.expect(pb.SpatialProfileData)
        await client.send(pb.SetImageChannels(file_id=0, channel=5, stokes=0))
        bare = (await client.expect(pb.SpatialProfileData)).message
        await client.send(spatial(0, ("y", 0, 0, 0)))
        await client.expect(pb.SpatialProfileData)
        await client.send(pb.SetImageChannels(file_id=0, channel=6, stokes=0))
        with_profile = (await client.expect(pb.SpatialProfileData)).message
    assert (bare.channel, bare.value, len(bare.profiles)) == (5, cube[5, 9, 7], 0)
    assert (with_profile.channel, with_profile.value) == (6, cube[6, 9, 7])
    assert np.array_equal(ex.fp32(with_profile.profiles[0]), cube[6, :, 7], equal_nan=True)
