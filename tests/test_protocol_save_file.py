"""SAVE_FILE through the real server: FITS and CASA output, sub-setting, refusals."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.conftest import server_url
from tests.image_factory import make_cube, wcs_header, write_fits

CTYPES = ("RA---SIN", "DEC--SIN", "FREQ", "STOKES")


def world(header: fits.Header, *pixel: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header).all_pix2world([pixel], 0)[0]


async def test_save_fits_subset_with_region(carta_url: str, data_dir: Path) -> None:
    data = make_cube((2, 4, 30, 40), seed=8)  # stokes, channels, y, x
    write_fits(data_dir / "cube.fits", data, wcs_header(CTYPES))
    async with open_client(carta_url) as client:
        await client.register()
        assert (await client.request(pb.OpenFile(file="cube.fits", file_id=0))).success
        region = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=pb.RegionInfo(
            region_type=pb.RegionType.RECTANGLE, control_points=[pb.Point(x=20, y=15), pb.Point(x=9, y=7)])))
        ack = await client.request(pb.SaveFile(
            file_id=0, output_file_directory="", output_file_name="part.fits", output_file_type=pb.FileType.FITS,
            region_id=region.region_id, channels=[1, 2], stokes=[1, 1, 1], keep_degenerate=False,
            rest_freq=float("nan")))
        assert ack.success, ack.message
        whole = await client.request(pb.SaveFile(
            file_id=0, output_file_name="whole.fits", output_file_type=pb.FileType.FITS,
            keep_degenerate=True, rest_freq=1.0e9))
        assert whole.success, whole.message
    with fits.open(data_dir / "part.fits") as hdul:
        saved, header = hdul[0].data, hdul[0].header
    assert saved.shape[0] == 2 and header["NAXIS"] == 3  # the single Stokes axis dropped
    source = fits.getheader(data_dir / "cube.fits")
    ny, nx = saved.shape[1:]
    # find the box from the WCS: the saved pixel (0, 0) is the source pixel (x0, y0)
    x0 = int(round(header["CRPIX1"] - 1 - (source["CRPIX1"] - 1))) * -1
    y0 = int(round(header["CRPIX2"] - 1 - (source["CRPIX2"] - 1))) * -1
    expected = data[1, 1:3, y0 : y0 + ny, x0 : x0 + nx]
    inside = np.isfinite(saved)
    assert inside.sum() > 0.5 * inside.size
    assert np.array_equal(saved[inside], expected[inside])
    assert np.allclose(world(header, 0, 0, 0)[:2], world(source, x0, y0, 1, 1)[:2])
    assert np.isclose(world(header, 0, 0, 0)[2], world(source, x0, y0, 1, 1)[2])
    with fits.open(data_dir / "whole.fits") as hdul:
        assert np.array_equal(hdul[0].data, data, equal_nan=True)
        assert hdul[0].header["RESTFRQ"] == 1.0e9
        assert hdul[0].header["BUNIT"] == "Jy/beam"


async def test_save_casa_and_refusals(start_server, data_dir: Path) -> None:
    data = make_cube((3, 20, 24), seed=9)
    write_fits(data_dir / "cube.fits", data, wcs_header(CTYPES[:3]))
    handle = await start_server()
    async with open_client(server_url(handle)) as client:
        await client.register()
        await client.request(pb.OpenFile(file="cube.fits", file_id=0))
        ack = await client.request(pb.SaveFile(file_id=0, output_file_name="copy.image",
                                               output_file_type=pb.FileType.CASA, rest_freq=float("nan")))
        assert ack.success, ack.message
        same = await client.request(pb.SaveFile(file_id=0, output_file_name="cube.fits",
                                                output_file_type=pb.FileType.FITS, rest_freq=float("nan")))
        assert not same.success and "overwritten" in same.message
        outside = await client.request(pb.SaveFile(file_id=0, output_file_directory="..", output_file_name="x.fits",
                                                   output_file_type=pb.FileType.FITS, rest_freq=float("nan")))
        assert not outside.success
        missing = await client.request(pb.SaveFile(file_id=7, output_file_name="x.fits",
                                                   output_file_type=pb.FileType.FITS))
        assert not missing.success and missing.message == "File id 7 not found"
        no_region = await client.request(pb.SaveFile(file_id=0, output_file_name="x.fits", region_id=4,
                                                     output_file_type=pb.FileType.FITS))
        assert no_region.message == "No region with id 4 found."
    from casacore import images

    image = images.image(str(data_dir / "copy.image"))
    assert np.allclose(image.getdata().squeeze(), data, equal_nan=True)
    read_only = await start_server(read_only=True)
    async with open_client(server_url(read_only)) as client:
        await client.register()
        await client.request(pb.OpenFile(file="cube.fits", file_id=0))
        refused = await client.request(pb.SaveFile(file_id=0, output_file_name="ro.fits",
                                                   output_file_type=pb.FileType.FITS))
        assert not refused.success and "read-only" in refused.message
        assert (await client.expect(pb.ErrorData)).message.tags == ["Saving a file"]
    assert not (data_dir / "ro.fits").exists()
