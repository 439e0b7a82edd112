"""A folder listed again: unchanged files are not opened, changed ones are (io/file_kinds.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from carta_trio.io import file_kinds, file_list
from carta_trio.messages import schema as pb

FITS = b"SIMPLE  =                    T".ljust(2880)
HDF5 = b"\x89HDF\r\n\x1a\n" + bytes(600)


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    file_kinds.forget_all()
    monkeypatch.setattr(file_kinds, "SETTLED_NS", 0)  # files written by the test count as settled


def listed(top: Path) -> dict[str, int]:
    response = file_list.file_list(top, top, "", pb.FileListFilterMode.Content)
    return {f.name: f.type for f in response.files}


def count_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    real_open = os.open

    def counting(path: str, *args: object, **kwargs: object) -> int:
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", counting)
    return opened


def test_unchanged_files_are_not_opened_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(40):
        (tmp_path / f"i{i:02d}.fits").write_bytes(FITS if i % 3 else b"not an image")
    first = listed(tmp_path)
    assert len(first) == 26 and set(first.values()) == {int(pb.FileType.FITS)}
    opened = count_opens(monkeypatch)
    assert listed(tmp_path) == first
    assert [p for p in opened if p.endswith(".fits")] == []  # only the folder itself


def test_changed_files_are_looked_at_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(40):
        (tmp_path / f"i{i:02d}.fits").write_bytes(FITS)
    listed(tmp_path)
    (tmp_path / "i05.fits").write_bytes(b"x" * 2880)  # same size, new content: not FITS now
    (tmp_path / "i06.fits").write_bytes(HDF5)  # another size and type
    (tmp_path / "new.fits").write_bytes(FITS)
    os.remove(tmp_path / "i07.fits")
    opened = count_opens(monkeypatch)
    again = listed(tmp_path)
    assert "i05.fits" not in again and again["i06.fits"] == pb.FileType.HDF5 and again["new.fits"] == pb.FileType.FITS
    assert "i07.fits" not in again and len(again) == 39
    assert sorted(os.path.basename(p) for p in opened if p.endswith(".fits")) == ["i05.fits", "i06.fits", "new.fits"]


def test_a_file_made_unreadable_is_no_longer_listed(tmp_path: Path) -> None:
    (tmp_path / "a.fits").write_bytes(FITS)
    (tmp_path / "b.fits").write_bytes(FITS)
    assert set(listed(tmp_path)) == {"a.fits", "b.fits"}
    (tmp_path / "b.fits").chmod(0)  # a chmod moves the change time
    try:
        assert ("b.fits" in listed(tmp_path)) == os.access(tmp_path / "b.fits", os.R_OK)
    finally:
        (tmp_path / "b.fits").chmod(0o644)


def test_recently_changed_files_are_not_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_kinds, "SETTLED_NS", 60 * 10**9)
    (tmp_path / "a.fits").write_bytes(FITS)
    listed(tmp_path)
    assert file_kinds.recall(os.stat(tmp_path / "a.fits")) is None
    st = os.stat(tmp_path / "a.fits")
    file_kinds.remember([(st.st_dev, st.st_ino, st.st_ctime_ns, int(pb.FileType.FITS))], settled_ns=time.time_ns())
    assert file_kinds.recall(st) == pb.FileType.FITS


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_kinds, "MAX_FILES", 10)
    fake = [SimpleNamespace(st_dev=1, st_ino=i, st_size=0, st_mtime_ns=0, st_ctime_ns=0) for i in range(25)]
    for s in fake:
        file_kinds.remember([(s.st_dev, s.st_ino, s.st_ctime_ns, 1)], settled_ns=time.time_ns())
    assert len(file_kinds._kinds) <= 10
    assert file_kinds.recall(fake[-1]) == 1  # type: ignore[arg-type]
