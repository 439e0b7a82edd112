"""Pure catalog code: filter semantics, sort order, paging and ColumnData encoding (FILES_REGIONS_CATALOGS.md §2.5-2.6)."""

from __future__ import annotations

import numpy as np
import pytest

from carta_trio.io.catalog_fits import tform_type
from carta_trio.io.catalog_table import (
    STRING_DTYPE,
    CatalogTable,
    Column,
    ColumnSpec,
    column_data,
)
from carta_trio.io.catalog_view import CatalogView, apply_filter, sort_order
from carta_trio.messages import schema as pb

Op = pb.ComparisonOperator


def spec(values: np.ndarray, kind: int, index: int = 0, name: str = "c") -> ColumnSpec:
    return ColumnSpec(name=name, data_type=kind, index=index, values=values)


def keep(column: ColumnSpec, op: int, value: float, second: float = 0) -> list[int]:
    mask = apply_filter(column, pb.FilterConfig(comparison_operator=op, value=value, secondary_value=second))
    assert mask is not None
    return np.flatnonzero(mask).tolist()


def test_values_are_converted_to_the_column_type_first() -> None:
    ints = spec(np.array([1, 2, 3, -3], dtype=np.int32), Column.Int32)
    assert keep(ints, Op.Greater, 2.7) == [2]  # > 2, as static_cast<int>(2.7)
    assert keep(ints, Op.Lesser, -2.7) == [3]  # truncation toward zero: < -2
    floats = spec(np.array([0.1, 0.2], dtype=np.float32), Column.Float)
    assert keep(floats, Op.Equal, 0.1) == [0]  # compared at float precision
    doubles = spec(np.array([1.0, np.nan, 3.0]), Column.Double)
    assert keep(doubles, Op.NotEqual, 1.0) == [1, 2]  # NaN passes NotEqual only
    assert keep(doubles, Op.RangeClosed, 1.0, 3.0) == [0, 2]
    assert keep(doubles, Op.RangeOpen, 1.0, 3.0) == []
    assert keep(doubles, Op.RangeClosed, 3.0, 1.0) == []  # bounds not swapped
    flags = spec(np.array([True, False]), Column.Bool)
    assert keep(flags, Op.Equal, 1) == [0] and keep(flags, Op.Equal, 0) == [1]


def test_substring_filters_are_case_sensitive_and_empty_matches_all() -> None:
    names = spec(np.array(["Star", "star", "RadioStar"], dtype=STRING_DTYPE), Column.String)
    mask = apply_filter(names, pb.FilterConfig(sub_string="Star", comparison_operator=Op.Greater))
    assert np.flatnonzero(mask).tolist() == [0, 2]
    assert apply_filter(names, pb.FilterConfig(sub_string="")) is None


def test_sort_puts_nan_last_both_ways() -> None:
    values = np.array([2.0, np.nan, 1.0, 3.0, np.nan])
    assert values[sort_order(values, True)][:3].tolist() == [1.0, 2.0, 3.0]
    assert values[sort_order(values, False)][:3].tolist() == [3.0, 2.0, 1.0]
    assert np.isnan(values[sort_order(values, False)][3:]).all()
    words = np.array(["b", "B", "a"], dtype=STRING_DTYPE)
    assert words[sort_order(words, True)].tolist() == ["B", "a", "b"]  # byte-wise


def table(rows: int = 10) -> CatalogTable:
    return CatalogTable(
        columns=[spec(np.arange(rows, dtype=np.float64)[::-1].copy(), Column.Double, 0, "x"),
                 spec(np.array([f"n{i}" for i in range(rows)], dtype=STRING_DTYPE), Column.String, 1, "name"),
                 ColumnSpec(name="vec", data_type=Column.UnsupportedType, index=2)],
        rows=rows, file_type=pb.CatalogFileType.VOTable,
    )  # fmt: skip


def test_paging_edges_and_the_view_cache() -> None:
    view = CatalogView(table(), 3)
    request = pb.CatalogFilterRequest(file_id=3, column_indices=[0, 1, 2, 9], subset_start_index=4, subset_data_size=3,
                                      sort_column="x")
    plan = view.plan(request)
    (response,) = list(plan.responses())
    assert (response.subset_data_size, response.subset_end_index, response.request_end_index) == (3, 7, 7)
    assert sorted(response.columns) == [0, 1]  # unsupported and unknown indices are left out
    assert np.frombuffer(response.columns[0].binary_data, "<f8").tolist() == [4.0, 5.0, 6.0]
    assert view.plan(request).rows is plan.rows  # same filters and sort: the view is reused
    at_end = list(view.plan(pb.CatalogFilterRequest(file_id=3, subset_start_index=10, subset_data_size=5)).responses())
    assert [(r.subset_data_size, r.subset_end_index, r.progress) for r in at_end] == [(0, 10, 1.0)]
    rest = list(view.plan(pb.CatalogFilterRequest(file_id=3, subset_start_index=8, subset_data_size=-1)).responses())
    assert [(r.subset_data_size, r.subset_end_index) for r in rest] == [(2, 10)]


def test_column_data_encoding() -> None:
    ints = spec(np.array([1, -2], dtype=np.int64), Column.Int64)
    assert column_data(ints, slice(0, 2)).binary_data == np.array([1, -2], "<i8").tobytes()
    flags = spec(np.array([True, False]), Column.Bool)
    assert column_data(flags, slice(0, 2)).binary_data == b"\x01\x00"
    raw = spec(np.array([b"ab  ", b"c"]), Column.String)
    assert list(column_data(raw, slice(0, 2)).string_data) == ["ab", "c"]


def test_tform_types() -> None:
    assert [tform_type(t)[0] for t in ("L", "1B", "I", "J", "K", "E", "D", "12A")] == [
        Column.Bool, Column.Uint8, Column.Int16, Column.Int32, Column.Int64, Column.Float, Column.Double, Column.String]
    for unsupported in ("3E", "12A4", "X", "C", "M", "PJ(5)", "QD(2)"):
        kind, reason = tform_type(unsupported)
        assert kind == Column.UnsupportedType and reason


_FIELDS = (b'<FIELD name="i" datatype="int"/><FIELD name="d" datatype="double"/>'
           b'<FIELD name="s" datatype="char" arraysize="*"/><FIELD name="b" datatype="boolean"/>'
           b'<FIELD name="v" datatype="float" arraysize="2"/>')


def _votable(path, rows: bytes):
    path.write_bytes(b'<?xml version="1.0"?>\n<VOTABLE version="1.3"><RESOURCE><TABLE>' + _FIELDS
                     + b"<DATA><TABLEDATA>" + rows + b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")
    return path


def test_tabledata_fast_path_follows_the_reference_cell_rules(tmp_path, monkeypatch) -> None:
    from carta_trio.io import catalog_tabledata
    from carta_trio.io.catalog_votable import read_votable

    row = b"<TR><TD>%d</TD><TD>%d.5</TD><TD> a &amp; b%d </TD><TD>%s</TD><TD>1 2</TD></TR>\n"
    body = b"".join(row % (i, i, i, b"T" if i % 2 else b"false") for i in range(500))
    body += b"<TR><TD/><TD></TD><TD>\xc3\xa9</TD><TD>y</TD><TD/></TR>"
    monkeypatch.setattr(catalog_tabledata, "BLOCK", 1000)  # many blocks, rows cut at </TR>
    table = read_votable(_votable(tmp_path / "t.xml", body))
    i, d, s, b, v = table.columns
    assert table.rows == 501 and v.data_type == Column.UnsupportedType and v.values is None
    assert i.values.tolist() == [*range(500), 0] and i.values.dtype == np.int32
    assert d.values[:3].tolist() == [0.5, 1.5, 2.5] and np.isnan(d.values[-1])
    assert s.values[:2].tolist() == [" a & b0 ", " a & b1 "] and s.values[-1] == "é"  # verbatim, entities decoded
    assert b.values[:3].tolist() == [False, True, False] and b.values[-1]


def test_tabledata_falls_back_to_astropy_when_not_simple(tmp_path) -> None:
    from carta_trio.io.catalog_tabledata import NotSimple, read_tabledata
    from carta_trio.io.catalog_votable import read_votable

    cdata = _votable(tmp_path / "c.xml", b"<TR><TD>1</TD><TD>2</TD><TD><![CDATA[x<y]]></TD><TD>T</TD><TD>1 2</TD></TR>")
    specs = read_votable(cdata).columns
    with pytest.raises(NotSimple):
        read_tabledata(cdata, specs)
    assert specs[2].values.tolist() == ["x<y"]  # astropy read it
    short = _votable(tmp_path / "s.xml", b"<TR><TD>1</TD><TD>2</TD></TR>")
    with pytest.raises(NotSimple):
        read_tabledata(short, specs)


def test_columns_are_looked_up_by_id_before_name() -> None:
    first = ColumnSpec(name="x", data_type=Column.Double, index=0, ident="c1", values=np.array([1.0, 2.0]))
    second = ColumnSpec(name="c1", data_type=Column.Double, index=1, values=np.array([5.0, 6.0]))
    view = CatalogView(CatalogTable(columns=[first, second], rows=2, file_type=pb.CatalogFileType.VOTable), 1)
    config = pb.FilterConfig(column_name="c1", comparison_operator=Op.Greater, value=1.5)
    rows, notes = view.select([config], "c1", pb.SortingType.Descending)
    assert rows.tolist() == [1] and not notes  # filtered and sorted on column 0 (ID "c1"), not column 1
    assert view.table.find("x") is first and view.table.find("nope") is None


def test_a_library_bug_on_odd_content_is_not_shown_as_its_internals(tmp_path, monkeypatch) -> None:
    """astropy meeting a PARQUET-serialised VOTable raised an UnboundLocalError whose text
    ("cannot access local variable 'fd' ...") reached the user; a programming error inside
    a library is reported as unsupported content."""
    import astropy.io.votable

    from carta_trio.io.catalog_table import CatalogError
    from carta_trio.io.catalog_votable import read_votable

    def broken(*args: object, **kwargs: object) -> object:
        raise UnboundLocalError("cannot access local variable 'fd' where it is not associated with a value")

    monkeypatch.setattr(astropy.io.votable, "parse", broken)
    path = _votable(tmp_path / "p.xml", b"<TR><TD>1</TD><TD>2</TD><TD><![CDATA[x]]></TD><TD>T</TD><TD>1 2</TD></TR>")
    with pytest.raises(CatalogError) as error:
        read_votable(path)
    assert "local variable" not in str(error.value)
    assert str(error.value) == "Cannot parse table data! (the table's content is not supported)"
