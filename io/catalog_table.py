"""An opened catalog: one numpy array per column, and its ColumnData encoding.

Readers (``catalog_votable``, ``catalog_fits``, ``catalog_text``) build a
:class:`CatalogTable`; the filter/sort/paging code (``catalog_view``) and the
OPEN_CATALOG_FILE ack only use this model. Columns are kept as native-endian
numpy arrays of the reference's ColumnType (FILES_REGIONS_CATALOGS.md §2.5):
strings as ``StringDType`` arrays (variable width, vectorised substring search
and sorting; FITS strings stay raw fixed-width bytes until first filtered or
sorted, see :meth:`ColumnSpec.text`), booleans as ``bool``; unsupported columns keep their header but
no data. Nothing here builds Python objects per row except the ``string_data``
list protobuf needs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from carta_trio.messages import schema as pb

__all__ = [
    "STRING_DTYPE",
    "CatalogError",
    "CatalogTable",
    "Column",
    "ColumnSpec",
    "column_data",
    "column_type_of_dtype",
    "native_array",
]  # fmt: skip

Column = pb.ColumnType
STRING_DTYPE = np.dtypes.StringDType()

#: ColumnType -> little-endian wire dtype of ``binary_data`` (DataColumn::FillColumnData).
WIRE_DTYPES: dict[int, np.dtype] = {
    Column.Bool: np.dtype("u1"), Column.Uint8: np.dtype("u1"), Column.Int8: np.dtype("i1"),
    Column.Uint16: np.dtype("<u2"), Column.Int16: np.dtype("<i2"), Column.Uint32: np.dtype("<u4"),
    Column.Int32: np.dtype("<i4"), Column.Uint64: np.dtype("<u8"), Column.Int64: np.dtype("<i8"),
    Column.Float: np.dtype("<f4"), Column.Double: np.dtype("<f8"),
}  # fmt: skip
#: ColumnType -> native dtype the column is kept in.
NATIVE_DTYPES: dict[int, np.dtype] = {
    Column.Bool: np.dtype(bool), Column.Uint8: np.dtype(np.uint8), Column.Int8: np.dtype(np.int8),
    Column.Uint16: np.dtype(np.uint16), Column.Int16: np.dtype(np.int16), Column.Uint32: np.dtype(np.uint32),
    Column.Int32: np.dtype(np.int32), Column.Uint64: np.dtype(np.uint64), Column.Int64: np.dtype(np.int64),
    Column.Float: np.dtype(np.float32), Column.Double: np.dtype(np.float64), Column.String: STRING_DTYPE,
}  # fmt: skip


class CatalogError(Exception):
    """A catalog cannot be opened; ``str(exc)`` is the ack's message."""


@dataclasses.dataclass
class ColumnSpec:
    """One column: its header fields and (if supported) its values."""

    name: str
    data_type: int
    index: int
    description: str = ""
    unit: str = ""
    ident: str = ""
    #: Why the column is unsupported (reported per column, beyond the reference).
    reason: str = ""
    values: np.ndarray | None = None

    def text(self) -> np.ndarray:
        """A String column's values as ``StringDType``, decoded once from raw bytes on first use."""
        assert self.values is not None
        if self.values.dtype.kind == "S":
            self.values = decode_strings(self.values)
        return self.values

    @property
    def supported(self) -> bool:
        return self.data_type != Column.UnsupportedType and self.values is not None

    def header(self) -> pb.CatalogHeader:
        return pb.CatalogHeader(
            name=self.name, data_type=self.data_type, column_index=self.index,
            description=self.description, units=self.unit,
        )  # fmt: skip


@dataclasses.dataclass
class CatalogTable:
    """A parsed table: columns in file order, the row count and file info."""

    columns: list[ColumnSpec]
    rows: int
    file_type: int
    description: str = ""
    coosys: dict[str, str] = dataclasses.field(default_factory=dict)

    def find(self, key: str) -> ColumnSpec | None:
        """The column whose ID, else whose name, is ``key`` (TableController lookup order)."""
        if not key:
            return None
        for column in self.columns:
            if column.ident and column.ident == key:
                return column
        for column in self.columns:
            if column.name == key:
                return column
        return None

    def column(self, index: int) -> ColumnSpec | None:
        return self.columns[index] if 0 <= index < len(self.columns) else None

    @property
    def nbytes(self) -> int:
        """Bytes held by the column arrays (strings: their UTF-8 length, roughly)."""
        total = 0
        for column in self.columns:
            if column.values is None:
                continue
            if column.values.dtype == STRING_DTYPE:
                total += int(np.strings.str_len(column.values).sum()) + 16 * len(column.values)
            else:
                total += column.values.nbytes
        return total

    def unsupported_notes(self) -> list[str]:
        """One line per unsupported column (beyond the reference, which says nothing)."""
        return [
            f"Column {c.index} '{c.name}': {c.reason or 'unsupported type'}; not shown"
            for c in self.columns if not c.supported
        ]  # fmt: skip


def column_type_of_dtype(dtype: np.dtype) -> int:
    """ColumnType of a numpy scalar dtype (ECSV/CSV and ASCII FITS tables); unsupported otherwise."""
    if dtype.shape:
        return Column.UnsupportedType
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return Column.Bool
    if kind in "USTO":
        return Column.String
    if kind == "f":
        return Column.Float if size <= 4 else Column.Double if size == 8 else Column.UnsupportedType
    if kind == "i":
        return {1: Column.Int8, 2: Column.Int16, 4: Column.Int32, 8: Column.Int64}.get(size, Column.UnsupportedType)
    if kind == "u":
        return {1: Column.Uint8, 2: Column.Uint16, 4: Column.Uint32, 8: Column.Uint64}.get(size, Column.UnsupportedType)
    return Column.UnsupportedType


def decode_strings(raw: np.ndarray) -> np.ndarray:
    """Fixed-width bytes (FITS ``rA``) as ``StringDType``, UTF-8, trailing blanks removed."""
    try:
        text = raw.astype(STRING_DTYPE)
    except (UnicodeDecodeError, ValueError):
        text = np.char.decode(raw, "utf-8", "replace").astype(STRING_DTYPE)
    return np.strings.rstrip(text, " ")


def native_array(values: np.ndarray, data_type: int) -> np.ndarray:
    """``values`` as a contiguous native array of ``data_type``'s dtype (a copy only when needed)."""
    target = NATIVE_DTYPES[data_type]
    if data_type == Column.String:
        if values.dtype.kind == "S":
            try:
                return values.astype(STRING_DTYPE)
            except (UnicodeDecodeError, ValueError):
                return np.char.decode(values, "utf-8", "replace").astype(STRING_DTYPE)
        return np.asarray(values).astype(STRING_DTYPE)
    out = np.asarray(values)
    if out.dtype != target or not out.flags.c_contiguous:
        out = np.ascontiguousarray(out, dtype=target)
    return out


def column_data(column: ColumnSpec, rows: slice | np.ndarray) -> pb.ColumnData:
    """ColumnData of ``column`` for ``rows`` (a slice or an index array), as DataColumn::FillColumnData."""
    assert column.values is not None
    part = column.values[rows]
    if column.data_type == Column.String:
        text = decode_strings(part) if part.dtype.kind == "S" else part
        return pb.ColumnData(data_type=Column.String, string_data=text.tolist())
    wire = WIRE_DTYPES[column.data_type]
    return pb.ColumnData(data_type=column.data_type, binary_data=part.astype(wire, copy=False).tobytes())
