"""FITS reader: every BITPIX, scaling and BLANK, gzip, tile compression, multi-HDU,
axis roles of swapped cubes, headers, beams, errors. Expected values come from the
image factory's numpy computation, never from the reader."""

from __future__ import annotations

import numpy as np
import pytest

from carta_trio.io.fits_reader import FitsReader, list_image_hdus, parse_hdu_number
from carta_trio.io.image_reader import ImageOpenError
from carta_trio.io.images import open_image
from tests.image_factory import (append_beams_table, append_image_hdu, append_table_hdu, make_cube,
                                 truncate_file, wcs_header, write_fits)

H3 = wcs_header(["RA---SIN", "DEC--SIN", "FREQ"])
H4 = wcs_header(["RA---SIN", "DEC--SIN", "FREQ", "STOKES"])


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == np.float32 and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("bitpix,scaling", [
    (-32, {}), (-64, {}), (-32, {"bscale": 2.0, "bzero": -1.0}),
    (8, {"blank": 255, "bscale": 0.5, "bzero": -20.0}), (8, {"blank": 0}),
    (16, {"blank": -32768}), (16, {"blank": -32768, "bscale": 0.01, "bzero": 3.0}),
    (32, {"blank": -1, "bscale": 1e-4}), (64, {"blank": -99, "bscale": 1e-6, "bzero": 5.0}),
])
def test_every_bitpix_plane_spectrum_cube(tmp_path, bitpix, scaling):
    data = make_cube((2, 4, 12, 10), seed=bitpix & 0xFF)
    if bitpix == 8 and "bscale" not in scaling:
        data = np.abs(data) + 1
    expected = write_fits(tmp_path / "a.fits", data, H4, bitpix=bitpix, **scaling)
    with open_image(tmp_path / "a.fits") as reader:
        assert isinstance(reader, FitsReader) and reader.reads_directly
        assert (reader.width, reader.height, reader.depth, reader.num_stokes) == (10, 12, 4, 2)
        assert reader.shape == (10, 12, 4, 2)
        assert reader.bitpix == bitpix
        for z in range(4):
            for s in range(2):
                assert same(reader.read_plane(z, s), expected[s, z])
        assert same(reader.read_spectrum(3, 6, 1), expected[1, :, 6, 3])
        assert same(reader.read_spectrum(0, 0, 0, 1, 3), expected[0, 1:3, 0, 0])
        assert same(reader.read_cube(2, 7, 1, 11, 1, 4, 1), expected[1, 1:4, 1:11, 2:7])
    if "blank" in scaling:
        assert np.isnan(expected[0, 0, 0, 0])


def test_blank_and_scaling_values_exact(tmp_path):
    data = np.array([[1.5, np.nan, -2.0], [0.0, 100.0, np.nan]], dtype=np.float32)
    write_fits(tmp_path / "s.fits", data, bitpix=16, bscale=0.5, bzero=10.0, blank=-32768)
    plane = open_image(tmp_path / "s.fits").read_plane(0, 0)
    np.testing.assert_array_equal(plane, np.array([[1.5, np.nan, -2.0], [0.0, 100.0, np.nan]], np.float32))


def test_float_nan_kept_and_inf_passes_through(tmp_path):
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    data[1, 2], data[0, 1] = np.nan, np.inf
    write_fits(tmp_path / "f.fits", data)
    plane = open_image(tmp_path / "f.fits").read_plane(0, 0)
    assert np.isnan(plane[1, 2]) and plane[0, 1] == np.inf and plane[2, 3] == 11


def test_gzip_inflated_into_memory_and_read_directly(tmp_path):
    """zlib inflates without the GIL (cfitsio's own inflation held it ~2 s for 72 MB)."""
    data = make_cube((5, 12, 10), seed=3)
    expected = write_fits(tmp_path / "c.fits.gz", data, H3, bitpix=16, bscale=0.01, blank=-32768)
    reader = open_image(tmp_path / "c.fits.gz")
    assert reader.reads_directly
    assert reader.hdu == "0"
    assert same(reader.read_plane(4, 0), expected[4])
    assert same(reader.read_spectrum(5, 5, 0), expected[:, 5, 5])
    assert same(reader.read_cube(1, 9, 2, 5, 0, 3, 0), expected[0:3, 2:5, 1:9])


@pytest.mark.parametrize("compress,bitpix,scaling", [
    ("RICE", 16, {"bscale": 0.01, "bzero": 2.0, "blank": -32768}),
    ("RICE", 32, {"bscale": 1e-5, "blank": -1}),
    ("GZIP", 16, {"blank": -32768}),
    ("GZIP", -32, {}),
    ("HCOMPRESS", 16, {"bscale": 0.01}),
    ("PLIO", 16, {"bscale": 0.1}),
])
def test_tile_compressed(tmp_path, compress, bitpix, scaling):
    data = make_cube((3, 16, 12), seed=5, nans="blank" in scaling or bitpix < 0)
    if compress in ("PLIO", "HCOMPRESS"):
        data = np.abs(data)
    expected = write_fits(tmp_path / "z.fits", data, H3, bitpix=bitpix, compress=compress, **scaling)
    reader = open_image(tmp_path / "z.fits")
    assert reader.hdu == "1" and reader.is_compressed and not reader.reads_directly
    assert reader.shape == (12, 16, 3)
    for z in range(3):
        assert same(reader.read_plane(z, 0), expected[z])
    assert same(reader.read_spectrum(4, 8, 0), expected[:, 8, 4])
    strings = reader.header_strings()
    assert strings[0].startswith("SIMPLE  =") and strings[1].startswith("BITPIX  =")
    assert int(strings[1][10:30]) == bitpix
    keys = [c.key for c in reader.header_cards()]
    assert "ZIMAGE" not in keys and "TFIELDS" not in keys and keys.count("NAXIS1") == 1
    assert "CTYPE3" in keys


def test_multi_hdu_selection(tmp_path):
    path = tmp_path / "multihdu.fits"
    write_fits(path, None, [("ORIGIN", "golden", "")])
    sci = append_image_hdu(path, make_cube((30, 40), seed=1), wcs_header(["RA---TAN", "DEC--TAN"]), extname="SCI")
    err = append_image_hdu(path, make_cube((16, 20), seed=2), wcs_header(["RA---TAN", "DEC--TAN"], bunit=None),
                           extname="ERR")
    append_table_hdu(path, {"A": np.arange(3, dtype=np.float32)}, extname="TAB")
    assert list_image_hdus(path) == [1, 2]
    first = open_image(path)
    assert first.hdu == "1" and first.extname == "SCI" and same(first.read_plane(0, 0), sci)
    second = open_image(path, "2")
    assert (second.width, second.height) == (20, 16) and same(second.read_plane(0, 0), err)
    assert second.unit == ""
    assert open_image(path, "1: SCI").hdu == "1"
    with pytest.raises(ImageOpenError, match=r"^Error reading FITS file\.$"):
        open_image(path, "7")
    with pytest.raises(ImageOpenError, match="No image at specified HDU"):
        open_image(path, "3")
    with pytest.raises(ImageOpenError, match="2D, 3D or 4D"):
        open_image(path, "0")


def test_parse_hdu_number():
    assert parse_hdu_number("") is None
    assert parse_hdu_number("12: ERR") == 12
    assert parse_hdu_number("0") == 0


def test_swapped_spectral_first_cube_as_reference(tmp_path):
    """GOLDEN.md §3.8: (FREQ, RA, DEC) renders FREQ x RA (width 8, height 32), depth DEC."""
    data = make_cube((24, 32, 8), seed=7)  # numpy order: DEC, RA, FREQ
    header = wcs_header(["FREQ", "RA---SIN", "DEC--SIN"])
    expected = write_fits(tmp_path / "swapped.fits", data, header)
    reader = open_image(tmp_path / "swapped.fits")
    assert (reader.width, reader.height, reader.depth, reader.num_stokes) == (8, 32, 24, 1)
    assert reader.axes.axes_numbers() == {"spatial_x": 2, "spatial_y": 3, "spectral": 1, "stokes": 0, "depth": 3}
    assert same(reader.read_plane(5, 0), expected[5])
    assert same(reader.read_spectrum(3, 10, 0), expected[:, 10, 3])
    assert same(reader.read_cube(1, 6, 2, 30, 4, 9, 0), expected[4:9, 2:30, 1:6])


@pytest.mark.parametrize("ctypes,numbers", [
    # The reference's answers for the ICD test OPEN_SWAPPED_IMAGES.
    (["RA---SIN", "FREQ", "DEC--SIN", "STOKES"], dict(depth=3, spatial_x=1, spatial_y=3, spectral=2, stokes=4)),
    (["RA---SIN", "STOKES", "DEC--SIN", "FREQ"], dict(depth=4, spatial_x=1, spatial_y=3, spectral=4, stokes=2)),
    (["FREQ", "DEC--SIN", "STOKES", "RA---SIN"], dict(depth=4, spatial_x=4, spatial_y=2, spectral=1, stokes=3)),
    (["STOKES", "GLON-CAR", "VRAD", "GLAT-CAR"], dict(depth=4, spatial_x=2, spatial_y=4, spectral=3, stokes=1)),
    (["RA---SIN", "DEC--SIN", "FREQ", "STOKES"], dict(depth=3, spatial_x=1, spatial_y=2, spectral=3, stokes=4)),
])
def test_4d_axis_orders(tmp_path, ctypes, numbers):
    fits_shape = [6, 5, 4, 3]
    stokes_axis = ctypes.index("STOKES")
    fits_shape[stokes_axis] = 2
    data = make_cube(tuple(reversed(fits_shape)), seed=11)
    expected = write_fits(tmp_path / "o.fits", data, wcs_header(ctypes))
    reader = open_image(tmp_path / "o.fits")
    assert reader.axes.axes_numbers() == numbers
    assert reader.stokes_values == [1, 2]
    a = reader.axes
    for z in range(reader.depth):
        for s in range(2):
            index = [slice(None)] * 4
            index[3 - a.z], index[3 - a.stokes] = z, s
            assert same(reader.read_plane(z, s), expected[tuple(index)])
    index = [0] * 4
    index[3 - a.x], index[3 - a.y], index[3 - a.stokes] = 2, 1, 1
    index[3 - a.z] = slice(None)
    assert same(reader.read_spectrum(2, 1, 1), expected[tuple(index)])


@pytest.mark.parametrize("shape,spectral,stokes", [
    ((3, 4, 5), 3, 0),           # 3D, no coordinates: axis 3 spectral
    ((2, 6, 4, 5), 3, 4),        # 4D: axis 3 longer than 4 -> spectral 3, Stokes 4
    ((6, 3, 4, 5), 4, 3),        # 4D: only axis 4 longer than 4 -> spectral 4, Stokes 3
    ((2, 3, 4, 5), 3, 4),        # 4D: cannot tell -> spectral 3, Stokes 4
])
def test_axis_guesses_without_ctypes(tmp_path, shape, spectral, stokes):
    write_fits(tmp_path / "g.fits", make_cube(shape, nans=False))
    numbers = open_image(tmp_path / "g.fits").axes.axes_numbers()
    assert (numbers["spectral"], numbers["stokes"]) == (spectral, stokes)


def test_stokes_values_from_header(tmp_path):
    header = wcs_header(["RA---SIN", "DEC--SIN", "STOKES"], extra=[("CRVAL3", -5.0), ("CDELT3", -1.0)])
    header = [c for c in header if c[0] not in ("CRVAL3", "CDELT3")] + [("CRVAL3", -5.0, ""), ("CDELT3", -1.0, "")]
    write_fits(tmp_path / "p.fits", make_cube((2, 4, 5)), header)
    reader = open_image(tmp_path / "p.fits")
    assert reader.stokes_values == [-5, -6]
    assert reader.num_stokes == 2 and reader.depth == 1


def test_header_cards_and_strings(tmp_path):
    header = wcs_header(["RA---SIN", "DEC--SIN"], bunit="JY/BEAM") + [
        ("OBJECT", "CRAB", "source name"), ("NITER", 1000, "an integer card"), ("GAIN", 0.1, "a float card"),
        ("DOCLEAN", True, "a logical card"), ("HISTORY", None, "first history line"),
        ("COMMENT", None, "a comment card")]
    write_fits(tmp_path / "h.fits", make_cube((6, 7)), header)
    reader = open_image(tmp_path / "h.fits")
    cards = {c.key: c for c in reader.header_cards()}
    assert cards["OBJECT"].value == "CRAB" and cards["OBJECT"].comment == "source name"
    assert cards["NITER"].value == 1000 and type(cards["NITER"].value) is int
    assert cards["GAIN"].value == 0.1 and cards["DOCLEAN"].value is True
    assert cards["HISTORY"] == ("HISTORY", None, "first history line")
    assert cards["COMMENT"].comment == "a comment card"
    assert reader.unit == "JY/BEAM"
    strings = reader.header_strings()
    assert all(len(s) == 80 for s in strings)
    assert strings[0].startswith("SIMPLE  =                    T")
    assert any(s.startswith("HISTORY first history line") for s in strings)
    assert not any(s.startswith("END") for s in strings)


def test_beams_single_none_and_table(tmp_path):
    write_fits(tmp_path / "b.fits", make_cube((2, 4, 5)), H3)
    assert open_image(tmp_path / "b.fits").beams() == [(9.0, 5.4, -20.0)]
    write_fits(tmp_path / "n.fits", make_cube((4, 5)), wcs_header(["RA---SIN", "DEC--SIN"], beam=None))
    assert open_image(tmp_path / "n.fits").beams() == []
    path = tmp_path / "t.fits"
    write_fits(path, make_cube((3, 4, 5)), wcs_header(["RA---SIN", "DEC--SIN", "FREQ"], beam=None,
                                                    extra=[("CASAMBM", True)]))
    table = [(1.0 + i, 0.5 + i, 10.0 * i) for i in range(3)]
    append_beams_table(path, table, nchan=3, npol=1)
    beams = open_image(path).beams()
    assert len(beams) == 3
    np.testing.assert_allclose(np.array(beams), np.array(table), rtol=1e-6)


def test_read_bounds_checked(tmp_path):
    write_fits(tmp_path / "r.fits", make_cube((3, 4, 5)), H3)
    reader = open_image(tmp_path / "r.fits")
    with pytest.raises(IndexError):
        reader.read_plane(3, 0)
    with pytest.raises(IndexError):
        reader.read_plane(0, 1)
    with pytest.raises(IndexError):
        reader.read_cube(0, 6, 0, 4, 0, 1, 0)
    with pytest.raises(IndexError):
        reader.read_spectrum(5, 0, 0)


def test_open_errors(tmp_path):
    with pytest.raises(ImageOpenError, match=r"^File nope\.fits does not exist\.$"):
        open_image(tmp_path / "nope.fits")
    path = tmp_path / "cut.fits"
    write_fits(path, make_cube((8, 64, 64)), H3)
    truncate_file(path, 2880 * 3)
    with pytest.raises(ImageOpenError, match=r"^Error reading FITS file\.$"):
        open_image(path)
    (tmp_path / "text.fits").write_text("hello")
    with pytest.raises(ImageOpenError, match=r"^Unsupported format\.$"):
        open_image(tmp_path / "text.fits")
    fake = tmp_path / "fake.fits"
    fake.write_bytes(b"SIMPLE  = garbage".ljust(100))
    # not FITS by the one type rule (a 2880-byte block starting SIMPLE = T), as FILE_INFO
    # says too; the reference's OPEN_FILE types the file the same way
    with pytest.raises(ImageOpenError, match=r"^Unsupported format\.$"):
        open_image(fake)
    write_fits(tmp_path / "five.fits", make_cube((2, 2, 2, 3, 4), nans=False))
    with pytest.raises(ImageOpenError, match="2D, 3D or 4D"):
        open_image(tmp_path / "five.fits")


def test_factory_fits_agrees_with_astropy(tmp_path):
    """The hand-written FITS bytes read back identically through astropy."""
    from astropy.io import fits

    data = make_cube((3, 5, 6), seed=9)
    for bitpix, kw in ((-32, {}), (16, {"bscale": 0.5, "bzero": 1.0, "blank": -32768}), (64, {"blank": 7})):
        expected = write_fits(tmp_path / f"x{bitpix}.fits", data, H3, bitpix=bitpix, **kw)
        with fits.open(tmp_path / f"x{bitpix}.fits") as hdul:
            got = hdul[0].data.astype(np.float32)
            if bitpix > 0:
                raw = fits.getdata(tmp_path / f"x{bitpix}.fits", do_not_scale_image_data=True)
                got[raw == kw["blank"]] = np.nan
        assert np.array_equal(got, expected, equal_nan=True)


def test_gzip_truncated_or_multi_member(tmp_path):
    import gzip

    from carta_trio.io.image_reader import ImageOpenError

    data = make_cube((3, 40, 30), seed=4)
    expected = write_fits(tmp_path / "c.fits", data, H3)
    raw = (tmp_path / "c.fits").read_bytes()
    half = len(raw) // 2
    # two gzip members make one file (gzip's own rule)
    (tmp_path / "m.fits.gz").write_bytes(gzip.compress(raw[:half]) + gzip.compress(raw[half:]))
    assert same(open_image(tmp_path / "m.fits.gz").read_plane(2, 0), expected[2])
    whole = gzip.compress(raw)
    (tmp_path / "t.fits.gz").write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(ImageOpenError):
        open_image(tmp_path / "t.fits.gz")


def test_gzip_without_memfd_read_through_fitsio_in_bands(tmp_path, monkeypatch):
    """Where no memfd exists, cfitsio inflates the file itself; reads still come in bands."""
    from carta_trio.io import fits_reader

    monkeypatch.setattr(fits_reader, "can_gunzip_to_memory", lambda: False)
    data = make_cube((5, 12, 10), seed=3)
    expected = write_fits(tmp_path / "c.fits.gz", data, H3, bitpix=16, bscale=0.01, blank=-32768)
    reader = open_image(tmp_path / "c.fits.gz")
    assert not reader.reads_directly
    reader.band_pixels = 25  # a few rows per call
    assert same(reader.read_plane(4, 0), expected[4])
    assert same(reader.read_cube(1, 9, 2, 5, 0, 3, 0), expected[0:3, 2:5, 1:9])


def _replace_card(path, key: str, card: str) -> None:
    """Overwrite the header card of ``key`` with the raw 80-character ``card``."""
    raw = bytearray(path.read_bytes())
    at = raw.index(f"{key:<8}= ".encode())
    raw[at : at + 80] = card.ljust(80).encode("ascii")
    path.write_bytes(bytes(raw))


def test_a_card_cfitsio_cannot_parse_does_not_stop_the_image(tmp_path):
    """DSS plates carry ``SKEW = a, b`` (two numbers in one value): cfitsio refuses the
    whole header, astropy and the reference's viewer do not; the card's text is kept."""
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = tmp_path / "dss.fits"
    # cfitsio fails on such a card only when another card follows it
    write_fits(path, data, [("OBJECT", "M 31", "name"), ("SKEW", 0.0, "placeholder"), ("CDELT1", -0.001, "step")])
    _replace_card(path, "SKEW", "SKEW    = -1.3869888376036E+00, -1.6912592180432E+00 /Measure of skew")
    reader = FitsReader(path)
    try:
        np.testing.assert_array_equal(reader.read_plane(0, 0), data)
        cards = {card.key: card for card in reader.header_cards()}
        assert cards["SKEW"].value == "-1.3869888376036E+00, -1.6912592180432E+00"
        assert cards["OBJECT"].value == "M 31" and cards["OBJECT"].comment == "name"
        assert cards["NAXIS1"].value == 4 and cards["CDELT1"].value == -0.001
    finally:
        reader.close()


def test_an_image_with_a_zero_length_axis_is_refused_clearly(tmp_path):
    path = tmp_path / "empty.fits"
    write_fits(path, np.zeros((1, 4), dtype=np.float32))
    _replace_card(path, "NAXIS2", f"NAXIS2  = {0:>20}")
    with pytest.raises(ImageOpenError, match="no pixels"):
        FitsReader(path)
