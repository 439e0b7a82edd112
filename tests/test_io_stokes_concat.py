"""io.stokes_concat without the server: files that already have a Stokes axis, names, the
contiguity rule and reads that span several Stokes planes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carta_trio.io.stokes_concat import ConcatError, StokesFile, concat_name, concat_stokes_files
from tests.image_factory import make_cube, wcs_header, write_fits

CTYPES4 = ("RA---SIN", "DEC--SIN", "FREQ", "STOKES")


def test_files_with_a_stokes_axis_take_the_requested_types(data_dir: Path) -> None:
    a = make_cube((1, 3, 10, 12), seed=1)  # stokes, channels, y, x; both files say Stokes I
    b = make_cube((1, 3, 10, 12), seed=2)
    write_fits(data_dir / "x_RR.fits", a, wcs_header(CTYPES4))
    write_fits(data_dir / "x_LL.fits", b, wcs_header(CTYPES4))
    reader = concat_stokes_files(data_dir, [StokesFile("", "x_LL.fits", "", 6), StokesFile("", "x_RR.fits", "", 5)])
    try:
        assert reader.name == "x_hypercube_RRLL.fits"
        assert reader.shape == (12, 10, 3, 2) and reader.axes.stokes == 3 and reader.axes.z == 2
        assert reader.stokes_values == [-1, -2]  # RR, LL in enum order, whatever the files said
        assert np.array_equal(reader.read_plane(1, 1), b[0, 1], equal_nan=True)
        # a box spanning both Stokes planes through the generic path (what SAVE_FILE-style reads use)
        region = reader._read_region([2, 1, 0, 0], [9, 8, 3, 2])
        assert region.shape == (2, 3, 7, 7)
        assert np.array_equal(region[0], a[0, :, 1:8, 2:9], equal_nan=True)
        assert np.array_equal(region[1], b[0, :, 1:8, 2:9], equal_nan=True)
        header = reader.header_mapping()
        assert (header["CTYPE4"], header["CRVAL4"], header["CDELT4"]) == ("STOKES", -1.0, -1.0)
    finally:
        reader.close()
        reader.close()  # a second close does nothing


def test_multi_stokes_files_and_names(data_dir: Path) -> None:
    write_fits(data_dir / "two.fits", make_cube((2, 3, 10, 12), seed=1), wcs_header(CTYPES4))
    write_fits(data_dir / "one.fits", make_cube((2, 3, 10, 12), seed=2), wcs_header(CTYPES4))
    with pytest.raises(ConcatError, match="^Stokes coordinate has no or multiple stokes types!$"):
        concat_stokes_files(data_dir, [StokesFile("", "two.fits", "", 1), StokesFile("", "one.fits", "", 2)])
    files = [StokesFile("", f"IRC.spw0.cube.{s}.manual.pbcor.fits", "", k) for s, k in (("V", 4), ("I", 1))]
    assert concat_name(files) == "IRC.spw0.cube.hypercube_IV.manual.pbcor.fits"
    assert concat_name([StokesFile("", "I.fits", "", 1), StokesFile("", "Q.fits", "", 2)]) == "hypercube_IQ.fits"
