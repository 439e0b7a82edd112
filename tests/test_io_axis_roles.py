"""One axis-role finder: the readers and FILE_INFO agree, for FITS, HDF5 and CASA images.

Each case writes one image and compares what the reader opened (``reader.axes``) with
what FILE_INFO told the viewer (``axes_numbers``, width/height/depth/stokes), and both
with the expected roles. Casacore's own reading of the FITS file (the reference's
coordinate system) is checked where our rule deliberately matches it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from carta_trio.io import images
from carta_trio.io.axis_roles import (
    axis_kinds,
    casacore_axis_kinds,
    find_axis_roles,
    roles_from_header,
    scan_header_roles,
)
from carta_trio.io.file_info import file_info
from carta_trio.io.image_reader import AxisRoles
from tests.image_factory import write_casa, write_hdf5_idia, write_miriad

# (ctypes, shape in FITS order, expected (x, y, z, spectral, stokes, spatial_x, spatial_y); None = absent)
CASES = [
    pytest.param(["RA---SIN", "DEC--SIN", "STOKES", "FREQ"], [8, 6, 2, 5], (0, 1, 3, 3, 2, 0, 1), id="stokes3-freq4"),
    pytest.param(["RA---SIN", "DEC--SIN", "STOKES"], [8, 6, 3], (0, 1, None, None, 2, 0, 1), id="stokes-no-spectral"),
    pytest.param(["RA---SIN", "DEC--SIN", "FREQ-LSR"], [8, 6, 3], (0, 1, 2, 2, None, 0, 1), id="FREQ-LSR"),
    pytest.param(["RA---SIN", "DEC--SIN", "VELO-HEL", "STOKES"], [8, 6, 4, 2], (0, 1, 2, 2, 3, 0, 1), id="VELO-HEL"),
    pytest.param(["RA---SIN", "DEC--SIN", "STOKES", "VOPT"], [8, 6, 1, 3], (0, 1, 3, 3, 2, 0, 1), id="VOPT"),
    pytest.param(["RA---SIN", "DEC--SIN", "WAVE"], [8, 6, 3], (0, 1, 2, 2, None, 0, 1), id="WAVE"),
    pytest.param(["RA---SIN", "DEC--SIN", "stokes", "FREQ"], [8, 6, 2, 5], (0, 1, 3, 3, 2, 0, 1), id="stokes-lower"),
    # the shape guess alone would make axis 3 spectral: only the lower-case CTYPE says otherwise
    pytest.param(["RA---SIN", "DEC--SIN", "Stokes", "TIME"], [8, 6, 2, 3], (0, 1, 3, 3, 2, 0, 1), id="Stokes-mixed-case"),
    pytest.param(["RA---SIN", "DEC--SIN", "FREQ", "STOKES"], [8, 6, 1, 1], (0, 1, 2, 2, 3, 0, 1), id="degenerate"),
    pytest.param(["RA---SIN", "DEC--SIN", "", ""], [8, 6, 3, 7], (0, 1, 3, 3, 2, 0, 1), id="no-ctypes-shape-guess"),
    pytest.param(["FREQ", "RA---SIN", "DEC--SIN"], [5, 8, 6], (0, 1, 2, 0, None, 1, 2), id="swapped-z"),
    pytest.param(["STOKES", "RA---SIN", "DEC--SIN"], [2, 8, 6], (1, 2, None, None, 0, 1, 2), id="stokes-first"),
    pytest.param(["GLAT-CAR", "GLON-CAR", "VRAD"], [8, 6, 3], (0, 1, 2, 2, None, 1, 0), id="lat-first"),
    # a lone celestial axis is linear (casacore needs both for a direction coordinate)
    pytest.param(["RA---SIN", "FREQ", "STOKES"], [8, 6, 2], (0, 1, None, 1, 2, 0, None), id="lone-RA"),
    pytest.param(["RA---SIN", "DEC--SIN"], [8, 6], (0, 1, None, None, None, 0, 1), id="2d"),
]


def _expected(values: tuple) -> AxisRoles:
    x, y, z, spectral, stokes, sx, sy = values
    return AxisRoles(ndim=0, x=x, y=y, z=z, spectral=spectral, stokes=stokes, spatial_x=sx, spatial_y=sy)


def _same(roles: AxisRoles, expected: AxisRoles) -> bool:
    return roles == AxisRoles(**{**expected.__dict__, "ndim": roles.ndim})


def _header(ctypes: list[str], shape: list[int]) -> fits.Header:
    header = fits.Header()
    for axis, ctype in enumerate(ctypes, 1):
        if ctype:
            header[f"CTYPE{axis}"] = ctype
        stokes = ctype.upper() == "STOKES"
        header[f"CRVAL{axis}"] = 1.0 if stokes else 1.4e9 if ctype.startswith("FREQ") else 10.0
        header[f"CDELT{axis}"] = 1.0 if stokes else 1e6 if ctype.startswith("FREQ") else 1e-3
        header[f"CRPIX{axis}"] = 1.0
    header["RESTFRQ"] = 1.42e9
    header["SPECSYS"] = "LSRK"
    return header


def _info_roles(path: Path) -> tuple[list[int], dict[str, int]]:
    response = file_info(path.parent, "", path.name).response
    assert response.success, response.message
    extended = next(iter(response.file_info_extended.values()))
    numbers = extended.axes_numbers
    sizes = [extended.width, extended.height, extended.depth, extended.stokes]
    return sizes, {f: getattr(numbers, f) for f in ("spatial_x", "spatial_y", "spectral", "stokes", "depth")}


def _check_reader_and_info(path: Path, expected: AxisRoles, shape: list[int]) -> None:
    reader = images.open_image(path, "")
    try:
        assert _same(reader.axes, expected), (reader.axes, expected)
        sizes, numbers = _info_roles(path)
        assert numbers == reader.axes.axes_numbers()
        assert sizes == [reader.width, reader.height, reader.depth, reader.num_stokes]
    finally:
        reader.close()


@pytest.mark.parametrize("ctypes, shape, values", CASES)
def test_fits_reader_and_file_info_agree(tmp_path: Path, ctypes: list[str], shape: list[int], values: tuple) -> None:
    path = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros(shape[::-1], np.float32), header=_header(ctypes, shape)).writeto(path)
    expected = _expected(values)
    assert _same(find_axis_roles(axis_kinds(ctypes), shape), expected)
    assert _same(roles_from_header(dict(_header(ctypes, shape)), shape)[0], expected)
    _check_reader_and_info(path, expected, shape)


@pytest.mark.parametrize("ctypes, shape, values", [c for c in CASES if c.id in ("stokes3-freq4", "swapped-z",
                                                                                 "stokes-no-spectral", "VELO-HEL")])
def test_hdf5_reader_and_file_info_agree(tmp_path: Path, ctypes: list[str], shape: list[int], values: tuple) -> None:
    path = tmp_path / "image.hdf5"
    cards = [(card.keyword, card.value) for card in _header(ctypes, shape).cards]
    write_hdf5_idia(path, np.zeros(shape[::-1], np.float32), cards, mipmaps=False, swizzled=False, stats=False)
    _check_reader_and_info(path, _expected(values), shape)


@pytest.mark.parametrize("ctypes, shape, values", [c for c in CASES if c.id in ("stokes3-freq4", "swapped-z",
                                                                                 "stokes-no-spectral", "degenerate",
                                                                                 "stokes-first")])
def test_casa_reader_and_file_info_agree(tmp_path: Path, ctypes: list[str], shape: list[int], values: tuple) -> None:
    casacore_images = pytest.importorskip("casacore.images")
    path = tmp_path / "image.image"
    write_casa(path, np.zeros(shape[::-1], np.float32), [(card.keyword, card.value) for card in _header(ctypes, shape).cards])
    coords = casacore_images.image(str(path)).coordinates().dict()
    expected = _expected(values)
    # casacore's coordinate system classifies these axes as the CTYPEs do
    assert casacore_axis_kinds(coords, len(shape)) == axis_kinds(ctypes)
    _check_reader_and_info(path, expected, shape)


@pytest.mark.parametrize("ctypes, shape, values", [c for c in CASES if c.id in ("stokes3-freq4", "swapped-z",
                                                                                 "stokes-no-spectral")])
def test_miriad_reader_and_file_info_agree(tmp_path: Path, ctypes: list[str], shape: list[int], values: tuple) -> None:
    """casacore's MIRIAD import decides the coordinates (its axis order need not be the
    FITS one's); the reader and FILE_INFO take the same kinds from it."""
    path = tmp_path / "image.mir"
    write_miriad(path, np.zeros(shape[::-1], np.float32), [(card.keyword, card.value) for card in _header(ctypes, shape).cards])
    reader = images.open_image(path, "")
    try:
        sizes, numbers = _info_roles(path)
        assert numbers == reader.axes.axes_numbers()
        assert sizes == [reader.width, reader.height, reader.depth, reader.num_stokes]
    finally:
        reader.close()


def test_kinds_follow_casacore_where_they_decide_roles() -> None:
    assert axis_kinds(["RA---SIN", "DEC--SIN", "FELO-HEL", "STOKES"]) == ["lon", "lat", "spectral", "stokes"]
    assert axis_kinds(["HPLN-TAN", "HPLT-TAN", "AWAV"]) == ["lon", "lat", "spectral"]
    assert axis_kinds(["RA---SIN", "FREQ"]) == ["linear", "spectral"]  # no DEC: no direction coordinate
    assert axis_kinds(["", "X", "TIME"]) == ["linear", "linear", "linear"]


def test_2d_image_renders_both_axes_even_with_a_stokes_ctype() -> None:
    roles = find_axis_roles(axis_kinds(["FREQ", "STOKES"]), [8, 2])
    assert (roles.x, roles.y, roles.z, roles.stokes, roles.spectral) == (0, 1, None, None, 0)


def test_stokes_codes_from_header() -> None:
    def codes(axis: int, crval: float, crpix: float, cdelt: float, count: int, ctype: str = "STOKES") -> list[int]:
        header = {"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", f"CTYPE{axis}": ctype,
                  f"CRVAL{axis}": crval, f"CRPIX{axis}": crpix, f"CDELT{axis}": cdelt}
        shape = [4, 4, 3, count] if axis == 4 else [4, 4, count]
        return roles_from_header(header, shape)[1]

    assert codes(4, 1.0, 1.0, 1.0, 4) == [1, 2, 3, 4]
    assert codes(3, -1.0, 1.0, -1.0, 2) == [-1, -2]
    assert codes(4, 2.0, 2.0, 1.0, 3, ctype="Stokes") == [1, 2, 3]
    assert codes(4, 1.0, 1.0, 0.5, 2) == []  # the reference keeps CDELT as an int
    assert codes(3, 1.0, 1.0, 1.0, 2, ctype="FREQ") == []


def test_fits_gz_header_scan_keeps_the_reference_quirks() -> None:
    """The header-only scan renders axes 1 and 2 whatever they are and guesses nothing."""
    roles = scan_header_roles({0: "FREQ", 1: "RA---SIN", 2: "DEC--SIN"}, [5, 8, 6])
    assert (roles.x, roles.y, roles.z, roles.spectral, roles.stokes) == (0, 1, 2, 0, None)
    roles = scan_header_roles({0: "RA---SIN", 1: "DEC--SIN", 2: "STOKES", 3: "FREQ"}, [8, 6, 2, 5])
    assert (roles.z, roles.spectral, roles.stokes, roles.spatial_x, roles.spatial_y) == (3, 3, 2, 0, 1)
    roles = scan_header_roles({0: "RA---SIN", 1: "DEC--SIN", 2: "", 3: ""}, [8, 6, 3, 7])
    assert (roles.z, roles.spectral, roles.stokes) == (3, None, None)
