"""VOTable catalogs: headers read verbatim, cells parsed by astropy.io.votable.

The reference (FILES_REGIONS_CATALOGS.md §2.2) reads only TABLEDATA from a full
DOM; here plain TABLEDATA goes through the vectorised reader of
``catalog_tabledata`` and everything else astropy knows (BINARY, BINARY2, unusual
TABLEDATA; gzip'd files too) through astropy, streaming, into one array per column. The header pass (a pull
parser stopped at ``<DATA>``) keeps names, units and descriptions exactly as
written (astropy would normalise units) and finds COOSYS where the reference
looks: ``VOTABLE/COOSYS``, ``VOTABLE/DEFINITIONS/COOSYS``, ``RESOURCE/COOSYS``.
Only the first RESOURCE's first TABLE is read, as the reference does.

Known differences from the reference's TABLEDATA rules when astropy reads the
cells (fallback only): string cells are stripped of surrounding blanks, and an
empty integer cell takes the column's VALUES/null value when one is declared. A
single ``bit`` column (astropy writes booleans so) is read as Bool, where the
reference calls it unsupported.
"""

from __future__ import annotations

import gzip
import logging
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import numpy as np

from carta_trio.io.catalog_table import (
    CatalogError,
    CatalogTable,
    Column,
    ColumnSpec,
    native_array,
)
from carta_trio.io.catalog_tabledata import NotSimple, read_tabledata
from carta_trio.messages import schema as pb

__all__ = ["is_votable_head", "open_bytes", "peek", "read_votable", "votable_columns"]

_TYPES = {
    "int": Column.Int32, "short": Column.Int16, "unsignedByte": Column.Uint8, "long": Column.Int64,
    "float": Column.Float, "double": Column.Double, "boolean": Column.Bool,
}  # fmt: skip
_CHUNK = 1 << 16
log = logging.getLogger(__name__)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(node: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if node is None else [c for c in node if _local(c.tag) == name]


def open_bytes(path: str | Path) -> IO[bytes]:
    """The file's bytes, decompressed on the fly when it is gzip'd."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return cast(IO[bytes], gzip.open(path, "rb") if gz else open(path, "rb"))


def start_events(parser: ET.XMLPullParser[ET.Element]) -> Iterator[tuple[str, ET.Element]]:
    """The pending events of a parser made for ``events=("start",)``: (event, element)."""
    # typeshed's read_events union also has the shapes of the other event kinds
    return cast("Iterator[tuple[str, ET.Element]]", parser.read_events())


def _header_tree(path: str | Path) -> tuple[ET.Element, ET.Element | None]:
    """The VOTABLE element with everything before the first ``<DATA>`` (no cells), and that DATA."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start",))
    root: ET.Element | None = None
    with open_bytes(path) as f:
        while True:
            chunk = f.read(_CHUNK)
            try:
                parser.feed(chunk) if chunk else parser.close()
                for _event, element in start_events(parser):
                    if root is None:
                        root = element
                    if _local(element.tag) == "DATA":
                        return _checked_root(root), element
            except ET.ParseError as exc:
                if root is None:
                    raise CatalogError(f"Malformed XML: {exc}") from None
                return _checked_root(root), None
            if not chunk:
                return _checked_root(root), None


def _checked_root(root: ET.Element | None) -> ET.Element:
    if root is None or _local(root.tag) != "VOTABLE":
        raise CatalogError("Missing XML element VOTABLE!")
    return root


def votable_columns(root: ET.Element) -> tuple[ET.Element, list[ColumnSpec], dict[str, str], str]:
    """(TABLE element, column specs without values, coosys, description) of a header tree."""
    resources = _children(root, "RESOURCE")
    coosys_nodes = (
        _children(root, "COOSYS") + _children(next(iter(_children(root, "DEFINITIONS")), None), "COOSYS")
        + _children(resources[0] if resources else None, "COOSYS")
    )  # fmt: skip
    coosys = {k: coosys_nodes[0].get(k, "") for k in ("system", "equinox", "epoch")} if coosys_nodes else {}
    if not resources:
        raise CatalogError("Missing XML element RESOURCE!")
    tables = _children(resources[0], "TABLE")
    if not tables:
        raise CatalogError("Missing XML element TABLE!")
    table = tables[0]
    description = next((d.text or "" for d in _children(table, "DESCRIPTION")), "")
    specs: list[ColumnSpec] = []
    for index, node in enumerate(_children(table, "FIELD")):
        datatype = node.get("datatype", "")
        reason = ""
        if datatype in ("char", "unicodeChar"):
            kind = Column.String
        elif datatype == "bit" and node.get("arraysize", "1") == "1":
            kind = Column.Bool  # beyond the reference (unsupported there): astropy writes booleans as bits
        elif node.get("arraysize"):
            kind, reason = Column.UnsupportedType, f"array of {datatype} (arraysize {node.get('arraysize')})"
        else:
            kind = _TYPES.get(datatype, Column.UnsupportedType)
            if kind == Column.UnsupportedType:
                reason = f"datatype '{datatype}' is not supported"
        desc_nodes = _children(node, "DESCRIPTION")
        desc = (desc_nodes[0].text or "") if desc_nodes else node.get("description", "")
        specs.append(ColumnSpec(name=node.get("name", ""), data_type=kind, index=index, description=desc,
                                unit=node.get("unit", ""), ident=node.get("ID", ""), reason=reason))
    if not specs:
        raise CatalogError("Cannot parse table headers!")
    return table, specs, coosys, description


def read_votable(path: str | Path) -> CatalogTable:
    """Parse a VOTable file into a :class:`CatalogTable` (raises :class:`CatalogError`)."""
    root, data = _header_tree(path)
    table, specs, coosys, description = votable_columns(root)
    if data is not None and any(child is data for child in table):
        try:
            rows, values = read_tabledata(path, specs)
        except NotSimple as exc:
            log.debug("%s: TABLEDATA fast path not taken (%s)", path, exc)
        else:
            for spec, column in zip(specs, values):
                spec.values = column
            return CatalogTable(columns=specs, rows=rows, file_type=pb.CatalogFileType.VOTable,
                                description=description, coosys=coosys)
    from astropy.io.votable import parse

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with open_bytes(path) as f:
                votable = parse(f, verify="ignore", invalid="mask")
        tables = votable.resources[0].tables if votable.resources else []
        if not tables:
            raise CatalogError("Missing XML element TABLE!")
        array = tables[0].array
    except CatalogError:
        raise
    except Exception as exc:  # noqa: BLE001 - astropy/expat raise many kinds for bad input
        raise CatalogError(f"Cannot parse table data! ({_describe(exc)})") from None
    names = array.dtype.names or ()
    if len(names) != len(specs):
        raise CatalogError("Cannot parse table data! (FIELD count does not match the data)")
    rows = len(array)
    for spec, name in zip(specs, names):
        if spec.data_type == Column.UnsupportedType:
            continue
        cells = np.ma.getdata(array[name])
        if cells.ndim != 1:
            spec.data_type, spec.reason = Column.UnsupportedType, "array cells"
            continue
        try:
            spec.values = native_array(cells, spec.data_type)
        except (TypeError, ValueError) as exc:
            spec.data_type, spec.reason = Column.UnsupportedType, f"cannot convert values ({exc})"
    return CatalogTable(columns=specs, rows=rows, file_type=pb.CatalogFileType.VOTable,
                        description=description, coosys=coosys)


#: Exceptions that mean a bug inside the parsing library, not a fault of the file's text:
#: their messages describe the library's code and are no help to the user.
_LIBRARY_BUGS = (NameError, AttributeError, TypeError, KeyError, IndexError, AssertionError)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _LIBRARY_BUGS):
        log.info("astropy could not read a VOTable: %s: %s", type(exc).__name__, exc)
        return "the table's content is not supported"
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def is_votable_head(head: bytes) -> bool:
    """True for the start of a VOTable (XML declaration or VOTABLE element, after a BOM/blanks)."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return text.startswith((b"<?xml", b"<VOTABLE", b"<!--"))


def peek(path: str | Path, size: int = 256) -> bytes:
    """The first ``size`` bytes of the file, decompressed if gzip'd."""
    with open_bytes(path) as f:
        try:
            return f.read(size)
        except (OSError, EOFError, gzip.BadGzipFile):
            return b""

