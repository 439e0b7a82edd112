"""CASA images without a logtable open (an improvement over the reference), and casacore's
messages reach the user without log prefixes, source files or absolute paths (issue 19)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from carta_trio.io.casa_open import user_message
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.image_factory import make_cube, wcs_header, write_fits

CTYPES = ("RA---SIN", "DEC--SIN", "FREQ")


def _image_without_logtable(folder: Path, name: str = "nolog.image") -> np.ndarray:
    from casacore import images

    data = make_cube((3, 16, 18), seed=4)
    write_fits(folder / "src.fits", data, wcs_header(CTYPES))
    images.image(str(folder / "src.fits")).saveas(str(folder / name))
    (folder / "src.fits").unlink()
    shutil.rmtree(folder / name / "logtable")
    return data


def test_user_message_strips_casacore_log_prefixes_and_paths() -> None:
    raw = ("/srv/data/x.image cannot be opened as image (expression): 2026-12-07 03:48:04\tSEVERE\t"
           "TableLogSink::TableLogSink (file /code/tables/LogTables/TableLogSink.cc, line 100)\t"
           "/srv/data/x.image/logtable does not exist or is not readable")
    text = user_message(raw, "/srv/data/x.image")
    assert text == "x.image cannot be opened as image (expression): x.image/logtable does not exist or is not readable"
    assert user_message("Table /a/b/c.tab does not exist") == "Table c.tab does not exist"


async def test_casa_image_without_logtable_opens_and_is_not_changed(carta_url: str, data_dir: Path) -> None:
    data = _image_without_logtable(data_dir)
    before = sorted(os.listdir(data_dir / "nolog.image"))
    async with open_client(carta_url) as client:
        await client.register()
        info = await client.request(pb.FileInfoRequest(file="nolog.image", hdu=""))
        assert info.success, info.message
        assert info.file_info_extended[""].width == 18
        ack = await client.request(pb.OpenFile(file="nolog.image", file_id=0))
        assert ack.success, ack.message
        histogram = (await client.expect(pb.RegionHistogramData, timeout=20)).message
        assert histogram.file_id == 0 and sum(histogram.histograms.bins) > 0
    assert sorted(os.listdir(data_dir / "nolog.image")) == before
    assert "logtable" not in before
    del data


async def test_damaged_casa_image_message_is_readable(carta_url: str, data_dir: Path) -> None:
    (data_dir / "broken.image").mkdir()
    (data_dir / "broken.image" / "table.dat").write_bytes(b"not a table")
    (data_dir / "broken.image" / "table.info").write_text("Type = Image\n")
    async with open_client(carta_url) as client:
        await client.register()
        info = await client.request(pb.FileInfoRequest(file="broken.image", hdu=""))
        ack = await client.request(pb.OpenFile(file="broken.image", file_id=0))
    for text in (info.message, ack.message):
        assert text, "a refusal must say why"
        assert str(data_dir) not in text and "SEVERE" not in text and ".cc" not in text, text
    assert not ack.success


@pytest.mark.parametrize("name", ["nolog.image"])
def test_reader_without_logtable_reads_pixels(tmp_path: Path, name: str) -> None:
    from carta_trio.io.images import open_image

    data = _image_without_logtable(tmp_path, name)
    with open_image(tmp_path / name) as reader:
        np.testing.assert_allclose(reader.read_plane(1, 0), data[1], equal_nan=True)
        assert any(card.startswith("CTYPE1") for card in reader.header_strings())
    assert "logtable" not in os.listdir(tmp_path / name)


def test_unexpected_file_info_failures_name_no_server_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from carta_trio.io import file_info

    path = tmp_path / "odd.fits"
    path.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(f"cannot read {path}: 2026-01-01 00:00:00\tSEVERE\tFitsIO::read (file io.cc, line 7)\tbad")

    monkeypatch.setattr(file_info, "fits_extended_info", broken)
    result = file_info.extended_info(path, "odd.fits", pb.FileType.FITS)
    assert result.message == "cannot read odd.fits: bad", result.message
