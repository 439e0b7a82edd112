"""CATALOG_FILTER_REQUEST on an opened catalog: filter, sort, page, chunk.

Semantics of the reference (FILES_REGIONS_CATALOGS.md §2.6), vectorised:
filters are AND-ed boolean masks (numeric ``value``/``secondary_value`` first
converted to the column's type: integers truncate toward zero, Float columns
compare at float precision; NaN fails every operator but NotEqual), string
columns match a case-sensitive substring; the sort order of a (column, order)
is one ``argsort`` of the whole column, computed once (when sorting without
filters) and cached, so any filter with the same sort then costs one gather;
a filtered sort before that sorts only the kept rows. NaN sorts last in both
directions.
The row subset of the last request is reused while filters and sort are equal.
Responses come in chunks of at most 100 000 rows with progress = rows sent /
rows asked (exactly 1.0 on the last).

Beyond the reference (which answers nothing or crashes): a start index past the
end gets one empty response, ``subset_data_size < 0`` means "all the rest",
unknown filter columns and substring filters on numeric columns are skipped
with a note the caller reports.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence

import numpy as np

from carta_trio.io.catalog_table import (
    CatalogError,
    CatalogTable,
    Column,
    ColumnSpec,
    column_data,
)
from carta_trio.messages import schema as pb

__all__ = ["CHUNK_ROWS", "CatalogPending", "CatalogStore", "CatalogView", "FilterPlan", "apply_filter", "sort_order"]

#: Rows per CATALOG_FILTER_RESPONSE (max_chunk_size in TableController::OnFilterRequest).
CHUNK_ROWS = 100_000
Op = pb.ComparisonOperator


def _typed_bound(column: ColumnSpec, value: float) -> np.generic:
    """``value`` converted as the reference's static_cast to the column's C++ type."""
    assert column.values is not None
    dtype = column.values.dtype
    bound: np.generic
    if dtype.kind == "f":
        bound = dtype.type(value)
    elif dtype.kind == "b":
        bound = np.bool_(value != 0 and not np.isnan(value))
    elif np.isnan(value):
        bound = dtype.type(0)
    else:
        info = np.iinfo(dtype)
        bound = dtype.type(min(max(np.trunc(value), info.min), info.max))
    return bound


def apply_filter(column: ColumnSpec, config: pb.FilterConfig) -> np.ndarray | None:
    """Boolean mask of the rows ``config`` keeps in ``column`` (None: keeps all)."""
    values = column.values
    if values is None or not column.supported:
        return None
    if column.data_type == Column.String:
        if not config.sub_string:
            return None
        return np.strings.find(column.text(), config.sub_string) >= 0
    a = _typed_bound(column, config.value)
    b = _typed_bound(column, config.secondary_value)
    op = config.comparison_operator
    mask: np.ndarray | None
    if op == Op.Equal:
        mask = values == a
    elif op == Op.NotEqual:
        mask = values != a
    elif op == Op.Lesser:
        mask = values < a
    elif op == Op.Greater:
        mask = values > a
    elif op == Op.LessorOrEqual:
        mask = values <= a
    elif op == Op.GreaterOrEqual:
        mask = values >= a
    elif op == Op.RangeOpen:
        mask = (values > a) & (values < b)
    elif op == Op.RangeClosed:
        mask = (values >= a) & (values <= b)
    else:
        mask = None
    return mask


def sort_order(values: np.ndarray, ascending: bool) -> np.ndarray:
    """Row order of ``values`` sorted ascending or descending, NaN last either way."""
    order = np.argsort(values)
    if ascending:
        return order
    if values.dtype.kind == "f":
        valid = len(values) - int(np.count_nonzero(np.isnan(values)))
        return np.concatenate((order[:valid][::-1], order[valid:]))
    return order[::-1].copy()


@dataclasses.dataclass
class FilterPlan:
    """What one filter request will send: chunk bounds over the view's rows, and notes."""

    view: CatalogView
    rows: np.ndarray | None  # the view's row numbers (None: every row in file order)
    columns: list[ColumnSpec]
    file_id: int
    filter_size: int
    start: int
    count: int
    notes: list[str]

    def chunks(self) -> list[tuple[int, int]]:
        """[start, end) of each response; one empty range when nothing is sent."""
        if self.count <= 0:
            return [(self.start, self.start)]
        end = self.start + self.count
        return [(s, min(s + CHUNK_ROWS, end)) for s in range(self.start, end, CHUNK_ROWS)]

    def response(self, begin: int, end: int) -> pb.CatalogFilterResponse:
        """The CATALOG_FILTER_RESPONSE of rows [begin, end) of the view."""
        message = pb.CatalogFilterResponse(
            file_id=self.file_id, filter_data_size=self.filter_size,
            request_end_index=self.start + max(self.count, 0), subset_data_size=end - begin, subset_end_index=end,
        )  # fmt: skip
        if self.count <= 0:
            message.progress = 1.0
            return message
        sent = end - self.start
        message.progress = 1.0 if sent >= self.count else float(np.float32(sent) / np.float32(self.count))
        rows: slice | np.ndarray = slice(begin, end) if self.rows is None else self.rows[begin:end]
        for column in self.columns:
            message.columns[column.index].CopyFrom(column_data(column, rows))
        return message

    def responses(self) -> Iterator[pb.CatalogFilterResponse]:
        for begin, end in self.chunks():
            yield self.response(begin, end)


class CatalogView:
    """An opened table with its view cache and cached sort orders."""

    def __init__(self, table: CatalogTable, file_id: int) -> None:
        self.table = table
        self.file_id = file_id
        self._orders: dict[tuple[int, bool], np.ndarray] = {}
        self._key: tuple[object, ...] | None = None
        self._rows: np.ndarray | None = None
        self._notes: list[str] = []
        self._lock = threading.Lock()

    @staticmethod
    def _request_key(request: pb.CatalogFilterRequest) -> tuple[object, ...]:
        filters = tuple(
            (f.column_name, f.comparison_operator, f.value, f.secondary_value, f.sub_string)
            for f in request.filter_configs
        )  # fmt: skip
        return filters, request.sort_column, request.sorting_type

    def order(self, column: ColumnSpec, ascending: bool) -> np.ndarray:
        """The cached full-table sort order of ``column``."""
        key = (column.index, ascending)
        order = self._orders.get(key)
        if order is None:
            assert column.values is not None
            values = column.text() if column.data_type == Column.String else column.values
            order = sort_order(values, ascending)
            self._orders[key] = order
        return order

    def select(
        self, configs: Sequence[pb.FilterConfig], sort_column: str, sorting_type: int
    ) -> tuple[np.ndarray | None, list[str]]:
        """Row numbers after filters and sort (None: all rows unsorted), and notes on skipped parts."""
        notes: list[str] = []
        mask: np.ndarray | None = None
        for config in configs:
            column = self.table.find(config.column_name)
            if column is None:
                notes.append(f"Catalog filter: no column '{config.column_name}'; filter ignored")
                continue
            if config.sub_string and column.data_type != Column.String:
                notes.append(f"Catalog filter: '{column.name}' is not a string column; substring filter ignored")
                continue
            if not column.supported:
                notes.append(f"Catalog filter: column '{column.name}' has an unsupported type; filter ignored")
                continue
            keep = apply_filter(column, config)
            if keep is not None:
                mask = keep if mask is None else (mask & keep)
        sort = self.table.find(sort_column)
        if sort_column and (sort is None or not sort.supported):
            notes.append(f"Catalog sort: no sortable column '{sort_column}'; rows not sorted")
            sort = None
        if sort is not None:
            ascending = sorting_type != pb.SortingType.Descending
            key = (sort.index, ascending)
            if mask is None or key in self._orders:
                order = self.order(sort, ascending)
                return (order if mask is None else order[mask[order]]), notes
            # No whole-column order yet: sorting only the kept rows costs no more than a plain
            # argsort (building the whole order here would cost up to twice that).
            kept = np.flatnonzero(mask)
            values = sort.text() if sort.data_type == Column.String else sort.values
            assert values is not None
            return kept[sort_order(values[kept], ascending)], notes
        return (None if mask is None else np.flatnonzero(mask)), notes

    def plan(self, request: pb.CatalogFilterRequest) -> FilterPlan:
        """Apply (or reuse) filters and sort, then work out the paging of ``request``."""
        key = self._request_key(request)
        with self._lock:
            if key != self._key:
                self._rows, self._notes = self.select(request.filter_configs, request.sort_column, request.sorting_type)
                self._key = key
            rows, notes = self._rows, list(self._notes)
        filter_size = self.table.rows if rows is None else len(rows)
        start = max(int(request.subset_start_index), 0)
        wanted = int(request.subset_data_size)
        count = filter_size - start if wanted < 0 else min(wanted, filter_size - start)
        columns: list[ColumnSpec] = []
        for index in request.column_indices:
            column = self.table.column(index)
            if column is not None and column.supported and column not in columns:
                columns.append(column)
        return FilterPlan(self, rows, columns, self.file_id, filter_size, start, count, notes)


class CatalogPending(CatalogError):
    """The catalog is still being opened; ``token`` is what the opener registered (to wait on)."""

    def __init__(self, file_id: int, token: object) -> None:
        super().__init__(f"Catalog file id {file_id} is still opening")
        self.token = token


@dataclasses.dataclass(frozen=True)
class _Opening:
    token: object


class CatalogStore:
    """The catalogs of one session, by the frontend's catalog file id.

    An entry is an open :class:`CatalogView`, the message of a failed open, or an
    open in progress (registered with an opaque ``token`` the caller can wait on).
    """

    def __init__(self) -> None:
        self._views: dict[int, CatalogView | str | _Opening] = {}

    def opening(self, file_id: int, token: object) -> None:
        """``file_id`` is being (re)opened; until :meth:`opened`/:meth:`failed`, :meth:`view` raises
        :class:`CatalogPending` carrying ``token``."""
        self._views[file_id] = _Opening(token)

    def is_opening(self, file_id: int, token: object) -> bool:
        """True while the open registered with ``token`` is the current entry of ``file_id``."""
        entry = self._views.get(file_id)
        return isinstance(entry, _Opening) and entry.token is token

    def opened(self, file_id: int, table: CatalogTable) -> CatalogView:
        view = CatalogView(table, file_id)
        self._views[file_id] = view
        return view

    def failed(self, file_id: int, message: str) -> None:
        """Remember that opening ``file_id`` failed, so a filter on it gets the reason."""
        self._views[file_id] = message

    def close(self, file_id: int) -> bool:
        return self._views.pop(file_id, None) is not None

    def clear(self) -> None:
        self._views.clear()

    def __contains__(self, file_id: int) -> bool:
        return isinstance(self._views.get(file_id), CatalogView)

    def view(self, file_id: int) -> CatalogView:
        """The open catalog ``file_id``, or :class:`CatalogError` saying why there is none."""
        entry = self._views.get(file_id)
        if entry is None:
            raise CatalogError(f"Catalog file id {file_id} is not open")
        if isinstance(entry, str):
            raise CatalogError(f"Catalog file id {file_id} failed to open: {entry or 'unknown format'}")
        if isinstance(entry, _Opening):
            raise CatalogPending(file_id, entry.token)
        return entry
