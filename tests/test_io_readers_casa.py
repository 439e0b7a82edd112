"""CASA and MIRIAD readers (python-casacore): data, masks, beams, Stokes, headers."""

from __future__ import annotations

import numpy as np
import pytest

from carta_trio.io.worker_reader import WorkerReader
from carta_trio.io.image_reader import ImageOpenError
from carta_trio.io.images import CASA, MIRIAD, open_image
from tests.image_factory import make_cube, wcs_header, write_casa, write_miriad

H3 = wcs_header(["RA---SIN", "DEC--SIN", "FREQ"])
H4 = wcs_header(["RA---SIN", "DEC--SIN", "FREQ", "STOKES"])


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == np.float32 and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_casa_cube_reads(tmp_path):
    data = make_cube((2, 5, 12, 10), seed=1)
    expected = write_casa(tmp_path / "c.image", data, H4)
    reader = open_image(tmp_path / "c.image")
    assert isinstance(reader, WorkerReader) and reader.file_type == CASA and reader.hdu == ""
    assert reader.shape == (10, 12, 5, 2)
    assert reader.axes.axes_numbers() == {"spatial_x": 1, "spatial_y": 2, "spectral": 3, "stokes": 4, "depth": 3}
    assert reader.stokes_values == [1, 2]
    assert reader.data_type == "float" and reader.unit == "Jy/beam"
    for s in range(2):
        for z in range(5):
            assert same(reader.read_plane(z, s), expected[s, z])
    assert same(reader.read_spectrum(3, 4, 1), expected[1, :, 4, 3])
    assert same(reader.read_cube(1, 8, 2, 10, 1, 4, 0), expected[0, 1:4, 2:10, 1:8])
    assert reader.beams() == [pytest.approx((9.0, 5.4, -20.0))]


def test_casa_mask_becomes_nan(tmp_path):
    data = make_cube((3, 6, 7), seed=2, nans=False)
    mask = np.zeros(data.shape, dtype=bool)
    mask[1, 2, 3:6] = True
    expected = write_casa(tmp_path / "m.image", data, H3, mask=mask)
    reader = open_image(tmp_path / "m.image")
    plane = reader.read_plane(1, 0)
    assert np.isnan(plane[2, 3:6]).all() and not np.isnan(plane[2, :3]).any()
    assert same(plane, expected[1])
    assert same(reader.read_spectrum(4, 2, 0), expected[:, 2, 4])


def test_casa_per_plane_beams(tmp_path):
    beams = [(3.0 + i, 2.0 + i, 5.0 * i) for i in range(4)]
    write_casa(tmp_path / "b.image", make_cube((4, 5, 6)), wcs_header(["RA---SIN", "DEC--SIN", "FREQ"], beam=None),
               beams=beams)
    got = open_image(tmp_path / "b.image").beams()
    np.testing.assert_allclose(np.array(got), np.array(beams))


def test_casa_header_like_reference(tmp_path):
    """GOLDEN.md §3.13: casacore's FITS conversion, XTENSION first, real NAXISn."""
    write_casa(tmp_path / "cube_freq.image", make_cube((10, 24, 32)), H3)
    reader = open_image(tmp_path / "cube_freq.image")
    cards = reader.header_cards()
    keys = [c.key for c in cards]
    assert keys[:8] == ["XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "PCOUNT", "GCOUNT"]
    values = {c.key: c.value for c in cards}
    assert (values["NAXIS1"], values["NAXIS2"], values["NAXIS3"]) == (32, 24, 10)
    assert values["XTENSION"] == "IMAGE" and values["BITPIX"] == -32
    assert values["CTYPE1"] == "RA---SIN" and values["CRPIX1"] == 17.0 and values["CRPIX2"] == 13.0
    assert values["CRVAL3"] == 230.538e9 and values["RESTFRQ"] == 230.538e9
    assert values["BMAJ"] == pytest.approx(0.0025)
    for absent in ("SIMPLE", "EXTEND", "DATE", "ORIGIN", "END"):
        assert absent not in keys
    strings = reader.header_strings()
    assert strings[0].startswith("XTENSION= 'IMAGE") and all(len(s) == 80 for s in strings)


def test_casa_swapped_axes(tmp_path):
    data = make_cube((6, 9, 4), seed=3)  # FITS order FREQ(4), RA(9), DEC(6)
    expected = write_casa(tmp_path / "s.image", data, wcs_header(["FREQ", "RA---SIN", "DEC--SIN"]))
    reader = open_image(tmp_path / "s.image")
    assert (reader.width, reader.height, reader.depth) == (4, 9, 6)
    assert reader.axes.axes_numbers() == {"spatial_x": 2, "spatial_y": 3, "spectral": 1, "stokes": 0, "depth": 3}
    assert same(reader.read_plane(2, 0), expected[2])


def test_miriad(tmp_path):
    data = make_cube((4, 7, 9), seed=4)
    expected = write_miriad(tmp_path / "m.mir", data, H3)
    reader = open_image(tmp_path / "m.mir")
    assert reader.file_type == MIRIAD and reader.shape == (9, 7, 4)
    assert reader.axes.axes_numbers()["spectral"] == 3
    for z in range(4):
        assert same(reader.read_plane(z, 0), expected[z])
    assert same(reader.read_spectrum(2, 5, 0), expected[:, 5, 2])
    (beam,) = reader.beams()
    assert beam == pytest.approx((9.0, 5.4, -20.0), rel=1e-6)
    values = {c.key: c.value for c in reader.header_cards()}
    assert values["CTYPE1"].startswith("RA") and values["NAXIS3"] == 4


def test_casa_open_error(tmp_path):
    broken = tmp_path / "broken.image"
    broken.mkdir()
    (broken / "table.info").write_text("Type = Image\nSubType = \n")
    (broken / "table.dat").write_bytes(b"not a table")
    with pytest.raises(ImageOpenError):
        open_image(broken)
