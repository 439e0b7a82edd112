"""Moments and PV through the real server: MOMENT_REQUEST / PV_REQUEST flows, the new
images served like files (tiles checked against numpy), STOP and CLOSE_FILE
cancellation, PV previews that follow the cut, and bad input. Expected numbers are
computed here with numpy from ANALYTICS.md §6-7, never with carta_trio.analysis."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors import moments as moments_actor
from carta_trio.actors import pv as pv_actor
from carta_trio.actors import pv_preview as pv_preview_actor
from carta_trio.actors import workers
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests import analytics_expect as ex
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.test_protocol_tiles import code, decode

NONE, ZFP = pb.CompressionType.NONE, pb.CompressionType.ZFP
RT = pb.RegionType
C_KMS = 299792.458
SHAPE = (8, 24, 32)  # channels, height, width
REST = 230.538e9  # wcs_header's FREQ axis: 230.538 GHz + k MHz, RESTFRQ 230.538 GHz


@pytest.fixture
async def settled_workers() -> AsyncIterator[None]:
    """After the test (and its server), wait for worker threads of cancelled chunks.

    trio releases a thread's CPU-limiter token only when the thread ends *within the
    same trio.run*; the limiter is process-wide, so a thread abandoned by a cancelled
    job at the very end of a test would otherwise hold its token for every later test
    (pytest-trio ignores autouse async fixtures, hence the explicit ``url`` fixture).
    """
    yield
    with trio.move_on_after(30):
        while workers.cpu_limiter().borrowed_tokens:
            await trio.sleep(0.02)


@pytest.fixture
async def url(settled_workers: None, carta_url: str) -> str:
    """The test server's URL; its teardown waits for abandoned worker threads."""
    return carta_url


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    data = make_cube(SHAPE, seed=5)
    write_fits(data_dir / "cube.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    return data


def slow_down(monkeypatch: pytest.MonkeyPatch, module: object, name: str, seconds: float = 0.05) -> None:
    """Make one chunk of a job take at least ``seconds``, so a STOP always lands mid-job."""
    original = getattr(module, name)

    def slow(*args: object) -> object:
        time.sleep(seconds)
        return original(*args)

    monkeypatch.setattr(module, name, slow)


def write_big_cube(data_dir: Path, shape: tuple[int, int, int] = (96, 512, 512)) -> None:
    data = np.random.default_rng(1).standard_normal(shape, dtype=np.float32) + 1.0
    write_fits(data_dir / "big.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))


async def open_file(client: CartaClient, name: str, file_id: int = 0) -> None:
    ack = await client.request(pb.OpenFile(directory="", file=name, file_id=file_id))
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData)


async def until(client: CartaClient, cls: type, timeout: float = 30) -> list:
    return await client.collect_until(lambda e: isinstance(e.message, cls), timeout=timeout)


async def tile_of(client: CartaClient, file_id: int) -> np.ndarray:
    """The whole (small) image of a frame, as one uncompressed tile."""
    await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=[code(0, 0, 0)], compression_type=NONE))
    tile = (await client.expect(pb.RasterTileData, timeout=20)).message
    await client.expect(pb.RasterTileSync)
    return decode(tile.tiles[0], NONE, 0)


def line(points: list[tuple[float, float]]) -> pb.RegionInfo:
    return pb.RegionInfo(region_type=RT.LINE, control_points=[pb.Point(x=x, y=y) for x, y in points])


def moment_request(moments: list[int], z: tuple[int, int] = (0, SHAPE[0] - 1), mask: int = 0,
                   pixels: tuple[float, float] = (0.0, 0.0), region_id: int = -1, keep: bool = False,
                   file_id: int = 0) -> pb.MomentRequest:
    return pb.MomentRequest(file_id=file_id, moments=moments, axis=pb.MomentAxis.SPECTRAL, region_id=region_id,
                            spectral_range=pb.IntBounds(min=z[0], max=z[1]), mask=mask,
                            pixel_range=pb.FloatBounds(min=pixels[0], max=pixels[1]), keep=keep)


def expected_moments(data: np.ndarray, z0: int, lo: float, hi: float) -> dict[int, np.ndarray]:
    """The 13 moments of ``data`` [z, y, x] (channels from ``z0``) with an include range."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _expected_moments(data, z0, lo, hi)


def _expected_moments(data: np.ndarray, z0: int, lo: float, hi: float) -> dict[int, np.ndarray]:
    nz = data.shape[0]
    v = np.where((data >= lo) & (data <= hi), data, np.nan).astype(np.float64)
    vel = C_KMS * (1.0 - (REST + 1e6 * np.arange(z0, z0 + nz)) / REST)
    width = C_KMS * 1e6 / REST
    n = np.sum(np.isfinite(v), axis=0)
    s0 = np.nansum(v, axis=0)
    m1 = (np.nansum(v * vel[:, None, None], axis=0) / s0).astype(np.float32)
    # §6.3: m1 is rounded to float32 and squared in float32 before the subtraction
    spread = np.abs((np.nansum(v * vel[:, None, None] ** 2, axis=0) / s0 - (m1 * m1).astype(np.float64)).astype(np.float32))
    m2 = np.where(spread > 0, np.sqrt(spread), np.nan)
    filled_max = np.where(np.isfinite(v), v, -np.inf)
    filled_min = np.where(np.isfinite(v), v, np.inf)
    median_coord = np.full(data.shape[1:], np.nan)
    for y, x in zip(*np.nonzero(n)):
        values = v[:, y, x]
        idx = np.flatnonzero(np.isfinite(values))
        cum = np.cumsum(np.abs(values[idx]))  # every selected value is positive here
        median_coord[y, x] = vel[idx[np.argmax(cum >= cum.max() / 2)]]
    out = {
        0: s0 / n, 1: s0 * width, 2: m1, 3: m2, 4: np.nanmedian(v, axis=0), 5: median_coord,
        6: np.nanstd(v, axis=0, ddof=1), 7: np.sqrt(np.nanmean(v**2, axis=0)),
        8: np.nanmean(np.abs(v - (s0 / n)), axis=0), 9: filled_max.max(axis=0), 10: vel[filled_max.argmax(axis=0)],
        11: filled_min.min(axis=0), 12: vel[filled_min.argmin(axis=0)],
    }
    return {k: np.where(n > 0, val, np.nan) for k, val in out.items()}


SUFFIX = ["average", "integrated", "weighted_coord", "weighted_dispersion_coord", "median", "median_coord",
          "standard_deviation", "rms", "abs_mean_dev", "maximum", "maximum_coord", "minimum", "minimum_coord"]


# ------------------------------------------------------------------ moments


async def test_all_moments_open_as_frames_whose_tiles_match_numpy(url: str, cube: np.ndarray) -> None:
    lo, hi = 0.5, 1e6
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "cube.fits")
        request_id = await client.send(moment_request(list(range(13)), z=(1, 6), mask=1, pixels=(hi, lo)))
        messages = await until(client, pb.MomentResponse)
        progress = [e.message.progress for e in messages if isinstance(e.message, pb.MomentProgress)]
        histograms = [e.message for e in messages if isinstance(e.message, pb.RegionHistogramData)]
        response = messages[-1].message
        assert response.success and not response.cancel, response.message
        assert messages[-1].request_id == request_id
        assert progress and all(0 < p < 1 for p in progress) and progress == sorted(progress)
        assert all(e.request_id == request_id for e in messages if isinstance(e.message, pb.MomentProgress))
        ids = [ack.file_id for ack in response.open_file_acks]
        assert ids == [1000 + m for m in range(13)]
        assert [h.file_id for h in histograms] == ids and all(h.region_id == -1 for h in histograms)
        expected = expected_moments(cube[1:7], 1, lo, hi)
        for moment, ack in enumerate(response.open_file_acks):
            assert ack.success and ack.file_info.name == f"cube.fits.moment.{SUFFIX[moment]}"
            assert ack.file_info.type == pb.FileType.CASA and list(ack.file_info.HDU_list) == [""]
            info = ack.file_info_extended
            assert (info.width, info.height, info.depth) == (SHAPE[2], SHAPE[1], 1)
            unit = next(e.value for e in info.header_entries if e.name == "BUNIT")
            assert unit == {1: "Jy/beam.km/s", 2: "km/s", 3: "km/s", 5: "km/s", 10: "km/s", 12: "km/s"}.get(moment, "Jy/beam")
            got = await tile_of(client, ack.file_id)
            want = expected[moment]
            assert np.array_equal(np.isnan(got), np.isnan(want)), moment
            rel = 1e-4 if moment == 3 else 2e-6
            np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=rel, atol=1e-5,
                                       err_msg=SUFFIX[moment])
        assert await client.ping()


async def test_region_keep_stokes_and_names(url: str, data_dir: Path) -> None:
    data = make_cube((2, *SHAPE), seed=9)
    write_fits(data_dir / "iquv.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "iquv.fits", file_id=2)
        await client.send(pb.SetImageChannels(file_id=2, channel=0, stokes=1))
        await client.expect(pb.RegionHistogramData)
        region = await client.request(pb.SetRegion(file_id=2, region_id=-1, region_info=pb.RegionInfo(
            region_type=RT.ELLIPSE, control_points=[pb.Point(x=15.3, y=11.6), pb.Point(x=6.2, y=4.1)])))
        assert region.success
        ids, names = [], []
        for keep in (True, True, False):
            await client.send(moment_request([0, 9], region_id=region.region_id, keep=keep, file_id=2))
            response = (await until(client, pb.MomentResponse))[-1].message
            assert response.success, response.message
            ids.append([a.file_id for a in response.open_file_acks])
            names.append([a.file_info.name for a in response.open_file_acks])
        assert ids == [[3013, 3022], [3026, 3035], [3000, 3009]]
        assert names[1] == ["iquv.fits.moment.average2", "iquv.fits.moment.maximum2"]
        assert names[2] == ["iquv.fits.moment.average", "iquv.fits.moment.maximum"]
        first = response
        mask = ex.ellipse_mask(SHAPE[1:], 15.3, 11.6, 6.2, 4.1)
        ys, xs = np.nonzero(mask)
        box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        info = first.open_file_acks[0].file_info_extended
        assert (info.width, info.height, info.dimensions) == (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1, 4)
        got = await tile_of(client, 3000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(data[1].astype(np.float64), axis=0)
        want = np.where(mask, mean, np.nan)[box]
        assert np.array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=2e-6)


async def test_moments_along_the_stokes_axis_keep_the_channels(url: str, data_dir: Path) -> None:
    data = make_cube((2, 5, 12, 14), seed=2, nans=False)
    write_fits(data_dir / "s.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "s.fits")
        await client.send(pb.MomentRequest(file_id=0, moments=[0, 9], axis=pb.MomentAxis.STOKES, region_id=-1,
                                           spectral_range=pb.IntBounds(min=1, max=3)))
        response = (await until(client, pb.MomentResponse))[-1].message
        assert response.success, response.message
        info = response.open_file_acks[0].file_info_extended
        assert (info.width, info.height, info.depth, info.stokes) == (14, 12, 3, 1)
        header = {e.name: e for e in info.header_entries}
        assert header["CRVAL3"].numeric_value == 230.538e9 + 1e6  # channel 1 is the first plane
        np.testing.assert_array_equal(await tile_of(client, 1000), data[0, 1])  # one sample: its value
        await client.send(pb.SetImageChannels(file_id=1009, channel=2, stokes=0))
        await client.expect(pb.RegionHistogramData)
        np.testing.assert_array_equal(await tile_of(client, 1009), data[0, 3])


async def test_stop_moment_calc_and_close_file_cancel_quickly(url: str, data_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write_big_cube(data_dir, (96, 128, 128))
    slow_down(monkeypatch, moments_actor, "compute_chunk", 0.15)
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "big.fits")
        await client.send(moment_request([4, 5, 8], z=(0, 95), mask=2, pixels=(-0.1, 0.1)))
        await client.expect(pb.MomentProgress, timeout=60)
        with trio.move_on_after(0.05):
            await client.expect(pb.MomentProgress, timeout=None)
        stopped = trio.current_time()
        await client.send(pb.StopMomentCalc(file_id=0))
        messages = await until(client, pb.MomentResponse, timeout=10)
        assert trio.current_time() - stopped < 1.0
        response = messages[-1].message
        assert response.success and response.cancel and not response.open_file_acks
        with trio.move_on_after(0.5):
            extra = await client.receive(timeout=None)
            assert not isinstance(extra.message, pb.MomentProgress), "progress after the response"
        # CLOSE_FILE during a job: the response comes back cancelled too.
        await client.send(moment_request([4], z=(0, 95)))
        await client.expect(pb.MomentProgress, timeout=60)
        await client.send(pb.CloseFile(file_id=0))
        response = (await until(client, pb.MomentResponse, timeout=10))[-1].message
        assert response.cancel and not response.open_file_acks
        assert await client.ping()


async def test_file_closed_while_moment_images_are_made_is_a_cancel(
    url: str, cube: np.ndarray, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The file closes (CLOSE_FILE, or a RESUME_SESSION parking it: found by the long fuzz
    run) after the moments are computed, while their images are made from its reader:
    the response is a cancel, not a traceback."""
    made = trio.Event()
    token = trio.lowlevel.current_trio_token()
    original = moments_actor.make_images

    def late(*args: object) -> object:
        token.run_sync_soon(made.set)
        time.sleep(0.5)  # the CLOSE_FILE below is handled meanwhile
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(moments_actor, "make_images", late)
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "cube.fits")
        await client.send(moment_request([0]))
        await made.wait()
        await client.send(pb.CloseFile(file_id=0))
        response = (await until(client, pb.MomentResponse, timeout=30))[-1].message
        assert response.success and response.cancel and not response.open_file_acks
        assert await client.ping()
    assert not [r for r in caplog.records if r.exc_info]


async def test_cursor_and_tiles_are_served_while_moments_run(url: str, data_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write_big_cube(data_dir, (96, 300, 300))
    slow_down(monkeypatch, moments_actor, "compute_chunk", 0.2)
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "big.fits")
        await client.send(moment_request([4, 6], z=(0, 95), mask=1, pixels=(-10, 10)))
        await client.expect(pb.MomentProgress, timeout=60)
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=100, y=200)))
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[code(0, 0, 1)], compression_type=ZFP,
                                              compression_quality=11))
        seen = await client.collect_until(lambda e: isinstance(e.message, pb.MomentResponse), timeout=120)
        kinds = [type(e.message).__name__ for e in seen]
        assert "SpatialProfileData" in kinds and "RasterTileData" in kinds
        assert kinds.index("SpatialProfileData") < kinds.index("MomentResponse")
        assert seen[-1].message.success


async def test_moment_bad_input_gets_a_clear_answer(url: str, cube: np.ndarray, data_dir: Path) -> None:
    write_fits(data_dir / "flat.fits", cube[0], wcs_header(("RA---SIN", "DEC--SIN")))
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "cube.fits")
        await open_file(client, "flat.fits", file_id=1)
        far = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
            region_type=RT.RECTANGLE, control_points=[pb.Point(x=500, y=500), pb.Point(x=4, y=4)])))
        cut = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(1, 1), (9, 9)])))
        cases = [
            (moment_request([0], file_id=7), "File id 7 not found"),
            (moment_request([0], z=(5, 2)), "Invalid spectral range [5, 2]"),
            (moment_request([0], z=(0, 8)), "Invalid spectral range [0, 8]"),
            (moment_request([0], region_id=far.region_id), "contains no pixel"),
            (moment_request([0], region_id=cut.region_id), "not a closed region"),
            (moment_request([0], region_id=42), "Region 42 not found"),
            (moment_request([5]), "median coordinate needs"),
            (moment_request([]), "No moments requested"),
            (moment_request([0], mask=1, pixels=(1e6, 2e6)), "No pixel passes"),
            (moment_request([0], file_id=1, z=(0, 0)), "spectral (depth) axis"),
        ]
        for message, text in cases:
            await client.send(message)
            response = (await until(client, pb.MomentResponse))[-1].message
            assert not response.success and text in response.message, (text, response.message)
        assert await client.ping()


# ------------------------------------------------------------------------ PV


def cut_spectra(data: np.ndarray, xs: range, y: int, width: int) -> np.ndarray:
    """[boxes, channels]: means of ``width`` pixels along a horizontal cut."""
    h = width // 2
    return np.array([[data[c, y, x - h : x + h + 1].astype(np.float64).mean() for c in range(data.shape[0])]
                     for x in xs])


async def test_pv_images_values_headers_and_names(url: str, quad: np.ndarray) -> None:
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "quad.fits")
        cut = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(30, 20), (10, 20)])))
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=5))
        messages = await until(client, pb.PvResponse)
        progress = [e.message for e in messages if isinstance(e.message, pb.PvProgress)]
        assert progress and progress[-1].progress == 1.0 and all(p.preview_id == 0 for p in progress)
        assert [e.message.file_id for e in messages if isinstance(e.message, pb.RegionHistogramData)] == [-1000]
        ack = messages[-1].message.open_file_ack
        assert messages[-1].message.success and ack.success and ack.file_id == -1000
        assert ack.file_info.name == "quad_pv.fits"
        header = {e.name: e for e in ack.file_info_extended.header_entries}
        assert header["CTYPE1"].value == "OFFSET" and header["CRPIX1"].numeric_value == 11
        assert header["CDELT1"].numeric_value == pytest.approx(1.0, rel=1e-6) and header["CUNIT1"].value == "arcsec"
        assert header["CTYPE2"].value == "FREQ" and header["CRVAL2"].numeric_value == REST
        expected = cut_spectra(quad, range(10, 31), 20, 5)
        got = await tile_of(client, -1000)
        assert got.shape == (3, 21) and got[0, 0] == 40102 and got[1, 0] == 80204
        np.testing.assert_allclose(got, expected.T, rtol=1e-7)

        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=1, reverse=True, keep=True,
                                       spectral_range=pb.IntBounds(min=1, max=2)))
        response = (await until(client, pb.PvResponse))[-1].message
        assert response.open_file_ack.file_id == -1001 and response.open_file_ack.file_info.name == "quad_pv1.fits"
        header = {e.name: e for e in response.open_file_ack.file_info_extended.header_entries}
        assert header["CTYPE1"].value == "FREQ" and header["CRVAL1"].numeric_value == REST + 1e6
        assert header["CTYPE2"].value == "OFFSET"
        got = await tile_of(client, -1001)
        np.testing.assert_array_equal(got, quad[1:3, 20, 10:31].T)
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=1, keep=False))
        response = (await until(client, pb.PvResponse))[-1].message
        assert response.open_file_ack.file_id == -1000 and response.open_file_ack.file_info.name == "quad_pv.fits"


async def test_pv_of_a_stokes_cube_uses_the_current_stokes(url: str, data_dir: Path) -> None:
    data = make_cube((2, 4, 30, 40), seed=4, nans=False)
    cards = [c for c in wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")) if c[0] not in ("CDELT1", "CDELT2")]
    write_fits(data_dir / "iquv.fits", data, cards + [("CDELT1", -1 / 3600, ""), ("CDELT2", 1 / 3600, "")])
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "iquv.fits")
        await client.send(pb.SetImageChannels(file_id=0, channel=0, stokes=1))
        await client.expect(pb.RegionHistogramData)
        cut = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(25, 12), (5, 12)])))
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=3))
        ack = (await until(client, pb.PvResponse))[-1].message.open_file_ack
        info = ack.file_info_extended
        assert (info.dimensions, info.width, info.height, info.stokes) == (3, 21, 4, 1)
        assert info.axes_numbers.spatial_x == 1 and info.axes_numbers.spectral == 2 and info.axes_numbers.stokes == 3
        header = {e.name: e for e in info.header_entries}
        assert header["CTYPE3"].value == "STOKES"
        assert header["CRVAL3"].numeric_value == 1  # the Stokes index used as a code, as the reference
        np.testing.assert_allclose(await tile_of(client, ack.file_id), cut_spectra(data[1], range(5, 26), 12, 3).T,
                                   rtol=1e-6)


async def test_stop_pv_calc(url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_big_cube(data_dir, (16, 400, 400))
    slow_down(monkeypatch, pv_actor, "read_box_spectra")
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "big.fits")
        cut = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(5, 5), (395, 390)])))
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=20))
        first = (await client.expect(pb.PvProgress, timeout=60)).message
        assert first.progress < 1.0
        await client.send(pb.StopPvCalc(file_id=0))
        response = (await until(client, pb.PvResponse, timeout=10))[-1].message
        assert not response.success and response.cancel and response.message == "PV image generator cancelled."
        # Moving the cut cancels the PV image being computed from it.
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=20))
        await client.expect(pb.PvProgress, timeout=60)
        moved = await client.request(pb.SetRegion(file_id=0, region_id=cut.region_id,
                                                  region_info=line([(6, 5), (395, 390)])))
        assert moved.success
        response = (await until(client, pb.PvResponse, timeout=10))[-1].message
        assert response.cancel and response.message == "PV image generator cancelled."


async def test_pv_bad_input_gets_a_clear_answer(url: str, quad: np.ndarray, data_dir: Path) -> None:
    write_fits(data_dir / "flat.fits", quad[0], wcs_header(("RA---SIN", "DEC--SIN")))
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "quad.fits")
        await open_file(client, "flat.fits", file_id=1)
        ok = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(30, 20), (10, 20)])))
        dot = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(3, 3), (3, 3)])))
        box = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
            region_type=RT.RECTANGLE, control_points=[pb.Point(x=5, y=5), pb.Point(x=4, y=4)])))
        flat_cut = await client.request(pb.SetRegion(file_id=1, region_id=-1, region_info=line([(3, 3), (9, 3)])))
        cases = [
            (pb.PvRequest(file_id=9, region_id=ok.region_id, width=1), "File id 9 not found"),
            (pb.PvRequest(file_id=0, region_id=0, width=1), "Invalid region id."),
            (pb.PvRequest(file_id=0, region_id=77, width=1), "PV image requested for invalid region."),
            (pb.PvRequest(file_id=0, region_id=box.region_id, width=1), "Region type not supported for PV cut."),
            (pb.PvRequest(file_id=0, region_id=ok.region_id, width=0), "Invalid averaging width."),
            (pb.PvRequest(file_id=0, region_id=ok.region_id, width=21), "Invalid averaging width."),
            (pb.PvRequest(file_id=0, region_id=dot.region_id, width=1), "zero length"),
            (pb.PvRequest(file_id=1, region_id=flat_cut.region_id, width=1), "No spectral coordinate"),
            (pb.PvRequest(file_id=0, region_id=ok.region_id, width=1, spectral_range=pb.IntBounds(min=2, max=5)),
             "Invalid spectral range [2, 5]"),
        ]
        for message, text in cases:
            await client.send(message)
            response = (await until(client, pb.PvResponse))[-1].message
            assert not response.success and text in response.message, (text, response.message)
        assert await client.ping()


async def test_pv_preview_follows_the_cut_until_closed(url: str, quad: np.ndarray) -> None:
    settings = pb.PvPreviewSettings(preview_id=0, region_id=-1, rebin_xy=1, rebin_z=1, compression_type=ZFP,
                                    image_compression_quality=28, animation_compression_quality=9)
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "quad.fits")
        cut = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(30, 20), (10, 20)])))
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=5, preview_settings=settings))
        messages = await until(client, pb.PvResponse)
        progress = [e.message for e in messages if isinstance(e.message, pb.PvProgress)]
        assert progress[-1].progress == 1.0 and all(p.preview_id == 0 for p in progress)
        assert not [e for e in messages if isinstance(e.message, pb.RegionHistogramData)]
        response = messages[-1].message
        data = response.preview_data
        assert response.success and (data.width, data.height) == (21, 3) and data.compression_quality == 28
        assert (data.image_info.width, data.image_info.height) == (21, 3)
        assert data.image_info.axes_numbers.spatial_x == 1 and data.image_info.axes_numbers.spectral == 2
        expected = cut_spectra(quad, range(10, 31), 20, 5).T
        got = decode(pb.TileData(width=21, height=3, image_data=data.image_data, nan_encodings=data.nan_encodings),
                     ZFP, data.compression_quality)
        np.testing.assert_allclose(got, expected, rtol=1e-5)
        assert data.histogram_bounds.min == pytest.approx(expected.min(), rel=1e-6)
        assert data.histogram_bounds.max == pytest.approx(expected.max(), rel=1e-6)
        assert data.histogram.num_bins == int(max(math.sqrt(63), 2)) and sum(data.histogram.bins) == 63

        moved = await client.request(pb.SetRegion(file_id=0, region_id=cut.region_id,
                                                  region_info=line([(20, 10), (20, 30)])))
        assert moved.success
        update = (await client.expect(pb.PvPreviewData, timeout=20))
        assert update.request_id == 0 and update.message.preview_id == 0 and update.message.histogram.num_bins > 0
        values = decode(pb.TileData(width=21, height=3, image_data=update.message.image_data,
                                    nan_encodings=update.message.nan_encodings), ZFP, update.message.compression_quality)
        assert values[0, 0] == pytest.approx(90600, rel=1e-5) and values[0, -1] == pytest.approx(10600, rel=1e-5)

        # Dragging (preview_region, no ack): quick updates at the animation quality, no histogram.
        await client.send(pb.SetRegion(file_id=0, region_id=cut.region_id, preview_region=True,
                                       region_info=line([(30, 22), (10, 22)])))
        quick = (await client.expect(pb.PvPreviewData, timeout=20)).message
        assert not quick.HasField("histogram") and quick.compression_quality == 9
        assert (quick.width, quick.height) == (21, 3) and quick.histogram_bounds.min == pytest.approx(
            cut_spectra(quad, range(10, 31), 22, 5).min(), rel=1e-6)

        await client.send(pb.ClosePvPreview(preview_id=0))
        await client.request(pb.SetRegion(file_id=0, region_id=cut.region_id, region_info=line([(30, 21), (10, 21)])))
        with trio.move_on_after(1.0):
            late = await client.expect(pb.PvPreviewData, timeout=None)
            raise AssertionError(f"preview data after CLOSE_PV_PREVIEW: {late}")


async def test_pv_preview_rebinned_and_uncompressed(url: str, quad: np.ndarray) -> None:
    settings = pb.PvPreviewSettings(preview_id=3, region_id=-1, rebin_xy=2, rebin_z=2, compression_type=NONE,
                                    image_compression_quality=11, animation_compression_quality=9)
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "quad.fits")
        cut = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(40, 20), (8, 20)])))
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=1, preview_settings=settings))
        data = (await until(client, pb.PvResponse))[-1].message.preview_data
        rebinned = quad.astype(np.float64).reshape(3, 32, 2, 32, 2).mean(axis=(2, 4))
        planes = np.stack([(rebinned[0] + rebinned[1]) / 2, np.full((32, 32), np.nan)])
        want = planes[:, 10, 4:21]  # cut (20, 10) -> (4, 10) in preview pixels, box 0 at x = 4
        assert (data.width, data.height) == (17, 2)
        got = np.frombuffer(data.image_data, "<f4").reshape(2, 17)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
        assert np.isnan(got[1]).all()
        # A preview region: its bounding box (x 10-50, y 15-35) is the preview cube.
        box = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
            region_type=RT.RECTANGLE, control_points=[pb.Point(x=30, y=25), pb.Point(x=41, y=21)])))
        settings.region_id, settings.rebin_xy, settings.rebin_z, settings.preview_id = box.region_id, 1, 1, 4
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=1, preview_settings=settings))
        data = (await until(client, pb.PvResponse))[-1].message.preview_data
        got = np.frombuffer(data.image_data, "<f4").reshape(data.height, data.width)
        assert (data.width, data.height) == (33, 3)  # boxes at preview x = -2 ... 30, row 5
        assert np.isnan(got[:, 0]).all()
        np.testing.assert_array_equal(got[:, 2:], quad[:, 20, 10:41])


async def test_stop_pv_preview_cancels_loading(url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_big_cube(data_dir, (64, 256, 256))
    slow_down(monkeypatch, pv_preview_actor, "_load_groups", 0.5)
    settings = pb.PvPreviewSettings(preview_id=1, region_id=-1, rebin_xy=4, rebin_z=1, compression_type=ZFP,
                                    image_compression_quality=11, animation_compression_quality=9)
    async with open_client(url) as client:
        await client.register()
        await open_file(client, "big.fits")
        cut = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(5, 5), (300, 200)])))
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=3, preview_settings=settings))
        await client.send(pb.StopPvPreview(preview_id=1))
        response = (await until(client, pb.PvResponse, timeout=20))[-1].message
        assert response.cancel and not response.success and response.message == "PV image preview cancelled."
        assert response.preview_data.preview_id == 1 and response.preview_data.width == 0
