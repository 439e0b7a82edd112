"""Catalogs through the server socket: OPEN_CATALOG_FILE, CATALOG_FILTER_REQUEST, CLOSE_CATALOG_FILE,
RESUME_SESSION with catalogs (FILES_REGIONS_CATALOGS.md §2; ICD-RxJS CATALOG_GENERAL, RESUME_CATALOG).

Every value is compared against astropy.table reading the same file, never against our reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.catalog_factory import astropy_read, decoded, expected_type, mixed_table, write_votable
from tests.image_factory import make_cube, wcs_header, write_fits

Op = pb.ComparisonOperator


def assert_rows_match(columns: dict[int, pb.ColumnData], table, rows: np.ndarray) -> None:
    """``columns`` (index -> ColumnData) hold astropy's values of ``rows``, in order."""
    for index, data in columns.items():
        expected = np.asarray(table.columns[index])[rows]
        got = decoded(data)
        if data.data_type == pb.ColumnType.String:
            assert got == [v.decode() if isinstance(v, bytes) else str(v) for v in expected]
        else:
            np.testing.assert_array_equal(got, expected.astype(got.dtype))


async def open_catalog(client, name: str, file_id: int = 1, preview: int = 50) -> pb.OpenCatalogFileAck:
    return await client.request(pb.OpenCatalogFile(directory="", name=name, file_id=file_id, preview_data_size=preview))


async def filter_all(client, request: pb.CatalogFilterRequest) -> list[pb.CatalogFilterResponse]:
    """Send a filter request and collect its responses up to progress 1."""
    await client.send(request)
    responses = []
    while True:
        response = (await client.expect(pb.CatalogFilterResponse, timeout=60)).message
        responses.append(response)
        if response.progress >= 1.0:
            return responses


@pytest.mark.parametrize(
    ("name", "serialization", "gzipped"),
    [("cat.xml", "tabledata", False), ("cat_bin.vot", "binary", False), ("cat_bin2.xml", "binary2", True),
     ("cat.fits", "fits", False), ("cat.fits.gz", "fits", True)],
)  # fmt: skip
async def test_open_ack_matches_astropy(data_dir: Path, carta_url: str, name: str, serialization: str, gzipped: bool) -> None:
    table = mixed_table(120, columns=10)
    path = data_dir / name
    if serialization == "fits":
        table.write(path)
    else:
        write_votable(table, path, serialization, gzipped)
    expected = astropy_read(path)
    async with open_client(carta_url) as client:
        await client.register()
        ack = await open_catalog(client, name, preview=30)
    assert ack.success, ack.message
    assert (ack.file_id, ack.data_size, ack.file_info.name) == (1, len(expected), name)
    assert ack.file_info.type == (pb.CatalogFileType.FITSTable if serialization == "fits" else pb.CatalogFileType.VOTable)
    assert ack.file_info.file_size == path.stat().st_size
    assert len(ack.file_info.coosys) == 1
    assert [(h.name, h.column_index, h.data_type) for h in ack.headers] == [
        (n, i, expected_type(expected[n])) for i, n in enumerate(expected.colnames)]
    assert ack.headers[0].units == "deg"
    assert sorted(ack.preview_data) == list(range(10))
    assert all(len(decoded(c)) == 30 for c in ack.preview_data.values())
    assert_rows_match(dict(ack.preview_data), expected, np.arange(30))


async def test_catalog_general_steps(data_dir: Path, carta_url: str) -> None:
    """CATALOG_GENERAL: sort, numeric filter, substring filter, both + sort; 29 rows, 10 columns."""
    write_votable(mixed_table(29, columns=12, seed=4), data_dir / "artificial.xml")
    table = astropy_read(data_dir / "artificial.xml")
    ra = np.asarray(table["RA_d"])
    otype = np.asarray(table["OTYPE_S"]).astype(str)
    base = {"file_id": 1, "column_indices": list(range(10)), "subset_start_index": 0, "subset_data_size": 29}
    async with open_client(carta_url) as client:
        await client.register()
        ack = await open_catalog(client, "artificial.xml")
        assert ack.success and ack.data_size == 29 and len(ack.headers) == 12
        # Step 6: sort ascending by RA_d, NaN last
        (sorted_rows,) = await filter_all(client, pb.CatalogFilterRequest(**base, sort_column="RA_d", sorting_type=0))
        assert (sorted_rows.subset_data_size, sorted_rows.subset_end_index, sorted_rows.filter_data_size,
                sorted_rows.request_end_index, sorted_rows.progress) == (29, 29, 29, 29, 1.0)
        assert len(sorted_rows.columns) == 10
        order = np.argsort(ra, kind="stable")
        got = decoded(sorted_rows.columns[0])
        np.testing.assert_array_equal(got, ra[order])
        # Step 7: RA_d >= 160
        numeric = [pb.FilterConfig(column_name="RA_d", comparison_operator=Op.GreaterOrEqual, value=160)]
        (filtered,) = await filter_all(client, pb.CatalogFilterRequest(**base, filter_configs=numeric))
        keep = np.flatnonzero(ra >= 160)
        assert (filtered.filter_data_size, filtered.subset_data_size, filtered.request_end_index) == (len(keep),) * 3
        assert_rows_match(dict(filtered.columns), table, keep)
        # Step 8: substring "Star" (matches "Star" and "RadioStar")
        text = [pb.FilterConfig(column_name="OTYPE_S", sub_string="Star")]
        (stars,) = await filter_all(client, pb.CatalogFilterRequest(**base, filter_configs=text))
        keep_s = np.flatnonzero(np.char.find(otype, "Star") >= 0)
        assert stars.filter_data_size == len(keep_s) and 0 < len(keep_s) < 29
        assert_rows_match(dict(stars.columns), table, keep_s)
        # Step 9: both, sorted descending by RA_d
        both = text + numeric
        (combo,) = await filter_all(client, pb.CatalogFilterRequest(
            **base, filter_configs=both, sort_column="RA_d", sorting_type=pb.SortingType.Descending))
        keep_b = np.flatnonzero((np.char.find(otype, "Star") >= 0) & (ra >= 160))
        np.testing.assert_array_equal(decoded(combo.columns[0]), np.sort(ra[keep_b])[::-1])
        assert combo.filter_data_size == len(keep_b)


async def test_every_operator_on_numbers(data_dir: Path, carta_url: str) -> None:
    """Every ComparisonOperator, with the value truncated to the column's integer type."""
    table = mixed_table(300, columns=3, seed=7)
    table.write(data_dir / "ops.fits")
    ints = np.asarray(astropy_read(data_dir / "ops.fits")["i2"])
    ra = np.asarray(astropy_read(data_dir / "ops.fits")["RA_d"])
    cases = [
        ("i2", Op.Equal, 10.9, 0, ints == 10), ("i2", Op.NotEqual, 10, 0, ints != 10),
        ("i2", Op.Lesser, -2.7, 0, ints < -2), ("i2", Op.Greater, 2.7, 0, ints > 2),
        ("i2", Op.LessorOrEqual, 5, 0, ints <= 5), ("i2", Op.GreaterOrEqual, 5, 0, ints >= 5),
        ("i2", Op.RangeOpen, -100, 100, (ints > -100) & (ints < 100)),
        ("i2", Op.RangeClosed, -100, 100, (ints >= -100) & (ints <= 100)),
        ("RA_d", Op.NotEqual, 1000, 0, ra != 1000),  # NaN passes NotEqual only
        ("RA_d", Op.Lesser, 1000, 0, ra < 1000),
    ]  # fmt: skip
    async with open_client(carta_url) as client:
        await client.register()
        assert (await open_catalog(client, "ops.fits")).success
        for column, op, value, second, mask in cases:
            config = pb.FilterConfig(column_name=column, comparison_operator=op, value=value, secondary_value=second)
            (response,) = await filter_all(client, pb.CatalogFilterRequest(
                file_id=1, column_indices=[0, 2], filter_configs=[config], subset_data_size=-1))
            assert response.filter_data_size == int(mask.sum()), (column, op)
            assert_rows_match(dict(response.columns), astropy_read(data_dir / "ops.fits"), np.flatnonzero(mask))


async def test_chunks_and_progress_as_the_reference(data_dir: Path, carta_url: str) -> None:
    """250 000 rows from index 50: chunks of 100 000, progress rows-sent / rows-asked, 1.0 last."""
    rows = 250_000
    fits.BinTableHDU.from_columns([
        fits.Column(name="x", format="D", array=np.arange(rows, dtype=float)),
        fits.Column(name="n", format="J", array=np.arange(rows, dtype=np.int32)[::-1]),
    ]).writeto(data_dir / "big.fits")  # fmt: skip
    async with open_client(carta_url) as client:
        await client.register()
        assert (await open_catalog(client, "big.fits")).data_size == rows
        responses = await filter_all(client, pb.CatalogFilterRequest(
            file_id=1, column_indices=[0, 1], subset_start_index=50, subset_data_size=rows - 50,
            sort_column="n", sorting_type=pb.SortingType.Ascending))
    asked = rows - 50
    assert [(r.subset_data_size, r.subset_end_index) for r in responses] == [
        (100_000, 100_050), (100_000, 200_050), (49_950, 250_000)]
    assert [r.progress for r in responses] == [
        pytest.approx(np.float32(100_000) / np.float32(asked)), pytest.approx(np.float32(200_000) / np.float32(asked)), 1.0]
    assert {(r.filter_data_size, r.request_end_index) for r in responses} == {(rows, rows)}
    x = np.concatenate([decoded(r.columns[0]) for r in responses])
    np.testing.assert_array_equal(x, np.arange(rows, dtype=float)[::-1][50:])


async def test_new_request_cancels_the_streaming_one(data_dir: Path, carta_url: str, monkeypatch) -> None:
    from carta_trio.io import catalog_view

    monkeypatch.setattr(catalog_view, "CHUNK_ROWS", 10_000)  # 100 chunks: the first request is surely still streaming
    rows = 1_000_000
    fits.BinTableHDU.from_columns([
        fits.Column(name="x", format="D", array=np.random.default_rng(3).random(rows)),
    ]).writeto(data_dir / "huge.fits")  # fmt: skip
    async with open_client(carta_url) as client:
        await client.register()
        assert (await open_catalog(client, "huge.fits")).success
        await client.send(pb.CatalogFilterRequest(file_id=1, column_indices=[0], subset_data_size=-1, sort_column="x"))
        await client.expect(pb.CatalogFilterResponse, timeout=60)  # the first chunk is streaming
        small = [pb.FilterConfig(column_name="x", comparison_operator=Op.Lesser, value=0.001)]
        await client.send(pb.CatalogFilterRequest(file_id=1, column_indices=[0], subset_data_size=-1, filter_configs=small))
        seen = []
        while True:
            response = (await client.expect(pb.CatalogFilterResponse, timeout=60)).message
            seen.append(response.filter_data_size)
            if response.filter_data_size != rows:
                assert response.progress == 1.0
                break
        await client.ping()
        assert not [e for e in client.buffered if e.event_type == pb.EventType.CATALOG_FILTER_RESPONSE]
    assert len(seen) < 100  # the first request did not send all its chunks


async def test_bad_requests_get_clear_answers(data_dir: Path, carta_url: str) -> None:
    write_votable(mixed_table(40, columns=4), data_dir / "ok.xml")
    (data_dir / "trunc.xml").write_bytes((data_dir / "ok.xml").read_bytes()[:1500])
    fits.HDUList([fits.PrimaryHDU(np.zeros((4, 4)))]).writeto(data_dir / "image.fits")
    write_votable(mixed_table(0, columns=3), data_dir / "empty.xml")
    (data_dir / "notes.txt").write_text("hello\n")
    (data_dir / "bad.xml").write_text('<?xml version="1.0"?><VOTABLE><RESOURCE><TABLE><FIELD name="a" datatype="int">'
                                      "</TABLE></RESOURCE></VOTABLE>")
    (data_dir / "nofield.xml").write_text('<?xml version="1.0"?><VOTABLE><RESOURCE><TABLE></TABLE></RESOURCE></VOTABLE>')
    async with open_client(carta_url) as client:
        await client.register()
        missing = await open_catalog(client, "none.xml", file_id=5)
        assert (missing.success, missing.file_id) == (False, 5)
        # the reference names the absolute server path; we name the client's path (issue 11 D13)
        assert missing.message == "Cannot find path none.xml" and str(data_dir) not in missing.message
        for name, text in (("trunc.xml", "Cannot parse table data!"), ("image.fits", "File does not contain a FITS table!"),
                           ("empty.xml", "no rows"), ("notes.txt", "Unknown catalog format"),
                           ("bad.xml", "Cannot parse table data!"), ("nofield.xml", "Cannot parse table headers!")):
            ack = await open_catalog(client, name, file_id=6)
            assert not ack.success and text in ack.message, (name, ack.message)
        # a filter on the catalog whose open failed, and on an unknown id
        await client.send(pb.CatalogFilterRequest(file_id=6, column_indices=[0], subset_data_size=5))
        error = (await client.expect(pb.ErrorData)).message
        assert "failed to open" in error.message
        await client.send(pb.CatalogFilterRequest(file_id=77, column_indices=[0], subset_data_size=5))
        assert "is not open" in (await client.expect(pb.ErrorData)).message.message
        assert (await open_catalog(client, "ok.xml")).success
        # missing column and substring on a number: skipped with a warning, rows unfiltered
        configs = [pb.FilterConfig(column_name="nope", comparison_operator=Op.Equal, value=1),
                   pb.FilterConfig(column_name="i2", sub_string="12")]
        await client.send(pb.CatalogFilterRequest(file_id=1, column_indices=[0], filter_configs=configs, subset_data_size=-1))
        warning = (await client.expect(pb.ErrorData)).message.message  # one per message, both notes in it
        assert "no column 'nope'" in warning and "not a string column" in warning
        response = (await client.expect(pb.CatalogFilterResponse)).message
        assert response.filter_data_size == 40
        # start past the end: one empty response (the reference sends nothing)
        (past,) = await filter_all(client, pb.CatalogFilterRequest(file_id=1, column_indices=[0], subset_start_index=100, subset_data_size=10))
        assert (past.subset_data_size, past.filter_data_size, past.progress, len(past.columns)) == (0, 40, 1.0, 0)
        # close frees it
        await client.send(pb.CloseCatalogFile(file_id=1))
        await client.send(pb.CatalogFilterRequest(file_id=1, column_indices=[0], subset_data_size=5))
        assert "is not open" in (await client.expect(pb.ErrorData)).message.message


async def test_unsupported_columns_reported_per_column(data_dir: Path, carta_url: str) -> None:
    fits.BinTableHDU.from_columns([
        fits.Column(name="ok", format="E", array=np.arange(5, dtype=np.float32)),
        fits.Column(name="vec", format="3D", array=np.ones((5, 3))),
        fits.Column(name="var", format="PJ()", array=np.array([np.arange(i + 1) for i in range(5)], dtype=object)),
        fits.Column(name="name", format="8A", array=np.array(["a  ", "bb", "c", "d", "e"])),
    ]).writeto(data_dir / "odd.fits")  # fmt: skip
    async with open_client(carta_url) as client:
        await client.register()
        ack = await open_catalog(client, "odd.fits")
        assert ack.success
        assert [h.data_type for h in ack.headers] == [pb.ColumnType.Float, pb.ColumnType.UnsupportedType,
                                                      pb.ColumnType.UnsupportedType, pb.ColumnType.String]
        assert sorted(ack.preview_data) == [0, 3]
        assert list(ack.preview_data[3].string_data) == ["a", "bb", "c", "d", "e"]
        notes = [e.message.message for e in client.buffered if e.event_type == pb.EventType.ERROR_DATA]
        assert any("'vec'" in n for n in notes) and any("'var'" in n for n in notes)


@pytest.mark.parametrize("suffix", [".ecsv", ".csv"])
async def test_ecsv_and_csv_tables(data_dir: Path, carta_url: str, suffix: str) -> None:
    table = mixed_table(60, columns=5, seed=9)
    table.write(data_dir / f"t{suffix}")
    expected = astropy_read(data_dir / f"t{suffix}")
    async with open_client(carta_url) as client:
        await client.register()
        ack = await open_catalog(client, f"t{suffix}")
        assert ack.success, ack.message
        assert ack.data_size == 60 and [h.name for h in ack.headers] == expected.colnames
        (response,) = await filter_all(client, pb.CatalogFilterRequest(
            file_id=1, column_indices=[0, 2, 3], subset_data_size=-1, sort_column="i2", sorting_type=1))
        order = np.argsort(-np.asarray(expected["i2"]), kind="stable")
        np.testing.assert_array_equal(decoded(response.columns[2]), np.asarray(expected["i2"])[order])


async def test_resume_reopens_catalogs(data_dir: Path, carta_url: str) -> None:
    """RESUME_CATALOG: an image and a catalog resumed (two histograms, success); the catalog answers a
    filter with 10 columns; a catalog that cannot be reopened fails the ack."""
    write_votable(mixed_table(6, columns=12), data_dir / "test_fk4.xml")
    write_fits(data_dir / "model.fits", make_cube((3, 30, 40), seed=2), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    image = pb.ImageProperties(directory="", file="model.fits", hdu="", file_id=0, channel=0, stokes=0)
    catalog = pb.OpenCatalogFile(directory="", name="test_fk4.xml", file_id=1, preview_data_size=10)
    async with open_client(carta_url) as client:
        first = await client.register()
        resumed = await client.request(pb.ResumeSession(images=[image], catalog_files=[catalog]))
        assert (resumed.success, resumed.message) == (True, "")
    async with open_client(carta_url) as client:
        await client.register(first.session_id)
        ack = await client.request(pb.ResumeSession(images=[image], catalog_files=[catalog]))
        assert (ack.success, ack.message) == (True, "")
        assert (await client.expect(pb.RegionHistogramData)).message.file_id == 0
        assert not [e for e in client.buffered if e.event_type == pb.EventType.OPEN_CATALOG_FILE_ACK]
        (response,) = await filter_all(client, pb.CatalogFilterRequest(
            file_id=1, column_indices=list(range(10)), subset_start_index=0, subset_data_size=6))
        assert len(response.columns) == 10 and response.subset_data_size == 6
        gone = pb.OpenCatalogFile(directory="", name="gone.xml", file_id=2)
        failed = await client.request(pb.ResumeSession(catalog_files=[catalog, gone]))
        assert (failed.success, failed.message) == (False, "Problem loading catalogs: 2 ")


async def test_gzip_and_text_tables_are_listed_and_described(data_dir: Path, carta_url: str) -> None:
    """Beyond the reference: a gzip'd VOTable is listed as VOTable; CSV gets file info (Load enabled)."""
    table = mixed_table(8, columns=4)
    write_votable(table, data_dir / "z.vot", "binary2", gzipped=True)
    table.write(data_dir / "t.csv")
    async with open_client(carta_url) as client:
        await client.register()
        listing = await client.request(pb.CatalogListRequest(directory="", filter_mode=pb.FileListFilterMode.Content))
        assert {f.name: f.type for f in listing.files}.get("z.vot") == pb.CatalogFileType.VOTable
        for name in ("z.vot", "t.csv"):
            info = await client.request(pb.CatalogFileInfoRequest(directory="", name=name))
            assert info.success, (name, info.message)
            assert [h.name for h in info.headers] == table.colnames


async def test_a_slow_open_does_not_block_the_session(data_dir: Path, carta_url: str, monkeypatch) -> None:
    """Beyond the reference (which parses on the network thread): while a catalog is read, the
    session answers other messages; a filter sent right after the open streams after its ack;
    a catalog closed while opening is still acked but not kept."""
    import time

    from carta_trio.actors import catalogs

    read = catalogs._read

    def slow_read(*args: object):
        time.sleep(1.0)
        return read(*args)

    monkeypatch.setattr(catalogs, "_read", slow_read)
    write_votable(mixed_table(30, columns=4), data_dir / "slow.xml")
    E = pb.EventType
    async with open_client(carta_url) as client:
        await client.register()
        await client.send(pb.OpenCatalogFile(directory="", name="slow.xml", file_id=1, preview_data_size=5))
        await client.send(pb.CatalogFilterRequest(file_id=1, column_indices=[0, 1], subset_data_size=-1))
        await client.send(pb.CatalogFilterRequest(file_id=9, column_indices=[0], subset_data_size=1))
        frames = await client.collect_until(lambda e: e.event_type == E.CATALOG_FILTER_RESPONSE, timeout=30)
        kinds = [e.event_type for e in frames if e.event_type != E.ERROR_DATA or "id 9" in e.message.message]
        assert kinds == [E.ERROR_DATA, E.OPEN_CATALOG_FILE_ACK, E.CATALOG_FILTER_RESPONSE]
        assert frames[-1].message.filter_data_size == 30
        await client.send(pb.OpenCatalogFile(directory="", name="slow.xml", file_id=2))
        await client.send(pb.CloseCatalogFile(file_id=2))
        await client.send(pb.CatalogFilterRequest(file_id=2, column_indices=[0], subset_data_size=1))
        assert "is not open" in (await client.expect(pb.ErrorData)).message.message
        assert (await client.expect(pb.OpenCatalogFileAck, timeout=30)).message.success
        await client.send(pb.CatalogFilterRequest(file_id=2, column_indices=[0], subset_data_size=1))
        assert "is not open" in (await client.expect(pb.ErrorData)).message.message
