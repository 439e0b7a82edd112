"""FILE_INFO answers against GOLDEN.md §3-§6: computed entries (names, order, values,
types), header entries, FileInfoExtended fields and the failure messages, for the
example files written by ``tests/golden_factory.py``."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from carta_trio.io.file_info import FileInfoError, file_info, open_file_info
from carta_trio.messages import schema as pb
from tests.golden_factory import write_all

STRING, FLOAT, INT = pb.EntryType.STRING, pb.EntryType.FLOAT, pb.EntryType.INT

EQ_POS_BLOCK = [
    ("Coordinate type", "Right Ascension, Declination"), ("Projection", "SIN"),
    ("Image reference pixels", "[32, 24.5]"), ("Image reference coords", "[05:35:17.3000, +022.00.52.1000]"),
    ("Image ref coords (deg)", "[83.8221 deg, 22.0145 deg]"), ("Pixel increment", '-1", 1"'),
    ("Pixel unit", "Jy/beam"), ("Celestial frame", "FK5, J2000"), ("Restoring beam", '5" X 3", 35 deg'),
    ("RA range", "[05:35:14.999, 05:35:19.529]"), ("DEC range", "[+22.00.28.599, +22.01.15.599]"),
]
CUBE_BLOCK = [
    ("Number of channels", "10"), ("Coordinate type", "Right Ascension, Declination"), ("Projection", "SIN"),
    ("Image reference pixels", "[17, 13]"), ("Image reference coords", "[13:25:27.6000, -043.01.08.4000]"),
    ("Image ref coords (deg)", "[201.365 deg, -43.019 deg]"), ("Pixel increment", '-1.8", 1.8"'),
    ("Pixel unit", "Jy/beam"), ("Celestial frame", "FK5, J2000"), ("Spectral frame", "LSRK"),
    ("Velocity definition", "RADIO"), ("Restoring beam", '9" X 5.4", -20 deg'),
    ("RA range", "[13:25:25.138, 13:25:30.226]"), ("DEC range", "[-43.01.29.998, -43.00.48.598]"),
]
CUBE_SHAPE = [("Data type", "float"), ("Shape", "[32, 24, 10] (RA, DEC, FREQ)")]
CUBE_RANGES = [("Frequency range", "[230.5380, 230.5470] (GHz)"), ("Velocity range", "[-0.0000, -11.7036] (km/s)")]
SCI = [
    ("Extension name", "SCI"), ("Data type", "float"), ("Shape", "[40, 30] (RA, DEC)"),
    ("Coordinate type", "Right Ascension, Declination"), ("Projection", "TAN"), ("Image reference pixels", "[20, 15]"),
    ("Image reference coords", "[10:00:24.0000, +002.12.00.0000]"), ("Image ref coords (deg)", "[150.1 deg, 2.2 deg]"),
    ("Pixel increment", '-0.72", 0.72"'), ("Pixel unit", "MJy/sr"), ("Celestial frame", "FK5, J2000"),
    ("RA range", "[10:00:23.039, 10:00:24.913]"), ("DEC range", "[+02.11.49.920, +02.12.10.800]"),
]
ERR = [
    ("Extension name", "ERR"), ("Data type", "float"), ("Shape", "[20, 16] (RA, DEC)"),
    ("Coordinate type", "Right Ascension, Declination"), ("Projection", "TAN"), ("Image reference pixels", "[10, 8]"),
    ("Image reference coords", "[10:00:24.0000, +002.12.00.0000]"), ("Image ref coords (deg)", "[150.1 deg, 2.2 deg]"),
    ("Pixel increment", '-1.44", 1.44"'), ("Celestial frame", "FK5, J2000"),
    ("RA range", "[10:00:23.039, 10:00:24.865]"), ("DEC range", "[+02.11.49.920, +02.12.11.520]"),
]

#: file, hdu -> (key, [dimensions, width, height, depth, stokes], axes_numbers
#: (spatial_x, spatial_y, spectral, stokes, depth), computed entries after Name).
GOLDEN_COMPUTED = {
    ("eq_pos.fits", ""): ("0", [2, 64, 48, 1, 1], (1, 2, 0, 0, 0),
                          [("HDU", "0"), ("Data type", "float"), ("Shape", "[64, 48] (RA, DEC)")] + EQ_POS_BLOCK),
    ("eq_neg.fits", ""): ("0", [2, 64, 48, 1, 1], (1, 2, 0, 0, 0), [
        ("HDU", "0"), ("Data type", "float"), ("Shape", "[64, 48] (RA, DEC)"),
        ("Coordinate type", "Right Ascension, Declination"), ("Projection", "SIN"),
        ("Image reference pixels", "[321, 401]"), ("Image reference coords", "[18:20:21.0000, -016.12.10.0000]"),
        ("Image ref coords (deg)", "[275.087 deg, -16.2028 deg]"), ("Pixel increment", '-0.4", 0.4"'),
        ("Pixel unit", "Jy/beam"), ("Celestial frame", "ICRS"),
        ("RA range", "[18:20:28.138, 18:20:29.888]"), ("DEC range", "[-16.14.49.993, -16.14.31.188]")]),
    ("cube_freq.fits", ""): ("0", [3, 32, 24, 10, 1], (1, 2, 3, 0, 3),
                             [("HDU", "0")] + CUBE_SHAPE + CUBE_BLOCK + CUBE_RANGES),
    ("cube_freq.fits.gz", ""): ("0", [3, 32, 24, 10, 1], (1, 2, 3, 0, 3), [("HDU", "0")] + CUBE_SHAPE + CUBE_BLOCK + [
        ("Frequency range", "[230.5370, 230.5460] (GHz)"), ("Velocity range", "[1.3004, -10.4032] (km/s)")]),
    ("cube_freq.fits.gz", "0"): ("0", [3, 32, 24, 10, 1], (1, 2, 3, 0, 3),
                                 [("HDU", "0")] + CUBE_SHAPE + CUBE_BLOCK + CUBE_RANGES),
    ("stokes4d.fits", ""): ("0", [4, 32, 24, 5, 4], (1, 2, 3, 4, 3), [
        ("HDU", "0"), ("Data type", "float"), ("Shape", "[32, 24, 5, 4] (RA, DEC, FREQ, STOKES)"),
        ("Number of channels", "5"), ("Number of polarizations", "4"),
        ("Coordinate type", "Right Ascension, Declination"), ("Projection", "TAN"), ("Image reference pixels", "[16, 12]"),
        ("Image reference coords", "[00:42:44.3300, +041.16.07.5000]"), ("Image ref coords (deg)", "[10.6847 deg, 41.2687 deg]"),
        ("Pixel increment", '-3.6", 3.6"'), ("Pixel unit", "Jy/beam"), ("Celestial frame", "FK5, J2000"),
        ("Spectral frame", "BARYCENT"), ("Restoring beam", '14.4" X 10.8", 10 deg'),
        ("RA range", "[00:42:39.220, 00:42:49.121]"), ("DEC range", "[+41.15.27.893, +41.16.50.694]"),
        ("Frequency range", "[1.4000, 1.4080] (GHz)"), ("Velocity range", "[4306.8613, 2618.3722] (km/s)"),
        ("Stokes coverage", "[I, Q, U, V]")]),
    ("galactic.fits", ""): ("0", [2, 64, 48, 1, 1], (1, 2, 0, 0, 0), [
        ("HDU", "0"), ("Data type", "float"), ("Shape", "[64, 48] (GLON, GLAT)"), ("Coordinate type", "Longitude, Latitude"),
        ("Projection", "CAR"), ("Image reference pixels", "[32, 24]"),
        ("Image reference coords", "[+120.30.00.0000, -002.15.00.0000]"), ("Image ref coords (deg)", "[120.5 deg, -2.25 deg]"),
        ("Pixel increment", '-36", 36"'), ("Pixel unit", "K"), ("Celestial frame", "GALACTIC"),
        ("LON range", "[120.179703, 120.810288]"), ("LAT range", "[-2.479967, -2.009965]")]),
    ("ecliptic.fits", ""): ("0", [2, 64, 48, 1, 1], (1, 2, 0, 0, 0), [
        ("HDU", "0"), ("Data type", "float"), ("Shape", "[64, 48] (ELON, ELAT)"), ("Coordinate type", "ELON, ELAT"),
        ("Projection", "CAR"), ("Image reference pixels", "[32, 24]"), ("Image reference coords", "[200 deg, 10.5 deg]"),
        ("Image ref coords (deg)", "[200 deg, 10.5 deg]"), ("Pixel increment", '-36", 36"'),
        ("LON range", "[-160.325702, -159.684476]"), ("LAT range", "[10.269835, 10.739844]")]),
    ("swapped.fits", ""): ("0", [3, 8, 32, 24, 1], (2, 3, 1, 0, 3), [
        ("HDU", "0"), ("Data type", "float"), ("Shape", "[8, 32, 24] (FREQ, RA, DEC)"), ("Number of channels", "8"),
        ("Coordinate type", "FREQ, Right Ascension"), ("Image reference pixels", "[1, 16]"),
        ("Image reference coords", "[1e+11 Hz, 10:00:00.0000]"), ("Image ref coords (deg)", "[1e+11 Hz, 150 deg]"),
        ("Pixel increment", '5e+07 Hz, -3.6"'), ("Pixel unit", "Jy/beam"), ("Celestial frame", "FK5, J2000"),
        ("Spectral frame", "LSRK"), ("RA range", "[09:59:56.156, 10:00:03.603]"),
        ("DEC range", "[+02.29.20.400, +02.30.43.200]"), ("Frequency range", "[100.0000, 100.3500] (GHz)"),
        ("Velocity range", "[-0.0000, -1049.2736] (km/s)")]),
    ("int16_scaled.fits", ""): ("0", [2, 64, 48, 1, 1], (1, 2, 0, 0, 0), [
        ("HDU", "0"), ("Data type", "Short (rescaled to float)"), ("Shape", "[64, 48] (RA, DEC)"),
        ("Coordinate type", "Right Ascension, Declination"), ("Projection", "SIN"), ("Image reference pixels", "[32, 24]"),
        ("Image reference coords", "[05:35:17.3000, +022.00.52.1000]"), ("Image ref coords (deg)", "[83.8221 deg, 22.0145 deg]"),
        ("Pixel increment", '-1", 1"'), ("Celestial frame", "FK5, J2000"),
        ("RA range", "[05:35:14.999, 05:35:19.529]"), ("DEC range", "[+22.00.29.099, +22.01.16.099]")]),
    ("multihdu.fits", "1"): ("1", [2, 40, 30, 1, 1], (1, 2, 0, 0, 0), [("HDU", "1")] + SCI),
    ("multihdu.fits", "2"): ("2", [2, 20, 16, 1, 1], (1, 2, 0, 0, 0), [("HDU", "2")] + ERR),
    ("multihdu.fits", "0"): ("0", [2, 40, 30, 1, 1], (1, 2, 0, 0, 0), [
        ("HDU", "0"), ("Data type", "float"), ("Shape", "[40, 30] (NA, NA)"),
        ("RA range", "[10:00:23.039, 10:00:24.913]"), ("DEC range", "[+02.11.49.920, +02.12.10.800]")]),
    ("cube_freq.image", ""): ("", [3, 32, 24, 10, 1], (1, 2, 3, 0, 3), CUBE_SHAPE + CUBE_BLOCK + CUBE_RANGES),
    ("eq_pos.image", ""): ("", [2, 64, 48, 1, 1], (1, 2, 0, 0, 0),
                           [("Data type", "float"), ("Shape", "[64, 48] (RA, DEC)")] + EQ_POS_BLOCK),
    ("cube_idia.hdf5", ""): ("0", [3, 32, 24, 10, 1], (1, 2, 3, 0, 3), [("HDU", "0")] + CUBE_SHAPE + CUBE_BLOCK + CUBE_RANGES),
}

GOLDEN_FILE_INFO = {  # name -> (type, size or None when zlib/HDF5/casacore dependent, HDU_list)
    "eq_pos.fits": (pb.FileType.FITS, 17280, [""]), "cube_freq.fits": (pb.FileType.FITS, 34560, [""]),
    "stokes4d.fits": (pb.FileType.FITS, 66240, [""]), "swapped.fits": (pb.FileType.FITS, 28800, [""]),
    "int16_scaled.fits": (pb.FileType.FITS, 11520, [""]), "multihdu.fits": (pb.FileType.FITS, 23040, [""]),
    "cube_freq.fits.gz": (pb.FileType.FITS, None, [""]), "cube_freq.image": (pb.FileType.CASA, None, [""]),
    "cube_idia.hdf5": (pb.FileType.HDF5, None, ["0"]),
}


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("golden")
    write_all(folder)
    return folder


def computed(info: pb.FileInfoExtended) -> list[tuple[str, str]]:
    return [(e.name, e.value) for e in info.computed_entries]


def header(info: pb.FileInfoExtended, name: str) -> pb.HeaderEntry:
    return next(e for e in info.header_entries if e.name == name)


@pytest.mark.parametrize("name, hdu", sorted(GOLDEN_COMPUTED))
def test_computed_entries_match_golden(golden: Path, name: str, hdu: str) -> None:
    key, fields, numbers, expected = GOLDEN_COMPUTED[(name, hdu)]
    response = file_info(golden, "", name, hdu).response
    assert response.success and response.message == ""
    assert list(response.file_info_extended) == [key]
    info = response.file_info_extended[key]
    assert computed(info) == [("Name", name)] + expected
    assert [info.dimensions, info.width, info.height, info.depth, info.stokes] == fields
    a = info.axes_numbers
    assert (a.spatial_x, a.spatial_y, a.spectral, a.stokes, a.depth) == numbers
    assert list(info.stokes_vals) == []
    for entry in info.computed_entries:
        if entry.name in ("Number of channels", "Number of polarizations"):
            assert entry.entry_type == INT and entry.numeric_value == int(entry.value)
        else:
            assert entry.entry_type == STRING and entry.numeric_value == 0 and entry.comment == ""


@pytest.mark.parametrize("name", sorted(GOLDEN_FILE_INFO))
def test_basic_file_info(golden: Path, name: str) -> None:
    kind, size, hdus = GOLDEN_FILE_INFO[name]
    info = file_info(golden, "", name).response.file_info
    path = golden / name
    assert (info.name, info.type, list(info.HDU_list)) == (name, kind, hdus)
    if size is not None:
        assert info.size == size
    if path.is_file():
        assert info.size == path.stat().st_size
    assert info.date == int(path.stat().st_mtime)


EQ_POS_HEADERS = [
    ("SIMPLE", "T", STRING, 0, "conforms to FITS standard"), ("BITPIX", "-32", INT, -32, "array data type"),
    ("NAXIS", "2", INT, 2, "number of array dimensions"), ("NAXIS1", "64", INT, 64, ""), ("NAXIS2", "48", INT, 48, ""),
    ("CTYPE1", "RA---SIN", STRING, 0, ""), ("CRVAL1", "8.382208333330E+01", FLOAT, 83.8220833333, ""),
    ("CRPIX1", "32", FLOAT, 32, ""), ("CDELT1", "-2.777777778000E-04", FLOAT, -0.0002777777778, ""),
    ("CUNIT1", "deg", STRING, 0, ""), ("CTYPE2", "DEC--SIN", STRING, 0, ""),
    ("CRVAL2", "2.201447222220E+01", FLOAT, 22.0144722222, ""), ("CRPIX2", "24.5", FLOAT, 24.5, ""),
    ("CDELT2", "2.777777778000E-04", FLOAT, 0.0002777777778, ""), ("CUNIT2", "deg", STRING, 0, ""),
    ("EQUINOX", "2000", FLOAT, 2000, ""), ("RADESYS", "FK5", STRING, 0, ""), ("BUNIT", "Jy/beam", STRING, 0, ""),
    ("BMAJ", "1.388888889000E-03", FLOAT, 0.001388888889, ""), ("BMIN", "8.333333333000E-04", FLOAT, 0.0008333333333, ""),
    ("BPA", "3.500000000000E+01", FLOAT, 35, ""), ("OBJECT", "CRAB", STRING, 0, "source name"),
    ("TELESCOP", "ALMA", STRING, 0, ""), ("NITER", "1000", INT, 1000, "an integer card"),
    ("GAIN", "1.000000000000E-01", FLOAT, 0.1, "a float card"), ("DOCLEAN", "T", STRING, 0, "a logical card"),
    ("OBSRA", "8.382208333330E+01", FLOAT, 83.8220833333, ""), ("DATE-OBS", "2020-01-01T00:00:00.000", STRING, 0, ""),
    ("HISTORY first history line", "", STRING, 0, ""), ("COMMENT a comment card", "", STRING, 0, ""),
]


def rows(info: pb.FileInfoExtended) -> list[tuple[str, str, int, float, str]]:
    return [(e.name, e.value, e.entry_type, e.numeric_value, e.comment) for e in info.header_entries]


def test_eq_pos_header_entries(golden: Path) -> None:
    info = file_info(golden, "", "eq_pos.fits").response.file_info_extended["0"]
    assert rows(info) == EQ_POS_HEADERS


def test_extension_header_entries(golden: Path) -> None:
    info = file_info(golden, "", "multihdu.fits", "1").response.file_info_extended["1"]
    got = rows(info)
    assert got[:7] == [
        ("XTENSION", "IMAGE", STRING, 0, "Image extension"), ("BITPIX", "-32", INT, -32, "array data type"),
        ("NAXIS", "2", INT, 2, "number of array dimensions"), ("NAXIS1", "40", INT, 40, ""), ("NAXIS2", "30", INT, 30, ""),
        ("PCOUNT", "0", INT, 0, "number of parameters"), ("GCOUNT", "1", INT, 1, "number of groups")]
    assert got[-2:] == [("BUNIT", "MJy/sr", STRING, 0, ""), ("EXTNAME", "SCI", STRING, 0, "extension name")]
    primary = file_info(golden, "", "multihdu.fits", "0").response.file_info_extended["0"]
    assert rows(primary) == [
        ("SIMPLE", "T", STRING, 0, "conforms to FITS standard"), ("BITPIX", "8", INT, 8, "array data type"),
        ("NAXIS", "0", INT, 0, "number of array dimensions"), ("EXTEND", "T", STRING, 0, ""),
        ("ORIGIN", "golden", STRING, 0, "")]


def test_cube_and_scaled_header_entries(golden: Path) -> None:
    cube = file_info(golden, "", "cube_freq.fits").response.file_info_extended["0"]
    assert [rows(cube)[i] for i in range(len(rows(cube))) if cube.header_entries[i].name in ("CRVAL3", "VELREF", "BPA")] == [
        ("CRVAL3", "2.305380000000E+11", FLOAT, 230538000000.0, ""), ("VELREF", "257", INT, 257, ""),
        ("BPA", "-2.000000000000E+01", FLOAT, -20, "")]
    stokes = file_info(golden, "", "stokes4d.fits").response.file_info_extended["0"]
    assert (header(stokes, "CUNIT4").value, header(stokes, "CUNIT4").entry_type) == ("", STRING)
    assert header(stokes, "CRVAL4").value == "1.000000000000E+00"
    scaled = file_info(golden, "", "int16_scaled.fits").response.file_info_extended["0"]
    assert (header(scaled, "BSCALE").value, header(scaled, "BSCALE").numeric_value) == ("5.000000000000E-01", 0.5)
    assert header(scaled, "BZERO").value == "0.000000000000E+00"


def test_gzip_header_only_keeps_raw_values(golden: Path) -> None:
    info = file_info(golden, "", "cube_freq.fits.gz").response.file_info_extended["0"]
    expected = {"CRVAL1": ("201.365", 201.365), "CRPIX1": ("17.0", 17), "CDELT1": ("-0.0005", -0.0005),
                "CRVAL3": ("230538000000.0", 230538000000.0), "RESTFRQ": ("230538000000.0", 230538000000.0),
                "EQUINOX": ("2000.0", 2000), "BMAJ": ("0.0025", 0.0025), "BPA": ("-20.0", -20)}
    for name, (value, number) in expected.items():
        entry = header(info, name)
        assert (entry.value, entry.entry_type, entry.numeric_value) == (value, FLOAT, number)
    explicit = file_info(golden, "", "cube_freq.fits.gz", "0").response.file_info_extended["0"]
    assert [header(explicit, k).value for k in ("CRVAL1", "CRPIX1", "EQUINOX")] == ["2.013650000000E+02", "17", "2000"]


def test_multi_hdu_with_empty_hdu(golden: Path) -> None:
    for name in ("multihdu.fits", "multihdu.fits.gz"):
        response = file_info(golden, "", name).response
        assert response.success and sorted(response.file_info_extended) == ["1", "2"]
        assert computed(response.file_info_extended["1"]) == [("Name", name), ("HDU", "1")] + SCI
        assert computed(response.file_info_extended["2"]) == [("Name", name), ("HDU", "2")] + ERR
    gz = file_info(golden, "", "multihdu.fits.gz").response.file_info_extended["1"]
    assert [header(gz, k).value for k in ("CRVAL1", "CRPIX1", "CDELT1", "EQUINOX")] == ["150.1", "20.0", "-0.0002", "2000.0"]
    plain = file_info(golden, "", "multihdu.fits").response.file_info_extended["1"]
    assert rows(plain) == rows(file_info(golden, "", "multihdu.fits", "1").response.file_info_extended["1"])


def test_hdf5_header_entries(golden: Path) -> None:
    info = file_info(golden, "", "cube_idia.hdf5").response.file_info_extended["0"]
    got = rows(info)
    assert got[:6] == [("SIMPLE", "T", STRING, 0, ""), ("SCHEMA_VERSION", "0.3", STRING, 0, ""),
                       ("HDF5_CONVERTER", "hdf_convert", STRING, 0, ""), ("HDF5_CONVERTER_VERSION", "0.1.10", STRING, 0, ""),
                       ("HDF5_DATE", "2024-01-01T00:00:00", STRING, 0, ""), ("BITPIX", "-32", INT, -32, "")]
    assert [r[0] for r in got[6:]] == ["NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "CTYPE1", "CRVAL1", "CRPIX1", "CDELT1",
                                       "CUNIT1", "CTYPE2", "CRVAL2", "CRPIX2", "CDELT2", "CUNIT2", "CTYPE3", "CRVAL3",
                                       "CRPIX3", "CDELT3", "CUNIT3", "RESTFRQ", "SPECSYS", "VELREF", "EQUINOX", "RADESYS",
                                       "BUNIT", "BMAJ", "BMIN", "BPA"]
    assert header(info, "CRPIX1").value == "17" and header(info, "CRPIX1").entry_type == FLOAT
    assert header(info, "VELREF").entry_type == INT


def test_casa_header_entries(golden: Path) -> None:
    info = file_info(golden, "", "cube_freq.image").response.file_info_extended[""]
    got = rows(info)
    assert got[:8] == [
        ("XTENSION", "IMAGE", STRING, 0, "IMAGE extension"), ("BITPIX", "-32", INT, -32, "Floating point (32 bit)"),
        ("NAXIS", "3", INT, 3, ""), ("NAXIS1", "32", INT, 32, ""), ("NAXIS2", "24", INT, 24, ""),
        ("NAXIS3", "10", INT, 10, ""), ("PCOUNT", "0", INT, 0, ""), ("GCOUNT", "1", INT, 1, "")]
    assert ("VELREF", "257", INT, 257, "1 LSR, 2 HEL, 3 OBS, +256 Radio") in got
    assert ("ALTRVAL", "-0.000000000000E+00", FLOAT, 0, "Alternate frequency reference value") in got
    assert not any(r[0] in ("DATE", "ORIGIN", "SIMPLE", "EXTEND") for r in got)
    eq = rows(file_info(golden, "", "eq_pos.image").response.file_info_extended[""])
    assert ("DOCLEAN", "T", INT, 1, "") in eq
    assert eq[-1] == ("HISTORY", "", STRING, 0, "first history line")


@pytest.mark.parametrize("name, hdu, message", [
    ("nope.fits", "", "File nope.fits does not exist."),
    ("cube_nosimple.hdf5", "", "Error opening HDF5 image"),
    ("multihdu.fits", "7", "Error reading FITS file."),
    ("multihdu.fits.gz", "7", "Error reading FITS file."),
    ("eq_neg.fits", "1", "Error reading FITS file."),
    ("multihdu.fits", "3", "No image at specified HDU."),
])
def test_failures(golden: Path, name: str, hdu: str, message: str) -> None:
    response = file_info(golden, "", name, hdu).response
    assert (response.success, response.message) == (False, message)
    assert len(response.file_info_extended) == 0


def test_failure_details(golden: Path) -> None:
    missing = file_info(golden, "", "nope.fits").response
    assert missing.HasField("file_info") and missing.file_info == pb.FileInfo()
    nosimple = file_info(golden, "", "cube_nosimple.hdf5").response.file_info
    assert (nosimple.name, nosimple.type, list(nosimple.HDU_list)) == ("cube_nosimple.hdf5", pb.FileType.HDF5, ["0"])
    group = file_info(golden, "", "cube_idia.hdf5", "1").response
    # the reference names the absolute path; carta-trio never shows server paths to users
    assert group.message == "HDF5 error: Could not open group 1 in parent cube_idia.hdf5"
    empty = file_info(golden, "", "").response
    assert (empty.success, empty.message) == (False, "Unsupported format.")
    assert (empty.file_info.name, empty.file_info.type) == (golden.name, pb.FileType.UNKNOWN)
    total = sum(p.stat().st_size for p in golden.rglob("*") if p.is_file() and not p.is_symlink())
    assert empty.file_info.size == total


def test_corrupt_and_unsupported_files(tmp_path: Path) -> None:
    (tmp_path / "text.fits").write_text("not a fits file at all")
    (tmp_path / "short.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 50)
    (tmp_path / "notsimple.fits").write_bytes(("SIMPLE  =                    F".ljust(80) + "END".ljust(80)).ljust(2880).encode())
    one_d = tmp_path / "one_d.fits"
    fits.PrimaryHDU(np.zeros(5, dtype="f4")).writeto(one_d)
    five_d = tmp_path / "five_d.fits"
    fits.PrimaryHDU(np.zeros((1, 2, 2, 3, 4), dtype="f4")).writeto(five_d)
    assert file_info(tmp_path, "", "text.fits").response.message == "Unsupported format."
    assert file_info(tmp_path, "", "short.fits").response.message == "Unsupported format."
    assert file_info(tmp_path, "", "notsimple.fits").response.message == "Unsupported format."
    assert file_info(tmp_path, "", "one_d.fits").response.message == "No image HDUs found."
    assert file_info(tmp_path, "", "one_d.fits", "0").response.message == "Image must be 2D, 3D or 4D."
    assert file_info(tmp_path, "", "five_d.fits").response.message == "Error loading headers or image."
    with open(five_d, "rb") as f:
        blob = f.read()
    (tmp_path / "trunc.fits").write_bytes(blob[:1000])
    response = file_info(tmp_path, "", "trunc.fits").response
    assert not response.success and response.message


def test_outside_top_is_refused(tmp_path: Path, golden: Path) -> None:
    top = tmp_path / "top"
    top.mkdir()
    (top / "link.fits").symlink_to(golden / "eq_pos.fits")
    for directory, name in (("..", "eq_pos.fits"), ("", "link.fits"), ("", "../top/../x.fits"), ("/", "link.fits")):
        response = file_info(top, directory, name).response
        assert (response.success, response.message) == (False, "Forbidden path.")


def test_open_file_info_uses_first_image_hdu(golden: Path) -> None:
    cases = {("cube_freq.fits", ""): "0", ("multihdu.fits", ""): "1", ("multihdu.fits", "2"): "2",
             ("multihdu.fits.gz", ""): "1", ("cube_idia.hdf5", ""): "0", ("cube_freq.image", ""): ""}
    for (name, hdu), used in cases.items():
        info, extended, hdu_used = open_file_info(golden / name, hdu)
        assert (info.name, list(info.HDU_list), info.date, hdu_used) == (name, [used], 0, used)
        assert computed(extended) == computed(file_info(golden, "", name, used).response.file_info_extended[used])
    gz = open_file_info(golden / "cube_freq.fits.gz")[1]
    assert ("Frequency range", "[230.5380, 230.5470] (GHz)") in computed(gz)
    with pytest.raises(FileInfoError, match="Error opening HDF5 image"):
        open_file_info(golden / "cube_nosimple.hdf5")


def test_gzip_without_fits_name_is_not_fits(tmp_path: Path, golden: Path) -> None:
    target = tmp_path / "cube.gz"
    with open(golden / "cube_freq.fits", "rb") as fi, gzip.open(target, "wb") as fo:
        shutil.copyfileobj(fi, fo)
    response = file_info(tmp_path, "", "cube.gz").response
    assert (response.file_info.type, response.message) == (pb.FileType.UNKNOWN, "Unsupported format.")


def test_miriad_precheck_texts(tmp_path: Path) -> None:
    """The reference's MIRIAD pre-check: its texts, and ``naxis`` read from the header."""
    from carta_trio.io.miriad_header import header_integer, miriad_open_error
    from tests.image_factory import write_miriad

    good = tmp_path / "good.miriad"
    write_miriad(good, np.zeros((3, 4, 5), np.float32))
    assert header_integer((good / "header").read_bytes(), "naxis") == 3
    assert header_integer((good / "header").read_bytes(), "naxis2") == 4
    assert header_integer((good / "header").read_bytes(), "nothing", 7) == 7
    assert miriad_open_error(good) is None
    flat = tmp_path / "flat.miriad"
    write_miriad(flat, np.zeros(5, np.float32))
    assert miriad_open_error(flat) == "Image must be 2D, 3D or 4D."
    (good / "image").unlink()
    assert miriad_open_error(good) == "Could not open MIRIAD file"
