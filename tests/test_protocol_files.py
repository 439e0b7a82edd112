"""File browser messages through the real server socket: FILE_LIST (with progress and
STOP_FILE_LIST), FILE_INFO (GOLDEN.md answers), REGION_LIST/REGION_FILE_INFO and
CATALOG_LIST/CATALOG_FILE_INFO, failures, and the session staying usable."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
from astropy.table import Table

import carta_trio.actors.file_handlers  # noqa: F401  registers the handlers
from carta_trio.io import file_list as file_list_module
from carta_trio.io import list_progress
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.golden_factory import write_all
from tests.test_io_file_info import GOLDEN_COMPUTED

Mode = pb.FileListFilterMode


@pytest.fixture
def golden_dir(data_dir: Path) -> Path:
    write_all(data_dir)
    return data_dir


async def test_file_list_of_golden_folder(golden_dir: Path, carta_url: str) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        request_id = await client.send(pb.FileListRequest(directory="", filter_mode=Mode.Content))
        envelope = await client.expect(pb.FileListResponse)
    assert envelope.request_id == request_id and envelope.icd_version == 28
    response = envelope.message
    assert (response.success, response.directory, response.parent, response.cancel) == (True, "", ".", False)
    types = {f.name: (f.type, list(f.HDU_list)) for f in response.files}
    assert types["cube_idia.hdf5"] == (pb.FileType.HDF5, ["0"])
    assert types["cube_freq.image"] == (pb.FileType.CASA, [""])
    assert types["multihdu.fits.gz"] == (pb.FileType.FITS, [""])
    assert len(types) == 15


async def test_file_list_failures(golden_dir: Path, carta_url: str) -> None:
    async with open_client(carta_url) as client:
        missing = await client.request(pb.FileListRequest(directory="nodir"))
        above = await client.request(pb.FileListRequest(directory=".."))
        assert (missing.success, missing.message) == (False, "File list failed: Directory nodir does not exist.")
        assert (above.success, above.message) == (False, "Forbidden path.")
        assert (await client.request(pb.FileListRequest(directory="$BASE"))).success


@pytest.mark.parametrize("name, hdu", [("eq_pos.fits", ""), ("cube_freq.fits.gz", ""), ("multihdu.fits", "1"),
                                       ("cube_idia.hdf5", ""), ("cube_freq.image", "")])
async def test_file_info_matches_golden(golden_dir: Path, carta_url: str, name: str, hdu: str) -> None:
    key, fields, _numbers, expected = GOLDEN_COMPUTED[(name, hdu)]
    async with open_client(carta_url) as client:
        response = await client.request(pb.FileInfoRequest(directory="", file=name, hdu=hdu))
    assert response.success and list(response.file_info_extended) == [key]
    info = response.file_info_extended[key]
    assert [(e.name, e.value) for e in info.computed_entries] == [("Name", name)] + expected
    assert [info.dimensions, info.width, info.height, info.depth, info.stokes] == fields
    assert response.file_info.name == name and response.file_info.date == int((golden_dir / name).stat().st_mtime)


async def test_file_info_failures_keep_session_usable(golden_dir: Path, carta_url: str) -> None:
    async with open_client(carta_url) as client:
        missing = await client.request(pb.FileInfoRequest(file="nope.fits"))
        assert (missing.success, missing.message) == (False, "File nope.fits does not exist.")
        table = await client.request(pb.FileInfoRequest(file="multihdu.fits", hdu="3"))
        assert (table.success, table.message) == (False, "No image at specified HDU.")
        gz_primary = await client.request(pb.FileInfoRequest(file="multihdu.fits.gz", hdu="0"))
        assert gz_primary.success  # the reference hangs here; we answer
        empty = await client.request(pb.FileInfoRequest())
        assert (empty.success, empty.message, empty.file_info.type) == (False, "Unsupported format.", pb.FileType.UNKNOWN)
        escape = await client.request(pb.FileInfoRequest(directory="..", file="x.fits"))
        assert (escape.success, escape.message) == (False, "Forbidden path.")
        multi = await client.request(pb.FileInfoRequest(file="multihdu.fits"))
        assert sorted(multi.file_info_extended) == ["1", "2"]


async def test_file_info_responses_keep_request_order(golden_dir: Path, carta_url: str) -> None:
    names = ["multihdu.fits.gz", "eq_pos.fits", "cube_freq.image", "nope.fits", "cube_idia.hdf5"]
    async with open_client(carta_url) as client:
        ids = [await client.send(pb.FileInfoRequest(file=name)) for name in names]
        envelopes = [await client.expect(pb.FileInfoResponse) for _ in names]
    assert [e.request_id for e in envelopes] == ids
    assert [e.message.file_info.name for e in envelopes] == ["multihdu.fits.gz", "eq_pos.fits", "cube_freq.image", "", "cube_idia.hdf5"]


async def test_aips_history_beam_notice_precedes_response(data_dir: Path, carta_url: str) -> None:
    from astropy.io import fits

    h = fits.Header()
    h["CTYPE1"], h["CTYPE2"] = "RA---SIN", "DEC--SIN"
    h.add_history("AIPS   CLEAN BMAJ=  1.3889E-03 BMIN=  1.3889E-03 BPA=   0.00")
    fits.PrimaryHDU(np.zeros((4, 4), dtype=np.float32), h).writeto(data_dir / "aips.fits")
    async with open_client(carta_url) as client:
        await client.register()
        request_id = await client.send(pb.FileInfoRequest(file="aips.fits", support_aips_beam=True))
        messages = await client.collect_until(lambda e: e.request_id == request_id)
    assert [m.event_type for m in messages] == [pb.EventType.ERROR_DATA, pb.EventType.FILE_INFO_RESPONSE]
    notice = messages[0].message
    assert (notice.severity, list(notice.tags)) == (pb.ErrorSeverity.INFO, ["file info"])
    assert notice.message.startswith("Deriving aips.fits beam info from HISTORY headers: BMAJ=5.0000")
    beam = next(e for e in messages[1].message.file_info_extended["0"].computed_entries if e.name == "Restoring beam")
    assert beam.value.endswith("(extracted from HISTORY)")


@pytest.fixture
def slow_listing(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of 300 files listed at 10 ms per entry, with progress due every second."""
    folder = data_dir / "big"
    folder.mkdir()
    for i in range(300):
        # one whole FITS block: what identify() calls FITS (casacore's test)
        (folder / f"f{i:03d}.fits").write_bytes(b"SIMPLE  =                    T".ljust(2880))
    original = file_list_module._list_block

    def slow_block(response: pb.FileListResponse, entries: list[os.DirEntry[str]], *args: Any) -> bool:
        time.sleep(0.01 * len(entries))
        return original(response, entries, *args)

    monkeypatch.setattr(file_list_module, "_list_block", slow_block)
    monkeypatch.setattr(list_progress, "FIRST_PROGRESS_AFTER_SECS", 0)
    monkeypatch.setattr(list_progress, "PROGRESS_INTERVAL_SECS", 0)
    return folder


async def test_file_list_progress_then_response(slow_listing: Path, carta_url: str) -> None:
    async with open_client(carta_url) as client:
        request_id = await client.send(pb.FileListRequest(directory="big", filter_mode=Mode.Content))
        messages = await client.collect_until(lambda e: e.request_id == request_id, timeout=30)
    progress = [m for m in messages if m.event_type == pb.EventType.FILE_LIST_PROGRESS]
    assert progress and messages[-1].event_type == pb.EventType.FILE_LIST_RESPONSE
    assert all(p.request_id == 0 for p in progress)
    first = progress[0].message
    assert (first.file_list_type, first.total_count) == (pb.FileListType.Image, 300)
    assert 0 < first.checked_count < 300 and first.percentage == pytest.approx(first.checked_count / 300)
    response = messages[-1].message
    assert (response.success, response.directory, response.parent, len(response.files)) == (True, "big", ".", 300)


async def test_stop_file_list_suppresses_response(slow_listing: Path, carta_url: str) -> None:
    async with open_client(carta_url) as client:
        stopped_id = await client.send(pb.FileListRequest(directory="big"))
        await client.expect(pb.EventType.FILE_LIST_PROGRESS, timeout=30)
        await client.send(pb.StopFileList(file_list_type=pb.FileListType.Image))
        # the session keeps serving: a quick request is answered while nothing comes for the stopped one
        info = await client.request(pb.FileInfoRequest(file="nothing.fits"))
        assert info.message == "File nothing.fits does not exist."
        with pytest.raises(trio.TooSlowError):
            await client.expect(pb.FileListResponse, timeout=4)
        assert all(e.request_id != stopped_id for e in client.buffered)
        again = await client.request(pb.FileListRequest(directory=""))
        assert again.success and [d.name for d in again.subdirectories] == ["big"]


async def test_catalog_stop_does_not_stop_image_listing(slow_listing: Path, carta_url: str) -> None:
    async with open_client(carta_url) as client:
        request_id = await client.send(pb.FileListRequest(directory="big"))
        await client.expect(pb.EventType.FILE_LIST_PROGRESS, timeout=30)
        await client.send(pb.StopFileList(file_list_type=pb.FileListType.Catalog))
        messages = await client.collect_until(lambda e: e.request_id == request_id, timeout=30)
    assert messages[-1].message.success and len(messages[-1].message.files) == 300


async def test_region_list_and_file_info(data_dir: Path, carta_url: str) -> None:
    (data_dir / "a.crtf").write_text("#CRTF\ncircle[[1pix, 2pix], 3pix]\n")
    (data_dir / "b.reg").write_text("circle(1,2,3)")
    (data_dir / "c.txt").write_text("text")
    async with open_client(carta_url) as client:
        listing = await client.request(pb.RegionListRequest(directory="", filter_mode=Mode.Content))
        assert isinstance(listing, pb.RegionListResponse) and listing.success
        assert {f.name: f.type for f in listing.files} == {"a.crtf": pb.FileType.CRTF, "b.reg": pb.FileType.DS9_REG}
        info = await client.request(pb.RegionFileInfoRequest(directory="", file="a.crtf"))
        assert info.success and list(info.contents) == ["#CRTF", "circle[[1pix, 2pix], 3pix]", ""]
        bad = await client.request(pb.RegionFileInfoRequest(directory="", file="c.txt"))
        assert (bad.success, bad.message, list(bad.contents)) == (False, "File c.txt is not a region file.", [""])


async def test_catalog_list_and_file_info(data_dir: Path, carta_url: str) -> None:
    table = Table({"RA": np.array([1.0, 2.0]), "NAME": np.array(["a", "b"])})
    table["RA"].unit = "deg"
    table.write(data_dir / "cat.fits")
    table.write(data_dir / "cat.xml", format="votable")
    async with open_client(carta_url) as client:
        listing = await client.request(pb.CatalogListRequest(directory="", filter_mode=Mode.Content))
        assert isinstance(listing, pb.CatalogListResponse) and listing.success
        assert {f.name: f.type for f in listing.files} == {
            "cat.fits": pb.CatalogFileType.FITSTable, "cat.xml": pb.CatalogFileType.VOTable}
        info = await client.request(pb.CatalogFileInfoRequest(directory="", name="cat.fits"))
        assert info.success and info.file_info.description == "Name: cat.fits\nColumn Count: 2\nRow Count: 2\n"
        assert [(h.name, h.data_type, h.units) for h in info.headers] == [
            ("RA", pb.ColumnType.Double, "deg"), ("NAME", pb.ColumnType.String, "")]
        missing = await client.request(pb.CatalogFileInfoRequest(directory="", name="none.xml"))
        assert (missing.success, missing.message) == (False, "Incorrect file path")
