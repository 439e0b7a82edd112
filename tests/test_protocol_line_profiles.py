"""Line and polyline spatial profiles, and decimated (mip) x/y profiles, through the server.

The image v = x² + 100·y² (1″ pixels) makes averages along x and along y easy to tell
apart: a 5-pixel mean centred on a pixel adds 2 along x and 200 along y. Expected
values are computed here with numpy from the box definition (width along the line,
1 pixel across an axis-aligned line, 3 across an oblique one); the numbers quoted in
ANALYTICS.md §5.2 from the reference backend are asserted too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests import analytics_expect as ex
from tests.image_factory import write_fits

RT = pb.RegionType


def header_1arcsec(nx: int, ny: int, nz: int | None = None) -> list[tuple[str, object, str]]:
    cards: list[tuple[str, object, str]] = [
        ("CTYPE1", "RA---SIN", ""), ("CRVAL1", 0.0, ""), ("CRPIX1", nx / 2, ""), ("CDELT1", -1 / 3600, ""), ("CUNIT1", "deg", ""),
        ("CTYPE2", "DEC--SIN", ""), ("CRVAL2", 0.0, ""), ("CRPIX2", ny / 2, ""), ("CDELT2", 1 / 3600, ""), ("CUNIT2", "deg", ""),
    ]
    if nz is not None:
        cards += [("CTYPE3", "FREQ", ""), ("CRVAL3", 1e9, ""), ("CRPIX3", 1.0, ""), ("CDELT3", 1e6, ""), ("CUNIT3", "Hz", "")]
    return cards + [("BUNIT", "Jy/beam", "")]


@pytest.fixture
def parabola(data_dir: Path) -> np.ndarray:
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float64)
    plane = (xx**2 + 100 * yy**2).astype(np.float32)
    data = np.stack([plane, plane + 1000.0])
    write_fits(data_dir / "parabola.fits", data, header_1arcsec(64, 64, 2))
    return data


async def open_image(client: CartaClient, name: str) -> None:
    await client.register()
    ack = await client.request(pb.OpenFile(directory="", file=name, file_id=0))
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData)


async def line_profile(client: CartaClient, region_type: int, points: list[tuple[float, float]], width: int,
                       coordinate: str = "") -> pb.SpatialProfileData:
    ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
        region_type=region_type, control_points=[pb.Point(x=x, y=y) for x, y in points])))
    await client.send(pb.SetSpatialRequirements(file_id=0, region_id=ack.region_id, spatial_profiles=[
        pb.SetSpatialRequirements.SpatialConfig(coordinate=coordinate, width=width)]))
    return (await client.expect(pb.SpatialProfileData)).message


def box_mean(plane: np.ndarray, cx: float, cy: float, along: float, across: float, angle: float) -> float:
    """Mean over pixel centres in a box ``along`` x ``across`` rotated by ``angle`` degrees."""
    mask = ex.rectangle_mask(plane.shape, cx, cy, along, across, angle)
    return float(plane[mask].astype(np.float64).mean())


@pytest.mark.parametrize("width", [1, 5])
async def test_horizontal_line_averages_along_the_line(carta_url: str, parabola: np.ndarray, width: int) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "parabola.fits")
        message = await line_profile(client, RT.LINE, [(30.0, 20.0), (10.0, 20.0)], width)
    (profile,) = message.profiles
    x = np.arange(10, 31, dtype=np.float64)
    extra = 2.0 if width == 5 else 0.0
    np.testing.assert_allclose(ex.fp32(profile), x**2 + extra + 40000.0, rtol=1e-6)
    assert (message.x, message.y, message.value, message.channel, message.stokes) == (0, 0, 0.0, 0, 0)
    assert (profile.start, profile.end, profile.mip, profile.coordinate) == (0, 20, 0, "")
    axis = profile.line_axis
    assert (axis.axis_type, axis.crpix, axis.crval, axis.unit) == (pb.ProfileAxisType.Offset, 10.0, 0.0, "arcsec")
    assert axis.cdelt == pytest.approx(1.0, rel=1e-4)


async def test_vertical_and_oblique_lines(carta_url: str, parabola: np.ndarray) -> None:
    plane = parabola[0]
    async with open_client(carta_url) as client:
        await open_image(client, "parabola.fits")
        vertical = await line_profile(client, RT.LINE, [(20.0, 10.0), (20.0, 30.0)], 5)
        oblique = await line_profile(client, RT.LINE, [(10.0, 10.0), (30.0, 30.0)], 1)
        wide = await line_profile(client, RT.LINE, [(10.0, 10.0), (30.0, 30.0)], 5)
    values = ex.fp32(vertical.profiles[0])
    assert values.size == 21
    assert (values[0], values[-1]) == (pytest.approx(90600.0), pytest.approx(10600.0))  # the reference's numbers
    y = np.arange(30, 9, -1, dtype=np.float64)
    np.testing.assert_allclose(values, 400 + 100 * y**2 + 200, rtol=1e-6)
    obl = ex.fp32(oblique.profiles[0])
    assert obl.size == 29
    assert obl[14] == pytest.approx(40467.333, rel=1e-6)  # pixels (20,20), (21,19), (19,21)
    assert ex.fp32(wide.profiles[0])[14] == pytest.approx(40542.59, rel=1e-6)
    # every box, independently: one pixel apart, index 0 at the second control point (30, 30),
    # 1 pixel (the width) along the line and 3 across it
    for k in (0, 7, 20, 28):
        cx = cy = 20 - (k - 14) / math.sqrt(2)
        assert obl[k] == pytest.approx(box_mean(plane, cx, cy, 1.0, 3.0, 45.0), rel=1e-5)
    assert oblique.profiles[0].line_axis.cdelt == pytest.approx(1.0, rel=1e-3)


async def test_polyline_profile_runs_from_first_vertex(carta_url: str, parabola: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "parabola.fits")
        message = await line_profile(client, RT.POLYLINE, [(10.0, 20.0), (20.0, 20.0), (20.0, 30.0)], 5)
    values = ex.fp32(message.profiles[0])
    x = np.arange(10, 21, dtype=np.float64)
    y = np.arange(21, 31, dtype=np.float64)
    want = np.concatenate([x**2 + 2 + 40000, 400 + 100 * y**2 + 200])
    np.testing.assert_allclose(values, want, rtol=1e-6)
    assert (values[0], values[10], values[11], values[-1]) == pytest.approx((40102, 40402, 44700, 90600))
    axis = message.profiles[0].line_axis
    assert (axis.axis_type, axis.crpix, axis.unit) == (pb.ProfileAxisType.Distance, 10.0, "arcsec")
    assert (axis.crval, axis.cdelt) == (pytest.approx(10.0, rel=1e-4), pytest.approx(1.0, rel=1e-4))
    assert message.profiles[0].end == 20


async def test_line_follows_channel_and_edits_and_rejects_bad_widths(carta_url: str, parabola: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "parabola.fits")
        first = await line_profile(client, RT.LINE, [(30.0, 20.0), (10.0, 20.0)], 1)
        await client.send(pb.SetImageChannels(file_id=0, channel=1, stokes=0))
        second = (await client.expect(pb.SpatialProfileData)).message
        await client.request(pb.SetRegion(file_id=0, region_id=1, region_info=pb.RegionInfo(
            region_type=RT.LINE, control_points=[pb.Point(x=30, y=21), pb.Point(x=10, y=21)])))
        moved = (await client.expect(pb.SpatialProfileData)).message
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=1, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="", width=0)]))
        error = (await client.expect(pb.ErrorData)).message
    x = np.arange(10, 31, dtype=np.float64)
    np.testing.assert_allclose(ex.fp32(first.profiles[0]), x**2 + 40000, rtol=1e-6)
    assert second.channel == 1
    np.testing.assert_allclose(ex.fp32(second.profiles[0]), x**2 + 41000, rtol=1e-6)
    np.testing.assert_allclose(ex.fp32(moved.profiles[0]), x**2 + 44100 + 1000, rtol=1e-6)
    assert "line width 0" in error.message and list(error.tags) == ["spatial"]


async def test_line_entirely_outside_sends_nothing(carta_url: str, parabola: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, "parabola.fits")
        ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
            region_type=RT.LINE, control_points=[pb.Point(x=100, y=100), pb.Point(x=120, y=100)])))
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=ack.region_id, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="", width=3)]))
        partly = await line_profile(client, RT.LINE, [(55.0, 10.0), (75.0, 10.0)], 1)
    assert partly.region_id == ack.region_id + 1  # the first line produced no message
    values = ex.fp32(partly.profiles[0])  # index 0 at (75, 10): off the 64-pixel image
    assert values.size == 21 and np.isnan(values[:12]).all()
    np.testing.assert_allclose(values[12:], np.arange(63, 54, -1) ** 2 + 10000.0, rtol=1e-6)


@pytest.mark.parametrize("start, end, mip", [(0, 0, 2), (3, 50, 4), (0, 64, 8)])
async def test_decimated_cursor_profile(carta_url: str, data_dir: Path, start: int, end: int, mip: int) -> None:
    rng = np.random.default_rng(3)
    plane = rng.normal(size=(40, 64)).astype(np.float32)
    plane[10, 5:9] = np.nan
    write_fits(data_dir / "noise.fits", plane, header_1arcsec(64, 40))
    async with open_client(carta_url) as client:
        await open_image(client, "noise.fits")
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=20, y=10), spatial_requirements=pb.SetSpatialRequirements(
            file_id=0, region_id=0, spatial_profiles=[
                pb.SetSpatialRequirements.SpatialConfig(coordinate="x", start=start, end=end, mip=mip)])))
        message = (await client.expect(pb.SpatialProfileData)).message
    (profile,) = message.profiles
    full_end = end or 64
    ds, de = math.ceil(start / (2 * mip)) * 2, math.ceil(full_end / (2 * mip)) * 2
    row = plane[10, ds * mip : min(de * mip, 64)]
    want = []
    for w in range(0, row.size, 2 * mip):
        window = row[w : w + 2 * mip]
        valid = np.flatnonzero(~np.isnan(window))
        if valid.size == 0:
            want += [np.nan, np.nan]
            continue
        lo = valid[np.argmin(window[valid])]
        hi = valid[np.argmax(window[valid])]
        want += [window[min(lo, hi)], window[max(lo, hi)]]
    want = np.array(want[: de - ds], dtype=np.float32)
    assert (profile.start, profile.end, profile.mip) == (start, full_end, mip)
    assert np.array_equal(ex.fp32(profile), want, equal_nan=True)
