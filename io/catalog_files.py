"""Catalog files: CATALOG_LIST_RESPONSE and CATALOG_FILE_INFO_RESPONSE (BEHAVIOUR.md §5.6).

Listing follows ``BE:src/Table/TableController.cc``: ``$BASE`` (exactly) is the
starting folder, ``.``/``./``/empty the top folder, a leading ``/`` is stripped;
hidden files are *not* skipped; subdirectories that cannot be opened are skipped;
files are typed by their first bytes (``Content``: ``<?xm`` VOTable, ``SIMP`` FITS
table) or by extension (``.xml``/``.vot``/``.votable``, ``.fits``/``.fz``/``.fits.gz``),
unknown files are listed only in ``AllFiles`` mode. The response's ``directory``
echoes the request and ``parent`` is the parent relative to the top folder (``..``
at the top itself, as the reference computes it).

File info reads only the header: VOTable (the first 64 KiB up to ``<DATA>``, parsed
leniently) or the first FITS binary table (astropy), and describes the columns.
Beyond the reference, gzip'd files are typed by what they hold, and ECSV/CSV
tables (listed in "all files" mode) get file info too, so the frontend's "Load
catalog" button works for them.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Generator
from pathlib import Path

from carta_trio.io.file_list import ListingPace, ListProgress, final_item, item_count
from carta_trio.io.catalog_votable import open_bytes, peek, start_events
from carta_trio.io.file_types import magic_bytes
from carta_trio.io.paths import FORBIDDEN, PathError, resolve_inside
from carta_trio.messages import schema as pb

__all__ = ["catalog_file_info", "catalog_list", "guess_table_type", "iter_catalog_list"]

log = logging.getLogger(__name__)

CatalogType = pb.CatalogFileType
Column = pb.ColumnType
INCORRECT_PATH = "Incorrect file path"
MAX_HEADER_SIZE = 64 * 1024
#: Text tables astropy reads (offered by the list in "all files" mode; beyond the reference).
TEXT_TABLE_SUFFIXES = (".ecsv", ".csv", ".ecsv.gz", ".csv.gz")

_VOTABLE_TYPES = {
    "int": Column.Int32, "short": Column.Int16, "unsignedByte": Column.Uint8, "long": Column.Int64,
    "float": Column.Float, "double": Column.Double, "boolean": Column.Bool,
}  # fmt: skip
#: FITS TFORM letters (raw type, as cfitsio's ``fits_get_coltype``).
_FITS_TYPES = {
    "L": Column.Bool, "B": Column.Uint8, "I": Column.Int16, "J": Column.Int32, "K": Column.Int64,
    "E": Column.Float, "D": Column.Double,
}  # fmt: skip


def guess_table_type(path: str | Path, check_content: bool) -> int:
    """VOTable / FITSTable / Unknown by first bytes or by extension."""
    if check_content:
        head = magic_bytes(path)
        if head[:2] == b"\x1f\x8b":  # gzip'd: look at what it holds (beyond the reference)
            head = peek(path, 4)
        if head == b"<?xm":
            return CatalogType.VOTable
        if head == b"SIMP":
            return CatalogType.FITSTable
        return CatalogType.Unknown
    name = os.path.basename(str(path))
    if name.endswith((".fits", ".fz", ".fits.gz")):
        return CatalogType.FITSTable
    if name.endswith((".xml", ".vot", ".votable")):
        return CatalogType.VOTable
    return CatalogType.Unknown


def _catalog_path(top: str | Path, starting: str | Path | None, directory: str, name: str = "") -> tuple[str, Path]:
    """(lexical path, resolved path) of a catalog request, confined to ``top``."""
    top_s = os.path.realpath(str(top))
    if directory == "$BASE" and starting is not None:
        base = os.path.realpath(str(starting))
    else:
        rel = "" if directory in (".", "./") else directory.lstrip("/")
        base = os.path.join(top_s, rel) if rel else top_s
    lexical = os.path.join(base, name) if name else base
    relative = os.path.relpath(os.path.normpath(lexical), top_s) if os.path.isabs(lexical) else lexical
    return lexical, resolve_inside(top_s, "" if relative == "." else relative)


def iter_catalog_list(
    top: str | Path,
    starting: str | Path | None,
    directory: str,
    filter_mode: int = pb.FileListFilterMode.Content,
    *,
    clock: Callable[[], float] = time.monotonic,
    checkpoint: float = 0.2,
) -> Generator[ListProgress | pb.CatalogListResponse, None, None]:
    """Walk a folder for catalogs; yield progress now and then, the response last."""
    response = pb.CatalogListResponse()
    try:
        lexical, path = _catalog_path(top, starting, directory)
    except PathError as exc:
        response.message = exc.message if exc.message == FORBIDDEN else INCORRECT_PATH
        yield response
        return
    if not path.is_dir():
        response.message = INCORRECT_PATH
        yield response
        return
    response.directory = directory
    response.parent = os.path.relpath(os.path.dirname(lexical), os.path.realpath(str(top)))
    top_real = os.path.realpath(str(top))
    try:
        with os.scandir(path) as it:
            entries = list(it)
    except OSError:
        response.message = "Cannot list directory contents"
        yield response
        return
    total = sum(1 for e in entries if _safe(e.is_file) or _safe(e.is_dir))
    pace = ListingPace(total, clock, checkpoint)
    checked = 0
    for entry in entries:
        real = os.path.realpath(entry.path)
        if not os.path.exists(entry.path) or not (top_real == "/" or real == top_real or real.startswith(top_real + "/")):
            continue
        if _safe(entry.is_dir):
            try:
                with os.scandir(entry.path):
                    pass
            except OSError:
                continue
            response.subdirectories.append(
                pb.DirectoryInfo(name=entry.name, item_count=item_count(entry.path), date=int(entry.stat().st_mtime))
            )
        elif _safe(entry.is_file):
            kind = guess_table_type(entry.path, filter_mode == pb.FileListFilterMode.Content)
            if kind == CatalogType.Unknown and filter_mode != pb.FileListFilterMode.AllFiles:
                continue
            st = entry.stat()
            response.files.append(
                pb.CatalogFileInfo(name=entry.name, type=kind, file_size=st.st_size, date=int(st.st_mtime))
            )
        checked += 1
        progress = pace.tick(checked)
        if progress is not None:
            yield progress
    response.success = True
    yield response


def _safe(test: Callable[[], bool]) -> bool:
    try:
        return test()
    except OSError:
        return False


def catalog_list(top: str | Path, starting: str | Path | None, directory: str, filter_mode: int) -> pb.CatalogListResponse:
    """The whole catalog listing at once."""
    return final_item(iter_catalog_list(top, starting, directory, filter_mode), pb.CatalogListResponse)


class _TableHeader:
    """What CATALOG_FILE_INFO needs from a table header."""

    def __init__(self) -> None:
        self.description = ""
        self.rows = 0
        self.coosys: dict[str, str] = {}
        self.params: list[tuple[str, str]] = []
        self.columns: list[pb.CatalogHeader] = []


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: ET.Element | None, name: str) -> ET.Element | None:
    if node is None:
        return None
    return next((c for c in node if _local(c.tag) == name), None)


def _votable_header(path: str | Path) -> _TableHeader:
    with open_bytes(path) as f:
        text = f.read(MAX_HEADER_SIZE)
    cut = text.find(b"<DATA>")
    if cut >= 0:
        text = text[:cut]
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start",))
    root: ET.Element | None = None
    try:
        parser.feed(text)
        for _event, element in start_events(parser):
            if root is None:
                root = element
    except ET.ParseError:
        for _event, element in start_events(parser):
            if root is None:
                root = element
    if root is None or _local(root.tag) != "VOTABLE":
        raise ValueError("Missing XML element VOTABLE!")
    header = _TableHeader()
    resource = _child(root, "RESOURCE")
    coosys = _child(root, "COOSYS")
    if coosys is None:
        coosys = _child(_child(root, "DEFINITIONS"), "COOSYS")
    if coosys is None:
        coosys = _child(resource, "COOSYS")
    if coosys is not None:
        header.coosys = {k: coosys.get(k, "") for k in ("system", "epoch", "equinox")}
    if resource is None:
        raise ValueError("Missing XML element RESOURCE!")
    table = _child(resource, "TABLE")
    if table is None:
        raise ValueError("Missing XML element TABLE!")
    description = _child(table, "DESCRIPTION")
    if description is not None:
        header.description = description.text or ""
    for node in table:
        if _local(node.tag) == "PARAM":
            header.params.append((node.get("name", ""), node.get("value", "")))
    for index, node in enumerate(n for n in table if _local(n.tag) == "FIELD"):
        datatype = node.get("datatype", "")
        if datatype in ("char", "unicodeChar"):
            kind = Column.String
        elif node.get("arraysize"):
            kind = Column.UnsupportedType
        else:
            kind = _VOTABLE_TYPES.get(datatype, Column.UnsupportedType)
        desc_node = _child(node, "DESCRIPTION")
        desc = (desc_node.text or "") if desc_node is not None else node.get("description", "")
        header.columns.append(
            pb.CatalogHeader(name=node.get("name", ""), data_type=kind, column_index=index,
                             description=desc, units=node.get("unit", ""))
        )
    if not header.columns:
        raise ValueError("Cannot parse table headers!")
    try:
        header.rows = int(table.get("nrows", "0"))
    except ValueError:
        header.rows = 0
    return header


def _text_table_header(path: str | Path) -> _TableHeader:
    """ECSV/CSV (beyond the reference): astropy reads the table; its columns make the header."""
    from carta_trio.io.catalog_open import read_catalog
    from carta_trio.io.catalog_table import CatalogError

    try:
        table = read_catalog(path)
    except CatalogError as exc:
        raise ValueError(str(exc)) from None
    header = _TableHeader()
    header.rows = table.rows
    header.description = table.description
    header.columns = [column.header() for column in table.columns]
    return header


def _fits_table_header(path: str | Path) -> _TableHeader:
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=True) as hdul:
            table = next((h for h in hdul if isinstance(h, (fits.BinTableHDU, fits.TableHDU))), None)
            if table is None:
                raise ValueError("File does not contain a FITS table!")
            h = table.header
            ncols = int(h.get("TFIELDS", 0))
            if ncols <= 0:
                raise ValueError("Table is empty!")
            header = _TableHeader()
            header.rows = int(h.get("NAXIS2", 0))
            for i in range(1, ncols + 1):
                tform = str(h.get(f"TFORM{i}", "")).strip()
                header.columns.append(
                    pb.CatalogHeader(
                        name=str(h.get(f"TTYPE{i}", "")), data_type=_fits_column_type(tform),
                        column_index=i - 1, description=str(h.get(f"TCOMM{i}", "")).rstrip(),
                        units=str(h.get(f"TUNIT{i}", "")).rstrip(),
                    )
                )
    return header


def _fits_column_type(tform: str) -> int:
    digits = ""
    rest = tform
    while rest and rest[0].isdigit():
        digits, rest = digits + rest[0], rest[1:]
    repeat = int(digits) if digits else 1
    letter = rest[:1].upper()
    if letter == "A":
        return Column.String
    if repeat > 1:
        return Column.UnsupportedType
    return _FITS_TYPES.get(letter, Column.UnsupportedType)


def catalog_file_info(
    top: str | Path, starting: str | Path | None, directory: str, name: str
) -> pb.CatalogFileInfoResponse:
    """Answer a CATALOG_FILE_INFO_REQUEST (blocking)."""
    response = pb.CatalogFileInfoResponse()
    try:
        _lexical, path = _catalog_path(top, starting, directory, name)
    except PathError as exc:
        response.message = exc.message
        return response
    if not path.is_file():
        response.message = INCORRECT_PATH
        return response
    head = peek(path, 4)
    try:
        if head == b"SIMP":
            kind, header = CatalogType.FITSTable, _fits_table_header(path)
        elif head == b"<?xm":
            kind, header = CatalogType.VOTable, _votable_header(path)
        elif path.name.lower().endswith(TEXT_TABLE_SUFFIXES):
            kind, header = CatalogType.Unknown, _text_table_header(path)
        else:
            return response
    except (ValueError, OSError) as exc:
        response.message = str(exc) if isinstance(exc, ValueError) else ""
        return response
    text = f"Name: {path.name}\n"
    if header.description:
        text += f"Description: {header.description}\n"
    text += f"Column Count: {len(header.columns)}\n"
    if header.rows:
        text += f"Row Count: {header.rows}\n"
    for key, label in (("system", "Coordinate System"), ("epoch", "Epoch"), ("equinox", "Equinox")):
        if header.coosys.get(key):
            text += f"{label}: {header.coosys[key]}\n"
    text += "".join(f"{k}: {v}\n" for k, v in header.params)
    response.file_info.CopyFrom(
        pb.CatalogFileInfo(name=path.name, type=kind, file_size=os.path.getsize(path), description=text)
    )
    response.headers.extend(header.columns)
    response.success = True
    return response
