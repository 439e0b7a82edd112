"""OPEN_CATALOG_FILE: find the file, pick a reader, build the ack with preview rows.

Type detection follows the reference (FILES_REGIONS_CATALOGS.md §2.1: ``SIMP``
-> FITS table, ``<?xm`` -> VOTable) and goes beyond it: gzip'd files are looked
into, a VOTable may start with its VOTABLE element or a BOM, and ECSV/CSV
tables (``.ecsv``, ``.csv``, offered by the catalog list in "all files" mode)
are read with astropy. An unknown format gets a message instead of the
reference's empty one.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from carta_trio.io.catalog_files import _catalog_path
from carta_trio.io.catalog_fits import read_fits_table
from carta_trio.io.catalog_table import (
    CatalogError,
    CatalogTable,
    Column,
    ColumnSpec,
    column_data,
    column_type_of_dtype,
    native_array,
)  # fmt: skip
from carta_trio.io.catalog_votable import is_votable_head, peek, read_votable
from carta_trio.io.paths import PathError
from carta_trio.messages import schema as pb

__all__ = ["TABLE_PREVIEW_ROWS", "build_open_ack", "catalog_path", "read_catalog", "read_text_table"]

#: Preview rows when the request asks for fewer than one (TABLE_PREVIEW_ROWS).
TABLE_PREVIEW_ROWS = 50
_TEXT_FORMATS = {".ecsv": "ascii.ecsv", ".csv": "ascii.csv"}


def catalog_path(top: str | Path, starting: str | Path | None, directory: str, name: str) -> Path:
    """The file a catalog request names, confined to ``top``; :class:`CatalogError` if missing."""
    try:
        lexical, path = _catalog_path(top, starting, directory, name)
    except PathError as exc:
        raise CatalogError(exc.message) from None
    if not path.is_file():
        # The reference names the absolute path; the client only gets its own path.
        raise CatalogError(f"Cannot find path {os.path.relpath(os.path.abspath(lexical), os.path.realpath(str(top)))}")
    return path


def read_catalog(path: str | Path) -> CatalogTable:
    """Parse a catalog file of any supported format (raises :class:`CatalogError`)."""
    head = peek(path)
    if head.startswith(b"SIMP"):
        return read_fits_table(path)
    if is_votable_head(head):
        return read_votable(path)
    name = str(path).lower()
    for suffix, fmt in _TEXT_FORMATS.items():
        if name.endswith((suffix, suffix + ".gz")):
            return read_text_table(path, fmt)
    raise CatalogError("Unknown catalog format: neither a FITS table, a VOTable, an ECSV nor a CSV file")


def read_text_table(path: str | Path, fmt: str) -> CatalogTable:
    """An ECSV or CSV table through astropy.table (types as numpy gives them)."""
    from astropy.table import Table

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = Table.read(str(path), format=fmt)
    except Exception as exc:  # noqa: BLE001 - astropy.io.ascii raises many kinds
        raise CatalogError(f"Cannot parse table: {str(exc).splitlines()[0][:200] if str(exc) else exc!r}") from None
    specs: list[ColumnSpec] = []
    for index, name in enumerate(table.colnames):
        col = table[name]
        unit = "" if col.unit is None else col.unit.to_string()
        spec = ColumnSpec(name=name, data_type=column_type_of_dtype(col.dtype), index=index,
                          description=col.description or "", unit=unit)
        if col.ndim != 1:
            spec.data_type, spec.reason = Column.UnsupportedType, "array cells"
        elif spec.data_type == Column.UnsupportedType:
            spec.reason = f"values of type {col.dtype} are not supported"
        else:
            values = col.filled("" if spec.data_type == Column.String else 0) if hasattr(col, "filled") else col
            if spec.data_type in (Column.Float, Column.Double) and hasattr(col, "mask"):
                values = col.filled(float("nan"))
            spec.values = native_array(values.value if hasattr(values, "value") else values, spec.data_type)
        specs.append(spec)
    if not specs:
        raise CatalogError("Table is empty!")
    return CatalogTable(columns=specs, rows=len(table), file_type=pb.CatalogFileType.Unknown,
                        description=str(table.meta.get("description", "")))


def build_open_ack(table: CatalogTable, file_id: int, name: str, file_size: int, preview: int) -> pb.OpenCatalogFileAck:
    """The successful ack: file info, headers of every column, ``preview`` rows of the supported ones."""
    rows = min(preview if preview >= 1 else TABLE_PREVIEW_ROWS, table.rows)
    coosys = pb.Coosys(**{k: table.coosys.get(k, "") for k in ("equinox", "epoch", "system")})
    ack = pb.OpenCatalogFileAck(
        success=True, file_id=file_id, data_size=table.rows,
        file_info=pb.CatalogFileInfo(name=name, type=table.file_type, file_size=file_size,
                                     description=table.description, coosys=[coosys]),
    )  # fmt: skip
    ack.headers.extend(column.header() for column in table.columns)
    for column in table.columns:
        if column.supported:
            ack.preview_data[column.index].CopyFrom(column_data(column, slice(0, rows)))
    return ack
