"""Region and catalog files (io/region_files.py, io/catalog_files.py): listings by
content and extension, REGION_FILE_INFO contents and CATALOG_FILE_INFO columns."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from carta_trio.io.catalog_files import catalog_file_info, catalog_list
from carta_trio.io.region_files import region_file_info, region_list
from carta_trio.messages import schema as pb

Mode = pb.FileListFilterMode
CRTF, DS9, UNKNOWN = pb.FileType.CRTF, pb.FileType.DS9_REG, pb.FileType.UNKNOWN
Col = pb.ColumnType


@pytest.fixture
def regions(tmp_path: Path) -> Path:
    (tmp_path / "a.crtf").write_text("#CRTF\ncircle[[1pix, 2pix], 3pix]\n")
    (tmp_path / "b.txt").write_text("#CRTF\nbox[[0pix,0pix],[1pix,1pix]]")
    (tmp_path / "c.reg").write_text("circle(1,2,3)\n")  # DS9 by extension only
    (tmp_path / "d.dat").write_text("# Region file format: DS9 version 4.1\r\nimage\r\ncircle(1,2,3)\r\n")
    (tmp_path / "e.txt").write_text("nothing")
    (tmp_path / ".hidden.crtf").write_text("#CRTF\n")
    (tmp_path / "folder").mkdir()
    image = tmp_path / "img.image"
    image.mkdir()
    (image / "table.dat").write_bytes(b"x")
    (image / "table.info").write_text("Type = Image\nSubType = \n")
    return tmp_path


def test_region_list_modes(regions: Path) -> None:
    content = region_list(regions, regions, "", Mode.Content)
    assert content.success and (content.directory, content.parent) == ("", ".")
    assert {f.name: f.type for f in content.files} == {"a.crtf": CRTF, "b.txt": CRTF, "c.reg": DS9, "d.dat": DS9}
    assert [d.name for d in content.subdirectories] == ["folder"]
    extension = region_list(regions, regions, "", Mode.Extension)
    assert {f.name: f.type for f in extension.files} == {"a.crtf": CRTF, "c.reg": DS9}
    everything = region_list(regions, regions, "", Mode.AllFiles)
    assert {f.name: f.type for f in everything.files} == {
        "a.crtf": CRTF, "b.txt": CRTF, "c.reg": DS9, "d.dat": DS9, "e.txt": UNKNOWN}
    assert sorted(d.name for d in everything.subdirectories) == ["folder", "img.image"]
    entry = next(f for f in content.files if f.name == "a.crtf")
    assert (entry.size, entry.date, list(entry.HDU_list)) == (
        (regions / "a.crtf").stat().st_size, int((regions / "a.crtf").stat().st_mtime), [""])


def test_region_list_failure(regions: Path) -> None:
    response = region_list(regions, regions, "nodir", Mode.Content)
    assert (response.success, response.message) == (False, "File list failed: Directory nodir does not exist.")


def test_region_file_info_contents(regions: Path) -> None:
    response = region_file_info(regions, "", "a.crtf")
    assert response.success and response.message == ""
    assert list(response.contents) == ["#CRTF", "circle[[1pix, 2pix], 3pix]", ""]
    assert (response.file_info.name, response.file_info.type, response.file_info.size) == (
        "a.crtf", CRTF, (regions / "a.crtf").stat().st_size)
    assert list(region_file_info(regions, "", "b.txt").contents) == ["#CRTF", "box[[0pix,0pix],[1pix,1pix]]"]
    ds9 = region_file_info(regions, "", "d.dat")
    assert ds9.file_info.type == DS9
    assert list(ds9.contents) == ["# Region file format: DS9 version 4.1\r", "image\r", "circle(1,2,3)\r", ""]


@pytest.mark.parametrize("directory, name, message", [
    ("", "e.txt", "File e.txt is not a region file."),
    ("", "folder", "File folder is not a region file."),
    ("", "nope.crtf", "File nope.crtf does not exist."),
    ("nodir", "a.crtf", "Directory nodir does not exist."),
    ("..", "a.crtf", "Forbidden path."),
])
def test_region_file_info_failures(regions: Path, directory: str, name: str, message: str) -> None:
    response = region_file_info(regions, directory, name)
    assert (response.success, response.message, list(response.contents)) == (False, message, [""])


@pytest.fixture
def catalogs(tmp_path: Path) -> Path:
    table = Table({
        "RA": np.array([10.0, 20.0, 30.0]), "DEC": np.array([1.0, 2.0, 3.0], dtype=np.float32),
        "NAME": np.array(["a", "bb", "ccc"]), "ID": np.array([1, 2, 3], dtype=np.int32),
        "BIG": np.array([1, 2, 3], dtype=np.int64), "SMALL": np.array([1, 2, 3], dtype=np.int16),
        "VEC": np.zeros((3, 2)),
    })
    table["RA"].unit = "deg"
    table["RA"].description = "Right ascension"
    table.write(tmp_path / "cat.vot", format="votable")
    table.write(tmp_path / "cat.fits")
    (tmp_path / "renamed.dat").write_bytes((tmp_path / "cat.vot").read_bytes())
    (tmp_path / "fake.xml").write_text("not xml")
    (tmp_path / ".hidden.fits").write_bytes((tmp_path / "cat.fits").read_bytes())
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x").write_text("x")
    votable = (
        '<?xml version="1.0"?>\n<VOTABLE version="1.3">\n <COOSYS ID="J2000" system="eq_FK5" equinox="J2000"/>\n'
        ' <RESOURCE>\n  <TABLE nrows="2">\n   <DESCRIPTION>A test catalog</DESCRIPTION>\n'
        '   <PARAM name="Telescope" value="ALMA" datatype="char" arraysize="*"/>\n'
        '   <FIELD name="ra" datatype="double" unit="deg" description="attr description"/>\n'
        '   <FIELD name="flag" datatype="boolean"/>\n   <FIELD name="b" datatype="unsignedByte"/>\n'
        '   <FIELD name="c" datatype="floatComplex"/>\n'
        '   <DATA><TABLEDATA><TR><TD>1</TD><TD>T</TD><TD>1</TD><TD>1 1</TD></TR></TABLEDATA></DATA>\n'
        '  </TABLE>\n </RESOURCE>\n</VOTABLE>\n')
    (tmp_path / "described.xml").write_text(votable)
    return tmp_path


def test_catalog_list_modes(catalogs: Path) -> None:
    content = catalog_list(catalogs, catalogs, "", Mode.Content)
    assert content.success and (content.directory, content.parent) == ("", "..")
    types = {f.name: f.type for f in content.files}
    assert types == {"cat.vot": pb.CatalogFileType.VOTable, "cat.fits": pb.CatalogFileType.FITSTable,
                     "renamed.dat": pb.CatalogFileType.VOTable, ".hidden.fits": pb.CatalogFileType.FITSTable,
                     "described.xml": pb.CatalogFileType.VOTable}
    assert [(d.name, d.item_count) for d in content.subdirectories] == [("sub", 1)]
    entry = next(f for f in content.files if f.name == "cat.fits")
    assert (entry.file_size, entry.date) == ((catalogs / "cat.fits").stat().st_size, int((catalogs / "cat.fits").stat().st_mtime))
    extension = catalog_list(catalogs, catalogs, "", Mode.Extension)
    assert sorted(f.name for f in extension.files) == [".hidden.fits", "cat.fits", "cat.vot", "described.xml", "fake.xml"]
    everything = catalog_list(catalogs, catalogs, ".", Mode.AllFiles)
    assert {f.name: f.type for f in everything.files}["notes.txt"] == pb.CatalogFileType.Unknown
    assert everything.directory == "."


def test_catalog_list_paths(catalogs: Path) -> None:
    sub = catalog_list(catalogs, catalogs, "/sub", Mode.Content)
    assert (sub.success, sub.directory, sub.parent) == (True, "/sub", ".")
    base = catalog_list(catalogs, catalogs / "sub", "$BASE", Mode.Content)
    assert (base.success, base.directory, base.parent) == (True, "$BASE", ".")
    for directory in ("nodir", "cat.fits"):
        missing = catalog_list(catalogs, catalogs, directory, Mode.Content)
        assert (missing.success, missing.message) == (False, "Incorrect file path")
    outside = catalog_list(catalogs / "sub", catalogs, "..", Mode.Content)
    assert (outside.success, outside.message) == (False, "Forbidden path.")


def test_votable_file_info(catalogs: Path) -> None:
    response = catalog_file_info(catalogs, catalogs, "", "cat.vot")
    assert response.success
    info = response.file_info
    assert (info.name, info.type, info.file_size) == ("cat.vot", pb.CatalogFileType.VOTable, os.path.getsize(catalogs / "cat.vot"))
    assert info.description == "Name: cat.vot\nColumn Count: 7\n"
    columns = [(h.name, h.data_type, h.column_index, h.units) for h in response.headers]
    assert columns == [("RA", Col.Double, 0, "deg"), ("DEC", Col.Float, 1, ""), ("NAME", Col.String, 2, ""),
                       ("ID", Col.Int32, 3, ""), ("BIG", Col.Int64, 4, ""), ("SMALL", Col.Int16, 5, ""),
                       ("VEC", Col.UnsupportedType, 6, "")]
    assert response.headers[0].description.strip() == "Right ascension"


def test_votable_description_rows_coosys_params(catalogs: Path) -> None:
    response = catalog_file_info(catalogs, catalogs, "", "described.xml")
    assert response.success
    assert response.file_info.description == (
        "Name: described.xml\nDescription: A test catalog\nColumn Count: 4\nRow Count: 2\n"
        "Coordinate System: eq_FK5\nEquinox: J2000\nTelescope: ALMA\n")
    assert [(h.name, h.data_type, h.description) for h in response.headers] == [
        ("ra", Col.Double, "attr description"), ("flag", Col.Bool, ""), ("b", Col.Uint8, ""),
        ("c", Col.UnsupportedType, "")]


def test_fits_table_file_info(catalogs: Path) -> None:
    with fits.open(catalogs / "cat.fits", mode="update") as hdul:
        hdul[1].header["TCOMM2"] = "declination"
    response = catalog_file_info(catalogs, catalogs, "", "cat.fits")
    assert response.success
    assert response.file_info.type == pb.CatalogFileType.FITSTable
    assert response.file_info.description == "Name: cat.fits\nColumn Count: 7\nRow Count: 3\n"
    assert [(h.name, h.data_type, h.units, h.description) for h in response.headers] == [
        ("RA", Col.Double, "deg", ""), ("DEC", Col.Float, "", "declination"), ("NAME", Col.String, "", ""),
        ("ID", Col.Int32, "", ""), ("BIG", Col.Int64, "", ""), ("SMALL", Col.Int16, "", ""),
        ("VEC", Col.UnsupportedType, "", "")]


def test_catalog_file_info_failures(catalogs: Path) -> None:
    assert catalog_file_info(catalogs, catalogs, "", "nope.fits").message == "Incorrect file path"
    assert catalog_file_info(catalogs, catalogs, "", "sub").message == "Incorrect file path"
    broken = catalog_file_info(catalogs, catalogs, "", "notes.txt")
    assert (broken.success, broken.message) == (False, "")
    (catalogs / "image.fits").write_bytes(b"")
    fits.PrimaryHDU(np.zeros((2, 2), dtype=np.float32)).writeto(catalogs / "image.fits", overwrite=True)
    image = catalog_file_info(catalogs, catalogs, "", "image.fits")
    assert (image.success, image.message) == (False, "File does not contain a FITS table!")
    (catalogs / "bad.xml").write_text('<?xml version="1.0"?>\n<NOTVOTABLE/>\n')
    assert catalog_file_info(catalogs, catalogs, "", "bad.xml").message == "Missing XML element VOTABLE!"
    assert catalog_file_info(catalogs / "sub", catalogs, "..", "cat.fits").message == "Forbidden path."
