"""Catalog files for tests and benchmarks, written with astropy, and astropy's reading of them."""

from __future__ import annotations

import gzip
import shutil
import warnings
from pathlib import Path

import numpy as np
from astropy.io.votable.tree import VOTableFile
from astropy.table import Table

from carta_trio.messages import schema as pb

#: numpy dtype kind+size -> the ColumnType the reference gives the VOTable/FITS column.
EXPECTED_TYPES = {
    "f8": pb.ColumnType.Double, "f4": pb.ColumnType.Float, "i4": pb.ColumnType.Int32, "i8": pb.ColumnType.Int64,
    "i2": pb.ColumnType.Int16, "u1": pb.ColumnType.Uint8, "b1": pb.ColumnType.Bool, "U": pb.ColumnType.String,
}  # fmt: skip
WIRE = {
    pb.ColumnType.Double: "<f8", pb.ColumnType.Float: "<f4", pb.ColumnType.Int32: "<i4", pb.ColumnType.Int64: "<i8",
    pb.ColumnType.Int16: "<i2", pb.ColumnType.Uint8: "u1", pb.ColumnType.Bool: "u1",
}  # fmt: skip


def mixed_table(rows: int, columns: int = 10, seed: int = 1) -> Table:
    """Columns cycling through double, float, int32, string, int64, int16, bool (some NaNs)."""
    rng = np.random.default_rng(seed)
    table = Table()
    for i in range(columns):
        kind = i % 7
        if kind == 0:
            values = rng.uniform(0, 360, rows)
            values[rng.random(rows) < 0.05] = np.nan
            table[f"RA_{i}" if i else "RA_d"] = values
            table.columns[-1].unit = "deg"
        elif kind == 1:
            table[f"f{i}"] = rng.normal(size=rows).astype(np.float32)
        elif kind == 2:
            table[f"i{i}"] = rng.integers(-1000, 1000, rows).astype(np.int32)
        elif kind == 3:
            words = np.array(["Star", "Galaxy", "QSO", "RadioStar", "HII"])
            table[f"s{i}" if i != 3 else "OTYPE_S"] = words[rng.integers(0, len(words), rows)]
        elif kind == 4:
            table[f"l{i}"] = rng.integers(-(1 << 40), 1 << 40, rows)
        elif kind == 5:
            table[f"h{i}"] = rng.integers(-300, 300, rows).astype(np.int16)
        else:
            table[f"b{i}"] = rng.random(rows) < 0.3
    return table


def write_votable(table: Table, path: Path, serialization: str = "tabledata", gzipped: bool = False) -> Path:
    """``table`` as a VOTable (tabledata, binary or binary2), gzip'd when asked."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        votable = VOTableFile.from_table(table)
        votable.resources[0].tables[0].format = serialization
        if serialization == "binary2":
            votable.version = "1.3"
        target = path.with_suffix(path.suffix + ".tmp") if gzipped else path
        votable.to_xml(str(target), tabledata_format=serialization if serialization == "tabledata" else None)
    if gzipped:
        with open(target, "rb") as src, gzip.open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
        target.unlink()
    return path


def astropy_read(path: Path) -> Table:
    """What astropy.table reads from ``path`` (the reference for our columns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Table.read(str(path))


def decoded(column: pb.ColumnData) -> np.ndarray | list[str]:
    """A ColumnData as numpy values (or the list of strings)."""
    if column.data_type == pb.ColumnType.String:
        return list(column.string_data)
    values = np.frombuffer(column.binary_data, dtype=WIRE[column.data_type])
    return values.astype(bool) if column.data_type == pb.ColumnType.Bool else values


def expected_type(values: np.ndarray) -> int:
    dtype = np.asarray(values).dtype
    return EXPECTED_TYPES["U" if dtype.kind in "US" else dtype.str[1:]]


def write_sky_catalog(path: Path, ra: float, dec: float, rows: int, seed: int = 11) -> Path:
    """A TABLEDATA VOTable of ``rows`` sources within about 40 arcsec of (ra, dec) degrees:
    RA_d/DEC_d (deg), flux (0-10) and a name."""
    rng = np.random.default_rng(seed)
    table = Table()
    table["name"] = np.array([f"src{i:03d}" for i in range(rows)])
    table["RA_d"] = ra + rng.uniform(-40, 40, rows) / 3600 / np.cos(np.radians(dec))
    table["DEC_d"] = dec + rng.uniform(-35, 35, rows) / 3600
    table["flux"] = rng.uniform(0, 10, rows)
    table["RA_d"].unit = table["DEC_d"].unit = "deg"
    table["flux"].unit = "mJy"
    return write_votable(table, path)
