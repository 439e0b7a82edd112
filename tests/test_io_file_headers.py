"""Header-entry parsing and computed-entry formatting rules (BEHAVIOUR.md §6.3-6.6):
card quirks, unit normalisation, number formats, sexagesimal strings checked against
python-casacore's MVAngle, axis detection, beams and AIPS HISTORY beams."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from casacore import quanta

from carta_trio.io.angle_format import fmt_g, fmt_shortest, mvangle_angle, mvangle_time
from carta_trio.io.axis_roles import find_axis_roles
from carta_trio.io.computed_entries import Beam, beam_entry, data_type_name
from carta_trio.io.file_info import file_info
from carta_trio.io.header_entries import (
    entries_from_cards,
    entries_from_converted_header,
    entries_from_raw_cards,
    normalize_unit,
    split_card,
)
from carta_trio.messages import schema as pb

STRING, FLOAT, INT = pb.EntryType.STRING, pb.EntryType.FLOAT, pb.EntryType.INT


def one(card: str) -> tuple[str, str, int, float, str]:
    entries = entries_from_cards([card]).entries
    assert len(entries) == (2 if "VELO-" in card else 1)
    e = entries[0]
    return e.name, e.value, e.entry_type, e.numeric_value, e.comment


@pytest.mark.parametrize("card, expected", [
    ("CRVAL1  =   201.365 / ref value", ("CRVAL1", "2.013650000000E+02", FLOAT, 201.365, "ref value")),
    # the value ends two characters before the slash: without a space the last digit is lost
    ("CRVAL1  = 201.365/ref", ("CRVAL1", "2.013600000000E+02", FLOAT, 201.36, "ref")),
    ("CRPIX1  =                321.0", ("CRPIX1", "321", FLOAT, 321.0, "")),
    ("EQUINOX =               2000.0", ("EQUINOX", "2000", FLOAT, 2000.0, "")),
    ("EPOCH   =               1950.5", ("EPOCH", "1950.5", FLOAT, 1950.5, "")),
    ("NITER   =                 1000 / n", ("NITER", "1000", INT, 1000, "n")),
    ("BIG     =          12345678901", ("BIG", "12345678901", INT, 12345678901, "")),
    ("EXPO    =                  1E5", ("EXPO", "1E5", INT, 1, "")),
    ("DCARD   =             1.5D+02", ("DCARD", "1.500000000000E+00", FLOAT, 1.5, "")),
    ("DOCLEAN =                    T / flag", ("DOCLEAN", "T", STRING, 0, "flag")),
    ("SIMPLE  =                    1", ("SIMPLE", "T", STRING, 0, "")),
    ("OBJECT  = 'M 31 / core'        / name", ("OBJECT", "M 31 / core", STRING, 0, "name")),
    ("OBJECT  = 'O''Brien'", ("OBJECT", "O", STRING, 0, "")),
    ("VERSION = '1.5'", ("VERSION", "1.5", STRING, 0, "")),
    ("EMPTY   = ''", ("EMPTY", "", STRING, 0, "")),
    ("NOVALUE =", ("NOVALUE", "", STRING, 0, "")),
    ("BUNIT   = 'JY/BEAM '", ("BUNIT", "Jy/beam", STRING, 0, "")),
    ("CUNIT3  = 'KM/S'", ("CUNIT3", "km/s", STRING, 0, "")),
    ("CUNIT1  = 'DEG'", ("CUNIT1", "deg", STRING, 0, "")),
    ("CTYPE3  = 'VELO-LSR'", ("CTYPE3", "VELO", STRING, 0, "")),
    ("CTYPE1  = 'RA---SIN'", ("CTYPE1", "RA---SIN", STRING, 0, "")),
    ("EXTNAME = 'SCI'", ("EXTNAME", "SCI", STRING, 0, "")),
    ("CONTINUE  'more text'", ("CONTINUE  'more text'", "", STRING, 0, "")),
    ("HISTORY a = b / c", ("HISTORY a = b / c", "", STRING, 0, "")),
    ("COMMENT   spaced", ("COMMENT   spaced", "", STRING, 0, "")),
    ("HIERARCH ESO X = 1", ("HIERARCH ESO X = 1", "", STRING, 0, "")),
    ("H5SCHEMA= '0.3'", ("SCHEMA_VERSION", "0.3", STRING, 0, "")),
])
def test_card_rules(card: str, expected: tuple) -> None:
    assert one(card.ljust(80)) == expected


def test_blank_cards_skipped_and_end_stops() -> None:
    cards = ["A       =                    1", " " * 80, "END", "B       =                    2"]
    assert [e.name for e in entries_from_cards(cards).entries] == ["A"]


def test_velo_ctype_appends_specsys() -> None:
    parsed = entries_from_cards(["CTYPE3  = 'VELO-HEL'", "NAXIS   =                    3"])
    last = parsed.entries[-1]
    assert (last.name, last.value, last.comment) == ("SPECSYS", "HEL", "separated from VELO CTYPE")
    with_specsys = entries_from_cards(["CTYPE3  = 'VELO-HEL'", "SPECSYS = 'LSRK'"])
    assert [e.name for e in with_specsys.entries] == ["CTYPE3", "SPECSYS"]


def test_split_card_quirks() -> None:
    assert split_card("KEY     = /only comment") == ("KEY", "/only comment", "only comment", False)
    assert split_card("KEY     = 'unterminated") == ("KEY", "unterminated", "", True)


@pytest.mark.parametrize("unit, expected", [
    ("JY/BEAM", "Jy/beam"), ("Jy/Beam", "Jy/beam"), ("JyPB", "Jy/beam"), ("Jy beam-1", "Jy/beam"),
    ("beam^-1 Jy", "Jy/beam"), ("DEGREE", "deg"), ("HZ", "Hz"), ("KELVIN", "K"), ("MJy/sr", "MJy/sr"),
    ("'K'", "'K'"), ('"Jy"', "Jy"), ("Pixel", "pixel"), ("unknownunit", "unknownunit"), ("MHZ", "MHz"), ("", ""),
])
def test_normalize_unit(unit: str, expected: str) -> None:
    assert normalize_unit(unit) == expected


def test_raw_cards_keep_text() -> None:
    entries = entries_from_raw_cards([
        "SIMPLE  =                    T / conforms", "CRPIX1  =                 17.0", "NAXIS   =                    3",
        "OBJECT  = 'a / b'              / the name", "HISTORY keep = this", "COMMENT plain",
    ]).entries
    assert [(e.name, e.value, e.entry_type, e.numeric_value, e.comment) for e in entries] == [
        ("SIMPLE", "T", STRING, 0, "conforms"), ("CRPIX1", "17.0", FLOAT, 17.0, ""), ("NAXIS", "3", INT, 3, ""),
        ("OBJECT", "a / b", STRING, 0, "the name"), ("HISTORY keep = this", "", STRING, 0, ""),
        ("COMMENT plain", "", STRING, 0, "")]


def test_converted_header_types() -> None:
    entries = entries_from_converted_header([
        ("DOCLEAN", True, ""), ("OFF", False, "c"), ("N", 3, ""), ("CRPIX1", 17.0, ""), ("CDELT1", -0.0005, ""),
        ("CTYPE3", "FREQUENCY ", ""), ("Z", 1 + 2j, ""), ("HISTORY", None, "text"), ("DATE", "x", ""), ("ORIGIN", "y", ""),
    ]).entries
    assert [(e.name, e.value, e.entry_type, e.numeric_value, e.comment) for e in entries] == [
        ("DOCLEAN", "T", INT, 1, ""), ("OFF", "F", INT, 0, "c"), ("N", "3", INT, 3, ""), ("CRPIX1", "17", FLOAT, 17, ""),
        ("CDELT1", "-5.000000000000E-04", FLOAT, -0.0005, ""), ("CTYPE3", "FREQ", STRING, 0, ""),
        ("Z", "1 + 2i", STRING, 0, ""), ("HISTORY", "", STRING, 0, "text")]


@pytest.mark.parametrize("value, text", [
    (321.0, "321"), (24.5, "24.5"), (2000.0, "2000"), (1e16, "1e+16"), (1.5e-5, "1.5e-05"), (-0.0, "-0"),
    (123456789012.0, "123456789012"), (0.1, "0.1"),
])
def test_fmt_shortest(value: float, text: str) -> None:
    assert fmt_shortest(value) == text


def test_fmt_g() -> None:
    assert [fmt_g(v) for v in (275.0875, 1e11, -3.6000000001, 5e7, 0.0)] == ["275.087", "1e+11", "-3.6", "5e+07", "0"]


def test_sexagesimal_matches_casacore() -> None:
    rng = np.random.default_rng(7)
    values = list(rng.uniform(-400, 400, 400)) + [0.0, 359.99999999, 1.388888888888889e-08, -16.2027777778, 185.0]
    for v in values:
        q = quanta.quantity(float(v), "deg")
        for prec in (9, 10):
            assert mvangle_time(v, prec) == q.formatted("TIME", prec)
            assert mvangle_angle(v, prec) == q.formatted("ANGLE", prec)
            assert mvangle_angle(v, prec, dig2=True) == q.formatted("DIG2", prec)


@pytest.mark.parametrize("bitpix, bscale, bzero, header_only, name", [
    (-32, 1.0, 0.0, False, "float"), (-64, 1.0, 0.0, False, "double"), (16, 1.0, 0.0, False, "Short"),
    (16, 0.5, 0.0, False, "Short (rescaled to float)"), (32, 1.0, 5.0, False, "Int (rescaled to float)"),
    (8, 2.0, 0.0, False, "uChar (rescaled to float)"), (64, 2.0, 0.0, False, "Int64"),
    (-32, 1.0, 3.0, False, "float"), (-32, 1.0, 3.0, True, "float"), (16, 1.0, 3.0, True, "Short (rescaled to float)"),
])
def test_data_type_names(bitpix: int, bscale: float, bzero: float, header_only: bool, name: str) -> None:
    assert data_type_name(bitpix, bscale, bzero, header_only) == name


@pytest.mark.parametrize("shape, kinds, expected", [
    ([10, 10], ["lon", "lat"], (0, 1, None, None, None, (0, 1))),
    ([10, 10, 5], ["lon", "lat", "linear"], (0, 1, 2, 2, None, (0, 1))),
    ([10, 10, 5, 4], ["lon", "lat", "linear", "linear"], (0, 1, 2, 2, 3, (0, 1))),
    ([10, 10, 3, 8], ["lon", "lat", "linear", "linear"], (0, 1, 3, 3, 2, (0, 1))),
    ([10, 10, 3, 3], ["lon", "lat", "linear", "linear"], (0, 1, 2, 2, 3, (0, 1))),
    ([10, 10, 4, 7], ["lon", "lat", "stokes", "linear"], (0, 1, 3, 3, 2, (0, 1))),
    ([4, 10, 10], ["stokes", "lon", "lat"], (1, 2, None, None, 0, (1, 2))),
    ([8, 32, 24], ["spectral", "lon", "lat"], (0, 1, 2, 0, None, (1, 2))),
    ([10, 12], ["linear", "linear"], (0, 1, None, None, None, (0, 1))),
])
def test_find_axis_roles(shape: list[int], kinds: list, expected: tuple) -> None:
    axes = find_axis_roles(kinds, shape)
    assert (axes.x, axes.y, axes.z, axes.spectral, axes.stokes, (axes.spatial_x, axes.spatial_y)) == expected


def test_find_axis_roles_dimension_errors() -> None:
    with pytest.raises(ValueError, match=r"^Image must be 2D, 3D or 4D\.$"):
        find_axis_roles(["linear"], [5])
    with pytest.raises(ValueError, match="incomplete header"):
        find_axis_roles(["linear"], [5, 5])


def test_beam_entries() -> None:
    assert beam_entry([]) is None
    assert beam_entry([Beam(9.0, 5.4, -20.0)]).value == '9" X 5.4", -20 deg'
    beams = [Beam(3.0, 1.0, 0.0), Beam(1.0, 1.0, 5.0), Beam(2.0, 2.0, 10.0)]  # areas 3, 1, 4 -> median 3
    entry = beam_entry(beams)
    assert (entry.name, entry.value) == ("Median area beam", '3" X 1", 0 deg')
    assert beam_entry([Beam(2.0, 1.8, 80.0)], from_history=True).value == '2" X 1.8", 80 deg (extracted from HISTORY)'


def _aips_file(path: Path) -> None:
    h = fits.Header()
    for i, (ctype, crval, cdelt) in enumerate((("RA---SIN", 10.0, -0.001), ("DEC--SIN", 20.0, 0.001)), 1):
        h[f"CTYPE{i}"], h[f"CRVAL{i}"], h[f"CRPIX{i}"], h[f"CDELT{i}"], h[f"CUNIT{i}"] = ctype, crval, 5.0, cdelt, "deg"
    h.add_history("AIPS   CLEAN BMAJ=  1.3889E-03 BMIN=  1.3889E-03 BPA=   0.00")
    h.add_history("RESTOR Beam =  2.000E+00 x  1.800E+00 arcsec, pa =  8.000E+01 degrees")
    fits.PrimaryHDU(np.zeros((10, 10), dtype=np.float32), h).writeto(path)


def test_aips_history_beam(tmp_path: Path) -> None:
    _aips_file(tmp_path / "aips.fits")
    plain = file_info(tmp_path, "", "aips.fits")
    names = [e.name for e in plain.response.file_info_extended["0"].computed_entries]
    assert "Restoring beam" not in names and plain.notices == []
    result = file_info(tmp_path, "", "aips.fits", support_aips_beam=True)
    info = result.response.file_info_extended["0"]
    beam = next(e for e in info.computed_entries if e.name == "Restoring beam")
    assert beam.value == '2" X 1.8", 80 deg (extracted from HISTORY)'
    tail = [(e.name, e.value, e.entry_type, e.comment) for e in info.header_entries[-3:]]
    assert tail == [("BMAJ", f"{2.0 / 3600:E}", FLOAT, "extracted from HISTORY"),
                    ("BMIN", f"{1.8 / 3600:E}", FLOAT, "extracted from HISTORY"),
                    ("BPA", f"{80.0:E}", FLOAT, "extracted from HISTORY")]
    assert info.header_entries[-1].numeric_value == 80.0
    assert result.notices == ['Deriving aips.fits beam info from HISTORY headers: BMAJ=2.0000" BMIN=1.8000" BPA=80 deg']


def test_per_channel_beams_table(tmp_path: Path) -> None:
    h = fits.Header()
    for i, ctype in enumerate(("RA---SIN", "DEC--SIN", "FREQ"), 1):
        h[f"CTYPE{i}"], h[f"CRVAL{i}"], h[f"CRPIX{i}"], h[f"CDELT{i}"] = ctype, 1.0e9 if i == 3 else 10.0, 1.0, 0.001 if i < 3 else 1e6
    h["CASAMBM"] = True
    beams = fits.BinTableHDU.from_columns([
        fits.Column(name="BMAJ", format="E", unit="arcsec", array=np.array([3.0, 1.0, 2.0])),
        fits.Column(name="BMIN", format="E", unit="arcsec", array=np.array([1.0, 1.0, 2.0])),
        fits.Column(name="BPA", format="E", unit="deg", array=np.array([0.0, 5.0, 10.0])),
        fits.Column(name="CHAN", format="J", array=np.array([0, 1, 2])),
        fits.Column(name="POL", format="J", array=np.array([0, 0, 0])),
    ], name="BEAMS")
    fits.HDUList([fits.PrimaryHDU(np.zeros((3, 4, 4), dtype=np.float32), h), beams]).writeto(tmp_path / "mb.fits")
    info = file_info(tmp_path, "", "mb.fits").response.file_info_extended["0"]
    entry = next(e for e in info.computed_entries if "beam" in e.name)
    assert (entry.name, entry.value) == ("Median area beam", '3" X 1", 0 deg')


def test_spectral_single_channel_and_optical(tmp_path: Path) -> None:
    h = fits.Header()
    for i, (ctype, crval, cdelt) in enumerate((("RA---SIN", 10.0, -0.001), ("DEC--SIN", 20.0, 0.001), ("FREQ", 1.0e9, 1e6)), 1):
        h[f"CTYPE{i}"], h[f"CRVAL{i}"], h[f"CRPIX{i}"], h[f"CDELT{i}"] = ctype, crval, 1.0, cdelt
    h["RESTFRQ"], h["VELREF"] = 1.01e9, 1
    fits.PrimaryHDU(np.zeros((1, 4, 4), dtype=np.float32), h).writeto(tmp_path / "one.fits")
    entries = {e.name: e.value for e in file_info(tmp_path, "", "one.fits").response.file_info_extended["0"].computed_entries}
    assert entries["Frequency"] == "1.0000 (GHz)"
    assert entries["Velocity"] == f"{299792.458 * (1.01e9 / 1.0e9 - 1):.4f} (km/s)"
    assert entries["Velocity definition"] == "OPTICAL"
    assert "Frequency range" not in entries


def test_normalize_unit_independent_of_casacore_fits_units(tmp_path: Path) -> None:
    from casacore import images

    fits.PrimaryHDU(np.zeros((2, 2), dtype=np.float32)).writeto(tmp_path / "x.fits")
    images.image(str(tmp_path / "x.fits"))  # casacore registers its FITS unit names here
    assert [normalize_unit(u) for u in ("MHZ", "DEG", "KM/S", "JY/BEAM", "S")] == ["MHz", "deg", "km/s", "Jy/beam", "s"]
