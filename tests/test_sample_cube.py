"""The shipped sample cube (issue 19): small, reproducible, and worth looking at in every view."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from carta_trio.cli import SAMPLE_FOLDER
from carta_trio.io import sample_cube
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.test_protocol_tiles import code, decode

SHIPPED = SAMPLE_FOLDER / "sample_cube.fits"
NONE = pb.CompressionType.NONE


def _data() -> np.ndarray:
    with fits.open(SHIPPED) as hdul:
        return np.asarray(hdul[0].data, dtype=np.float64)


def test_shipped_file_is_what_the_script_makes_and_small(tmp_path: Path) -> None:
    assert SHIPPED.stat().st_size <= 2 * 2**20
    sample_cube.write_sample(tmp_path / "again.fits")
    assert (tmp_path / "again.fits").read_bytes() == SHIPPED.read_bytes()


def test_every_view_has_structure() -> None:
    data = _data()
    noise = sample_cube.NOISE
    # the first plane the viewer shows: continuum sources well above the noise
    first = data[0]
    assert (first > 10 * noise).sum() >= 10 and first.max() > 15 * noise
    # moment 0: an extended disc, not just points
    moment0 = data.sum(axis=0)
    rms = moment0[:12, -12:].std()
    assert moment0.max() > 50 * rms
    assert (moment0 > 10 * rms).sum() > 500
    # moment 1: a velocity gradient of a few hundred km/s across the disc
    velocities = sample_cube._channel_velocities()[:, None, None]
    weights = np.clip(data - 3 * noise, 0, None)
    disc = weights.sum(axis=0) > 0.1
    moment1 = (weights * velocities).sum(axis=0)[disc] / weights.sum(axis=0)[disc]
    assert np.percentile(moment1, 95) - np.percentile(moment1, 5) > 200
    # a spectrum through the disc has a line; one off the disc has none
    on, off = data[:, 66, 60], data[:, 10, 120]
    assert on.max() > 8 * noise and off.max() < 5 * noise


def test_header_is_a_real_looking_wcs() -> None:
    header = fits.getheader(SHIPPED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header)
    assert wcs.has_celestial and wcs.wcs.spec == 2
    assert header["BUNIT"] == "Jy/beam" and header["BMAJ"] > header["BMIN"] > 0
    assert header["RESTFRQ"] == sample_cube.REST_FREQUENCY and header["SPECSYS"] == "BARYCENT"
    centre = wcs.pixel_to_world_values(63.5, 63.5, header["CRPIX3"] - 1)
    frequency = centre[2]
    velocity = (sample_cube.REST_FREQUENCY / frequency - 1) * sample_cube.SPEED_OF_LIGHT
    assert abs(velocity - sample_cube.SYSTEMIC_VELOCITY) < 1


async def test_moment_zero_of_the_sample_through_the_server(start_server, data_dir: Path) -> None:
    from tests.conftest import server_url

    shutil.copy(SHIPPED, data_dir / "sample_cube.fits")
    handle = await start_server()
    async with open_client(server_url(handle)) as client:
        await client.register()
        ack = await client.request(pb.OpenFile(file="sample_cube.fits", file_id=0))
        assert ack.success, ack.message
        await client.send(pb.MomentRequest(file_id=0, moments=[0], axis=pb.MomentAxis.SPECTRAL, region_id=-1,
                                           spectral_range=pb.IntBounds(min=0, max=47)))
        response = (await client.expect(pb.MomentResponse, timeout=60)).message
        assert response.success, response.message
        moment_id = response.open_file_acks[0].file_id
        await client.send(pb.AddRequiredTiles(file_id=moment_id, tiles=[code(0, 0, 0)], compression_type=NONE))
        tile = (await client.expect(pb.RasterTileData, timeout=20)).message
        image = decode(tile.tiles[0], NONE, 0).astype(np.float64)
    rms = image[:12, -12:].std()
    assert image.max() > 50 * rms and (image > 10 * rms).sum() > 500
