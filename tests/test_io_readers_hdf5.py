"""HDF5 (IDIA schema) reader: data, swizzled spectra, mipmaps, stored statistics,
attribute headers as the reference formats them, errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from carta_trio.io.hdf5_reader import Hdf5Reader
from carta_trio.io.image_reader import ImageOpenError
from carta_trio.io.images import open_image
from tests.image_factory import make_cube, wcs_header, write_hdf5_idia

H3 = wcs_header(["RA---SIN", "DEC--SIN", "FREQ"], extra=[("VELREF", 257)])
H4 = wcs_header(["RA---SIN", "DEC--SIN", "FREQ", "STOKES"])


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == np.float32 and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("helpers", [True, False])
@pytest.mark.parametrize("shape,header", [((12, 10), wcs_header(["RA---SIN", "DEC--SIN"])),
                                          ((5, 12, 10), H3), ((2, 5, 12, 10), H4)])
def test_data_planes_spectra_cubes(tmp_path, shape, header, helpers):
    data = make_cube(shape, seed=len(shape))
    write_hdf5_idia(tmp_path / "c.hdf5", data, header, mipmaps=helpers, swizzled=helpers, stats=helpers)
    reader = open_image(tmp_path / "c.hdf5")
    assert isinstance(reader, Hdf5Reader)
    assert reader.hdu == "0" and reader.shape == tuple(reversed(shape))
    assert reader.has_swizzled == helpers
    cube = data.reshape((-1,) + data.shape[-3:]) if data.ndim >= 3 else data[np.newaxis, np.newaxis]
    if data.ndim == 3:
        cube = data[np.newaxis]
    for s in range(reader.num_stokes):
        for z in range(reader.depth):
            assert same(reader.read_plane(z, s), cube[s, z])
        assert same(reader.read_spectrum(3, 7, s), cube[s, :, 7, 3])
        assert same(reader.read_spectrum(0, 0, s, 0, 1), cube[s, 0:1, 0, 0])
        assert same(reader.read_cube(2, 3, 4, 6, 0, reader.depth, s), cube[s, :, 4:6, 2:3])
        assert same(reader.read_cube(1, 9, 2, 11, 0, 1, s), cube[s, 0:1, 2:11, 1:9])


def test_swizzled_dataset_is_what_spectra_read(tmp_path):
    """Spectra and deep narrow boxes come from SwizzledData, not DATA."""
    data = make_cube((2, 6, 8, 9), seed=1)
    path = tmp_path / "s.hdf5"
    write_hdf5_idia(path, data, H4, mipmaps=False, stats=False)
    with h5py.File(path, "r+") as f:
        f["0/SwizzledData/ZYXW"][...] = f["0/SwizzledData/ZYXW"][...] + 1000.0
    reader = open_image(path)
    assert same(reader.read_spectrum(4, 5, 1), data[1, :, 5, 4] + 1000)
    assert same(reader.read_cube(4, 5, 5, 6, 0, 6, 1), (data[1, :, 5:6, 4:5] + 1000))
    assert same(reader.read_plane(2, 1), data[1, 2])


def test_infinite_values_are_masked(tmp_path):
    data = make_cube((3, 4, 5))
    data[1, 2, 3] = np.inf
    write_hdf5_idia(tmp_path / "i.hdf5", data, H3)
    reader = open_image(tmp_path / "i.hdf5")
    assert np.isnan(reader.read_plane(1, 0)[2, 3])
    assert np.isnan(reader.read_spectrum(3, 2, 0)[1])


def test_mipmaps(tmp_path):
    data = make_cube((2, 3, 13, 10), seed=4)
    write_hdf5_idia(tmp_path / "m.hdf5", data, H4)
    reader = open_image(tmp_path / "m.hdf5")
    assert reader.mip_levels == [2, 4, 8]
    assert reader.feature_flags == 7 | 32
    plane = data[1, 2].astype(np.float64)
    padded = np.full((14, 10), np.nan)
    padded[:13] = plane
    blocks = padded.reshape(7, 2, 5, 2).transpose(0, 2, 1, 3).reshape(7, 5, 4)
    good = np.isfinite(blocks)
    with np.errstate(invalid="ignore"):
        expected = (np.where(good, blocks, 0).sum(-1) / good.sum(-1)).astype(np.float32)
    got = reader.mipmap(2, 2, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert np.isnan(got[0, 0]) == np.isnan(expected[0, 0])
    part = reader.mipmap(2, 2, 1, bounds=(2, 10, 4, 13))
    np.testing.assert_array_equal(part, got[2:7, 1:5])
    assert reader.mipmap(3, 0, 0) is None
    write_hdf5_idia(tmp_path / "n.hdf5", data, H4, mipmaps=False)
    plain = open_image(tmp_path / "n.hdf5")
    assert plain.mip_levels == [] and plain.mipmap(2, 0, 0) is None and plain.feature_flags == 7


def test_precomputed_statistics(tmp_path):
    data = make_cube((2, 3, 9, 8), seed=5)
    write_hdf5_idia(tmp_path / "st.hdf5", data, H4)
    reader = open_image(tmp_path / "st.hdf5")
    plane = data[1, 2].astype(np.float64)
    finite = plane[np.isfinite(plane)]
    stats = reader.precomputed_stats(2, 1)
    assert stats is not None
    assert stats["min"] == pytest.approx(finite.min(), rel=1e-6)
    assert stats["max"] == pytest.approx(finite.max(), rel=1e-6)
    assert stats["sum"] == pytest.approx(finite.sum(), rel=1e-5)
    assert stats["sum_sq"] == pytest.approx((finite ** 2).sum(), rel=1e-5)
    assert stats["nan_count"] == plane.size - finite.size
    hist = stats["histogram"]
    assert hist.dtype == np.int64 and hist.sum() == finite.size and len(hist) == int(np.sqrt(72))
    cube = data[0].astype(np.float64)
    cube_stats = reader.precomputed_cube_stats(0)
    assert cube_stats is not None
    assert cube_stats["nan_count"] == int(np.isnan(cube).sum())
    assert cube_stats["max"] == pytest.approx(np.nanmax(cube), rel=1e-6)
    write_hdf5_idia(tmp_path / "ns.hdf5", data, H4, stats=False)
    assert open_image(tmp_path / "ns.hdf5").precomputed_stats(0, 0) is None


def test_header_as_reference_formats_attributes(tmp_path):
    """GOLDEN.md §3.15: creation order, ``{:#.13G}`` reals, logical SIMPLE, quoted strings."""
    write_hdf5_idia(tmp_path / "cube_idia.hdf5", make_cube((10, 24, 32)), H3)
    reader = open_image(tmp_path / "cube_idia.hdf5")
    strings = reader.header_strings()
    assert [s[:8].strip() for s in strings[:5]] == ["SIMPLE", "SCHEMA_V", "HDF5_CON", "HDF5_CON", "HDF5_DAT"]
    assert strings[0].rstrip() == "SIMPLE  = T"
    assert strings[1].rstrip() == "SCHEMA_VERSION= '0.3'"
    assert strings[5].rstrip() == "BITPIX  = -32"
    assert "CRVAL1  = 201.3650000000" in [s.rstrip() for s in strings]
    assert "CRVAL3  = 230538000000.0" in [s.rstrip() for s in strings]
    assert "CDELT1  = -0.0005000000000000" in [s.rstrip() for s in strings]
    assert "VELREF  = 257" in [s.rstrip() for s in strings]
    assert all(len(s) == 80 for s in strings)
    cards = reader.header_cards()
    assert cards[0] == ("SIMPLE", True, "")
    assert dict((c.key, c.value) for c in cards)["CTYPE1"] == "RA---SIN"
    assert reader.unit == "Jy/beam"
    assert reader.beams() == [(9.0, 5.4, -20.0)]
    assert reader.axes.axes_numbers() == {"spatial_x": 1, "spatial_y": 2, "spectral": 3, "stokes": 0, "depth": 3}
    assert reader.data_type == "float"


def test_stokes_values(tmp_path):
    write_hdf5_idia(tmp_path / "p.hdf5", make_cube((4, 2, 5, 6)), H4)
    assert open_image(tmp_path / "p.hdf5").stokes_values == [1, 2, 3, 4]


def test_errors(tmp_path):
    path = tmp_path / "cube_nosimple.hdf5"
    write_hdf5_idia(path, make_cube((3, 4, 5)), H3, simple=False)
    with pytest.raises(ImageOpenError, match=r"^Error opening HDF5 image$"):
        open_image(path)
    good = tmp_path / "cube.hdf5"
    write_hdf5_idia(good, make_cube((3, 4, 5)), H3)
    with pytest.raises(ImageOpenError) as info:
        open_image(good, "1")
    assert str(info.value) == f"HDF5 error: Could not open group 1 in parent {good.name}"
    corrupt = tmp_path / "corrupt.hdf5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00garbage" * 100)
    with pytest.raises(ImageOpenError, match=r"^Error opening HDF5 image$"):
        open_image(corrupt)
    with h5py.File(tmp_path / "nodata.hdf5", "w") as f:
        f.create_group("0").attrs["SIMPLE"] = np.uint8(1)
    with pytest.raises(ImageOpenError, match=r"^Error opening HDF5 image$"):
        open_image(tmp_path / "nodata.hdf5")
