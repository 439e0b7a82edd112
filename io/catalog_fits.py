"""FITS table catalogs: the first table HDU, raw stored values, one array per column.

As the reference (FILES_REGIONS_CATALOGS.md §2.3): the first binary or ASCII
table HDU is read (none -> ``File does not contain a FITS table!``, no columns
-> ``Table is empty!``); binary columns keep their raw stored values
(TSCAL/TZERO/TNULL ignored) typed by TFORM: ``L`` Bool (``T`` -> 1), ``B`` Uint8,
``I`` Int16, ``J`` Int32, ``K`` Int64, ``E`` Float, ``D`` Double, ``rA`` String
(trailing blanks removed); repeats, sub-strings, bits, complex and variable
length arrays are unsupported (reported per column). astropy opens the file
(memory-mapped when not compressed) and its raw record view is split into
native columns, so only the columns kept are copied. ASCII table columns are
typed by astropy's converted values (integers by width, reals as Double).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from carta_trio.io.catalog_table import (
    NATIVE_DTYPES,
    CatalogError,
    CatalogTable,
    Column,
    ColumnSpec,
    column_type_of_dtype,
    native_array,
)  # fmt: skip
from carta_trio.messages import schema as pb

__all__ = ["read_fits_table", "tform_type"]

_TFORM = re.compile(r"^\s*(\d*)\s*([A-Za-z])(.*)$")
_BINARY_TYPES = {
    "L": Column.Bool, "B": Column.Uint8, "I": Column.Int16, "J": Column.Int32, "K": Column.Int64,
    "E": Column.Float, "D": Column.Double,
}  # fmt: skip


def tform_type(tform: str) -> tuple[int, str]:
    """(ColumnType, reason if unsupported) of a binary-table TFORM, as cfitsio's coltype."""
    match = _TFORM.match(tform)
    if match is None:
        return Column.UnsupportedType, f"TFORM '{tform}' not understood"
    repeat = int(match.group(1)) if match.group(1) else 1
    letter, rest = match.group(2).upper(), match.group(3).strip()
    if letter == "A":
        if rest and rest.isdigit() and int(rest) < repeat:
            return Column.UnsupportedType, f"TFORM '{tform}': arrays of sub-strings"
        return Column.String, ""
    if letter in "PQ":
        return Column.UnsupportedType, f"TFORM '{tform}': variable-length array"
    kind = _BINARY_TYPES.get(letter, Column.UnsupportedType)
    if kind == Column.UnsupportedType:
        return kind, f"TFORM '{tform}' is not supported"
    if repeat != 1:
        return Column.UnsupportedType, f"TFORM '{tform}': {repeat} values per cell"
    return kind, ""


def _text(header: Any, key: str) -> str:  # an astropy Header (astropy has no type stubs)
    value = header.get(key, "")
    return str(value).rstrip() if value is not None else ""


def read_fits_table(path: str | Path) -> CatalogTable:
    """Parse the first table HDU of a FITS file (raises :class:`CatalogError`)."""
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            hdul = fits.open(path, memmap=True, lazy_load_hdus=True)
        except Exception as exc:  # noqa: BLE001 - astropy raises many kinds for bad files
            raise CatalogError(f"Cannot read FITS file: {exc}") from None
        try:
            return _read_hdus(hdul)
        finally:
            hdul.close()


def _read_hdus(hdul: Any) -> CatalogTable:  # an astropy HDUList
    from astropy.io import fits

    table = None
    try:
        for hdu in hdul:
            if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
                table = hdu
                break
    except Exception as exc:  # noqa: BLE001 - a truncated file fails while iterating HDUs
        if table is None:
            raise CatalogError(f"File does not contain a FITS table! ({exc})") from None
    if table is None:
        raise CatalogError("File does not contain a FITS table!")
    header = table.header
    ncols = int(header.get("TFIELDS", 0) or 0)
    if ncols <= 0:
        raise CatalogError("Table is empty!")
    ascii_table = not isinstance(table, fits.BinTableHDU)
    try:
        data = table.data
    except Exception as exc:  # noqa: BLE001 - truncated data block, bad TFORMs
        raise CatalogError(f"Cannot read the table data: {exc}") from None
    rows = 0 if data is None else len(data)
    raw = None if data is None else data.view(np.ndarray)
    specs: list[ColumnSpec] = []
    for i in range(ncols):
        n = i + 1
        tform = _text(header, f"TFORM{n}")
        spec = ColumnSpec(name=_text(header, f"TTYPE{n}"), data_type=Column.UnsupportedType, index=i,
                          description=_text(header, f"TCOMM{n}"), unit=_text(header, f"TUNIT{n}"))
        specs.append(spec)
        if ascii_table:
            values = np.asarray(data.field(i)) if data is not None else None
            spec.data_type = Column.UnsupportedType if values is None else column_type_of_dtype(values.dtype)
            if spec.data_type == Column.Float:
                spec.data_type = Column.Double
        else:
            spec.data_type, spec.reason = tform_type(tform)
            values = raw[raw.dtype.names[i]] if raw is not None else None
        if spec.data_type == Column.UnsupportedType:
            spec.reason = spec.reason or f"TFORM '{tform}' is not supported"
            continue
        spec.values = _convert(values, spec.data_type)
    return CatalogTable(columns=specs, rows=rows, file_type=pb.CatalogFileType.FITSTable)


def _convert(values: np.ndarray | None, data_type: int) -> np.ndarray:
    if values is None:
        return np.zeros(0, dtype=NATIVE_DTYPES[data_type])
    if data_type == Column.Bool and values.dtype.kind != "b":
        if values.dtype.itemsize == 1:
            return np.ascontiguousarray(values.view(np.uint8) == ord("T"))
        return np.asarray(values).astype(bool)
    if data_type == Column.String and values.dtype.kind == "S":
        return np.ascontiguousarray(values)  # decoded on first use (ColumnSpec.text)
    if data_type == Column.String:
        return np.strings.rstrip(native_array(values, Column.String), " ")
    return native_array(values, data_type)
