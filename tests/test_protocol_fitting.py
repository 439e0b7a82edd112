"""Image fitting through the real server: FITTING_REQUEST -> FITTING_PROGRESS... ->
FITTING_RESPONSE, STOP_FITTING, regions and field of view, model/residual images served
as frames (tiles), and bad input.

Images are written by the tests with known Gaussians plus noise; the expected model
pixels are recomputed here from the returned parameters with rotated-axis Gaussians
(the fwhm_x axis at pa from +y towards -x), independently of the server's code.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors.fitting_images import fit_image_ids, fit_image_name
from carta_trio.actors.workers import cpu_limiter
from carta_trio.codecs.tile_geometry import encode_tile_code
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from carta_trio.messages.registry import Envelope
from tests.image_factory import wcs_header, write_fits

ET = pb.EventType
RT = pb.RegionType
SHAPE = (3, 80, 96)  # channels, height, width
TRUTH = [(60.4, 35.2, 20.0, 10.0, 5.0, 30.0), (25.3, 50.1, 12.0, 7.0, 5.0, 120.0)]
GUESS = [(61.0, 36.0, 15.0, 8.0, 6.0, 20.0), (26.0, 49.0, 10.0, 6.0, 4.0, 110.0)]
OFFSET = 1.5
NOISE = 0.5
BEAM_PIXELS = math.sqrt(5.0 * 3.0)  # BMAJ 0.0025 deg, BMIN 0.0015 deg, CDELT 0.0005 deg
LN2x8 = 8 * math.log(2)


def gaussian(shape: tuple[int, int], cx: float, cy: float, amp: float, fx: float, fy: float, pa: float,
             origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    xs += origin[0]
    ys += origin[1]
    t = math.radians(pa)
    u = (xs - cx) * -math.sin(t) + (ys - cy) * math.cos(t)
    v = (xs - cx) * math.cos(t) + (ys - cy) * math.sin(t)
    return amp * np.exp(-0.5 * (u * u / (fx * fx / LN2x8) + v * v / (fy * fy / LN2x8)))


def model_of(shape: tuple[int, int], response: pb.FittingResponse, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    out = np.full(shape, response.offset_value)
    for c in response.result_values:
        out += gaussian(shape, c.center.x, c.center.y, c.amp, c.fwhm.x, c.fwhm.y, c.pa, origin)
    return out


def flat(c: pb.GaussianComponent) -> tuple[float, ...]:
    return (c.center.x, c.center.y, c.amp, c.fwhm.x, c.fwhm.y, c.pa)


def components(values: list[tuple[float, ...]]) -> list[pb.GaussianComponent]:
    return [pb.GaussianComponent(center=pb.DoublePoint(x=v[0], y=v[1]), amp=v[2],
                                 fwhm=pb.DoublePoint(x=v[3], y=v[4]), pa=v[5]) for v in values]


def request(file_id: int = 0, values: list[tuple[float, ...]] = GUESS, fixed: list[bool] | None = None,
            **fields: object) -> pb.FittingRequest:
    if fixed is None:
        fixed = [False] * (6 * len(values) + 1)
    return pb.FittingRequest(file_id=file_id, initial_values=components(values), fixed_params=fixed,
                             region_id=fields.pop("region_id", -1), **fields)


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    rng = np.random.default_rng(21)
    data = np.empty(SHAPE, dtype=np.float64)
    for channel in range(SHAPE[0]):
        scale = 1.0 if channel == 1 else 0.5
        data[channel] = OFFSET + rng.normal(0.0, NOISE, SHAPE[1:])
        for truth in TRUTH:
            data[channel] += scale * gaussian(SHAPE[1:], *truth)
    data[:, 2:5, 2:5] = np.nan
    data[:, 70:78, 80:90] = np.nan  # an all-NaN corner for a region test
    out = data.astype(np.float32)
    write_fits(data_dir / "cube.fits", out, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    return out


async def open_image(client: CartaClient, name: str = "cube.fits", file_id: int = 0, channel: int = 1) -> None:
    await client.register()
    ack = await client.request(pb.OpenFile(directory="", file=name, file_id=file_id))
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData)
    if channel:
        await client.send(pb.SetImageChannels(file_id=file_id, channel=channel, stokes=0))
        while (await client.expect(pb.RegionHistogramData)).message.channel != channel:
            pass


async def fit(client: CartaClient, message: pb.FittingRequest, timeout: float = 60) -> tuple[list[Envelope], pb.FittingResponse]:
    """Send a fit; return everything received up to its response, and the response."""
    request_id = await client.send(message)
    received = await client.collect_until(
        lambda e: e.event_type == ET.FITTING_RESPONSE and e.request_id == request_id, timeout)
    return received, received[-1].message


def progress_of(received: list[Envelope]) -> list[Envelope]:
    return [e for e in received if e.event_type == ET.FITTING_PROGRESS]


async def test_fit_current_channel_with_errors_flux_and_log(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client)
        received, response = await fit(client, request(solver=pb.FittingSolverType.Svd))
    assert response.success, response.message
    assert response.message == ""
    assert len(response.result_values) == 2 and len(response.result_errors) == 2
    for value, error, truth in zip(response.result_values, response.result_errors, TRUTH):
        for v, e, t in zip(flat(value), flat(error), truth):
            assert 0 < e and abs(v - t) <= 4 * e, (flat(value), flat(error), truth)
    assert 0 < response.offset_error and abs(response.offset_value - OFFSET) <= 4 * response.offset_error
    # Jy/beam with a beam: F = 2π·fx·fy/(8 ln 2)·amp / (π·θ²/(4 ln 2))
    beam_area = math.pi * BEAM_PIXELS ** 2 / (4 * math.log(2))
    for c, flux in zip(response.result_values, response.integrated_flux_values):
        assert flux == pytest.approx(2 * math.pi * c.fwhm.x * c.fwhm.y / LN2x8 * c.amp / beam_area, rel=1e-12)
    assert len(response.integrated_flux_errors) == 2 and all(e > 0 for e in response.integrated_flux_errors)
    assert response.log.startswith("Gaussian fitting with 2 component(s)\n"
                                   "summary from method 'trust-region/levenberg-marquardt':\n")
    plane = cube[1].astype(np.float64)
    cost = float(np.nansum((plane - model_of(plane.shape, response)) ** 2))
    final = float(response.log.split("final cost           = ")[1].split("\n")[0])
    assert final == pytest.approx(cost, rel=1e-4)
    # progress: the request's id and file, increasing, ending at (200 + 1)/(200 + 2)
    progress = progress_of(received)
    assert progress and all(e.request_id == received[-1].request_id and e.message.file_id == 0 for e in progress)
    values = [e.message.progress for e in progress]
    # one per solver iteration, from before the first (the GSL driver's callback), then 201/202
    iterations = int(response.log.split("number of iterations = ")[1].split("\n")[0])
    assert iterations >= 2
    assert values == pytest.approx([(k + 1) / 202 for k in range(iterations + 1)] + [201 / 202])
    assert not response.HasField("model_image") and not response.HasField("residual_image")


async def test_fit_in_region_and_field_of_view(carta_url: str, cube: np.ndarray) -> None:
    box = [(60.0, 35.0), (30.0, 24.0)]  # rectangle around the first source only
    async with open_client(carta_url) as client:
        await open_image(client)
        ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
            region_type=RT.RECTANGLE, control_points=[pb.Point(x=x, y=y) for x, y in box])))
        assert ack.success
        _, in_region = await fit(client, request(values=GUESS[:1], region_id=ack.region_id))
        fov = pb.RegionInfo(region_type=RT.RECTANGLE, control_points=[pb.Point(x=x, y=y) for x, y in box])
        _, in_fov = await fit(client, request(values=GUESS[:1], region_id=0, fov_info=fov))
        _, whole = await fit(client, request(values=GUESS[:1], fixed=[False] * 6 + [True], offset=OFFSET))
    for response in (in_region, in_fov):
        assert response.success, response.message
        value, error = flat(response.result_values[0]), flat(response.result_errors[0])
        for v, e, t in zip(value, error, TRUTH[0]):
            assert abs(v - t) <= 4 * e, (value, error)
    # the same pixels give the same fit whether named by region or by field of view
    assert flat(in_region.result_values[0]) == pytest.approx(flat(in_fov.result_values[0]), abs=1e-9)
    # the whole image with one component sees the second source too: a different answer
    assert whole.success and flat(whole.result_values[0]) != pytest.approx(flat(in_region.result_values[0]), abs=1e-6)


async def tile_values(client: CartaClient, file_id: int, width: int, height: int) -> np.ndarray:
    await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=[encode_tile_code(0, 0, 0)],
                                          compression_type=pb.CompressionType.NONE))
    while True:
        tile = (await client.expect(pb.RasterTileData)).message
        if tile.file_id == file_id:
            break
    data = tile.tiles[0]
    assert (data.width, data.height) == (width, height)
    return np.frombuffer(data.image_data, dtype="<f4").reshape(height, width)


async def test_model_and_residual_images_are_served(carta_url: str, cube: np.ndarray) -> None:
    box = [(60.0, 35.0), (29.0, 23.0)]  # edges mid-pixel: pixels 46..74 x 24..46
    x0, y0, width, height = 46, 24, 29, 23
    async with open_client(carta_url) as client:
        await open_image(client)
        ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
            region_type=RT.RECTANGLE, control_points=[pb.Point(x=x, y=y) for x, y in box])))
        received, response = await fit(client, request(values=GUESS[:1], region_id=ack.region_id,
                                                       create_model_image=True, create_residual_image=True))
        assert response.success, response.message
        model_ack, residual_ack = response.model_image, response.residual_image
        histograms = [e.message.file_id for e in received if e.event_type == ET.REGION_HISTOGRAM_DATA]
        model_tile = await tile_values(client, -999, width, height)
        residual_tile = await tile_values(client, -998, width, height)
        # the generated frames answer like any other: a cursor profile of the model
        await client.send(pb.SetCursor(file_id=-999, point=pb.Point(x=15, y=12)))
        cursor = (await client.expect(pb.SpatialProfileData)).message
    assert (model_ack.success, model_ack.file_id, residual_ack.success, residual_ack.file_id) == (True, -999, True, -998)
    assert model_ack.file_info.name == "cube_model.fits" and residual_ack.file_info.name == "cube_residual.fits"
    assert model_ack.file_info.type == pb.FileType.CASA
    assert (model_ack.file_info_extended.width, model_ack.file_info_extended.height) == (width, height)
    assert model_ack.file_info_extended.depth == 1 and model_ack.file_info_extended.dimensions == 3
    assert len(model_ack.beam_table) == 1 and model_ack.beam_table[0].major_axis == pytest.approx(9.0)
    # the sub-image keeps the source's world coordinates: CRPIX moves by the box corner
    # (source CRPIX1 17, CRPIX2 13) and to the fitted channel (CRPIX3 1, channel 1)
    header = {e.name: e for e in model_ack.file_info_extended.header_entries}
    crpix = [header[f"CRPIX{i}"].numeric_value for i in (1, 2, 3)]
    assert crpix == [pytest.approx(17.0 - x0), pytest.approx(13.0 - y0), pytest.approx(0.0)]
    assert histograms == [-999, -998]  # each opened image's histogram precedes the response
    expected = model_of((height, width), response, origin=(x0, y0))
    data = cube[1, y0:y0 + height, x0:x0 + width].astype(np.float64)
    assert np.allclose(model_tile, expected, rtol=1e-5, atol=1e-4)
    assert np.allclose(residual_tile, data - expected, rtol=1e-5, atol=1e-4)
    assert cursor.file_id == -999 and cursor.value == pytest.approx(model_tile[12, 15])


async def test_stop_fitting_and_close_cancel(carta_url: str, data_dir: Path) -> None:
    """A fit that cannot converge (offset fixed far off) runs its 200 iterations slowly;
    STOP_FITTING (and CLOSE_FILE) end it with ``task cancelled``."""
    rng = np.random.default_rng(5)
    shape = (384, 384)
    big = 40.0 + rng.normal(0, 1.0, shape)
    for k in range(4):
        big += gaussian(shape, 60 + 80 * k, 190 + 20 * k, 30.0, 12.0, 7.0, 15.0 * k)
    write_fits(data_dir / "big.fits", big.astype(np.float32), wcs_header(("RA---SIN", "DEC--SIN")))
    guess = [(61 + 80 * k, 191 + 20 * k, 20.0, 10.0, 8.0, 10.0 * k) for k in range(4)]
    slow = request(values=guess, fixed=[False] * 24 + [True], offset=0.0)
    async with open_client(carta_url) as client:
        await open_image(client, "big.fits", channel=0)
        request_id = await client.send(slow)
        first = await client.expect(ET.FITTING_PROGRESS, timeout=60)
        assert first.request_id == request_id and 0 < first.message.progress < 0.5
        await client.send(pb.StopFitting(file_id=0))
        with trio.fail_after(10):
            response = (await client.expect(ET.FITTING_RESPONSE)).message
        assert (response.success, response.message) == (False, "task cancelled")
        assert list(response.result_values) == []
        assert cpu_limiter().borrowed_tokens == 0  # the fit stopped computing before answering
        # the session keeps serving: a small fit right after succeeds
        _, small = await fit(client, request(values=guess[:1], region_id=0, fov_info=pb.RegionInfo(
            region_type=RT.RECTANGLE, control_points=[pb.Point(x=60, y=190), pb.Point(x=40, y=40)])))
        assert small.success, small.message
        # closing the file cancels a running fit too
        await client.send(slow)
        await client.expect(ET.FITTING_PROGRESS, timeout=60)
        await client.send(pb.CloseFile(file_id=0))
        with trio.fail_after(10):
            closed = (await client.expect(ET.FITTING_RESPONSE)).message
        assert (closed.success, closed.message) == (False, "task cancelled")
        assert cpu_limiter().borrowed_tokens == 0


@pytest.mark.parametrize("make_request, message", [
    (lambda: request(file_id=7), "File id 7 not found"),
    (lambda: request(values=[], fixed=[False]), "no initial values"),
    (lambda: request(region_id=42), "region id not found"),
    (lambda: request(region_id=-5), "region id not found"),
    (lambda: request(region_id=1), "region is outside image or is not closed"),  # a line
    (lambda: request(region_id=2), "insufficient data points"),  # all NaN inside
    (lambda: request(region_id=0, fov_info=pb.RegionInfo(region_type=RT.RECTANGLE, control_points=[
        pb.Point(x=500, y=500), pb.Point(x=10, y=10)])), "region is outside image or is not closed"),
    (lambda: request(region_id=0, fov_info=pb.RegionInfo(region_type=RT.RECTANGLE, control_points=[
        pb.Point(x=5, y=5), pb.Point(x=0, y=10)])), "failed to set up field of view region"),
    (lambda: request(fixed=[True] * 13), "all parameters are fixed"),
])
async def test_bad_input_gets_a_clear_failure(carta_url: str, cube: np.ndarray, make_request, message: str) -> None:
    async with open_client(carta_url) as client:
        await open_image(client, channel=0)
        line = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
            region_type=RT.LINE, control_points=[pb.Point(x=1, y=1), pb.Point(x=20, y=9)])))
        nan_box = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
            region_type=RT.RECTANGLE, control_points=[pb.Point(x=85, y=74), pb.Point(x=6, y=4)])))
        assert (line.region_id, nan_box.region_id) == (1, 2)
        received, response = await fit(client, make_request(), timeout=20)
        assert (response.success, response.message.startswith(message)) == (False, True), response.message
        assert progress_of(received) == [] and list(response.result_values) == []
        assert await client.ping() == "PONG"


async def test_generated_images_cannot_make_images(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_image(client)
        received, first = await fit(client, request(create_model_image=True))
        assert first.success and first.model_image.file_id == -999
        assert [e.message.file_id for e in received if e.event_type == ET.REGION_HISTOGRAM_DATA] == [-999]
        # fitting the model image itself works, but not making images from it
        _, again = await fit(client, request(file_id=-999))
        assert again.success, again.message
        assert flat(again.result_values[0]) == pytest.approx(flat(first.result_values[0]), abs=1e-3)
        _, refused = await fit(client, request(file_id=-999, create_residual_image=True))
        assert not refused.success
        assert refused.message == "generating images from generated PV and model/residual images is not supported"
        assert len(refused.result_values) == 2 and not refused.HasField("residual_image")
        # a new fit with a model replaces frame -999
        _, replaced = await fit(client, request(values=GUESS[:1], create_model_image=True))
        assert replaced.success and replaced.model_image.file_id == -999


def test_generated_ids_and_names() -> None:
    assert fit_image_ids(0) == (-999, -998)
    assert fit_image_ids(3) == (-3999, -3998)
    assert fit_image_ids(1013) == (-10139, -10138)  # a moment image: multiplier -10
    assert fit_image_name("cube.fits", "model", 0) == "cube_model.fits"
    assert fit_image_name("data.image", "residual", 2) == "data_residual.image"
    assert fit_image_name("x.fits.gz", "model", 0) == "x.fits_model.gz"
    assert fit_image_name("cube.fits.moment.integrated", "model", 1013) == "cube_model.fits.moment.integrated"


async def test_fitting_progress_one_per_iteration_in_a_long_fit(carta_url: str, data_dir: Path) -> None:
    """The 10th FITTING_PROGRESS comes after 9 iterations (main sent one per 0.5 s)."""
    rng = np.random.default_rng(6)
    shape = (200, 200)
    image = 40.0 + rng.normal(0, 1.0, shape)
    for k in range(3):
        image += gaussian(shape, 50 + 50 * k, 60 + 40 * k, 30.0, 12.0, 7.0, 15.0 * k)
    write_fits(data_dir / "long.fits", image.astype(np.float32), wcs_header(("RA---SIN", "DEC--SIN")))
    guess = [(51 + 50 * k, 61 + 40 * k, 20.0, 10.0, 8.0, 10.0 * k) for k in range(3)]
    async with open_client(carta_url) as client:
        await open_image(client, "long.fits", channel=0)
        received, response = await fit(client, request(values=guess, fixed=[False] * 18 + [True], offset=0.0))
    values = [e.message.progress for e in progress_of(received)]
    assert len(values) >= 10 and values[9] == pytest.approx(10 / 202)
    assert values[:-1] == pytest.approx([(k + 1) / 202 for k in range(len(values) - 1)])


async def test_fitting_refuses_too_many_components_and_too_large_problems(carta_url: str, data_dir: Path) -> None:
    """issue 11 D6: bounded by limits.MAX_FITTING_COMPONENTS and the Jacobian budget."""
    from carta_trio import limits

    write_fits(data_dir / "wide.fits", np.ones((1100, 1100), dtype=np.float32), wcs_header(("RA---SIN", "DEC--SIN")))
    one = (500.0, 500.0, 1.0, 10.0, 10.0, 0.0)
    async with open_client(carta_url) as client:
        await open_image(client, "wide.fits", channel=0)
        n = limits.MAX_FITTING_COMPONENTS + 1
        received, response = await fit(client, request(values=[one] * n, fixed=[False] * (6 * n) + [True]))
        assert not response.success and response.message.startswith("too many Gaussian components")
        assert progress_of(received) == []
        n = limits.MAX_FITTING_COMPONENTS
        received, response = await fit(client, request(values=[one] * n, fixed=[False] * (6 * n) + [True]))
        assert not response.success and "GiB limit" in response.message, response.message
        assert progress_of(received) == []
        assert cpu_limiter().borrowed_tokens == 0


async def test_fit_stops_computing_when_the_client_leaves(carta_url: str, data_dir: Path) -> None:
    """issue 11 D6: a disconnect cancels the fit at once (no CPU token held afterwards)."""
    rng = np.random.default_rng(5)
    shape = (384, 384)
    big = 40.0 + rng.normal(0, 1.0, shape)
    for k in range(4):
        big += gaussian(shape, 60 + 80 * k, 190 + 20 * k, 30.0, 12.0, 7.0, 15.0 * k)
    write_fits(data_dir / "big.fits", big.astype(np.float32), wcs_header(("RA---SIN", "DEC--SIN")))
    guess = [(61 + 80 * k, 191 + 20 * k, 20.0, 10.0, 8.0, 10.0 * k) for k in range(4)]
    async with open_client(carta_url) as client:
        await open_image(client, "big.fits", channel=0)
        await client.send(request(values=guess, fixed=[False] * 24 + [True], offset=0.0))
        await client.expect(ET.FITTING_PROGRESS, timeout=60)
    with trio.fail_after(5):
        while cpu_limiter().borrowed_tokens:
            await trio.sleep(0.05)


async def test_fit_with_extreme_initial_values_fails_cleanly(carta_url: str, cube: np.ndarray,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """issue 11 D13 (found by the fuzz test): NaN reaching the solver is a failed fit, not a traceback."""
    async with open_client(carta_url) as client:
        await open_image(client)
        _, response = await fit(client, request(values=[(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)], offset=0.5))
    assert not response.success and response.message == "fit did not converge"
    assert not [r for r in caplog.records if r.exc_info]
